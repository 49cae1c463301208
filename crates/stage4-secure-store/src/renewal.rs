//! Sliding expiration without a store write on every request.
//!
//! An idle timeout needs the store's expiry pushed back as the session is used. tower-sessions
//! does that by saving on every request (`with_always_save(true)`), and it saves again after a
//! handler that already saved (to answer 503, not an empty 500, when the store is down). That
//! is two writes per request where none is needed: the data did not change, and the deadline
//! moved by milliseconds.
//!
//! [`RenewWhenDue`] wraps a store and drops a save that would write the same data for the same
//! session this instance wrote less than `renew_after` ago. So a request writes at most once,
//! and a request that changed nothing writes only when its renewal is due: the sliding
//! expiration of ASP.NET (which renews once half the window has passed), here with a tenth of
//! the idle timeout by default ([`renew_after`]). The price is precision: the store's deadline
//! lags the last request by at most `renew_after`, so a session ends between
//! `idle - renew_after` and `idle` after its last use (27 to 30 minutes for the default 30).
//!
//! Written here because no published store does it: tower-sessions has "always" or "when
//! modified", and "when modified" never renews an idle deadline at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A session's data in a compact, canonical form: its entries sorted by key, as JSON. A clone of
/// tower-sessions' map costs ~450 bytes per session (an allocation per key and value); this
/// ~100, which at 10,000 sessions is the difference between under and over 30 MB resident.
type Data = Vec<u8>;

/// `None` if it cannot be encoded: then every save is written.
fn canonical(data: &HashMap<String, serde_json::Value>) -> Option<Data> {
    let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = data.iter().collect();
    serde_json::to_vec(&sorted).ok()
}

/// The default renewal interval for an idle timeout: a tenth of it.
pub fn renew_after(idle_timeout: Duration) -> Duration {
    idle_timeout / 10
}

/// A store whose unchanged sessions are written at most once per `renew_after` (per app
/// instance; see the module docs). Clones share what was written (tower-sessions clones its layer's store).
#[derive(Clone, Debug)]
pub struct RenewWhenDue<S> {
    inner: S,
    renew_after: Duration,
    written: Arc<Mutex<Written>>,
}

/// What this instance last wrote, per session, and when.
#[derive(Debug, Default)]
struct Written {
    by_id: HashMap<Id, (Data, Instant)>,
    /// The size at which entries older than `renew_after` are dropped (doubles with use, so
    /// pruning costs O(1) per write on average).
    prune_at: usize,
}

const FIRST_PRUNE: usize = 1024;

impl<S> RenewWhenDue<S> {
    /// Wraps `inner`; unchanged sessions are written again once `renew_after` has passed.
    pub fn new(inner: S, renew_after: Duration) -> RenewWhenDue<S> {
        RenewWhenDue {
            inner,
            renew_after,
            written: Arc::new(Mutex::new(Written {
                by_id: HashMap::new(),
                prune_at: FIRST_PRUNE,
            })),
        }
    }

    /// Whether writing `data` for `id` now would only move its deadline by less than
    /// `renew_after`. Data that cannot be encoded (`None`) is always due.
    fn not_due(&self, id: &Id, data: Option<&Data>) -> bool {
        let Some(data) = data else {
            return false;
        };
        let written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written
            .by_id
            .get(id)
            .is_some_and(|(last, at)| at.elapsed() < self.renew_after && last == data)
    }

    fn remember(&self, id: Id, data: Option<Data>) {
        let Some(data) = data else {
            return;
        };
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if written.by_id.len() >= written.prune_at {
            let renew_after = self.renew_after;
            written
                .by_id
                .retain(|_, (_, at)| at.elapsed() < renew_after);
            written.prune_at = (written.by_id.len() * 2).max(FIRST_PRUNE);
        }
        written.by_id.insert(id, (data, Instant::now()));
    }

    fn forget(&self, id: &Id) {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written.by_id.remove(id);
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for RenewWhenDue<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await?;
        self.remember(record.id, canonical(&record.data));
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Encoded once: compared, then kept if written.
        let data = canonical(&record.data);
        if self.not_due(&record.id, data.as_ref()) {
            return Ok(());
        }
        self.inner.save(record).await?;
        self.remember(record.id, data);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        self.inner.delete(id).await
    }
}

//! SQLite connections lent out one query at a time, without sqlx's pool.
//!
//! Every sqlx SQLite connection runs on a worker thread of its own, and each query is a trip
//! there and back. sqlx's pool adds two more trips per use: it pings a connection before
//! lending it out (`test_before_acquire`), and it pings it again when it comes back, from a
//! task it spawns for that. A server's connection can go stale while it sits in a pool; a
//! connection to a local file does not. So the store keeps its own few connections: lent
//! under a lock, handed back as they are. Measured with the bench's SQLite row (native, three
//! alternating 8 s runs each): 6,943 requests/s with sqlx's pool (median; 6.2 futex calls per
//! request), 8,191 with these (4.3 futex calls).
//!
//! The one case the pool's ping covers that matters here: a request cancelled in the middle of
//! a query (its client went away) may leave the connection mid-statement. A connection that is
//! not handed back is closed, and its slot connects afresh the next time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{Mutex, MutexGuard};

/// How long a query may wait for a connection (and its connecting) before it fails, as sqlx's
/// pool let it with `acquire_timeout`: a request gets its 503 rather than queue without end
/// behind writes that wait out SQLite's own busy timeout.
const LEND_TIMEOUT: Duration = Duration::from_secs(5);

/// A fixed number of connections to one file, each connected on first use.
#[derive(Debug)]
pub struct Connections {
    options: SqliteConnectOptions,
    slots: Box<[Mutex<Option<SqliteConnection>>]>,
    /// Whose turn it is when every slot is busy: spreads the waiting over the slots.
    next: AtomicUsize,
}

type Slot<'a> = MutexGuard<'a, Option<SqliteConnection>>;

impl Connections {
    /// `count` connections (at least one), none of them opened yet.
    pub fn new(options: SqliteConnectOptions, count: usize) -> Connections {
        Connections {
            options,
            slots: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `queries` on a connection: a free one if there is one, else the next to come free
    /// in turn, waiting [`LEND_TIMEOUT`] at most (`PoolTimedOut`, as from sqlx's pool).
    pub async fn with<T>(
        &self,
        queries: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let (mut slot, mut connection) = tokio::time::timeout(LEND_TIMEOUT, self.lend())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        let result = queries(&mut connection).await;
        // Handed back only once the queries have ended, failed or not: SQLite's errors (a
        // busy file, a constraint) end a statement, not the connection. Cancelled before this
        // line, the connection is dropped (closed) and the empty slot connects afresh.
        *slot = Some(connection);
        result
    }

    /// A slot, locked, and its connection taken out of it.
    async fn lend(&self) -> Result<(Slot<'_>, SqliteConnection), sqlx::Error> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.slots.len();
        let free = (0..count).find_map(|i| self.slots[(turn + i) % count].try_lock().ok());
        let mut slot = match free {
            Some(slot) => slot,
            None => self.slots[turn % count].lock().await,
        };
        let connection = match slot.take() {
            Some(connection) => connection,
            None => self.options.connect().await?,
        };
        Ok((slot, connection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_connection(dir: &tempfile::TempDir) -> Connections {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("test.db"))
            .create_if_missing(true);
        Connections::new(options, 1)
    }

    #[tokio::test]
    async fn a_finished_query_hands_its_connection_back() {
        let dir = tempfile::tempdir().unwrap();
        let connections = one_connection(&dir);
        let one: i64 = connections
            .with(async |db| sqlx::query_scalar("SELECT 1").fetch_one(db).await)
            .await
            .unwrap();
        assert_eq!(one, 1);
        assert!(
            connections.slots[0].try_lock().unwrap().is_some(),
            "the connection should be back in its slot for the next query"
        );
    }

    #[tokio::test]
    async fn a_cancelled_query_closes_its_connection_and_the_next_one_reconnects() {
        let dir = tempfile::tempdir().unwrap();
        let connections = one_connection(&dir);
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            connections.with(async |db| {
                sqlx::query("SELECT 1").execute(&mut *db).await?;
                std::future::pending::<Result<(), sqlx::Error>>().await
            }),
        )
        .await;
        assert!(cancelled.is_err(), "the query should have been cancelled");
        assert!(
            connections.slots[0].try_lock().unwrap().is_none(),
            "a connection whose query was cancelled must not be lent again"
        );
        let one: i64 = connections
            .with(async |db| sqlx::query_scalar("SELECT 1").fetch_one(db).await)
            .await
            .unwrap();
        assert_eq!(one, 1, "the next query connects afresh");
    }
}

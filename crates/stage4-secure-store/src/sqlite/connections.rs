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

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{Mutex, MutexGuard};

/// A fixed number of connections to one file, each connected on first use.
#[derive(Debug)]
pub struct Connections {
    options: SqliteConnectOptions,
    slots: Box<[Mutex<Option<SqliteConnection>>]>,
    /// Whose turn it is when every slot is busy: spreads the waiting over the slots.
    next: AtomicUsize,
}

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
    /// in turn. The connection is handed back once they end, and closed if they are cancelled.
    pub async fn with<T>(
        &self,
        queries: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut lent = self.lend().await?;
        let result = queries(&mut lent).await;
        lent.give_back();
        result
    }

    async fn lend(&self) -> Result<Lent<'_>, sqlx::Error> {
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
        Ok(Lent {
            slot,
            connection: Some(connection),
        })
    }
}

/// A connection lent out. Dropped without [`Lent::give_back`] (its query was cancelled), the
/// connection is closed rather than lent to the next request in an unknown state.
#[derive(Debug)]
struct Lent<'a> {
    slot: MutexGuard<'a, Option<SqliteConnection>>,
    connection: Option<SqliteConnection>,
}

impl Lent<'_> {
    /// Hands the connection back for the next query. A query that failed leaves it usable:
    /// SQLite's errors (a busy file, a constraint) end the statement, not the connection.
    fn give_back(mut self) {
        *self.slot = self.connection.take();
    }
}

impl Deref for Lent<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("lent until given back")
    }
}

impl DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("lent until given back")
    }
}

//! Sessions in a SQLite file: the embedded default, so the lab runs anywhere.
//!
//! Our own store rather than tower-sessions-sqlx-store: that one saves with an upsert, so a
//! request that loaded a session before a concurrent logout writes it back afterwards (the
//! logged-out session is resurrected). Here `save` only updates a row that still exists.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

mod connections;
use connections::Connections;

/// How often, at most, expired sessions are deleted: on the first new session after this
/// much time has passed since the last sweep.
pub const CLEANUP_EVERY: Duration = Duration::from_secs(60);

/// A SQLite-backed session store. Clones share the connections.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Reads: one connection per core, which WAL lets read while a write goes on.
    readers: Arc<Connections>,
    /// Writes: one connection. SQLite has one writer at a time anyway; with several write
    /// connections the losers sleep in SQLite's busy handler (in steps of up to 100 ms), and
    /// that was the store's p99. One connection makes them queue in order, without sleeping.
    writer: Arc<Connections>,
    path: PathBuf,
    schema: Arc<OnceCell<()>>,
    cleanup_every: Duration,
    /// When expired rows were last deleted (Unix seconds).
    last_cleanup: Arc<AtomicI64>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
)";

impl SqliteStore {
    /// A store in the file at `path` (created if missing). Connecting is lazy, so this needs no
    /// runtime; the first use creates the table.
    pub fn open(path: &Path) -> Result<SqliteStore, sqlx::Error> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            // Readers never wait for the writer, and two app replicas can share the file.
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last
            // sessions written, which costs their owners a login, not their security.
            .synchronous(SqliteSynchronous::Normal)
            // Still there for another process on the same file (app replicas).
            .busy_timeout(Duration::from_secs(5));
        // A read is CPU work on a page SQLite has cached: more connections than cores only
        // add threads (sqlx runs each connection on one of its own).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(SqliteStore {
            readers: Arc::new(Connections::new(options.clone(), cores)),
            writer: Arc::new(Connections::new(options, 1)),
            path: path.to_owned(),
            schema: Default::default(),
            cleanup_every: CLEANUP_EVERY,
            last_cleanup: Default::default(),
        })
    }

    /// Deletes expired sessions at most once per `every` (default [`CLEANUP_EVERY`]).
    pub fn with_cleanup_every(mut self, every: Duration) -> SqliteStore {
        self.cleanup_every = every;
        self
    }

    /// Opens the file (creating it and its folder) and the table, or says why it cannot: what
    /// a runner checks before serving, rather than answer every request with 503.
    pub async fn check(&self) -> session_store::Result<()> {
        self.ready().await.map(drop)
    }

    async fn ready(&self) -> session_store::Result<()> {
        self.schema
            .get_or_try_init(|| async {
                private_file(&self.path).map_err(|e| {
                    session_store::Error::Backend(format!("{}: {e}", self.path.display()))
                })?;
                self.writer
                    .with(async |db| sqlx::query(SCHEMA).execute(db).await)
                    .await
                    .map(drop)
                    .map_err(backend)
            })
            .await
            .copied()
    }

    /// Runs `queries` on a reading connection, once the table exists.
    async fn read<T>(
        &self,
        queries: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> session_store::Result<T> {
        self.ready().await?;
        self.readers.with(queries).await.map_err(backend)
    }

    /// Runs `queries` on the writing connection, once the table exists.
    async fn write<T>(
        &self,
        queries: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> session_store::Result<T> {
        self.ready().await?;
        self.writer.with(queries).await.map_err(backend)
    }

    /// Deletes every expired session; returns how many.
    pub async fn delete_expired(&self) -> session_store::Result<u64> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.last_cleanup.store(now, Ordering::Relaxed);
        let deleted = self
            .write(async |db| {
                sqlx::query("DELETE FROM sessions WHERE expiry_date <= ?")
                    .bind(now)
                    .execute(db)
                    .await
            })
            .await?;
        Ok(deleted.rows_affected())
    }

    /// How many session records the file holds, expired or not.
    pub async fn record_count(&self) -> session_store::Result<u64> {
        let count: i64 = self
            .read(async |db| {
                sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
                    .fetch_one(db)
                    .await
            })
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Sweeps expired rows when a sweep is due. Rows only pile up when sessions are created
    /// (every anonymous visitor who counts makes one), so a new session is what triggers it:
    /// no background task to own, and an idle app has nothing to sweep.
    async fn sweep_if_due(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let last = self.last_cleanup.load(Ordering::Relaxed);
        let every = i64::try_from(self.cleanup_every.as_secs()).unwrap_or(i64::MAX);
        let due = now.saturating_sub(last) >= every;
        // One request wins the sweep; the others go on.
        if due
            && self
                .last_cleanup
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let deleted = self.delete_expired().await?;
            tracing::debug!(deleted, "deleted expired sessions");
        }
        Ok(())
    }

    /// Whether a record for `id` exists, expired or not: what "deleted server-side" is checked
    /// against.
    pub async fn contains(&self, id: &Id) -> session_store::Result<bool> {
        let row = self
            .read(async |db| {
                sqlx::query("SELECT 1 FROM sessions WHERE id = ?")
                    .bind(id.to_string())
                    .fetch_optional(db)
                    .await
            })
            .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.sweep_if_due().await?;
        loop {
            let data = encode(record)?;
            let inserted = self
                .write(async |db| {
                    sqlx::query(
                        "INSERT INTO sessions (id, data, expiry_date) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
                    )
                    .bind(record.id.to_string())
                    .bind(data)
                    .bind(record.expiry_date.unix_timestamp())
                    .execute(db)
                    .await
                })
                .await?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            // A 128-bit collision: astronomically unlikely, and never a reason to share.
            record.id = Id::default();
        }
    }

    // ANCHOR: save
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // UPDATE, never upsert: a session deleted meanwhile (logout) stays deleted.
        let data = encode(record)?;
        self.write(async |db| {
            sqlx::query("UPDATE sessions SET data = ?, expiry_date = ? WHERE id = ?")
                .bind(data)
                .bind(record.expiry_date.unix_timestamp())
                .bind(record.id.to_string())
                .execute(db)
                .await
        })
        .await?;
        Ok(())
    }
    // ANCHOR_END: save

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> = self
            .read(async |db| {
                sqlx::query_scalar("SELECT data FROM sessions WHERE id = ? AND expiry_date > ?")
                    .bind(id.to_string())
                    .bind(OffsetDateTime::now_utc().unix_timestamp())
                    .fetch_optional(db)
                    .await
            })
            .await?;
        data.map(|bytes| rmp_serde::from_slice(&bytes))
            .transpose()
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.write(async |db| {
            sqlx::query("DELETE FROM sessions WHERE id = ?")
                .bind(id.to_string())
                .execute(db)
                .await
        })
        .await?;
        Ok(())
    }
}

/// Creates `path` (and its folder) readable and writable by this user only, or makes an
/// existing file so: session ids are bearer credentials. SQLite gives the `-wal` and `-shm`
/// files it creates beside it the same permissions.
fn private_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

//! Sessions in a SQLite file: the embedded default, so the lab runs anywhere.
//!
//! Our own store rather than tower-sessions-sqlx-store: that one saves with an upsert, so a
//! request that loaded a session before a concurrent logout writes it back afterwards (the
//! logged-out session is resurrected). Here `save` only updates a row that still exists.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A SQLite-backed session store. Clones share the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    schema: std::sync::Arc<OnceCell<()>>,
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
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(SqliteStore {
            pool,
            schema: Default::default(),
        })
    }

    async fn ready(&self) -> session_store::Result<&SqlitePool> {
        self.schema
            .get_or_try_init(|| async { sqlx::query(SCHEMA).execute(&self.pool).await.map(drop) })
            .await
            .map_err(backend)?;
        Ok(&self.pool)
    }

    /// Whether a record for `id` exists, expired or not: what "deleted server-side" is checked
    /// against.
    pub async fn contains(&self, id: &Id) -> session_store::Result<bool> {
        let row = sqlx::query("SELECT 1 FROM sessions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(self.ready().await?)
            .await
            .map_err(backend)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let pool = self.ready().await?;
        loop {
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, data, expiry_date) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(encode(record)?)
            .bind(record.expiry_date.unix_timestamp())
            .execute(pool)
            .await
            .map_err(backend)?;
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
        sqlx::query("UPDATE sessions SET data = ?, expiry_date = ? WHERE id = ?")
            .bind(encode(record)?)
            .bind(record.expiry_date.unix_timestamp())
            .bind(record.id.to_string())
            .execute(self.ready().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }
    // ANCHOR_END: save

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM sessions WHERE id = ? AND expiry_date > ?")
                .bind(id.to_string())
                .bind(OffsetDateTime::now_utc().unix_timestamp())
                .fetch_optional(self.ready().await?)
                .await
                .map_err(backend)?;
        data.map(|bytes| rmp_serde::from_slice(&bytes))
            .transpose()
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id.to_string())
            .execute(self.ready().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

//! Where sessions live, chosen by a URL: `sqlite://path/to/file.db` (the default, no server
//! needed) or `redis://host:port` (shared by several app replicas).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{Builder, ClientLike, Config, KeysInterface, Pool, ReconnectPolicy};
use fred::types::{Expiration, SetOptions, Value};
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;

use crate::sqlite::SqliteStore;

/// How long a store operation may take before the request gets a 503. fred's default is no
/// timeout at all: a paused Redis would hang every request (FIELD-NOTES).
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a store URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreUrlError {
    /// Neither `sqlite://` nor `redis://`.
    #[error(
        "session store URL {0:?}: use sqlite://path/to/sessions.db or redis://host:port (or memory:// to compare)"
    )]
    Scheme(String),
    /// SQLite refused the path.
    #[error("session store {url:?}: {source}")]
    Sqlite {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// fred refused the Redis URL.
    #[error("session store {url:?}: {source}")]
    Redis {
        url: String,
        #[source]
        source: fred::error::Error,
    },
}

/// One of the lab's session stores.
#[derive(Clone, Debug)]
pub enum Store {
    /// tower-sessions' in-memory store (`memory://`), for comparison only: each app instance
    /// has its own, it dies with the process, and it resurrects logged-out sessions.
    Memory(MemoryStore),
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A Redis server, through a small pool.
    Redis(RedisSessions),
}

/// tower-sessions-redis-store, with our own `save`: its `SET ... XX` rightly refuses to
/// recreate a session deleted meanwhile, but then asks fred for a bool and fails on Redis's
/// nil answer, so the request that lost the race got an error. Ours accepts the nil.
#[derive(Clone, Debug)]
pub struct RedisSessions {
    published: RedisStore<Pool>,
    pool: Pool,
}

impl Store {
    /// Opens the store `url` names. Connections are made in the background (Redis) or on
    /// first use (SQLite): until then, and whenever the store is down, requests that need the
    /// session answer 503.
    pub fn open(url: &str) -> Result<Store, StoreUrlError> {
        if url == "memory://" {
            return Ok(Store::Memory(MemoryStore::default()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let store = SqliteStore::open(&PathBuf::from(path)).map_err(|source| {
                StoreUrlError::Sqlite {
                    url: url.into(),
                    source,
                }
            })?;
            return Ok(Store::Sqlite(store));
        }
        if url.starts_with("redis://") {
            let redis = |source| StoreUrlError::Redis {
                url: url.into(),
                source,
            };
            let config = Config::from_url(url).map_err(redis)?;
            // ANCHOR: redis_pool
            let pool = Builder::from_config(config)
                .with_performance_config(|performance| {
                    performance.default_command_timeout = STORE_TIMEOUT;
                })
                .with_connection_config(|connection| {
                    connection.connection_timeout = STORE_TIMEOUT;
                    connection.internal_command_timeout = STORE_TIMEOUT;
                })
                // Keep reconnecting, every half second, for as long as the app runs.
                .set_policy(ReconnectPolicy::new_constant(0, 500))
                .build_pool(2)
                .map_err(redis)?;
            // Spawns the connection tasks; commands wait for them, up to STORE_TIMEOUT.
            pool.connect_pool();
            // ANCHOR_END: redis_pool
            return Ok(Store::Redis(RedisSessions {
                published: RedisStore::new(pool.clone()),
                pool,
            }));
        }
        Err(StoreUrlError::Scheme(url.into()))
    }

    /// Reaches the store once (SQLite: opens the file and the table; Redis: a PING), or says
    /// why it cannot, within [`STORE_TIMEOUT`] plus SQLite's own wait for a lock.
    pub async fn check(&self) -> session_store::Result<()> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Sqlite(store) => store.check().await,
            Store::Redis(store) => {
                let _: Value = store
                    .pool
                    .ping(None)
                    .await
                    .map_err(|e| session_store::Error::Backend(e.to_string()))?;
                Ok(())
            }
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Memory(store) => store.create(record).await,
            Store::Sqlite(store) => store.create(record).await,
            Store::Redis(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Memory(store) => store.save(record).await,
            Store::Sqlite(store) => store.save(record).await,
            Store::Redis(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Memory(store) => store.load(id).await,
            Store::Sqlite(store) => store.load(id).await,
            Store::Redis(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Memory(store) => store.delete(id).await,
            Store::Sqlite(store) => store.delete(id).await,
            Store::Redis(store) => store.delete(id).await,
        }
    }
}

impl RedisSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.published.create(record).await
    }

    // ANCHOR: redis_save
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data =
            rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expiry = Expiration::EXAT(record.expiry_date.unix_timestamp());
        // XX: only if the session still exists. A nil answer means it was deleted: fine.
        let _: Value = self
            .pool
            .set(
                record.id.to_string(),
                data.as_slice(),
                Some(expiry),
                Some(SetOptions::XX),
                false,
            )
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(())
    }
    // ANCHOR_END: redis_save

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.published.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.published.delete(id).await
    }
}

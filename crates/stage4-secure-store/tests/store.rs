//! Stage 4's claims about the stores themselves: a logout that happens while another request
//! holds the session is not undone when that request saves.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::collections::HashMap;

use crate::stage_under_test::{SqliteStore, Store};
use labkit::Redis;
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

// ANCHOR: resurrection
/// Forces the interleaving: request A loads the session, request B logs out (deletes it),
/// then A saves what it loaded. Returns whether the session exists afterwards.
async fn logout_then_stale_save(store: &impl SessionStore) -> bool {
    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([("user".to_owned(), serde_json::json!("alice"))]),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    };
    store.create(&mut record).await.expect("create");
    let mut loaded_by_a = store
        .load(&record.id)
        .await
        .expect("load")
        .expect("the session exists");
    store.delete(&record.id).await.expect("B logs out");
    loaded_by_a
        .data
        .insert("counter".to_owned(), serde_json::json!(1));
    store.save(&loaded_by_a).await.expect("A saves");
    store.load(&record.id).await.expect("load").is_some()
}

/// The bug the lesson fixes, shown where it lives: tower-sessions' MemoryStore upserts.
#[tokio::test]
async fn the_memory_store_resurrects_a_logged_out_session() {
    let resurrected = logout_then_stale_save(&tower_sessions::MemoryStore::default()).await;
    assert!(
        resurrected,
        "MemoryStore's save is an upsert: the logged-out session should come back"
    );
}

#[tokio::test]
async fn the_sqlite_store_does_not_resurrect_a_logged_out_session() {
    let (_dir, url) = crate::common::sqlite_url();
    let Store::Sqlite(store) = Store::open(&url).expect("a sqlite URL") else {
        unreachable!()
    };
    assert!(
        !logout_then_stale_save(&store).await,
        "a save after a concurrent logout must not bring the session back (see src/sqlite.rs: UPDATE, never upsert)"
    );
}
// ANCHOR_END: resurrection

#[tokio::test]
async fn the_redis_store_does_not_resurrect_a_logged_out_session() -> labkit::Result<()> {
    let redis = Redis::start().await?;
    let store = Store::open(&redis.url()).expect("a redis URL");
    assert!(
        !logout_then_stale_save(&store).await,
        "a save after a concurrent logout must not bring the session back (the redis store saves with SET XX)"
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_store_url_is_refused_with_the_accepted_forms() {
    let error = Store::open("postgres://db/sessions").expect_err("not a store URL we know");
    let message = error.to_string();
    assert!(
        message.contains("sqlite://") && message.contains("redis://"),
        "the error should say which URLs work: {message}"
    );
}

#[tokio::test]
async fn the_sqlite_store_knows_what_it_holds() {
    let (_dir, url) = crate::common::sqlite_url();
    let store = match Store::open(&url).expect("a sqlite URL") {
        Store::Sqlite(store) => store,
        _ => unreachable!(),
    };
    let mut record = Record {
        id: Id::default(),
        data: HashMap::new(),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    };
    store.create(&mut record).await.expect("create");
    assert!(store.contains(&record.id).await.expect("query"));
    store.delete(&record.id).await.expect("delete");
    assert!(!store.contains(&record.id).await.expect("query"));
    let _: &SqliteStore = &store;
}

/// Expired sessions do not pile up: every anonymous visitor who counts creates a row, and the
/// store deletes the expired ones on a new session once the sweep interval has passed.
///
/// No clock is raced: one handle, whose interval never passes during the test, writes 300
/// sessions that are already expired; a second handle on the same file, whose interval is
/// zero, creates one more and must sweep them.
#[tokio::test]
async fn the_sqlite_store_deletes_expired_sessions() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("sessions.db");
    let hour = std::time::Duration::from_secs(3600);
    let writer = SqliteStore::open(&path)
        .expect("a store")
        .with_cleanup_every(hour);
    let record = |expires_in: Duration| Record {
        id: Id::default(),
        data: HashMap::new(),
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    };
    // The first create sweeps an empty table; the 300 after it fall within the hour.
    for _ in 0..300 {
        writer
            .create(&mut record(Duration::seconds(-1)))
            .await
            .expect("create");
    }
    assert_eq!(
        writer.record_count().await.expect("count"),
        300,
        "within the sweep interval, nothing is deleted"
    );
    let sweeper = SqliteStore::open(&path)
        .expect("a second handle")
        .with_cleanup_every(std::time::Duration::ZERO);
    let mut live = record(Duration::hours(1));
    sweeper.create(&mut live).await.expect("create");
    assert_eq!(
        sweeper.record_count().await.expect("count"),
        1,
        "the 300 expired sessions should have been deleted when a new one was created after the sweep interval; only the new one remains"
    );
    assert!(sweeper.contains(&live.id).await.expect("query"));
}

/// Session ids are bearer credentials: the database and SQLite's `-wal` and `-shm` files are
/// readable by the app's user only, even where the umask would make them world-readable, and
/// an existing file is tightened.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_private_to_the_apps_user() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("nested/folder/sessions.db");
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"").expect("a file");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for path in [path, existing] {
        let store = SqliteStore::open(&path).expect("a store");
        let mut record = Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
        };
        store.create(&mut record).await.expect("create");
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(
                mode, 0o600,
                "{file} has mode {mode:o}; it holds session ids and must be 600"
            );
        }
    }
}

/// Writes as Redis itself counts them (`INFO commandstats`), through the real nginx: the
/// store's work per request, which is what a session store's throughput is made of.
#[tokio::test]
async fn a_request_writes_the_store_at_most_once_and_a_read_not_at_all() -> labkit::Result<()> {
    let redis = Redis::start().await?;
    let lab = crate::common::start_on(&redis.url(), 1).await?;
    lab.client().log_in("alice").await?;
    let after_login = redis.writes().await?;

    for _ in 0..10 {
        let me = lab.client().me().await?;
        assert_eq!(me.user.as_deref(), Some("alice"), "{}", lab.report());
    }
    let after_reads = redis.writes().await?;
    assert_eq!(
        after_reads - after_login,
        0,
        "10 requests that only read the session, seconds after login, wrote the store {} times: \
         the idle deadline is renewed only once a tenth of the idle timeout has passed \
         (src/renewal.rs){}",
        after_reads - after_login,
        lab.report()
    );

    lab.client().count().await?;
    let after_count = redis.writes().await?;
    assert_eq!(
        after_count - after_reads,
        1,
        "a request that changed the session (POST /count) wrote it {} times: the handler's save \
         and the session layer's must not both reach the store (src/renewal.rs){}",
        after_count - after_reads,
        lab.report()
    );
    Ok(())
}

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

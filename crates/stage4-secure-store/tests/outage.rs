//! Stage 4's claims when things go wrong, through the real nginx: the store goes down, the
//! app restarts.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::time::{Duration, Instant};

use crate::common::{session_id, sqlite_url, start_on};
use crate::stage_under_test::STORE_TIMEOUT;
use labkit::{Lab, Redis, Result};

/// How long a request may take while the store is down: the store timeout plus slack for
/// nginx and a loaded CI machine. Not a performance target: a bound that says "no hang".
const BOUNDED: Duration = Duration::from_secs(STORE_TIMEOUT.as_secs() + 5);

// ANCHOR: outage
#[tokio::test]
async fn a_paused_redis_answers_503_promptly_and_the_session_survives() -> Result<()> {
    let redis = Redis::start().await?;
    let lab = start_on(&redis.url(), 1).await?;
    lab.client().log_in("alice").await?;
    assert_eq!(
        lab.client().count().await?,
        1,
        "the session works before the outage{}",
        lab.report()
    );

    redis.pause().await?;
    for (what, request) in [
        (
            "GET /me",
            lab.client().request(labkit::reqwest::Method::GET, "/me"),
        ),
        (
            "POST /count",
            lab.client()
                .request(labkit::reqwest::Method::POST, "/count"),
        ),
    ] {
        let started = Instant::now();
        let answer = lab.client().send(request).await?;
        let took = started.elapsed();
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            answer.status.as_u16(),
            503,
            "{what} with the store down should answer 503, never an anonymous 200{}",
            lab.report()
        );
        assert!(
            header("retry-after").is_some(),
            "{what}: a 503 should say when to retry{}",
            lab.report()
        );
        assert_eq!(
            header("cache-control").as_deref(),
            Some("no-store"),
            "{what}: nobody may cache the outage{}",
            lab.report()
        );
        assert_store_error_is_not_shown(&answer, &lab, what);
        assert!(
            answer.set_cookie_headers().is_empty(),
            "{what}: the outage must not touch the cookie, got {:?}{}",
            answer.set_cookie_headers(),
            lab.report()
        );
        assert!(
            took < BOUNDED,
            "{what} took {took:?} with the store down; it should give up within {BOUNDED:?}{}",
            lab.report()
        );
    }

    redis.unpause().await?;
    let me = lab.client().me().await?;
    assert_eq!(
        (me.user.as_deref(), me.counter),
        (Some("alice"), 1),
        "once the store is back, the same session should work again{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: outage

/// The visitor reads that sessions are unavailable, not the store's own error text (which
/// names the store, its timeout or a file path).
fn assert_store_error_is_not_shown(answer: &labkit::Exchange, lab: &Lab, what: &str) {
    let body = answer.body.to_lowercase();
    let leaked: Vec<&str> = ["error", "timeout", "redis", "database", "sqlite", "code:"]
        .into_iter()
        .filter(|word| body.contains(word))
        .collect();
    assert!(
        leaked.is_empty(),
        "{what}: the 503 page shows the store's own error ({leaked:?} in {:?}); say it generically and keep the detail for the log{}",
        answer.body,
        lab.report()
    );
}

#[tokio::test]
async fn a_store_that_cannot_open_answers_503_without_its_error_text() -> Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A file under a regular file: SQLite can never open it.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").expect("a plain file");
    let url = format!("sqlite://{}", blocker.join("sessions.db").display());
    let lab = start_on(&url, 1).await?;
    // Counting writes a session: the store has to open.
    let answer = lab.client().post_form("/count", &[]).await?;
    assert_eq!(
        answer.status.as_u16(),
        503,
        "a store that cannot open should answer 503{}",
        lab.report()
    );
    assert_store_error_is_not_shown(&answer, &lab, "POST /count");
    Ok(())
}

async fn survives_a_restart(mut lab: Lab) -> Result<()> {
    lab.client().log_in("alice").await?;
    lab.client().count().await?;
    lab.restart_app().await?;
    let me = lab.client().me().await?;
    assert_eq!(
        (me.user.as_deref(), me.counter),
        (Some("alice"), 1),
        "after the app restarts, the session should still be there{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn sessions_survive_an_app_restart_with_sqlite() -> Result<()> {
    let (_dir, url) = sqlite_url();
    survives_a_restart(start_on(&url, 1).await?).await
}

#[tokio::test]
async fn sessions_survive_an_app_restart_with_redis() -> Result<()> {
    let redis = Redis::start().await?;
    survives_a_restart(start_on(&redis.url(), 1).await?).await
}

/// The recipe's warning, shown: the in-memory store forgets everyone on restart.
#[tokio::test]
async fn the_memory_store_forgets_everyone_on_restart() -> Result<()> {
    let mut lab = start_on("memory://", 1).await?;
    let login = lab.client().log_in("alice").await?;
    assert!(
        session_id(&login).is_some(),
        "login should set a session{}",
        lab.report()
    );
    lab.restart_app().await?;
    assert_eq!(
        lab.client().me().await?.user,
        None,
        "the memory store should have lost alice{}",
        lab.report()
    );
    Ok(())
}

//! Stage 4's claims at scale, through the real nginx balancing between app replicas.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::time::Instant;

use crate::common::{COOKIE, me_with_cookie, session_id, sqlite_url, start_on};
use labkit::{Lab, Redis, Result};

const REQUESTS: usize = 20;

/// Logs in, then asks `/me` `REQUESTS` times carrying the session cookie, and counts the
/// answers that did not know the user.
async fn lost_out_of_many(lab: &Lab) -> Result<usize> {
    let login = lab.client().log_in("alice").await?;
    let cookie = format!("{COOKIE}={}", session_id(&login).expect("a session id"));
    let mut lost = 0;
    for _ in 0..REQUESTS {
        if me_with_cookie(lab, &cookie).await?.user.is_none() {
            lost += 1;
        }
    }
    Ok(lost)
}

// ANCHOR: memory_replicas
#[tokio::test]
async fn with_the_memory_store_replicas_lose_sessions() -> Result<()> {
    let lab = start_on("memory://", 2).await?;
    let lost = lost_out_of_many(&lab).await?;
    println!("memory store, 2 replicas: {lost} of {REQUESTS} requests lost the session");
    assert!(
        lost > 0 && lost < REQUESTS,
        "round-robin over two private memory stores should lose the session on a share of requests (about half); lost {lost} of {REQUESTS}{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: memory_replicas

async fn shared_store_loses_nothing_and_logout_holds_everywhere(lab: Lab) -> Result<()> {
    let lost = lost_out_of_many(&lab).await?;
    assert_eq!(
        lost,
        0,
        "a shared store should serve the session from every replica; lost {lost} of {REQUESTS}{}",
        lab.report()
    );

    let login = lab.client().log_in("bob").await?;
    let cookie = format!("{COOKIE}={}", session_id(&login).expect("a session id"));
    lab.client().log_out().await?;
    for attempt in 0..4 {
        let me = me_with_cookie(&lab, &cookie).await?;
        assert_eq!(
            me.user,
            None,
            "after logout on one replica, attempt {attempt} on either replica must be anonymous{}",
            lab.report()
        );
    }
    Ok(())
}

#[tokio::test]
async fn with_redis_replicas_share_sessions_and_logout() -> Result<()> {
    let redis = Redis::start().await?;
    shared_store_loses_nothing_and_logout_holds_everywhere(start_on(&redis.url(), 2).await?).await
}

#[tokio::test]
async fn with_sqlite_replicas_share_sessions_and_logout() -> Result<()> {
    let (_dir, url) = sqlite_url();
    shared_store_loses_nothing_and_logout_holds_everywhere(start_on(&url, 2).await?).await
}

const SOAK_SESSIONS: usize = 40;
const SOAK_COUNTS: u64 = 25;

/// A bounded soak: many sessions counting at once through nginx and two replicas on Redis.
/// No session sees another's data; no increment is lost within a session.
#[tokio::test]
async fn many_concurrent_sessions_never_mix_or_lose_counts() -> Result<()> {
    let redis = Redis::start().await?;
    let lab = start_on(&redis.url(), 2).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..SOAK_SESSIONS {
        let client = lab.new_client()?;
        tasks.spawn(async move {
            let name = format!("user{n}");
            client.log_in(&name).await?;
            let mut last = 0;
            for _ in 0..SOAK_COUNTS {
                last = client.count().await?;
            }
            let me = client.me().await?;
            Ok::<_, labkit::LabError>((name, last, me))
        });
    }
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("a soak task panicked") {
            Ok((name, last, me)) => {
                assert_eq!(
                    me.user.as_deref(),
                    Some(name.as_str()),
                    "{name} saw another session's user"
                );
                assert_eq!(
                    (last, me.counter),
                    (SOAK_COUNTS, SOAK_COUNTS),
                    "{name} lost increments"
                );
            }
            Err(error) => {
                errors += 1;
                eprintln!("soak error: {error}");
            }
        }
    }
    let requests = SOAK_SESSIONS * (SOAK_COUNTS as usize + 2);
    println!(
        "soak: {SOAK_SESSIONS} sessions, {requests} requests, {errors} errors, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(errors, 0, "no request of the soak should fail");
    Ok(())
}

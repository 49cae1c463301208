//! Stage 1's claims: over plain HTTP, sessions work, and the session id is there for anyone on
//! the wire to read.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use labkit::reqwest::Method;
use labkit::{Lab, Observer, Result};

async fn start() -> Result<Lab> {
    Lab::start(&labkit::stage!(stage_under_test)).await
}

#[tokio::test]
async fn sessions_work_over_plain_http() -> Result<()> {
    let lab = start().await?;
    let browser = lab.client();

    let login = browser.log_in("alice").await?;
    assert!(
        login.status.is_success(),
        "logging in should answer 2xx{}",
        lab.report()
    );
    let secure = login
        .set_cookies()
        .into_iter()
        .find(|c| c.secure() == Some(true));
    assert!(
        secure.is_none(),
        "the session cookie is Secure ({}), so over plain http:// the browser never sends it back and every request starts a new session{}",
        secure.map(|c| c.to_string()).unwrap_or_default(),
        lab.report()
    );
    let me = browser.me().await?;
    assert_eq!(
        me.user.as_deref(),
        Some("alice"),
        "after logging in, /me should know alice{}",
        lab.report()
    );
    assert_eq!(
        me.scheme,
        "http",
        "stage 1 has no TLS anywhere{}",
        lab.report()
    );

    assert_eq!(
        browser.count().await?,
        1,
        "the first count in a session is 1{}",
        lab.report()
    );
    assert_eq!(
        browser.count().await?,
        2,
        "the session should remember its count{}",
        lab.report()
    );

    browser.log_out().await?;
    let after = browser.me().await?;
    assert_eq!(
        after.user,
        None,
        "after logging out, /me should be anonymous{}",
        lab.report()
    );
    assert_eq!(
        after.counter,
        0,
        "logging out should drop the session's data{}",
        lab.report()
    );
    Ok(())
}

// ANCHOR: lacks_secure
#[tokio::test]
async fn the_session_cookie_lacks_secure() -> Result<()> {
    let lab = start().await?;
    let login = lab.client().log_in("alice").await?;
    let cookies = login.set_cookies();
    let session = cookies.iter().find(|c| c.name() == "id");
    let Some(session) = session else {
        panic!(
            "logging in should set the session cookie `id`{}",
            lab.report()
        );
    };
    assert_eq!(
        session.secure(),
        None,
        "stage 1's cookie has no Secure attribute, so browsers send it over plain HTTP: {session}{}",
        lab.report()
    );
    assert_eq!(
        session.http_only(),
        Some(true),
        "HttpOnly is on by default in tower-sessions"
    );
    Ok(())
}
// ANCHOR_END: lacks_secure

// ANCHOR: observer
#[tokio::test]
async fn a_network_observer_reads_the_session_id_in_cleartext() -> Result<()> {
    let lab = start().await?;
    let observer = Observer::start(lab.app_addr()).await?;
    let browser = lab.client_via(observer.addr())?;

    let login = browser.log_in("alice").await?;
    let session = login.set_cookies().into_iter().find(|c| c.name() == "id");
    let Some(session) = session else {
        panic!(
            "logging in should set the session cookie `id`{}",
            lab.report()
        );
    };
    browser.me().await?;

    // Header names are case-insensitive on the wire: compare in lower case.
    let seen = observer.seen();
    let (wire, id) = (
        seen.to_ascii_lowercase(),
        session.value().to_ascii_lowercase(),
    );
    assert!(
        wire.contains(&format!("set-cookie: id={id}")),
        "the observer should have seen the app hand out the session id {id}; it saw:\n{seen}"
    );
    assert!(
        wire.contains(&format!("\ncookie: id={id}")),
        "the observer should have seen the browser send the session id {id} back; it saw:\n{seen}"
    );
    // Holding the id is holding the session: replay it from another client.
    let thief = lab.new_client()?;
    let stolen = thief
        .send(
            thief
                .request(Method::GET, "/me")
                .header("cookie", format!("id={}", session.value())),
        )
        .await?
        .json::<labkit::Me>()?;
    assert_eq!(
        stolen.user.as_deref(),
        Some("alice"),
        "a replayed session id is alice's session{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: observer

/// `cargo xtask lab 1` tells this story: everything works except what needs TLS, and the
/// walk-through says so as stage 1's intended behaviour (every expectation met).
#[tokio::test]
async fn the_walkthrough_shows_sessions_working_without_tls() -> Result<()> {
    let lab = start().await?;
    let steps = labkit::walkthrough::walk(&lab, &mut |_| {}).await?;
    let unmet: Vec<String> = steps
        .iter()
        .filter(|s| !s.met)
        .map(|s| format!("{} ({})", s.expectation, s.observed))
        .collect();
    assert!(
        unmet.is_empty(),
        "stage 1 should meet every expectation of its story; unmet: {unmet:#?}{}",
        lab.report()
    );
    let no_tls: Vec<&str> = steps
        .iter()
        .map(|s| s.expectation)
        .filter(|e| e.contains("stage 1: there is no HTTPS") || e.contains("stage 1: it is"))
        .collect();
    assert_eq!(
        no_tls.len(),
        3,
        "stage 1 should fall short exactly where TLS is missing: Secure, HTTPS, the HTTPS-only page{}",
        lab.report()
    );
    Ok(())
}

//! Stage 4's claims about the session itself, through the real nginx, on the SQLite store.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::time::Duration;

use crate::common::{
    COOKIE, SHORT_IDLE, SHORT_LIFETIME, me_with_cookie, session_id, sqlite_url, start_on,
    start_with_short_timeouts,
};
use crate::stage_under_test::{SqliteStore, Store};
use labkit::Result;
use tower_sessions::session::Id;

// ANCHOR: host_cookie
#[tokio::test]
async fn the_session_cookie_is_host_prefixed_secure_httponly_and_lax() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let login = lab.client().log_in("alice").await?;
    let cookies = login.set_cookies();
    let Some(cookie) = cookies.iter().find(|c| c.name() == COOKIE) else {
        panic!("logging in should set {COOKIE}{}", lab.report());
    };
    let attributes = (
        cookie.secure(),
        cookie.http_only(),
        cookie.same_site(),
        cookie.path(),
        cookie.domain(),
    );
    assert_eq!(
        attributes,
        (
            Some(true),
            Some(true),
            Some(tower_sessions::cookie::SameSite::Lax),
            Some("/"),
            None
        ),
        "the session cookie should be Secure, HttpOnly, SameSite=Lax, Path=/ and without Domain: {cookie}{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: host_cookie

#[tokio::test]
async fn the_logout_cookie_keeps_secure_so_browsers_accept_it() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    lab.client().log_in("alice").await?;
    let logout = lab.client().log_out().await?;
    let removal = logout
        .set_cookie_headers()
        .into_iter()
        .find(|c| c.starts_with(&format!("{COOKIE}=")));
    let Some(removal) = removal else {
        panic!(
            "logging out should tell the browser to drop {COOKIE}{}",
            lab.report()
        );
    };
    assert!(
        removal.contains("Max-Age=0") && removal.split(';').any(|a| a.trim() == "Secure"),
        "a browser ignores a {COOKIE} cookie without Secure, and would keep the dead id: {removal}{}",
        lab.report()
    );
    Ok(())
}

// ANCHOR: fixation
/// Session fixation: an attacker who planted a session id before login must not share the
/// logged-in session.
#[tokio::test]
async fn login_cycles_the_session_id_so_a_planted_id_stays_anonymous() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let before = lab.client().post_form("/count", &[]).await?;
    let Some(planted) = session_id(&before) else {
        panic!(
            "counting should start a session before login{}",
            lab.report()
        );
    };
    let login = lab.client().log_in("alice").await?;
    let after = session_id(&login);
    assert!(
        after.is_some() && after.as_deref() != Some(planted.as_str()),
        "login should issue a new session id, not keep {planted} (got {after:?}): otherwise an attacker who planted the id shares the logged-in session (session fixation){}",
        lab.report()
    );
    let replayed = me_with_cookie(&lab, &format!("{COOKIE}={planted}")).await?;
    assert_eq!(
        replayed.user,
        None,
        "the pre-login id must not be alice's session{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: fixation

#[tokio::test]
async fn an_unknown_or_forged_id_is_never_adopted() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let forged = Id::default().to_string();
    let client = lab.new_client()?;
    let request = client
        .request(labkit::reqwest::Method::POST, "/count")
        .header("cookie", format!("{COOKIE}={forged}"));
    let answer = client.send(request).await?;
    let issued = session_id(&answer);
    assert!(
        issued.is_some() && issued.as_deref() != Some(forged.as_str()),
        "a session id the server never issued must be replaced, not adopted (got {issued:?}){}",
        lab.report()
    );
    let store = SqliteStore::open(&std::path::PathBuf::from(
        url.trim_start_matches("sqlite://"),
    ))
    .expect("the same file");
    assert!(
        !store
            .contains(&forged.parse().expect("an id"))
            .await
            .expect("query"),
        "the forged id must not exist in the store"
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_cookie_gets_a_fresh_anonymous_session_not_an_error() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let me = me_with_cookie(&lab, &format!("{COOKIE}=%%%not-a-session-id;;")).await?;
    assert_eq!(
        me.user,
        None,
        "a malformed cookie is just anonymous{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn logout_deletes_the_session_from_the_store() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let login = lab.client().log_in("alice").await?;
    let id: Id = session_id(&login)
        .expect("a session id")
        .parse()
        .expect("a valid id");
    let Ok(Store::Sqlite(store)) = Store::open(&url) else {
        unreachable!()
    };
    assert!(
        store.contains(&id).await.expect("query"),
        "after login the record should be in the store"
    );
    lab.client().log_out().await?;
    assert!(
        !store.contains(&id).await.expect("query"),
        "after logout the record must be gone from the store itself, not only from the browser{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn an_idle_session_expires_on_the_server() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_with_short_timeouts(&url).await?;
    let login = lab.client().log_in("alice").await?;
    let cookie = format!("{COOKIE}={}", session_id(&login).expect("a session id"));
    let idle = SHORT_IDLE.as_secs_f64();
    // Used every second for longer than the idle timeout: only renewal on each request keeps
    // it alive past the third second.
    for second in 1..=4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let active = me_with_cookie(&lab, &cookie).await?;
        assert_eq!(
            active.user.as_deref(),
            Some("alice"),
            "{second} s after login, used every second, the session is within its {idle} s idle timeout{}",
            lab.report()
        );
    }
    tokio::time::sleep(SHORT_IDLE + Duration::from_millis(1500)).await;
    let expired = me_with_cookie(&lab, &cookie).await?;
    assert_eq!(
        expired.user,
        None,
        "after {:.1} s unused the server must have ended the session (the cookie was replayed by hand){}",
        idle + 1.5,
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_lifetime() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_with_short_timeouts(&url).await?;
    lab.client().log_in("alice").await?;
    let mut seen = Vec::new();
    // One more second than the lifetime, plus one for the clock's whole seconds.
    for _ in 0..SHORT_LIFETIME.as_secs() + 2 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen.push(lab.client().me().await?.user);
    }
    assert_eq!(
        seen[0].as_deref(),
        Some("alice"),
        "one second in, the session is alive{}",
        lab.report()
    );
    assert_eq!(
        seen.last().cloned().flatten(),
        None,
        "kept active every second, the session must still end {} s after login; saw {seen:?}{}",
        SHORT_LIFETIME.as_secs(),
        lab.report()
    );
    Ok(())
}

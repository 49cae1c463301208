//! The book's "Try the attack" parts for stage 4: each test runs the real `curl` through the
//! real nginx, first against stage 4 without the defence the attack is about, then against
//! stage 4, checks what the attacker gained and that the fix refuses it, and compares what
//! curl printed with the copy the book includes (`book/src/generated/attacks/`). After a
//! deliberate change, regenerate the copies with
//! `UPDATE_EXPECT=1 cargo test -p stage4-secure-store try_the_attack`.

use axum::Router;
use axum::middleware;
use expect_test::{ExpectFile, expect_file};
use lab_app::AppOptions;
use labkit::curl::{Curl, CurlRun, Target};
use labkit::{AppEnv, Lab, LabOptions, Me, Result, Stage};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

use crate::common::{COOKIE, session_id, sqlite_url, stage};
use crate::stage_under_test::renewal::{self, RenewWhenDue};
use crate::stage_under_test::{Settings, Store, hardening};

/// Compares `run` with the book's copy.
fn matches_the_book(lab: &Lab, run: &CurlRun, copy: ExpectFile) {
    transcript_matches_the_book(lab, &run.transcript(), copy);
}

/// Compares `transcript` (one run or several) with the book's copy. The copies are made with
/// nginx in Docker; with the native backend only the claims are checked.
pub(crate) fn transcript_matches_the_book(lab: &Lab, transcript: &str, copy: ExpectFile) {
    if labkit::redact::comparable_with_the_book(lab) {
        copy.assert_eq(transcript);
    } else {
        eprintln!("native nginx: the book's copy (Docker addresses) is not compared");
    }
}

/// Stage 4's app, layer for layer (`stage4_secure_store::app_trusting`), with or without two
/// of its defences: the byte-exact session cookie name and the origin check. The fixed runs
/// use stage 4's own app, not this copy.
fn hardened(env: &AppEnv, exact_cookie_name: bool, origin_check: bool) -> Router {
    let settings = Settings::for_env(env);
    let store = RenewWhenDue::new(
        Store::open(&settings.store_url).unwrap_or_else(|error| panic!("{error}")),
        renewal::renew_after(settings.idle_timeout),
    );
    let idle = time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::MAX);
    let sessions = SessionManagerLayer::new(store)
        .with_name(COOKIE)
        .with_secure(true)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        .with_always_save(true);
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    let trust = ProxyConfig::new(policy).allowed_hosts(env.public_hosts.iter().cloned());
    let options = AppOptions {
        cycle_id_on_login: true,
        ..AppOptions::default()
    };
    let mut app = lab_app::router_with(options)
        .layer(middleware::from_fn_with_state(
            settings.absolute_lifetime,
            hardening::absolute_lifetime,
        ))
        .layer(sessions);
    if exact_cookie_name {
        app = app.layer(middleware::from_fn_with_state(
            COOKIE,
            hardening::exact_session_cookie,
        ));
    }
    app = app.layer(middleware::map_response(hardening::secure_host_cookies));
    if origin_check {
        app = app.layer(middleware::from_fn(hardening::same_origin_only));
    }
    app.layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust))
}

/// Stage 4 (or a variant of its app) on a fresh SQLite file.
async fn start(app: Option<fn(&AppEnv) -> Router>) -> Result<(tempfile::TempDir, Lab)> {
    let (dir, url) = sqlite_url();
    let options = LabOptions {
        session_store: Some(url),
        ..LabOptions::from_env()?
    };
    let stage = match app {
        Some(app) => Stage { app, ..stage() },
        None => stage(),
    };
    Ok((dir, Lab::start_with(&stage, options).await?))
}

/// Logs a fresh client in as `user` and returns its session id.
async fn session_of(lab: &Lab, user: &str) -> Result<String> {
    let login = lab.new_client()?.log_in(user).await?;
    Ok(session_id(&login).unwrap_or_else(|| panic!("{user} should get a session{}", lab.report())))
}

// 5. The cookie-prefix bypass.
/// The victim's browser sends its own `__Host-id` and, after it, the `%5F_Host-id` that a
/// sibling subdomain planted with `Domain=lab.test`. A server that percent-decodes cookie
/// names reads two `__Host-id`s and keeps the last: the attacker's session.
async fn planted_cookie(lab: &Lab) -> Result<(CurlRun, String)> {
    let alice = session_of(lab, "alice").await?;
    let mallory = session_of(lab, "mallory").await?;
    let run = Curl::new(Target::Nginx, "/me")
        .header(&format!("Cookie: {COOKIE}={alice}; %5F_Host-id={mallory}"))
        .redact(&alice, "<alice-id>")
        .redact(&mallory, "<mallory-id>")
        .run(lab)
        .await;
    let user = run.json::<Me>().user.unwrap_or_default();
    Ok((run, user))
}

#[tokio::test]
async fn a_planted_percent_encoded_cookie_name_logs_the_victim_in_as_the_attacker() -> Result<()> {
    fn decoded_names(env: &AppEnv) -> Router {
        hardened(env, false, true)
    }
    let (_dir, vulnerable) = start(Some(decoded_names)).await?;
    let (run, user) = planted_cookie(&vulnerable).await?;
    assert_eq!(
        user,
        "mallory",
        "without the byte-exact name, the planted `%5F_Host-id` should be read as `{COOKIE}` \
         and, last, win: the app should see mallory; it saw {user:?}:\n{}{}",
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/cookie-prefix-bypass.txt"],
    );
    drop(vulnerable);

    let (_dir, fixed) = start(None).await?;
    let (run, user) = planted_cookie(&fixed).await?;
    assert_eq!(
        user,
        "alice",
        "stage 4 reads only the cookie named `{COOKIE}` byte for byte: the app should see \
         alice; it saw {user:?}:\n{}{}",
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/cookie-prefix-bypass-fixed.txt"],
    );
    Ok(())
}

// 6. Login CSRF and forced logout.
fn without_origin_check(env: &AppEnv) -> Router {
    hardened(env, true, false)
}

/// What a form on evil.example makes the victim's browser send.
fn cross_site_post(path: &str) -> Curl {
    Curl::new(Target::Nginx, path)
        .header("Origin: https://evil.example")
        .header("Sec-Fetch-Site: cross-site")
}

/// Whether the answer sets a session cookie with a value (a session the browser will keep).
fn sets_a_session(run: &CurlRun) -> bool {
    run.headers("set-cookie").iter().any(|cookie| {
        cookie
            .strip_prefix(&format!("{COOKIE}="))
            .is_some_and(|rest| !rest.starts_with(';'))
    })
}

/// Login CSRF: a form on evil.example posts mallory's name to `/login`. It needs no cookie,
/// so SameSite does nothing: the answer logs the victim's browser in as mallory.
#[tokio::test]
async fn a_cross_site_login_form_logs_the_victim_in_as_the_attacker() -> Result<()> {
    let attack = || {
        cross_site_post("/login")
            .form("username=mallory")
            .form("next=/me")
    };
    let (_dir, vulnerable) = start(Some(without_origin_check)).await?;
    let run = attack().run(&vulnerable).await;
    assert!(
        run.status() == Some(303) && sets_a_session(&run),
        "without the origin check, the cross-site login should succeed (303 to /me with a \
         `{COOKIE}` cookie: the victim's browser is now mallory's):\n{}{}",
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/login-csrf.txt"],
    );
    drop(vulnerable);

    let (_dir, fixed) = start(None).await?;
    let run = attack().run(&fixed).await;
    assert!(
        run.status() == Some(403) && run.headers("set-cookie").is_empty(),
        "stage 4 refuses a cross-site POST before any session exists (403, no Set-Cookie):\n{}{}",
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/login-csrf-fixed.txt"],
    );
    Ok(())
}

/// Forced logout from a sibling subdomain: a page on `edge.lab.test` is same-site with
/// `app.lab.test`, so the browser sends the victim's Lax cookie with its POST to `/logout`
/// (same-site is not same-origin). The victim's session ends.
async fn sibling_logs_alice_out(lab: &Lab) -> Result<(CurlRun, Option<String>)> {
    let alice = lab.client().log_in("alice").await?;
    let id =
        session_id(&alice).unwrap_or_else(|| panic!("alice should get a session{}", lab.report()));
    let run = Curl::new(Target::Nginx, "/logout")
        .method("POST")
        .header("Origin: https://edge.lab.test")
        .header("Sec-Fetch-Site: same-site")
        .header("Accept: text/html")
        .header(&format!("Cookie: {COOKIE}={id}"))
        .redact(&id, "<alice-id>")
        .run(lab)
        .await;
    let user = lab.client().me().await?.user;
    Ok((run, user))
}

#[tokio::test]
async fn a_sibling_subdomains_post_logs_the_victim_out() -> Result<()> {
    let (_dir, vulnerable) = start(Some(without_origin_check)).await?;
    let (run, user) = sibling_logs_alice_out(&vulnerable).await?;
    assert_eq!(
        user,
        None,
        "without the origin check, a same-site POST /logout carrying alice's cookie should end \
         her session; afterwards her /me says {user:?}:\n{}{}",
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/forced-logout.txt"],
    );
    drop(vulnerable);

    let (_dir, fixed) = start(None).await?;
    let (run, user) = sibling_logs_alice_out(&fixed).await?;
    assert!(
        run.status() == Some(403) && user.as_deref() == Some("alice"),
        "stage 4 refuses the sibling's POST (403) and alice stays logged in; her /me says \
         {user:?}:\n{}{}",
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/forced-logout-fixed.txt"],
    );
    Ok(())
}

/// Forced logout from another site: a form on evil.example posts to `/count`. The browser
/// does not send the victim's Lax cookie with it, so the app starts a new, anonymous session,
/// and its `Set-Cookie` (a navigation's answer may set a Lax cookie) replaces the victim's.
#[tokio::test]
async fn a_cross_site_post_starts_a_session_that_replaces_the_victims() -> Result<()> {
    let attack = || {
        cross_site_post("/count")
            .method("POST")
            .header("Accept: text/html")
    };
    let (_dir, vulnerable) = start(Some(without_origin_check)).await?;
    let run = attack().run(&vulnerable).await;
    assert!(
        sets_a_session(&run),
        "without the origin check, a cross-site POST /count should start a session whose \
         `{COOKIE}` cookie replaces the victim's:\n{}{}",
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/cross-site-post.txt"],
    );
    drop(vulnerable);

    let (_dir, fixed) = start(None).await?;
    let run = attack().run(&fixed).await;
    assert!(
        run.status() == Some(403) && run.headers("set-cookie").is_empty(),
        "stage 4 refuses a cross-site POST before any session exists (403, no Set-Cookie):\n{}{}",
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/cross-site-post-fixed.txt"],
    );
    Ok(())
}

//! Stage 4's claims against an attacker who has a session of their own, a sibling subdomain
//! or a page on another site, through the real nginx. Each test is an attack an audit carried
//! out; each failed against stage 4 before the defence it names.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use crate::common::{COOKIE, session_id, sqlite_url, start_on};
use labkit::reqwest::Method;
use labkit::{Exchange, Lab, LabClient, Result};

/// Logs a fresh client in as `user` and returns its session id.
async fn session_of(lab: &Lab, user: &str) -> Result<String> {
    let login = lab.new_client()?.log_in(user).await?;
    Ok(session_id(&login).unwrap_or_else(|| panic!("{user} should get a session{}", lab.report())))
}

/// `GET /me` from a fresh client that sends exactly these `Cookie` bytes.
async fn user_for_cookie_bytes(lab: &Lab, cookie: &[u8]) -> Result<Option<String>> {
    let client = lab.new_client()?;
    let value = labkit::reqwest::header::HeaderValue::from_bytes(cookie)
        .expect("a header value (any byte but controls)");
    let request = client.request(Method::GET, "/me").header("cookie", value);
    Ok(client.send(request).await?.json::<labkit::Me>()?.user)
}

// ANCHOR: prefix_bypass
/// The `__Host-` prefix promises that no sibling subdomain set the cookie. A browser lets a
/// sibling set `%5F_Host-id` (not a `__Host-` name to the browser) with `Domain=`; a server
/// that percent-decodes or trims cookie names reads it as `__Host-id`. Only a byte-exact name
/// is the session cookie here, and two of them make the request anonymous.
#[tokio::test]
async fn a_cookie_whose_name_only_decodes_to_the_session_cookie_is_ignored() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let alice = session_of(&lab, "alice").await?;
    let mallory = session_of(&lab, "mallory").await?;
    // (case, Cookie bytes, who the app may see)
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "percent-encoded `_`",
            format!("%5F_Host-id={mallory}").into_bytes(),
            None,
        ),
        (
            "percent-encoded `-`",
            format!("__Host%2Did={mallory}").into_bytes(),
            None,
        ),
        (
            "U+2000 before the name",
            format!("\u{2000}{COOKIE}={mallory}").into_bytes(),
            None,
        ),
        (
            "U+00A0 before the name",
            format!("\u{a0}{COOKIE}={mallory}").into_bytes(),
            None,
        ),
        (
            "a tab before the name",
            format!("theme=dark;\t{COOKIE}={mallory}").into_bytes(),
            None,
        ),
        (
            "the victim's cookie, then a planted encoded twin",
            format!("{COOKIE}={alice}; %5F_Host-id={mallory}").into_bytes(),
            Some("alice"),
        ),
        (
            "two exact names (fail closed)",
            format!("{COOKIE}={alice}; {COOKIE}={mallory}").into_bytes(),
            None,
        ),
        (
            "the victim's cookie alone (control)",
            format!("{COOKIE}={alice}").into_bytes(),
            Some("alice"),
        ),
    ];
    for (case, cookie, expected) in cases {
        let seen = user_for_cookie_bytes(&lab, &cookie).await?;
        assert_eq!(
            seen.as_deref(),
            expected,
            "{case}: `Cookie: {}` made the app see {seen:?}; only a cookie named exactly {COOKIE}, byte for byte, is the session (tower-cookies percent-decodes and trims names: see hardening::exact_session_cookie){}",
            String::from_utf8_lossy(&cookie),
            lab.report()
        );
    }
    Ok(())
}
// ANCHOR_END: prefix_bypass

/// A POST as a browser sends it from a page on `origin`, with `site` as its Sec-Fetch-Site.
fn from_page(
    client: &LabClient,
    path: &str,
    origin: &str,
    site: Option<&str>,
) -> labkit::reqwest::RequestBuilder {
    let mut request = client.request(Method::POST, path).header("origin", origin);
    if let Some(site) = site {
        request = request.header("sec-fetch-site", site);
    }
    request
}

fn assert_refused_untouched(answer: &Exchange, lab: &Lab, what: &str) {
    assert_eq!(
        answer.status.as_u16(),
        403,
        "{what} should be refused (403){}",
        lab.report()
    );
    assert!(
        answer.set_cookie_headers().is_empty(),
        "{what}: a refused request must not create or change a session, got {:?}{}",
        answer.set_cookie_headers(),
        lab.report()
    );
}

// ANCHOR: csrf
/// Login CSRF: a form on another site logs the victim's browser in as the attacker, who then
/// sees everything the victim does "in their own account". The form needs no cookie, so
/// SameSite does nothing against it.
#[tokio::test]
async fn a_cross_site_login_form_is_refused() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let victim = lab.new_client()?;
    for (what, origin, site) in [
        (
            "a cross-site form",
            "https://evil.example",
            Some("cross-site"),
        ),
        (
            "a cross-site form (older browser: Origin only)",
            "https://evil.example",
            None,
        ),
        ("a form in a sandboxed frame (Origin: null)", "null", None),
    ] {
        let request = from_page(&victim, "/login", origin, site).form(&[("username", "mallory")]);
        let answer = victim.send(request).await?;
        assert_refused_untouched(&answer, &lab, &format!("POST /login from {what}"));
    }
    assert_eq!(
        victim.me().await?.user,
        None,
        "the victim must not end up logged in as mallory{}",
        lab.report()
    );
    Ok(())
}

/// Forced logout: a cross-site POST arrives without the Lax cookie; if the app started a new
/// session for it, its Set-Cookie would replace the victim's.
#[tokio::test]
async fn a_cross_site_post_cannot_replace_the_victims_session() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    lab.client().log_in("alice").await?;
    // The browser would not send the Lax cookie on this cross-site POST: a fresh client.
    let cookieless = lab.new_client()?;
    let answer = cookieless
        .send(from_page(
            &cookieless,
            "/count",
            "https://evil.example",
            Some("cross-site"),
        ))
        .await?;
    assert_refused_untouched(&answer, &lab, "a cross-site POST /count");
    assert_eq!(
        lab.client().me().await?.user.as_deref(),
        Some("alice"),
        "alice stays logged in{}",
        lab.report()
    );
    Ok(())
}

/// Same-site is not same-origin: a page on a sibling subdomain is same-site, so the browser
/// sends the Lax cookie with its POSTs. The origin check refuses them anyway.
#[tokio::test]
async fn a_sibling_subdomain_cannot_log_the_victim_out() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    lab.client().log_in("alice").await?;
    let sibling = "https://edge.lab.test";
    for site in [Some("same-site"), None] {
        // The victim's own client: the cookie goes along, as the browser would send it.
        let answer = lab
            .client()
            .send(from_page(lab.client(), "/logout", sibling, site))
            .await?;
        assert_refused_untouched(
            &answer,
            &lab,
            &format!("POST /logout from {sibling} (Sec-Fetch-Site: {site:?})"),
        );
    }
    assert_eq!(
        lab.client().me().await?.user.as_deref(),
        Some("alice"),
        "alice must still be logged in after the sibling's POSTs{}",
        lab.report()
    );
    Ok(())
}

/// The app's own pages, and clients that are not browsers (curl, API clients, these tests),
/// still work: a browser always says where a cross-origin POST comes from, so a request that
/// names no origin at all is not one a page could have forced.
#[tokio::test]
async fn same_origin_and_non_browser_posts_are_accepted() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let client = lab.client();
    let own = lab.origin().to_owned();
    for (what, request) in [
        (
            "same-origin (Sec-Fetch-Site)",
            from_page(client, "/count", &own, Some("same-origin")),
        ),
        (
            "same-origin (Origin only)",
            from_page(client, "/count", &own, None),
        ),
        (
            "no Origin, no Sec-Fetch-Site",
            client.request(Method::POST, "/count"),
        ),
    ] {
        let answer = client.send(request).await?;
        assert_eq!(
            answer.status.as_u16(),
            200,
            "a POST {what} should be accepted{}",
            lab.report()
        );
    }
    assert_eq!(
        client.me().await?.counter,
        3,
        "three counts{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: csrf

/// `cargo xtask lab 4` tells the story with the attacks above as steps: a finished stage 4
/// meets every expectation, the hardening ones included.
#[tokio::test]
async fn the_walkthrough_meets_every_expectation_and_stops_the_attacks() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let steps = labkit::walkthrough::walk(&lab, &mut |_| {}).await?;
    let unmet: Vec<String> = steps
        .iter()
        .filter(|s| !s.met)
        .map(|s| format!("{} ({})", s.expectation, s.observed))
        .collect();
    assert!(
        unmet.is_empty(),
        "stage 4 should meet every expectation; unmet: {unmet:#?}{}",
        lab.report()
    );
    assert!(
        steps.iter().any(|s| s.expectation.contains("login CSRF")),
        "stage 4's story should probe its hardening{}",
        lab.report()
    );
    Ok(())
}

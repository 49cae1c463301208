//! Stage 4 in a browser: the hardened cookie, HSTS, and the attacks a browser makes possible
//! (a sibling subdomain planting a cookie, a form on another site).

use browser_suite::{Attacker, Browser};
use labkit::{Lab, LabOptions};

use super::{Result, report};

async fn start() -> Result<(Lab, Browser, tempfile::TempDir)> {
    let (dir, store) = labkit::temporary_sqlite_store();
    let lab = Lab::start_with(
        &labkit::stage!(stage4_secure_store),
        LabOptions {
            session_store: Some(store),
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let browser = Browser::start(&lab.certs().ca_pem).await?;
    Ok((lab, browser, dir))
}

async fn session_id(browser: &Browser) -> Result<Option<String>> {
    let cookies = browser.cookies().await?;
    Ok(cookies
        .iter()
        .find(|c| c.name() == "__Host-id")
        .map(|c| c.value().to_owned()))
}

#[tokio::test]
async fn stage4_host_cookie_has_its_attributes_changes_at_login_and_logout_removes_it() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser, _dir) = start().await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.click_button("Count").await?;
    let before = session_id(&browser).await?;
    browser.log_in(lab.origin(), "alice").await?;
    let cookies = browser.cookies().await?;
    let cookie = cookies.iter().find(|c| c.name() == "__Host-id").cloned();
    browser.screenshot("stage4-welcome-after-login").await?;
    let Some(cookie) = cookie else {
        panic!(
            "the browser should hold __Host-id after login; it holds {cookies:?}{}",
            report(&browser, &lab).await
        );
    };
    assert_eq!(
        (
            cookie.secure(),
            cookie.http_only(),
            cookie.same_site(),
            cookie.path(),
        ),
        (
            Some(true),
            Some(true),
            Some(cookie::SameSite::Lax),
            Some("/")
        ),
        "__Host-id should be Secure, HttpOnly, SameSite=Lax, Path=/: {cookie:?}{}",
        report(&browser, &lab).await
    );
    assert!(
        before.is_some() && before.as_deref() != Some(cookie.value()),
        "the id should change at login (before: {before:?}){}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.click_button("Log out").await?;
    let after = session_id(&browser).await?;
    browser.screenshot("stage4-home-after-logout").await?;
    assert_eq!(
        after,
        None,
        "logging out should remove __Host-id from the browser{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn stage4_after_one_visit_the_browser_upgrades_http_itself() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser, _dir) = start().await?;
    let https_port = lab.front().expect("nginx").https_port();
    let plain = format!("http://app.lab.test:{https_port}/");
    // The control: before any visit, plain HTTP to the TLS port reaches nginx as such (another
    // path than the claim's: Chromium would serve the claim's URL from its memory of this visit).
    browser.goto(&format!("{plain}login")).await?;
    let before = browser.url().await?;
    assert!(
        before.starts_with("http://"),
        "before any visit the browser should not upgrade on its own; it is on {before}{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.goto(&plain).await?;
    let after = browser.url().await?;
    let text = browser.text().await?;
    browser.screenshot("stage4-hsts-upgrade").await?;
    assert!(
        after.starts_with("https://") && text.contains("Home"),
        "after one HTTPS visit (Strict-Transport-Security), the browser itself should turn \
         {plain} into https://; it is on {after}{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn stage4_a_siblings_planted_cookie_does_not_log_the_victim_in_as_the_attacker() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser, _dir) = start().await?;
    // Mallory's own, valid session.
    let mallory = lab.new_client()?.log_in("mallory").await?;
    let planted = mallory
        .set_cookies()
        .first()
        .map(|c| c.value().to_owned())
        .expect("mallory's session id");
    // Not a `__Host-` name to the browser, so a sibling may set it for the whole site.
    let evil = Attacker::serve(
        "evil.lab.test",
        "<!doctype html><title>evil</title><p>Hello from a sibling.</p>".into(),
        Some(format!("%5F_Host-id={planted}; Domain=lab.test; Path=/")),
    )
    .await?;
    browser.goto(&evil.url()).await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    let cookies = browser.cookies().await?;
    assert!(
        cookies.iter().any(|c| c.name() == "%5F_Host-id"),
        "the browser should hold the planted cookie (else this proves nothing): {cookies:?}{}",
        report(&browser, &lab).await
    );
    let fresh = browser.text().await?;
    assert!(
        fresh.contains("You are not logged in"),
        "the planted %5F_Host-id must not be read as the session: the victim is not mallory{}",
        report(&browser, &lab).await
    );
    browser.log_in(lab.origin(), "alice").await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    let home = browser.text().await?;
    browser.screenshot("stage4-sibling-cookie-ignored").await?;
    assert!(
        home.contains("You are logged in as alice"),
        "with both cookies, the victim should still be alice, not mallory{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn stage4_a_cross_site_form_cannot_log_the_victim_in_or_out() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser, _dir) = start().await?;
    let login = Attacker::serve(
        "attacker.example",
        Attacker::auto_post(
            &format!("{}/login", lab.origin()),
            &[("username", "mallory")],
        ),
        None,
    )
    .await?;
    browser.goto(&login.url()).await?;
    browser.wait_for_host("app.lab.test").await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    let after_login_csrf = browser.text().await?;
    assert!(
        after_login_csrf.contains("You are not logged in"),
        "a form on another site must not log the victim in as mallory{}",
        report(&browser, &lab).await
    );
    browser.log_in(lab.origin(), "alice").await?;
    let logout = Attacker::serve(
        "attacker.example",
        Attacker::auto_post(&format!("{}/logout", lab.origin()), &[]),
        None,
    )
    .await?;
    browser.goto(&logout.url()).await?;
    browser.wait_for_host("app.lab.test").await?;
    let refused = browser.text().await?;
    browser
        .screenshot("stage4-cross-site-logout-refused")
        .await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    let home = browser.text().await?;
    assert!(
        home.contains("You are logged in as alice"),
        "a form on another site must not log the victim out (it answered: {refused}){}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

/// The user's whole journey through the pages, as a person clicks it: home, log in, /me,
/// Count twice, /account, /private, log out.
#[tokio::test]
async fn stage4_the_whole_journey_through_the_pages() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser, _dir) = start().await?;
    let origin = lab.origin();
    browser.goto(&format!("{origin}/")).await?;
    let home = browser.text().await?;
    assert!(
        home.contains("You are not logged in"),
        "the journey starts anonymous{}",
        report(&browser, &lab).await
    );
    browser.log_in(origin, "alice").await?;
    browser.goto(&format!("{origin}/me")).await?;
    let me = browser.text().await?;
    assert!(
        me.contains("\"user\":\"alice\""),
        "/me should say alice{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{origin}/")).await?;
    browser.click_button("Count").await?;
    browser.click_button("Count").await?;
    let counted = browser.text().await?;
    assert!(
        counted.contains("counted to 2"),
        "Count twice comes back to the home page at 2{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{origin}/account")).await?;
    let account = browser.text().await?;
    assert!(
        account.contains("only served over HTTPS") && account.contains("alice"),
        "/account answers at once over HTTPS{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{origin}/private")).await?;
    let private = browser.text().await?;
    browser.screenshot("stage4-journey-private").await?;
    assert!(
        private.contains("Only logged-in users see this"),
        "/private shows the member's page{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{origin}/")).await?;
    browser.click_button("Log out").await?;
    let after = browser.text().await?;
    browser.screenshot("stage4-journey-logged-out").await?;
    assert!(
        after.contains("You are not logged in"),
        "logging out comes back to the home page, anonymous{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

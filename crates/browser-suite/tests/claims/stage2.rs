//! Stage 2 in a browser: nginx terminates TLS, the app trusts no proxy, and the session is lost.

use browser_suite::Browser;
use labkit::Lab;

use super::{Result, report};

async fn start() -> Result<(Lab, Browser)> {
    let lab = Lab::start(&labkit::stage!(stage2_broken_proxy)).await?;
    let browser = Browser::start(&lab.certs().ca_pem).await?;
    Ok((lab, browser))
}

#[tokio::test]
async fn stage2_no_cookie_is_stored_after_login_and_the_page_says_not_logged_in() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser) = start().await?;
    browser.log_in(lab.origin(), "alice").await?;
    let welcome = browser.text().await?;
    browser.screenshot("stage2-welcome-after-login").await?;
    assert!(
        welcome.contains("was withheld"),
        "the welcome page should say the session cookie was withheld{}",
        report(&browser, &lab).await
    );
    let cookies = browser.cookies().await?;
    assert!(
        cookies.is_empty(),
        "the browser should hold no cookie after login; it holds {cookies:?}{}",
        report(&browser, &lab).await
    );
    browser.goto(&format!("{}/", lab.origin())).await?;
    let home = browser.text().await?;
    browser.screenshot("stage2-home-after-login").await?;
    assert!(
        home.contains("You are not logged in"),
        "the home page should say you are not logged in{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn stage2_account_ends_in_the_browsers_redirect_loop_error() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser) = start().await?;
    // Chromium shows its own error page; WebDriver may report the failed load as an error.
    let _ = browser.goto(&format!("{}/account", lab.origin())).await;
    let source = browser.source().await?;
    browser.screenshot("stage2-account-redirect-loop").await?;
    assert!(
        source.contains("ERR_TOO_MANY_REDIRECTS"),
        "/account should end in Chromium's ERR_TOO_MANY_REDIRECTS{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn stage2_private_sends_the_browser_to_an_http_url() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (lab, browser) = start().await?;
    let _ = browser.goto(&format!("{}/private", lab.origin())).await;
    let url = browser.url().await?;
    browser.screenshot("stage2-private-to-http").await?;
    assert!(
        url.starts_with("http://app.lab.test:"),
        "/private should send the browser to an http:// login URL; it is on {url}{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

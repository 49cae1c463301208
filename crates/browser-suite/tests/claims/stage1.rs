//! Stage 1 in a browser: plain HTTP, a session that works, a cookie without Secure.

use browser_suite::Browser;
use labkit::Lab;

use super::{Result, report};

#[tokio::test]
async fn stage1_the_cookie_has_no_secure_flag_and_sessions_work_over_http() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let lab = Lab::start(&labkit::stage!(stage1_plain_http)).await?;
    let browser = Browser::start(&lab.certs().ca_pem).await?;
    browser.log_in(lab.origin(), "alice").await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.click_button("Count").await?;
    browser.click_button("Count").await?;
    let text = browser.text().await?;
    browser.screenshot("stage1-home-after-two-counts").await?;
    assert!(
        text.contains("You are logged in as alice") && text.contains("counted to 2"),
        "over http, the browser should keep the session: logged in, counted to 2{}",
        report(&browser, &lab).await
    );
    let cookies = browser.cookies().await?;
    let id = cookies.iter().find(|c| c.name() == "id");
    assert!(
        id.is_some_and(|c| c.secure() != Some(true)),
        "the browser should hold `id` without Secure; it holds {cookies:?}{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

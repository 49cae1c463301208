//! Stage 3 in a browser: the app trusts exactly nginx, and the session holds.

use browser_suite::Browser;
use labkit::Lab;

use super::{Result, report};

#[tokio::test]
async fn stage3_the_cookie_is_kept_secure_httponly_and_the_counter_goes_1_2() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let lab = Lab::start(&labkit::stage!(stage3_trust_proxy)).await?;
    let browser = Browser::start(&lab.certs().ca_pem).await?;
    browser.log_in(lab.origin(), "alice").await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.click_button("Count").await?;
    let first = browser.text().await?;
    browser.click_button("Count").await?;
    let second = browser.text().await?;
    browser.screenshot("stage3-home-after-two-counts").await?;
    assert!(
        first.contains("counted to 1") && second.contains("counted to 2"),
        "the counter should go 1, 2{}",
        report(&browser, &lab).await
    );
    let you = lab.client_address();
    assert!(
        second.contains(&format!("The app sees your address as {you}, over https")),
        "the page should show the browser's address ({you}) and https{}",
        report(&browser, &lab).await
    );
    let cookies = browser.cookies().await?;
    let id = cookies.iter().find(|c| c.name() == "id");
    assert!(
        id.is_some_and(|c| c.secure() == Some(true) && c.http_only() == Some(true)),
        "the browser should keep `id`, Secure and HttpOnly; it holds {cookies:?}{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

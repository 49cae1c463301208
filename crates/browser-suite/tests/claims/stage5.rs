//! Stage 5 in a browser: nginx reaches the app over mutual TLS, and for the person nothing
//! changes: the session holds and the app sees the browser, over https.

use browser_suite::Browser;
use labkit::{Lab, LabOptions};

use super::{Result, report};

#[tokio::test]
async fn stage5_behind_mutual_tls_the_session_holds_and_the_app_sees_the_browser() -> Result {
    let _turn = browser_suite::one_at_a_time().await;
    let (_dir, store) = labkit::temporary_sqlite_store();
    let lab = Lab::start_with(
        &labkit::stage!(stage5_mutual_tls),
        LabOptions {
            session_store: Some(store),
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let browser = Browser::start(&lab.certs().ca_pem).await?;
    browser.log_in(lab.origin(), "alice").await?;
    browser.goto(&format!("{}/", lab.origin())).await?;
    browser.click_button("Count").await?;
    browser.click_button("Count").await?;
    let text = browser.text().await?;
    browser.screenshot("stage5-home-after-two-counts").await?;
    assert!(
        text.contains("You are logged in as alice") && text.contains("counted to 2"),
        "through nginx and the mutual-TLS hop, the session should hold: logged in, counted to 2{}",
        report(&browser, &lab).await
    );
    let you = lab.client_address();
    assert!(
        text.contains(&format!("The app sees your address as {you}, over https")),
        "the app should trust nginx by its certificate, and so see the browser's address \
         ({you}) and https{}",
        report(&browser, &lab).await
    );
    let cookies = browser.cookies().await?;
    let id = cookies.iter().find(|c| c.name() == "__Host-id");
    assert!(
        id.is_some_and(|c| c.secure() == Some(true) && c.http_only() == Some(true)),
        "the browser should keep `__Host-id`, Secure and HttpOnly; it holds {cookies:?}{}",
        report(&browser, &lab).await
    );
    browser.close().await?;
    Ok(())
}

//! What stage 2's pages tell the person in the browser, through the real nginx: the lost login
//! is said on the page, with its reason, and the `/account` loop is explained, not suffered.

use labkit::{Lab, Result};

async fn start() -> Result<Lab> {
    Lab::start(&labkit::stage!(stage2_broken_proxy)).await
}

#[tokio::test]
async fn the_welcome_page_says_the_login_cookie_was_withheld_and_why() -> Result<()> {
    let lab = start().await?;
    let welcome = lab
        .client()
        .post_page("/login", &[("username", "alice")])
        .await?;
    let page = &welcome.body;
    assert!(
        welcome.set_cookie_headers().is_empty(),
        "stage 2 withholds the cookie{}",
        lab.report()
    );
    for (needle, why) in [
        (r#"class="alert""#, "a warning at the top of the page"),
        ("was withheld", "the cookie's fate, in words"),
        ("Stage 2: ", "the stage"),
        (
            "<strong>not trusted</strong>",
            "that the app does not trust nginx",
        ),
        (
            "x-forwarded-proto: https",
            "the header nginx sent, as received",
        ),
        ("scheme <code>http</code>", "what the app concluded"),
    ] {
        assert!(
            page.contains(needle),
            "the welcome page should show {why} ({needle:?}); it says:\n{page}{}",
            lab.report()
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_panel_links_to_a_page_that_explains_the_account_loop() -> Result<()> {
    let lab = start().await?;
    let home = lab.client().get_page("/").await?;
    assert!(
        home.body.contains(r#"href="/why/account-loop""#),
        "the panel should link to the explanation of the loop{}",
        lab.report()
    );
    let why = lab.client().get_page("/why/account-loop").await?;
    let target = format!("<code>{}/account</code>", lab.origin());
    assert!(
        why.body.contains(&target) && why.body.contains("ERR_TOO_MANY_REDIRECTS"),
        "the page should say /account redirects to {target}, the URL the browser is already on, \
         and what the browser then shows; it says:\n{}{}",
        why.body,
        lab.report()
    );
    Ok(())
}

//! What stage 1's pages tell the person in the browser: the stage, and that the cookie it just
//! set has no Secure flag.

use labkit::{Lab, Result};

#[tokio::test]
async fn the_panel_names_the_stage_and_the_cleartext_cookie() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage1_plain_http)).await?;
    let welcome = lab
        .client()
        .post_page("/login", &[("username", "alice")])
        .await?;
    let page = &welcome.body;
    for (needle, why) in [
        ("Stage 1: ", "the stage"),
        ("<strong>set</strong> by this answer", "the cookie, set"),
        (
            "no <code>Secure</code> flag",
            "that it travels in cleartext",
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

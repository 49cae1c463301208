//! Stage 4's pages: the panel never shows the session id, and a deployment turns it off.

use crate::common::{sqlite_url, start_on};
use labkit::{AppEnv, Lab, LabOptions, Result, Stage};
use stage4_secure_store::Settings;

#[tokio::test]
async fn the_panel_never_shows_the_session_id() -> Result<()> {
    let (_dir, url) = sqlite_url();
    let lab = start_on(&url, 1).await?;
    let welcome = lab
        .client()
        .post_page("/login", &[("username", "alice")])
        .await?;
    let id = welcome
        .set_cookies()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("stage 4 sets its session cookie{}", lab.report()));
    let home = lab.client().get_page("/").await?;
    for page in [&welcome.body, &home.body] {
        assert!(
            page.contains("What the app saw") && !page.contains(id.value()),
            "the panel is shown, and never the session id{}",
            lab.report()
        );
    }
    // Every request is activity: every answer sets the cookie again, its Max-Age restarted
    // (the store's deadline follows once its renewal is due: src/renewal.rs).
    assert!(
        home.body
            .contains("<strong>set</strong> by this answer: <code>__Host-id=…;"),
        "the home page should show the renewed cookie, without its value{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn a_deployment_turns_the_panel_off() -> Result<()> {
    fn without_panel(env: &AppEnv) -> axum::Router {
        let settings = Settings {
            show_panel: false,
            ..Settings::for_env(env)
        };
        stage4_secure_store::app_with(&settings, env).expect("a valid store URL")
    }
    let (_dir, url) = sqlite_url();
    let lab = Lab::start_with(
        &Stage {
            app: without_panel,
            ..labkit::stage!(stage4_secure_store)
        },
        LabOptions {
            session_store: Some(url),
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let home = lab.client().get_page("/").await?;
    assert!(
        home.status.is_success() && !home.body.contains("What the app saw"),
        "with show_panel: false, no page shows the panel{}",
        lab.report()
    );
    Ok(())
}

//! What the book shows of this stage, made by running it: the walk-through `cargo xtask lab 3`
//! prints, with what changes from run to run replaced by placeholders
//! (`book/src/generated/`). A change to what the stage prints fails here until the book's
//! copy is regenerated: `UPDATE_EXPECT=1 cargo test -p stage3-trust-proxy book`. Only the stage
//! crate runs these (a workshop lab's code may word things differently).

use expect_test::expect_file;
use labkit::{AppEnv, Lab, Result, Stage, walkthrough};
use trusted_proxies::TrustPolicy;

#[tokio::test]
async fn the_walkthrough_matches_the_book() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage3_trust_proxy)).await?;
    if let Some(copy) = walkthrough::for_the_book(&lab).await? {
        expect_file!["../../../book/src/generated/walkthroughs/stage-3.txt"].assert_eq(&copy);
    }
    Ok(())
}

/// What a participant sees when lab 3's grade fails because the app trusts no one (the
/// starter's `TrustPolicy::none()`), as `assert_nginx_is_trusted` panics with it: the cause first, then what the lab's clients did, then
/// what nginx logged. The book shows it as "a failing test".
#[tokio::test]
async fn a_failing_claim_leads_with_its_cause_then_shows_nginx_log() -> Result<()> {
    fn trusting_no_one(env: &AppEnv) -> axum::Router {
        stage3_trust_proxy::app_trusting(TrustPolicy::none(), env)
    }
    let stage = Stage {
        app: trusting_no_one,
        ..labkit::stage!(stage3_trust_proxy)
    };
    let lab = Lab::start(&stage).await?;
    let Some(message) = labkit::trust::nginx_not_trusted(&lab).await? else {
        panic!(
            "the claim passed though the app trusts no one: \
             labkit::trust::nginx_not_trusted no longer sees an untrusted nginx{}",
            lab.report()
        );
    };
    assert!(
        message.starts_with("CAUSE: the app does not trust nginx"),
        "a failing claim should lead with its cause; it printed:\n{message}"
    );
    assert!(
        message.contains("GET https://app.lab.test:"),
        "a failing claim should show what the lab's client did (GET /me); it printed:\n{message}"
    );
    assert!(
        message.contains("--- what the stage's nginx logged ---"),
        "a failing claim should show nginx's log; it printed:\n{message}"
    );
    if let Some(copy) = labkit::redact::for_the_book(&lab, &message) {
        expect_file!["../../../book/src/generated/failures/nginx-not-trusted.txt"].assert_eq(&copy);
    }
    Ok(())
}

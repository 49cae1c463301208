//! Stage 2's claims, through a real nginx terminating TLS: an app that trusts no proxy breaks
//! in four visible ways. Each test is one symptom; stage 3's tests show each one gone.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use labkit::walkthrough::follow_redirects;
use labkit::{Backend, Lab, LabOptions, Result};

async fn start() -> Result<Lab> {
    Lab::start(&labkit::stage!(stage_under_test)).await
}

// ANCHOR: lost_session
/// Symptom 1, the recipe's whole problem: the app believes the request is plain HTTP, so it
/// will not send its Secure cookie, and every request starts a new, empty session.
#[tokio::test]
async fn login_behind_proxy_loses_the_session() -> Result<()> {
    let lab = start().await?;
    let browser = lab.client();

    let login = browser.log_in("alice").await?;
    assert!(
        login.status.is_success(),
        "the login itself should succeed (200){}",
        lab.report()
    );
    assert!(
        login.set_cookie_headers().is_empty(),
        "the app should have withheld its Secure session cookie, but sent {:?}{}",
        login.set_cookie_headers(),
        lab.report()
    );
    let me = browser.me().await?;
    assert_eq!(
        me.user,
        None,
        "without a cookie the next request is anonymous: the session is lost{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: lost_session

// ANCHOR: redirect_loop
/// Symptom 2: "redirect to HTTPS" on a request that already is HTTPS sends the browser back to
/// the very URL it asked for.
#[tokio::test]
async fn https_only_route_redirects_to_itself_forever() -> Result<()> {
    let lab = start().await?;
    let hops = follow_redirects(lab.client(), "/account", 5).await?;
    let first = &hops[0];
    assert!(
        first.status.is_redirection(),
        "/account over https:// should (wrongly) redirect, but answered {}{}",
        first.status,
        lab.report()
    );
    let target = lab.client().url("/account");
    assert_eq!(
        first.location(),
        Some(target.as_str()),
        "the redirect should point at the URL the client already used{}",
        lab.report()
    );
    assert!(
        hops.len() > 1 && hops.iter().all(|hop| hop.status.is_redirection()),
        "following it should redirect again, forever; got {:?}{}",
        hops.iter().map(|hop| hop.status).collect::<Vec<_>>(),
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: redirect_loop

/// Symptom 3: the client address the app logs, rate-limits and audits is nginx's.
#[tokio::test]
async fn app_sees_nginx_address_instead_of_the_client() -> Result<()> {
    let lab = start().await?;
    let nginx = lab.edge().expect("stage 2 has nginx").address_seen_by_app();
    let me = lab.client().me().await?;
    assert_eq!(
        me.client_ip,
        Some(nginx),
        "the app should see nginx ({nginx}) as the client, since it ignores X-Forwarded-For{}",
        lab.report()
    );
    Ok(())
}

/// Symptom 4: absolute URLs built from the request say `http://`. In the lab they point plain
/// HTTP at nginx's TLS port (in production, where the browser sends no port, they say
/// `http://app.example/`: port 80), and following them fails.
#[tokio::test]
async fn absolute_urls_say_http_and_the_wrong_port() -> Result<()> {
    let lab = start().await?;
    let private = lab.client().get("/private").await?;
    let location = private.location().unwrap_or_default().to_owned();
    let https_origin = lab.origin();
    let http_origin = https_origin.replacen("https://", "http://", 1);
    assert!(
        location.starts_with(&format!("{http_origin}/")),
        "the login redirect should (wrongly) say {http_origin}/..., not {https_origin}/...; it says {location:?}{}",
        lab.report()
    );
    let followed = lab.client().get(&location).await?;
    assert_eq!(
        followed.status.as_u16(),
        400,
        "plain HTTP on nginx's TLS port should be refused (400), so the user is stranded{}",
        lab.report()
    );
    Ok(())
}

/// The same lost session with the host's nginx instead of Docker: the native backend works.
#[tokio::test]
async fn native_backend_shows_the_same_lost_session() -> Result<()> {
    let options = LabOptions {
        backend: Backend::Native,
        ..LabOptions::from_env()?
    };
    let lab = Lab::start_with(&labkit::stage!(stage_under_test), options).await?;
    assert_eq!(lab.edge().map(|edge| edge.backend()), Some(Backend::Native));
    let login = lab.client().log_in("alice").await?;
    assert!(
        login.status.is_success(),
        "the login itself should succeed{}",
        lab.report()
    );
    assert!(
        login.set_cookie_headers().is_empty(),
        "no Secure cookie over what the app thinks is HTTP{}",
        lab.report()
    );
    assert_eq!(
        lab.client().me().await?.user,
        None,
        "the session is lost{}",
        lab.report()
    );
    Ok(())
}

/// `cargo xtask lab 2` tells this story: behind a proxy it does not trust, the session is lost
/// (the recipe's failure, which is this stage's lesson), and forgery fails only because the
/// app believes no one at all. Every expectation is met: they describe that intended failure.
#[tokio::test]
async fn the_walkthrough_tells_the_lost_session_story() -> Result<()> {
    let lab = start().await?;
    let steps = labkit::walkthrough::walk(&lab, &mut |_| {}).await?;
    let unmet: Vec<String> = steps
        .iter()
        .filter(|s| !s.met)
        .map(|s| format!("{} ({})", s.expectation, s.observed))
        .collect();
    assert!(
        unmet.is_empty(),
        "stage 2 should do what its story says (lose the session, as the recipe's setup does); unmet: {unmet:#?}{}",
        lab.report()
    );
    assert!(
        steps.iter().any(|s| s
            .expectation
            .contains("the session is lost, as the recipe's setup loses it")),
        "the story should say that the session is lost{}",
        lab.report()
    );
    Ok(())
}

//! Stage 3's claims, through a real nginx: each of stage 2's four symptoms is gone once the
//! app trusts exactly its proxy; and behind two proxies, how much the app trusts decides whom
//! it sees.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use labkit::trust::assert_nginx_is_trusted;
use labkit::walkthrough::follow_redirects;
use labkit::{Lab, LabOptions, Result, Stage};
use trusted_proxies::TrustPolicy;

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

// ANCHOR: keeps_session
/// Stage 2's symptom 1, gone: the Secure cookie is sent, and the session holds.
#[tokio::test]
async fn login_behind_trusted_proxy_keeps_the_session() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_nginx_is_trusted(&lab).await?;
    let login = lab.client().log_in("alice").await?;
    let cookie = login.set_cookies().into_iter().find(|c| c.name() == "id");
    let Some(cookie) = cookie else {
        panic!(
            "trusting nginx, the app should send its session cookie{}",
            lab.report()
        );
    };
    assert_eq!(
        cookie.secure(),
        Some(true),
        "the session cookie should be Secure: {cookie}{}",
        lab.report()
    );
    let me = lab.client().me().await?;
    assert_eq!(
        me.user.as_deref(),
        Some("alice"),
        "the next request should know alice{}",
        lab.report()
    );
    assert_eq!(
        me.scheme,
        "https",
        "the app should see the request as HTTPS{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: keeps_session

/// Stage 2's symptom 2, gone: the HTTPS-only page answers at once.
#[tokio::test]
async fn https_only_route_answers_without_a_loop() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_nginx_is_trusted(&lab).await?;
    let hops = follow_redirects(lab.client(), "/account", 5).await?;
    let statuses: Vec<_> = hops.iter().map(|hop| hop.status).collect();
    assert!(
        hops.len() == 1 && hops[0].status.is_success(),
        "/account over https:// should answer 200 at once, got {statuses:?}{}",
        lab.report()
    );
    Ok(())
}

/// Stage 2's symptom 3, gone: the app sees the client, not nginx.
#[tokio::test]
async fn app_sees_the_client_address_not_nginx() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_nginx_is_trusted(&lab).await?;
    let me = lab.client().me().await?;
    let (you, nginx) = (
        lab.client_address(),
        lab.edge().expect("nginx").address_seen_by_app(),
    );
    assert_eq!(
        me.client_ip,
        Some(you),
        "the app should see the client as nginx saw it ({you}), not nginx ({nginx}){}",
        lab.report()
    );
    Ok(())
}

/// Stage 2's symptom 4, gone: absolute URLs say `https://` with the public host and port.
#[tokio::test]
async fn absolute_urls_say_https_with_the_public_host_and_port() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_nginx_is_trusted(&lab).await?;
    let private = lab.client().get("/private").await?;
    let expected = format!("{}/login?next=%2Fprivate", lab.origin());
    assert_eq!(
        private.location(),
        Some(expected.as_str()),
        "the login redirect should point back at the public origin{}",
        lab.report()
    );
    Ok(())
}

/// `cargo xtask lab 3` tells stage 2's story again, now with every expectation met.
#[tokio::test]
async fn the_walkthrough_meets_every_expectation() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_nginx_is_trusted(&lab).await?;
    let unmet = labkit::walkthrough::unmet(&lab).await?;
    assert!(
        unmet.is_empty(),
        "stage 3 should meet every expectation; unmet: {unmet:#?}{}",
        lab.report()
    );
    Ok(())
}

async fn behind_two_proxies(app: fn(&labkit::AppEnv) -> axum::Router) -> Result<Lab> {
    let stage = Stage {
        site: Some(include_str!("../../../nginx/stage3-inner.conf")),
        app,
        ..stage()
    };
    let outer = Some(include_str!("../../../nginx/stage3-outer.conf"));
    Lab::start_with(
        &stage,
        LabOptions {
            outer_site: outer,
            ..LabOptions::from_env()?
        },
    )
    .await
}

/// Client, outer nginx, inner nginx, app: trusting both proxies, the app sees the client.
#[tokio::test]
async fn behind_two_trusted_proxies_the_app_sees_the_real_client() -> Result<()> {
    let lab = behind_two_proxies(stage_under_test::app).await?;
    let me = lab.client().me().await?;
    let you = lab.client_address();
    assert_eq!(
        me.client_ip,
        Some(you),
        "trusting both proxies, the app should see you ({you}){}",
        lab.report()
    );
    assert_eq!(
        me.scheme,
        "https",
        "the outer proxy's https should reach the app{}",
        lab.report()
    );
    Ok(())
}

/// Trusting only the inner proxy, the outer one is where trust ends: it is "the client".
#[tokio::test]
async fn trusting_only_the_inner_proxy_the_app_sees_the_outer_proxy() -> Result<()> {
    fn inner_only(env: &labkit::AppEnv) -> axum::Router {
        let inner = env.proxy_addresses[0];
        stage_under_test::app_trusting(TrustPolicy::from_addrs([inner]), env)
    }
    let lab = behind_two_proxies(inner_only).await?;
    let me = lab.client().me().await?;
    let outer = lab.front().expect("outer nginx").address_seen_by_app();
    assert_eq!(
        me.client_ip,
        Some(outer),
        "trusting only the inner proxy, the app should see the outer proxy ({outer}){}",
        lab.report()
    );
    Ok(())
}

// ANCHOR: hop_count
/// Express's hop count, set to 1 behind two proxies: the app mistakes the outer proxy for the
/// client. A hop count is only right while the chain never changes.
#[tokio::test]
async fn a_hop_count_too_small_mistakes_the_outer_proxy_for_the_client() -> Result<()> {
    fn one_hop(env: &labkit::AppEnv) -> axum::Router {
        stage_under_test::app_trusting(TrustPolicy::hops(1), env)
    }
    let lab = behind_two_proxies(one_hop).await?;
    let me = lab.client().me().await?;
    let (you, outer) = (
        lab.client_address(),
        lab.front().expect("outer nginx").address_seen_by_app(),
    );
    assert_eq!(
        me.client_ip,
        Some(outer),
        "with `hops(1)` behind two proxies the app should (wrongly) see the outer proxy {outer}, not you ({you}){}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: hop_count

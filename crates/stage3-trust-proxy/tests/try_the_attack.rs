//! The book's "Try the attack" parts for stage 3: each test runs the real `curl` against the
//! real nginx (or around it), first against a vulnerable variant, then against stage 3, checks
//! what the attacker gained and that the fix refuses it, and compares what curl printed with
//! the copy the book includes (`book/src/generated/attacks/`). After a deliberate change,
//! regenerate the copies with `UPDATE_EXPECT=1 cargo test -p stage3-trust-proxy try_the_attack`.

use expect_test::{ExpectFile, expect_file};
use labkit::curl::{Curl, CurlRun, Target};
use labkit::walkthrough::FORGED_IP;
use labkit::{Lab, Me, Result, Stage};
use trusted_proxies::TrustPolicy;

use crate::stage_under_test;

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

fn forged_ip() -> std::net::IpAddr {
    FORGED_IP.parse().expect("an address")
}

/// Compares `run` with the book's copy. The copies are made with nginx in Docker, where nginx
/// and the client have addresses of their own; with the native backend both are 127.0.0.1, so
/// only the claims are checked.
fn matches_the_book(lab: &Lab, run: &CurlRun, copy: ExpectFile) {
    if labkit::redact::comparable_with_the_book(lab) {
        copy.assert_eq(&run.transcript());
    } else {
        eprintln!("native nginx: the book's copy (Docker addresses) is not compared");
    }
}

/// What `/me` answered, with the whole exchange in the message when it is not `/me`'s JSON.
fn me(run: &CurlRun) -> Me {
    run.json()
}

// 1. Trusting everyone.
fn forged_proto_and_address() -> Curl {
    Curl::new(Target::AroundNginx, "/me")
        .header("X-Forwarded-Proto: https")
        .header(&format!("X-Forwarded-For: {FORGED_IP}"))
}

/// Around nginx, straight to the app's port: an app that trusts everyone believes a forged
/// scheme and address; stage 3, which trusts only nginx's address, believes neither.
#[tokio::test]
async fn trusting_everyone_a_request_around_nginx_picks_its_scheme_and_address() -> Result<()> {
    fn trust_all(env: &labkit::AppEnv) -> axum::Router {
        stage_under_test::app_trusting(TrustPolicy::all(), env)
    }
    let vulnerable = Lab::start(&Stage {
        app: trust_all,
        ..stage()
    })
    .await?;
    let run = forged_proto_and_address().run(&vulnerable).await;
    let seen = me(&run);
    assert!(
        seen.scheme == "https" && seen.client_ip == Some(forged_ip()),
        "trusting everyone, the forged headers should be believed (scheme https, client \
         {FORGED_IP}); the app saw scheme {} and client {:?}:\n{}{}",
        seen.scheme,
        seen.client_ip,
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/trust-everyone.txt"],
    );
    drop(vulnerable);

    let fixed = Lab::start(&stage()).await?;
    let run = forged_proto_and_address().run(&fixed).await;
    let seen = me(&run);
    assert!(
        seen.scheme == "http" && seen.client_ip == Some("127.0.0.1".parse().expect("an address")),
        "stage 3 trusts only nginx: around it, the app should see http from 127.0.0.1; it saw \
         scheme {} and client {:?}:\n{}{}",
        seen.scheme,
        seen.client_ip,
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/trust-everyone-fixed.txt"],
    );
    Ok(())
}

/// Stage 3's nginx with the recipe's `X-Forwarded-For $proxy_add_x_forwarded_for` in place of
/// its `$remote_addr`: nginx appends the address it saw to whatever the client sent.
fn appending_site() -> &'static str {
    let site = stage().site.expect("stage 3 has nginx");
    let overwrite = "proxy_set_header X-Forwarded-For $remote_addr;";
    assert!(
        site.contains(overwrite),
        "stage 3's nginx should contain `{overwrite}`"
    );
    let appending = site.replace(
        overwrite,
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    );
    Box::leak(appending.into_boxed_str())
}

/// `GET /me` through nginx with a forged X-Forwarded-For.
fn forged_address_through_nginx() -> Curl {
    Curl::new(Target::Nginx, "/me").header(&format!("X-Forwarded-For: {FORGED_IP}"))
}

/// Stage 3 itself, with the same request as [`forged_address_through_nginx`]: nginx overwrites
/// the header, and the app sees the gateway (you, as nginx sees you).
async fn stage_3_sees_you_through_nginx() -> Result<()> {
    let fixed = Lab::start(&stage()).await?;
    let run = forged_address_through_nginx().run(&fixed).await;
    let seen = me(&run);
    let you = fixed.client_address();
    assert!(
        seen.client_ip == Some(you) && seen.x_forwarded_for == Some(you.to_string()),
        "stage 3's nginx overwrites X-Forwarded-For: the app should receive and see only you \
         ({you}); it received {:?} and saw {:?}:\n{}{}",
        seen.x_forwarded_for,
        seen.client_ip,
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/forged-x-forwarded-for-fixed.txt"],
    );
    Ok(())
}

// 2. A hop count.
/// Express's `trust proxy = 2` behind one proxy that appends to X-Forwarded-For (nginx's
/// usual `$proxy_add_x_forwarded_for`): the second hop it trusts is the client's own entry,
/// so the client names its address. Behind stage 3's nginx, which overwrites, the same count
/// happens to see you, and stage 3 (trusting nginx by address) sees you whatever it is behind.
#[tokio::test]
async fn a_hop_count_of_two_behind_one_appending_proxy_lets_the_client_pick_its_address()
-> Result<()> {
    fn two_hops(env: &labkit::AppEnv) -> axum::Router {
        stage_under_test::app_trusting(TrustPolicy::hops(2), env)
    }
    let vulnerable = Lab::start(&Stage {
        site: Some(appending_site()),
        app: two_hops,
        ..stage()
    })
    .await?;
    let run = forged_address_through_nginx().run(&vulnerable).await;
    let seen = me(&run);
    assert_eq!(
        seen.client_ip,
        Some(forged_ip()),
        "with `hops(2)` behind one nginx that appends, the client's own X-Forwarded-For entry \
         should be taken for the client ({FORGED_IP}); the app saw {:?}:\n{}{}",
        seen.client_ip,
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/hop-count.txt"],
    );
    drop(vulnerable);

    let overwriting = Lab::start(&Stage {
        app: two_hops,
        ..stage()
    })
    .await?;
    let run = forged_address_through_nginx().run(&overwriting).await;
    let seen = me(&run);
    let you = overwriting.client_address();
    assert_eq!(
        seen.client_ip,
        Some(you),
        "with `hops(2)` behind stage 3's nginx, which overwrites X-Forwarded-For, there is no \
         second entry to take: the app should see you ({you}); it saw {:?}:\n{}{}",
        seen.client_ip,
        run.transcript(),
        overwriting.report()
    );
    matches_the_book(
        &overwriting,
        &run,
        expect_file!["../../../book/src/generated/attacks/hop-count-overwriting-nginx.txt"],
    );
    drop(overwriting);

    stage_3_sees_you_through_nginx().await
}

// 3. The appended X-Forwarded-For.
/// With the recipe's `$proxy_add_x_forwarded_for`, the client's forged entry reaches the app
/// as the first of X-Forwarded-For, the entry that logs, rate limiters and leftmost-reading
/// libraries take. Stage 3's policy walks from the right and stops after nginx, so its own
/// conclusion stays right; stage 3's nginx overwrites, so the forgery never arrives at all.
#[tokio::test]
async fn an_appending_nginx_passes_the_forged_address_on_to_the_app() -> Result<()> {
    let vulnerable = Lab::start(&Stage {
        site: Some(appending_site()),
        ..stage()
    })
    .await?;
    let run = forged_address_through_nginx().run(&vulnerable).await;
    let seen = me(&run);
    let you = vulnerable.client_address();
    let expected = format!("{FORGED_IP}, {you}");
    assert!(
        seen.x_forwarded_for.as_deref() == Some(expected.as_str()) && seen.client_ip == Some(you),
        "behind an appending nginx the app should receive X-Forwarded-For `{expected}` (the \
         forgery first) and, walking from the right, still see you ({you}); it received {:?} \
         and saw {:?}:\n{}{}",
        seen.x_forwarded_for,
        seen.client_ip,
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/appended-x-forwarded-for.txt"],
    );
    drop(vulnerable);
    stage_3_sees_you_through_nginx().await
}

// 4. A forged host and port.
/// The recipe's nginx (`nginx/stage2.conf`: it sets no X-Forwarded-Host and clears nothing)
/// in front of an app that trusts nginx but has no list of its own hosts: a client's
/// X-Forwarded-Host and X-Forwarded-Port choose where `/private` redirects to. Stage 3's
/// nginx overwrites the one and clears the other, and its app builds URLs only for its own
/// `app.lab.test:PORT`.
#[tokio::test]
async fn a_forged_forwarded_host_and_port_steer_the_redirect_without_an_allow_list() -> Result<()> {
    fn no_allow_list(env: &labkit::AppEnv) -> axum::Router {
        let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
        let sessions =
            tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                .with_secure(true);
        lab_app::router()
            .layer(sessions)
            .layer(trusted_proxies::SecureCookieGuardLayer::new())
            .layer(trusted_proxies::TrustedProxiesLayer::new(
                trusted_proxies::ProxyConfig::new(policy),
            ))
    }
    let attack = || {
        Curl::new(Target::Nginx, "/private")
            .header("X-Forwarded-Host: evil.example")
            .header("X-Forwarded-Port: 6666")
    };
    let vulnerable = Lab::start(&Stage {
        site: Some(include_str!("../../../nginx/stage2.conf")),
        app: no_allow_list,
        ..stage()
    })
    .await?;
    let run = attack().run(&vulnerable).await;
    let location = run.header("location").unwrap_or_default();
    assert!(
        location.starts_with("https://evil.example:6666/"),
        "behind the recipe's nginx, with no allow-list, the forged X-Forwarded-Host and -Port \
         should choose the redirect (https://evil.example:6666/...); it was {location:?}:\n{}{}",
        run.transcript(),
        vulnerable.report()
    );
    matches_the_book(
        &vulnerable,
        &run,
        expect_file!["../../../book/src/generated/attacks/forged-host-and-port.txt"],
    );
    drop(vulnerable);

    let fixed = Lab::start(&stage()).await?;
    let run = attack().run(&fixed).await;
    let location = run.header("location").unwrap_or_default();
    let expected = format!("{}/login?next=%2Fprivate", fixed.origin());
    assert_eq!(
        location,
        expected,
        "stage 3 should redirect to its own origin whatever the headers say:\n{}{}",
        run.transcript(),
        fixed.report()
    );
    matches_the_book(
        &fixed,
        &run,
        expect_file!["../../../book/src/generated/attacks/forged-host-and-port-fixed.txt"],
    );
    Ok(())
}

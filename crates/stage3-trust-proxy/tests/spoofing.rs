//! Stage 3's claims against forgery: trusting exactly nginx, nobody can make the app believe a
//! request was HTTPS, came from another address or was for another host. The last test shows
//! why "trust everyone" (Express's `trust proxy = true`) is not a fix.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use labkit::reqwest::Method;
use labkit::trust::assert_only_nginx_is_trusted;
use labkit::walkthrough::{FORGED_IP, me_with};
use labkit::{Lab, LabClient, Result, Stage};
use trusted_proxies::TrustPolicy;

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

/// Logs in with forged forwarded headers and returns the `Set-Cookie` values.
async fn log_in_with(client: &LabClient, headers: &[(&str, &str)]) -> Result<Vec<String>> {
    let mut request = client
        .request(Method::POST, "/login")
        .form(&[("username", "mallory")]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(client.send(request).await?.set_cookie_headers())
}

const FORGED: [(&str, &str); 2] = [
    ("x-forwarded-proto", "https"),
    ("x-forwarded-for", FORGED_IP),
];

// ANCHOR: forged_from_outside
/// 1. Around nginx, straight to the app: the forged headers come from an untrusted peer and
/// count for nothing.
#[tokio::test]
async fn forged_forwarded_proto_from_outside_is_ignored() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    assert_only_nginx_is_trusted(&lab).await?;
    let direct = lab.direct_client()?;
    let me = me_with(&direct, &FORGED).await?;
    assert_eq!(
        me.scheme,
        "http",
        "a forged X-Forwarded-Proto from outside must not make it https{}",
        lab.report()
    );
    assert_eq!(
        me.client_ip,
        Some("127.0.0.1".parse().expect("an address")),
        "a forged X-Forwarded-For from outside must not change the client (the real peer is 127.0.0.1){}",
        lab.report()
    );
    let cookies = log_in_with(&direct, &FORGED).await?;
    assert!(
        cookies.is_empty(),
        "no Secure cookie may be issued over plain HTTP, got {cookies:?}{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: forged_from_outside

/// 2. Through nginx, a forged X-Forwarded-For is overwritten at the edge: it never reaches
/// the app, so no policy, however generous, could be fooled by it.
#[tokio::test]
async fn forged_x_forwarded_for_through_nginx_is_overwritten() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let me = me_with(lab.client(), &[("x-forwarded-for", FORGED_IP)]).await?;
    let you = lab.client_address();
    assert_eq!(
        me.x_forwarded_for,
        Some(you.to_string()),
        "nginx should replace the client's X-Forwarded-For with the address it saw (see nginx/stage3.conf){}",
        lab.report()
    );
    assert_eq!(
        me.client_ip,
        Some(you),
        "the app should see you ({you}), not the forged {FORGED_IP}{}",
        lab.report()
    );
    Ok(())
}

/// 3. Through nginx, an injected RFC 7239 `Forwarded` header is ignored: the app honours the
/// X-Forwarded family only, the one nginx overwrites.
#[tokio::test]
async fn injected_forwarded_header_is_ignored() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let forwarded = format!("for={FORGED_IP};proto=http;host=evil.test");
    let me = me_with(lab.client(), &[("forwarded", &forwarded)]).await?;
    let you = lab.client_address();
    assert_eq!(
        me.client_ip,
        Some(you),
        "an injected Forwarded must not change the client{}",
        lab.report()
    );
    assert_eq!(
        me.scheme,
        "https",
        "an injected Forwarded must not change the scheme{}",
        lab.report()
    );
    assert_eq!(
        me.origin.as_deref(),
        Some(lab.origin()),
        "an injected Forwarded must not change the host{}",
        lab.report()
    );
    Ok(())
}

/// 4. Through nginx, a forged host never reaches an absolute URL: a forged X-Forwarded-Host is
/// overwritten, and a forged `Host` is not on the app's list of its own hosts.
#[tokio::test]
async fn forged_forwarded_host_is_not_used_for_absolute_urls() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let client = lab.client();
    let forged_xfh = client
        .send(
            client
                .request(Method::GET, "/private")
                .header("x-forwarded-host", "evil.test"),
        )
        .await?;
    let expected = format!("{}/login?next=%2Fprivate", lab.origin());
    assert_eq!(
        forged_xfh.location(),
        Some(expected.as_str()),
        "a forged X-Forwarded-Host must not steer the redirect{}",
        lab.report()
    );

    let forged_host = client
        .send(
            client
                .request(Method::GET, "/private")
                .header("host", "evil.test"),
        )
        .await?;
    assert!(
        !forged_host
            .location()
            .unwrap_or_default()
            .contains("evil.test"),
        "a forged Host must not reach an absolute URL; got {:?} {:?}{}",
        forged_host.status,
        forged_host.location(),
        lab.report()
    );
    assert_eq!(
        forged_host.status.as_u16(),
        400,
        "with no allowed host the app refuses to build the URL{}",
        lab.report()
    );
    Ok(())
}

// ANCHOR: trust_everyone
/// 5. The anti-pattern: `TrustPolicy::all()` (Express's `trust proxy = true`). The same forgery
/// as test 1, straight to the app, now works: the attacker picks their address and "HTTPS".
#[tokio::test]
async fn trusting_everyone_lets_anyone_forge_https_and_their_address() -> Result<()> {
    fn trust_all(env: &labkit::AppEnv) -> axum::Router {
        stage_under_test::app_trusting(TrustPolicy::all(), env)
    }
    let lab = Lab::start(&Stage {
        app: trust_all,
        ..stage()
    })
    .await?;
    let direct = lab.direct_client()?;
    let me = me_with(&direct, &FORGED).await?;
    assert_eq!(
        me.scheme,
        "https",
        "trusting everyone, a forged X-Forwarded-Proto is believed{}",
        lab.report()
    );
    assert_eq!(
        me.client_ip,
        Some(FORGED_IP.parse().expect("an address")),
        "trusting everyone, a forged X-Forwarded-For is believed{}",
        lab.report()
    );
    let cookies = log_in_with(&direct, &FORGED).await?;
    assert!(
        cookies.iter().any(|c| c.contains("Secure")),
        "trusting everyone, the Secure cookie goes out over plain HTTP; got {cookies:?}{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: trust_everyone

/// 6. Through nginx, a forged `X-Forwarded-Port` cannot choose the port of an absolute URL:
/// the edge clears the header, and the app's allow-list names its origin's port, so neither a
/// port header nor a port in `Host` can pick another.
#[tokio::test]
async fn forged_forwarded_port_never_reaches_an_absolute_url() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let client = lab.client();
    let host_without_port = labkit::LAB_HOST;
    let host_other_port = format!("{}:6666", labkit::LAB_HOST);
    for (case, host) in [
        ("own Host", None),
        ("Host without a port", Some(host_without_port)),
        ("Host with another port", Some(host_other_port.as_str())),
    ] {
        let mut request = client
            .request(Method::GET, "/private")
            .header("x-forwarded-port", "6666");
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let answer = client.send(request).await?;
        let location = answer.location().unwrap_or_default().to_owned();
        assert!(
            !location.contains("6666"),
            "{case}: a client's X-Forwarded-Port: 6666 chose the port of the redirect ({location}); the edge must clear X-Forwarded-Port (nginx/clear-forwarding-headers.conf) and the allow-list must name the port{}",
            lab.report()
        );
        let expected = format!("{}/login?next=%2Fprivate", lab.origin());
        assert!(
            location == expected || answer.status.as_u16() == 400,
            "{case}: expected a redirect to {expected} or a 400 (no allowed host), got {} {location:?}{}",
            answer.status,
            lab.report()
        );
    }
    Ok(())
}

/// 7. Through nginx, every forwarding header a client sends is set or cleared by the edge:
///    none of `lab_app::FORWARDING_HEADERS` reaches the app with the client's value. One
///    request carries them all, each with its own canary (one nginx instead of one per header:
///    a workshop's grade waits for every nginx it starts), and the failure names each header
///    that got through.
#[tokio::test]
async fn no_forged_forwarding_header_reaches_the_app() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let forged: Vec<(&str, String)> = lab_app::FORWARDING_HEADERS
        .iter()
        .map(|name| (*name, format!("for={FORGED_IP};canary-{name}")))
        .collect();
    let headers: Vec<(&str, &str)> = forged.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let me = me_with(lab.client(), &headers).await?;
    let through: Vec<String> = forged
        .iter()
        .filter_map(|(name, canary)| {
            let received = me.forwarding_headers.get(*name)?;
            received
                .contains("canary")
                .then(|| format!("`{name}: {canary}` arrived as `{name}: {received}`"))
        })
        .collect();
    assert!(
        through.is_empty(),
        "nginx passes on every header it does not set, so the edge must set or clear each one \
         (nginx/clear-forwarding-headers.conf); these reached the app with the client's value:\n  {}{}",
        through.join("\n  "),
        lab.report()
    );
    assert_eq!(
        headers.len(),
        22,
        "the claim covers every header the app lists"
    );
    Ok(())
}

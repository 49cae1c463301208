//! Stage 4's edge, through a real nginx: only TLS 1.2 and 1.3 with forward-secret suites,
//! HSTS on every HTTPS answer (errors too), plain HTTP only as a 308 to https://, no version
//! banner, and a config Debian's nginx accepts.
//!
//! The TLS claims use Debian's `openssl s_client` as the client: it can still offer what a
//! modern client refuses to (TLS 1.0, RSA key exchange), so a refusal seen here is nginx's.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use labkit::openssl::{ca_file, openssl, s_client};
use labkit::reqwest::Method;
use labkit::reqwest::header::{SERVER, STRICT_TRANSPORT_SECURITY};
use labkit::{Exchange, Lab, LabCerts, LabOptions, Result, Stage};

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

/// The HSTS value the edge sends (Mozilla's: two years, no preload).
const HSTS: &str = "max-age=63072000";

fn front(lab: &Lab) -> &labkit::Edge {
    lab.front().expect("stage 4 has nginx in front")
}

// ANCHOR: old_tls
/// TLS 1.0 and 1.1 (RFC 8996) are refused by nginx itself: the client offers them (OpenSSL 3
/// only does at `@SECLEVEL=0`) and nginx answers `protocol_version`, the alert for "I do not
/// speak this version". Had the version been enabled and something else failed, nginx would
/// answer differently (`handshake_failure`).
#[tokio::test]
async fn tls_1_0_and_1_1_are_refused() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let ca = ca_file(&lab);
    for (flag, version) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
        let run = s_client(
            front(&lab).https_port(),
            &ca,
            &[flag, "-cipher", "DEFAULT@SECLEVEL=0"],
        )
        .await;
        assert!(
            run.offered(version),
            "the client should have sent a {version} ClientHello (else the refusal would be \
             the client's, not nginx's); it did not{run}{}",
            lab.report()
        );
        let (session, alert) = (run.negotiated(), run.server_alert());
        assert!(
            session.is_none() && alert == Some("fatal protocol_version"),
            "a {version} handshake should end with nginx's `protocol_version` alert and no \
             session; observed session {session:?}, alert {alert:?}{run}{}",
            lab.report()
        );
    }
    Ok(())
}
// ANCHOR_END: old_tls

/// A TLS 1.2 suite without forward secrecy (RSA key exchange: whoever gets the key later
/// decrypts every recorded session) is refused. With the lab's ECDSA certificate no such suite
/// could ever be chosen (RSA key exchange needs an RSA key), so this lab gets an RSA
/// certificate: only then does the refusal come from `ssl_ciphers`.
#[tokio::test]
async fn a_suite_without_forward_secrecy_is_refused() -> Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let mut req: Vec<String> = [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=app.lab.test",
        "-addext",
        "subjectAltName=DNS:app.lab.test",
    ]
    .map(String::from)
    .to_vec();
    req.extend(["-keyout".into(), key.display().to_string()]);
    req.extend(["-out".into(), cert.display().to_string()]);
    let made = openssl(req).await;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("making an RSA certificate failed ({e}){made}"))
    };
    let rsa = LabCerts::from_pems(read(&cert), read(&cert), read(&key));
    let lab = Lab::start_with(
        &stage(),
        LabOptions {
            certs: rsa,
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let ca = ca_file(&lab);
    let port = front(&lab).https_port();

    // The control: the RSA certificate is served, with a forward-secret (ECDHE) suite.
    let ecdhe = s_client(
        port,
        &ca,
        &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
    )
    .await;
    let session = ecdhe.negotiated();
    assert_eq!(
        session,
        Some(("TLSv1.2".into(), "ECDHE-RSA-AES128-GCM-SHA256".into())),
        "with an RSA certificate, ECDHE-RSA over TLS 1.2 should succeed (else the next check \
         proves nothing); observed session {session:?}{ecdhe}{}",
        lab.report()
    );

    // The claim: RSA key exchange, in every form OpenSSL still offers, is refused.
    let no_forward_secrecy =
        "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA";
    let run = s_client(port, &ca, &["-tls1_2", "-cipher", no_forward_secrecy]).await;
    assert!(
        run.offered("TLS 1.2"),
        "the client should have sent a TLS 1.2 ClientHello with only RSA-key-exchange suites; \
         it did not{run}{}",
        lab.report()
    );
    let (session, alert) = (run.negotiated(), run.server_alert());
    assert!(
        session.is_none() && alert == Some("fatal handshake_failure"),
        "offered only suites without forward secrecy, nginx should refuse them \
         (`handshake_failure`, no session); observed session {session:?}, alert {alert:?}\
         {run}{}",
        lab.report()
    );
    Ok(())
}

/// TLS 1.2 and 1.3 both work, with a certificate the lab's CA vouches for, and TLS 1.2 picks
/// one of Mozilla's intermediate suites.
#[tokio::test]
async fn tls_1_2_and_1_3_succeed() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let ca = ca_file(&lab);
    let mozilla = [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ];
    for (flag, protocol) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let run = s_client(front(&lab).https_port(), &ca, &[flag]).await;
        let negotiated = run.negotiated();
        assert_eq!(
            negotiated.as_ref().map(|(p, _)| p.as_str()),
            Some(protocol),
            "a {protocol} handshake should succeed; observed session {negotiated:?}{run}{}",
            lab.report()
        );
        assert!(
            run.verified(),
            "the certificate should verify against the lab CA as {}{run}{}",
            labkit::LAB_HOST,
            lab.report()
        );
        if let Some((_, suite)) = negotiated.filter(|_| protocol == "TLSv1.2") {
            assert!(
                mozilla.contains(&suite.as_str()),
                "TLS 1.2 chose {suite}, expected one of Mozilla's intermediate suites \
                 {mozilla:?}{run}{}",
                lab.report()
            );
        }
    }
    Ok(())
}

/// The HSTS header values of an answer.
fn hsts(exchange: &Exchange) -> Vec<String> {
    exchange
        .headers
        .get_all(STRICT_TRANSPORT_SECURITY)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// What nginx itself writes on an error page (the app's pages never say it).
fn written_by_nginx(exchange: &Exchange) -> bool {
    exchange.body.contains("<center>nginx")
}

/// `POST /login` with a body over nginx's `client_max_body_size` (1 MiB), sent by a client of
/// its own so that the transcript gets a line about it rather than the 2 MiB body.
async fn post_too_large(lab: &Lab) -> Result<Exchange> {
    let url = format!("{}/login", lab.origin());
    let failed = |source| labkit::LabError::Request {
        method: "POST".into(),
        url: url.clone(),
        source,
    };
    let http = labkit::reqwest::Client::builder()
        .use_preconfigured_tls(labkit::client::tls_config(&lab.certs().ca_pem)?)
        .resolve(labkit::LAB_HOST, front(lab).https_addr())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(failed)?;
    let response = http
        .post(&url)
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await
        .map_err(failed)?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.text().await.map_err(failed)?;
    lab.transcript().note(format!(
        "POST {url} with a 2 MiB body -> {status}, Strict-Transport-Security: {:?}",
        headers
            .get_all(STRICT_TRANSPORT_SECURITY)
            .iter()
            .collect::<Vec<_>>()
    ));
    Ok(Exchange {
        method: Method::POST,
        url,
        status,
        headers,
        body,
    })
}

/// Every HTTPS answer carries exactly one `Strict-Transport-Security: max-age=63072000`: the
/// app's pages, the app's own 404, and errors nginx writes itself, both before a `location`
/// is chosen (405 for TRACE) and inside `location /` (413, a body over
/// `client_max_body_size`). Over plain HTTP it is never sent (RFC 6797 §7.2).
#[tokio::test]
async fn hsts_is_on_every_response_including_errors() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let client = lab.client();
    let page = client.get("/").await?;
    let app_404 = client.get("/no-such-page").await?;
    let trace = client.send(client.request(Method::TRACE, "/")).await?;
    let too_big = post_too_large(&lab).await?;
    let cases = [
        ("an app page", &page, 200, false),
        ("the app's 404", &app_404, 404, false),
        ("nginx's 405 (TRACE)", &trace, 405, true),
        ("nginx's 413 (body too large)", &too_big, 413, true),
    ];
    for (what, exchange, status, by_nginx) in cases {
        let observed = (exchange.status.as_u16(), written_by_nginx(exchange));
        assert_eq!(
            observed,
            (status, by_nginx),
            "{what}: {} {} should answer {status} written by {}; observed (status, written by \
             nginx) = {observed:?}{}",
            exchange.method,
            exchange.url,
            if by_nginx { "nginx" } else { "the app" },
            lab.report()
        );
        let values = hsts(exchange);
        assert_eq!(
            values,
            vec![HSTS.to_owned()],
            "{what} ({} {} -> {}) should carry exactly one `Strict-Transport-Security: {HSTS}`; \
             observed {values:?}{}",
            exchange.method,
            exchange.url,
            exchange.status,
            lab.report()
        );
    }
    let http = lab.client_via(SocketAddr::new(
        [127, 0, 0, 1].into(),
        front(&lab).http_port(),
    ))?;
    let plain = http.get("/").await?;
    let values = hsts(&plain);
    assert!(
        values.is_empty(),
        "over plain HTTP ({} -> {}) no HSTS header should be sent (RFC 6797 §7.2); observed \
         {values:?}{}",
        plain.url,
        plain.status,
        lab.report()
    );
    Ok(())
}

/// Port 80 only redirects, with 308 (method and body kept), to the public HTTPS origin, the
/// same path and query; it sets no cookie, even for a login; and the redirect leads to a page
/// that answers.
/// What a browser may do with the answers: no MIME sniffing, no framing (clickjacking), no
/// plugins, no Referer to other sites, no caching of pages that show who is logged in, no
/// cross-origin opener. On the app's pages,
/// its JSON and errors, and nginx's own errors: exactly one of each.
#[tokio::test]
async fn browser_security_headers_are_on_every_response() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let client = lab.client();
    let page = client.get("/").await?;
    let me = client.get("/me").await?;
    let app_404 = client.get("/no-such-page").await?;
    let trace = client.send(client.request(Method::TRACE, "/")).await?;
    let too_big = post_too_large(&lab).await?;
    type Check = fn(&str) -> bool;
    let expected: [(&str, Check); 6] = [
        ("x-content-type-options", |v| v == "nosniff"),
        ("x-frame-options", |v| v == "DENY"),
        ("content-security-policy", |v| {
            let directives: Vec<&str> = v.split(';').map(str::trim).collect();
            [
                "frame-ancestors 'none'",
                "object-src 'none'",
                "base-uri 'none'",
            ]
            .iter()
            .all(|d| directives.contains(d))
        }),
        ("referrer-policy", |v| v == "no-referrer"),
        ("cache-control", |v| v == "no-store"),
        ("cross-origin-opener-policy", |v| v == "same-origin"),
    ];
    for (what, exchange) in [
        ("an app page", &page),
        ("the app's JSON (/me)", &me),
        ("the app's 404", &app_404),
        ("nginx's 405 (TRACE)", &trace),
        ("nginx's 413 (body too large)", &too_big),
    ] {
        for (name, ok) in expected {
            let values: Vec<&str> = exchange
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert!(
                values.len() == 1 && ok(values[0]),
                "{what} ({} {} -> {}) should carry exactly one right `{name}`; observed {values:?} (nginx/stage4.conf, `add_header ... always`){}",
                exchange.method,
                exchange.url,
                exchange.status,
                lab.report()
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn port_80_redirects_to_https_with_308_and_sets_no_cookie() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let http = lab.client_via(SocketAddr::new(
        [127, 0, 0, 1].into(),
        front(&lab).http_port(),
    ))?;
    let get = http.get("/me?from=http").await?;
    let login = http.log_in("alice").await?;
    for (exchange, path) in [(&get, "/me?from=http"), (&login, "/login")] {
        let expected = format!("{}{path}", lab.origin());
        let observed = (exchange.status.as_u16(), exchange.location());
        assert_eq!(
            observed,
            (308, Some(expected.as_str())),
            "{} {} should answer 308 to {expected}; observed (status, Location) = {observed:?}{}",
            exchange.method,
            exchange.url,
            lab.report()
        );
        let cookies = exchange.set_cookie_headers();
        assert!(
            cookies.is_empty(),
            "{} {} over plain HTTP should set no cookie; observed Set-Cookie {cookies:?}{}",
            exchange.method,
            exchange.url,
            lab.report()
        );
    }
    let location = get.location().unwrap_or_default().to_owned();
    let landed = lab.client().get(&location).await?;
    assert!(
        landed.status.is_success(),
        "following the redirect to {location} should reach the app over HTTPS; it answered \
         {}{}",
        landed.status,
        lab.report()
    );
    Ok(())
}

/// No version anywhere: `Server: nginx`, bare, on the app's answers, on nginx's error pages
/// and on port 80's redirect, and no `nginx/1.x` in an error page's body.
#[tokio::test]
async fn server_tokens_are_off() -> Result<()> {
    let lab = Lab::start(&stage()).await?;
    let client = lab.client();
    let http = lab.client_via(SocketAddr::new(
        [127, 0, 0, 1].into(),
        front(&lab).http_port(),
    ))?;
    let answers = [
        client.get("/").await?,
        client.send(client.request(Method::TRACE, "/")).await?,
        http.get("/").await?,
    ];
    for exchange in &answers {
        let server: Vec<String> = exchange
            .headers
            .get_all(SERVER)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        assert_eq!(
            server,
            vec!["nginx".to_owned()],
            "{} {} -> {} should say `Server: nginx` and nothing more; observed {server:?}{}",
            exchange.method,
            exchange.url,
            exchange.status,
            lab.report()
        );
        assert!(
            !exchange.body.contains("nginx/"),
            "{} {} -> {}: the page should not name nginx's version; it says:\n{}{}",
            exchange.method,
            exchange.url,
            exchange.status,
            exchange.body,
            lab.report()
        );
    }
    Ok(())
}

/// Debian's nginx (the one `cargo xtask images` packs, and the native backend runs) accepts
/// the config with `nginx -t`, in the lab's frame.
#[tokio::test]
async fn the_config_passes_nginx_t_on_debian_nginx() {
    let site = stage_under_test::NGINX_SITE.expect("stage 4 has a site config");
    let binary = labkit::edge::native_nginx_binary();
    let version = Command::new(&binary)
        .arg("-v")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stderr).trim().to_owned())
        .unwrap_or_else(|e| {
            format!(
                "{} cannot run ({e}): `apt-get install nginx`",
                binary.display()
            )
        });
    match tokio::task::spawn_blocking(move || labkit::edge::check_config(site))
        .await
        .expect("nginx -t panicked")
    {
        Ok(said) => assert!(
            said.contains("test is successful"),
            "`nginx -t` ({version}) should report success; it said:\n{said}"
        ),
        Err(error) => {
            panic!("`nginx -t` ({version}) should accept nginx/stage4.conf; it said:\n{error}")
        }
    }
}

/// What differs between Debian's nginx 1.22.1 and the pinned nginx:1.28.0, which no test here
/// can run (no registry): `ssl on;` is gone since 1.25.1, `http2 on;` is unknown before it, and
/// OpenSSL 3.0 (both images) has no `X25519MLKEM768` (FIELD-NOTES "nginx").
#[test]
fn the_config_uses_nothing_only_one_of_the_pinned_nginx_versions_knows() {
    let site = stage_under_test::NGINX_SITE.expect("stage 4 has a site config");
    let directives: Vec<&str> = site
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let offending: Vec<&&str> = directives
        .iter()
        .filter(|l| {
            l.starts_with("ssl on")
                || l.starts_with("http2 ")
                || l.contains("X25519MLKEM768")
                || (l.starts_with("listen") && l.contains("http2"))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "nginx/stage4.conf should stay valid (and warning-free) on nginx 1.22.1 and 1.28.0; \
         these lines are not: {offending:?}"
    );
}

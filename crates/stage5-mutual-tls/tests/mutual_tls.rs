//! Stage 5's claims, through real nginx: the inner hop is mutual TLS, the app accepts only the
//! internal CA's certificates, trusts only the proxy's name, and the session never crosses the
//! inner hop in cleartext.

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

use std::sync::Arc;

use labkit::internal::{InternalCa, Issued, PROXY_IDENTITY, Role};
use labkit::walkthrough::FORGED_IP;
use labkit::{Lab, LabOptions, Me, Result};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

async fn start(observe_inner_hop: bool) -> Result<(Lab, tempfile::TempDir)> {
    let (dir, store) = labkit::temporary_sqlite_store();
    let lab = Lab::start_with(
        &labkit::stage!(stage_under_test),
        LabOptions {
            session_store: Some(store),
            observe_inner_hop,
            ..LabOptions::from_env()?
        },
    )
    .await?;
    Ok((lab, dir))
}

/// A client straight to the app's loopback listener, over TLS that trusts the internal CA,
/// presenting `identity` (or no certificate).
fn direct_tls_client(lab: &Lab, identity: Option<&Issued>) -> reqwest::Client {
    let internal = lab.internal_ca().expect("stage 5 has an internal CA");
    let mut roots = rustls::RootCertStore::empty();
    for cert in labkit::mtls::certs(internal.ca_pem()).expect("the internal CA") {
        roots.add(cert).expect("a CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots);
    let tls = match identity {
        Some(issued) => builder
            .with_client_auth_cert(
                labkit::mtls::certs(&issued.cert_pem).expect("a certificate"),
                PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).expect("a key"),
            )
            .expect("a client certificate"),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve(labkit::internal::APP_NAME, lab.app_addr())
        .no_proxy()
        .build()
        .expect("a client")
}

/// `GET /me` on the app directly, with forged forwarding headers.
async fn me_directly(lab: &Lab, client: &reqwest::Client) -> std::result::Result<Me, String> {
    let url = format!(
        "https://{}:{}/me",
        labkit::internal::APP_NAME,
        lab.app_addr().port()
    );
    let response = client
        .get(url)
        .header("x-forwarded-for", FORGED_IP)
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .map_err(|e| labkit::error_chain(&e))?;
    let body = response.text().await.map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
}

/// `GET /me` straight to the app with forged forwarding headers, presenting a new certificate
/// from the internal CA for `name`: the app must serve it (the certificate is valid).
async fn me_as(lab: &Lab, name: &str) -> Result<Me> {
    let internal = lab.internal_ca().expect("stage 5 has an internal CA");
    let issued = internal.issue(name, Role::Client)?;
    Ok(me_directly(lab, &direct_tls_client(lab, Some(&issued)))
        .await
        .unwrap_or_else(|e| {
            panic!("a valid internal certificate for {name} should be served: {e}")
        }))
}

// ANCHOR: through_nginx
/// Through nginx, everything stage 4 promised still holds: the session, HTTPS, the browser's
/// address and the public origin; and the app trusted nginx by its certificate's name.
#[tokio::test]
async fn through_nginx_the_app_sees_the_browser_https_and_the_public_host() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    lab.client().log_in("alice").await?;
    let me = lab.client().me().await?;
    assert_eq!(
        me.user.as_deref(),
        Some("alice"),
        "the session holds{}",
        lab.report()
    );
    assert!(
        me.peer_trusted,
        "the app should trust nginx by its certificate{}",
        lab.report()
    );
    assert_eq!(
        (me.scheme.as_str(), me.client_ip, me.origin.as_deref()),
        ("https", Some(lab.client_address()), Some(lab.origin())),
        "the app should see https, the browser's address and the public origin{}",
        lab.report()
    );
    Ok(())
}
// ANCHOR_END: through_nginx

#[tokio::test]
async fn the_app_refuses_plain_http() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    let plain = lab.direct_client()?.me().await;
    assert!(
        plain.is_err(),
        "a plain-HTTP request straight to the app should get no answer; got {plain:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_app_refuses_tls_without_a_client_certificate() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    let answer = me_directly(&lab, &direct_tls_client(&lab, None)).await;
    assert!(
        answer.is_err(),
        "TLS without a client certificate should be refused; got {answer:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_app_refuses_a_certificate_from_another_ca() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    // The proxy's very name, from a CA the app does not know.
    let stranger = InternalCa::generate()?.issue(PROXY_IDENTITY, Role::Client)?;
    let answer = me_directly(&lab, &direct_tls_client(&lab, Some(&stranger))).await;
    assert!(
        answer.is_err(),
        "a certificate from another CA should be refused, even for the proxy's name; got {answer:?}"
    );
    Ok(())
}

// ANCHOR: another_service
/// A service of the same internal CA that is not the proxy: it gets in (its certificate is
/// valid), but its forwarding headers count for nothing.
#[tokio::test]
async fn another_services_certificate_gets_its_forwarded_headers_ignored() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    let me = me_as(&lab, "billing.internal.lab.test").await?;
    assert!(
        !me.peer_trusted && me.scheme == "http" && me.client_ip != FORGED_IP.parse().ok(),
        "another service's forged X-Forwarded-Proto/-For must not be believed: {me:?}"
    );
    Ok(())
}
// ANCHOR_END: another_service

// ANCHOR: shared_address
/// Addresses are shared and move: here a relay on the app's host carries nginx's connections,
/// so the proxy's address is 127.0.0.1, and another service on that host connects from the
/// same address. Only the name on the certificate tells them apart.
#[tokio::test]
async fn a_service_at_the_proxys_address_is_not_the_proxy() -> Result<()> {
    let (lab, _dir) = start(true).await?;
    let me = me_as(&lab, "billing.internal.lab.test").await?;
    assert!(
        !me.peer_trusted,
        "CAUSE: the app trusts an address. The billing service connected from {peer}, an \
         address the proxy uses too ({proxies:?}), and was believed: its forged headers made \
         the request {scheme} from {client:?}. Trust the name the proxy's certificate proves \
         (`env.proxy_identities`, with `TrustPolicy::trust_identities`), not where it connects \
         from.",
        peer = me.peer,
        proxies = lab.env().proxy_addresses,
        scheme = me.scheme,
        client = me.client_ip,
    );
    Ok(())
}
// ANCHOR_END: shared_address

/// Certificates rotate: a new proxy certificate (a new key, the same name, the same CA) is
/// trusted at once, with no restart of the app, because trust is in the name, not the key.
#[tokio::test]
async fn a_rotated_proxy_certificate_is_trusted_without_restarting_the_app() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    // A new certificate and key for the proxy's name, from the same CA.
    let me = me_as(&lab, PROXY_IDENTITY).await?;
    assert!(
        me.peer_trusted && me.scheme == "https",
        "the rotated certificate names the proxy: its headers should count: {me:?}"
    );
    Ok(())
}

// ANCHOR: observer
/// Someone on the inner network, between nginx and the app, reads no cookie and no session id:
/// the stage 1 observer, now relaying ciphertext.
#[tokio::test]
async fn the_inner_hop_carries_no_cookie_or_session_id_in_cleartext() -> Result<()> {
    let (lab, _dir) = start(true).await?;
    let login = lab.client().log_in("alice").await?;
    let id = login
        .set_cookies()
        .into_iter()
        .next()
        .map(|c| c.value().to_owned())
        .unwrap_or_else(|| panic!("stage 5 sets its session cookie{}", lab.report()));
    let me = lab.client().me().await?;
    assert_eq!(me.user.as_deref(), Some("alice"), "{}", lab.report());
    let seen = lab.inner_hop().expect("an observer").seen();
    assert!(
        !seen.is_empty(),
        "the observer should have relayed the inner hop (else this proves nothing)"
    );
    for secret in [id.as_str(), "__Host-id", "alice", "HTTP/1.1"] {
        assert!(
            !seen.contains(secret),
            "the inner hop should be ciphertext, but the observer read {secret:?}{}",
            lab.report()
        );
    }
    Ok(())
}
// ANCHOR_END: observer

/// The control: stage 4, the same relay between nginx and the app, reads the session id and
/// the user in cleartext. What stage 5 changes is the inner hop, nothing else.
#[tokio::test]
async fn stage_4s_inner_hop_carries_the_session_id_in_cleartext() -> Result<()> {
    let (_dir, store) = labkit::temporary_sqlite_store();
    let lab = Lab::start_with(
        &labkit::stage!(stage4_secure_store),
        LabOptions {
            session_store: Some(store),
            observe_inner_hop: true,
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let login = lab.client().log_in("alice").await?;
    let id = login
        .set_cookies()
        .into_iter()
        .next()
        .map(|c| c.value().to_owned())
        .unwrap_or_else(|| panic!("stage 4 sets its session cookie{}", lab.report()));
    lab.client().me().await?;
    let seen = lab.inner_hop().expect("an observer").seen();
    assert!(
        seen.contains(&format!("__Host-id={id}")) && seen.contains("alice"),
        "on stage 4's inner hop the observer should read the cookie and the user{}",
        lab.report()
    );
    Ok(())
}

/// `cargo xtask lab 5` tells stage 4's story with every expectation met; the forgery sent
/// straight to the app gets no answer at all (plain HTTP is refused).
#[tokio::test]
async fn the_walkthrough_meets_every_expectation() -> Result<()> {
    let (lab, _dir) = start(false).await?;
    let unmet = labkit::walkthrough::unmet(&lab).await?;
    assert!(
        unmet.is_empty(),
        "stage 5 should meet every expectation; unmet: {unmet:#?}{}",
        lab.report()
    );
    Ok(())
}

//! What lab 2 asks of your nginx.conf beyond stage 2's claims: a config that current nginx
//! accepts without a warning, TLS as today's clients need it, and an edge that tells the app
//! the truth and passes on no claim the client made.

use labkit::edge::lint::tls_findings;
use labkit::openssl::{ca_file, s_client};
use labkit::walkthrough::{FORGED_IP, me_with};
use labkit::{Lab, Result};

use crate::stage_under_test;

const YOUR_FILE: &str = "labs/lab2-nginx/nginx.conf";

fn site() -> &'static str {
    stage_under_test::NGINX_SITE.expect("lab 2 has an nginx.conf")
}

#[tokio::test]
async fn the_config_passes_nginx_t_without_a_warning() {
    let said = labkit::edge::check_config(site())
        .unwrap_or_else(|error| panic!("`nginx -t` refuses {YOUR_FILE}:\n{error}"));
    let warnings: Vec<&str> = said.lines().filter(|l| l.contains("[warn]")).collect();
    assert!(
        warnings.is_empty(),
        "`nginx -t` accepts {YOUR_FILE} but warns; a warning in this nginx is an error in a \
         newer one (`ssl on` was removed in 1.25.1):\n{}",
        warnings.join("\n")
    );
}

/// What the config says, read from its text: a live probe cannot see all of it, because
/// Debian's OpenSSL refuses TLS 1.0 whatever nginx enables, and another build would not.
#[test]
fn the_config_enables_only_tls_1_2_and_1_3() {
    let findings = tls_findings(site());
    assert!(
        findings.is_empty(),
        "{YOUR_FILE} keeps the 2012 recipe's TLS:\n{}",
        findings
            .iter()
            .map(|f| format!("  - {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The recipe's `ssl_ciphers HIGH:!aNULL:!MD5` lets a TLS 1.2 client choose CBC suites with
/// SHA-1 (Lucky13 and its kin); Mozilla's intermediate list has only AEAD suites. The witness
/// is Debian's `openssl s_client` offering nothing but CBC suites for the lab's ECDSA key.
#[tokio::test]
async fn the_edge_refuses_cbc_suites() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage_under_test)).await?;
    let ca = ca_file(&lab);
    let cbc = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384";
    let port = lab.front().expect("lab 2 has nginx").https_port();
    let run = s_client(port, &ca, &["-tls1_2", "-cipher", cbc]).await;
    assert!(
        run.offered("TLS 1.2"),
        "the probe should have offered TLS 1.2 with CBC suites; it did not{run}{}",
        lab.report()
    );
    let session = run.negotiated();
    assert!(
        session.is_none(),
        "nginx agreed to a CBC suite over TLS 1.2 ({session:?}): `ssl_ciphers` allows more than \
         Mozilla's intermediate list (the recipe's `HIGH:!aNULL:!MD5` does). Use the list in \
         nginx/stage2.conf{run}{}",
        lab.report()
    );
    Ok(())
}

/// The app can only learn the scheme and host the browser used if the edge says them. Stage 2's
/// app does not believe them yet (it trusts no proxy); stage 3's will, and its grade runs
/// stage 3's own config, so this is the only place a missing header shows.
#[tokio::test]
async fn the_edge_tells_the_app_the_scheme_and_host() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage_under_test)).await?;
    let me = lab.client().me().await?;
    let said = |name: &str| me.forwarding_headers.get(name).map(String::as_str);
    assert_eq!(
        said("x-forwarded-proto"),
        Some("https"),
        "nginx should tell the app the scheme the browser used: \
         `proxy_set_header X-Forwarded-Proto $scheme;`{}",
        lab.report()
    );
    let host = lab.origin().trim_start_matches("https://");
    assert_eq!(
        said("x-forwarded-host"),
        Some(host),
        "nginx should tell the app the host (and port) the browser asked for: \
         `proxy_set_header X-Forwarded-Host $http_host;`{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn the_edge_overwrites_x_forwarded_for() -> Result<()> {
    let lab = Lab::start(&labkit::stage!(stage_under_test)).await?;
    let me = me_with(lab.client(), &[("x-forwarded-for", FORGED_IP)]).await?;
    let you = lab.client_address();
    assert_eq!(
        me.x_forwarded_for,
        Some(you.to_string()),
        "the client claimed X-Forwarded-For: {FORGED_IP}; nginx at the edge should replace it with the address it saw ({you}), but the app received {:?}. `$proxy_add_x_forwarded_for` appends to the client's claim: at the edge use `$remote_addr`{}",
        me.x_forwarded_for,
        lab.report()
    );
    Ok(())
}

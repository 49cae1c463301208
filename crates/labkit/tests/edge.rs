//! The harness's own claims about nginx: a broken site config fails with nginx's own words,
//! on both backends, instead of a timeout.

use labkit::edge::{Backend, Edge, EdgeSpec, Upstream};
use labkit::{LabCerts, LabError};

const BROKEN_SITE: &str = "server {\n    listen 443 ssl;\n    no_such_directive on;\n}\n";

async fn start_broken(backend: Backend) -> LabError {
    let spec = EdgeSpec {
        site: BROKEN_SITE,
        certs: LabCerts::shared().expect("lab certificates"),
        upstream: Upstream::App(vec![9]),
        https_port: None,
        network: None,
        internal: None,
    };
    match Edge::start(backend, spec).await {
        Ok(_) => panic!("nginx ({backend:?}) should refuse a site with an unknown directive"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn a_broken_site_fails_with_nginx_own_words_in_docker() {
    let error = start_broken(Backend::Docker).await;
    assert!(
        matches!(&error, LabError::NginxFailed { logs, .. } if logs.contains("unknown directive \"no_such_directive\"")),
        "the error should carry nginx's complaint; got:\n{error}"
    );
}

#[tokio::test]
async fn a_broken_site_fails_with_nginx_own_words_natively() {
    let error = start_broken(Backend::Native).await;
    assert!(
        matches!(&error, LabError::NginxFailed { logs, .. } if logs.contains("unknown directive \"no_such_directive\"")),
        "the error should carry nginx's complaint; got:\n{error}"
    );
}

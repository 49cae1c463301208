//! Stage 5's inner hop: the app serves TLS itself and requires a client certificate signed by
//! the internal CA. After the handshake, the names the proxy's certificate is valid for become
//! a [`PeerIdentity`] on every request of that connection, beside its `ConnectInfo`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use trusted_proxies::PeerIdentity;

use crate::app::RunningApp;
use crate::error::{LabError, Result};
use crate::internal::{APP_NAME, InternalCa, Role};

/// The app's TLS: its own certificate for [`APP_NAME`], and a verifier that accepts only client
/// certificates the internal CA signed.
pub fn server_config(internal: &InternalCa) -> Result<Arc<rustls::ServerConfig>> {
    let app = internal.issue(APP_NAME, Role::Server)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(internal.ca_pem())? {
        roots.add(cert).map_err(tls_error)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(tls_error)?;
    let key = PrivateKeyDer::from_pem_slice(app.key_pem.as_bytes()).map_err(tls_error)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&app.cert_pem)?, key)
        .map_err(tls_error)?;
    Ok(Arc::new(config))
}

/// The certificates in a PEM text.
pub fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(tls_error)
}

/// Serves `router` over mutual TLS on every listener. `names` are the identities the lab cares
/// about: a verified client certificate valid for one of them is that peer's identity.
pub fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    config: Arc<rustls::ServerConfig>,
    names: Vec<String>,
) -> Result<RunningApp> {
    let mut addrs = Vec::new();
    let mut servers = Vec::new();
    let names: Arc<[String]> = names.into();
    for listener in listeners {
        addrs.push(
            listener
                .local_addr()
                .map_err(LabError::io("reading the app's address"))?,
        );
        let (stop, mut stopped) = oneshot::channel::<()>();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&config));
        let (router, names) = (router.clone(), Arc::clone(&names));
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((tcp, peer)) = accepted else { continue };
                let (acceptor, router, names) =
                    (acceptor.clone(), router.clone(), Arc::clone(&names));
                tokio::spawn(async move {
                    connection(acceptor, tcp, peer, router, &names).await;
                });
            }
        });
        servers.push((Some(stop), task));
    }
    Ok(RunningApp::from_parts(addrs, servers))
}

async fn connection(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    names: &[String],
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(error) => {
            // No certificate, another CA's, or plain HTTP: refused before any request.
            tracing::info!(%peer, %error, "refused a connection to the app");
            return;
        }
    };
    let identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| identity_of(cert, names));
    let mut router = router.layer(axum::Extension(ConnectInfo(peer)));
    if let Some(identity) = identity.filter(|id| !id.names().is_empty()) {
        router = router.layer(axum::Extension(identity));
    }
    let service = TowerToHyperService::new(router);
    if let Err(error) = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%peer, %error, "a connection to the app ended");
    }
}

/// The names of `names` that the (already verified) certificate is valid for, as webpki
/// judges it: rustls checked the chain during the handshake; this asks only about names.
fn identity_of(cert: &CertificateDer<'_>, names: &[String]) -> PeerIdentity {
    let valid = webpki::EndEntityCert::try_from(cert).ok();
    PeerIdentity::new(
        names
            .iter()
            .filter(|name| {
                let Some(cert) = &valid else { return false };
                ServerName::try_from(name.as_str()).is_ok_and(|server_name| {
                    cert.verify_is_valid_for_subject_name(&server_name).is_ok()
                })
            })
            .cloned(),
    )
}

fn tls_error(e: impl std::fmt::Display) -> LabError {
    LabError::Certificates(format!("the app's TLS: {e}"))
}

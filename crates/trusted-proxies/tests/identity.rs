//! Trust by identity, through the layer: the peer whose verified certificate proves the
//! proxy's name is trusted wherever it connects from; another name, or none, is not.
#![cfg(feature = "identity")]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use tower::ServiceExt;
use trusted_proxies::{PeerIdentity, ProxyConfig, Resolved, TrustPolicy, TrustedProxiesLayer};

async fn whoami(r: Resolved) -> String {
    format!("{} {} {}", r.client(), r.scheme(), r.peer_trusted())
}

async fn ask(identity: Option<PeerIdentity>) -> String {
    let policy = TrustPolicy::none().trust_identities(["proxy.internal.example"]);
    let app = Router::new()
        .route("/", get(whoami))
        .layer(TrustedProxiesLayer::new(ProxyConfig::new(policy)));
    let mut req = Request::get("/")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = "10.9.8.7:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    if let Some(identity) = identity {
        req.extensions_mut().insert(identity);
    }
    let res = app.oneshot(req).await.unwrap();
    let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn the_proxys_identity_is_trusted_from_any_address() {
    let proxy = PeerIdentity::new(["proxy.internal.example"]);
    assert_eq!(ask(Some(proxy)).await, "203.0.113.7 https true");
}

#[tokio::test]
async fn another_services_identity_is_not() {
    let billing = PeerIdentity::new(["billing.internal.example"]);
    assert_eq!(ask(Some(billing)).await, "10.9.8.7 http false");
}

#[tokio::test]
async fn no_identity_is_not() {
    assert_eq!(ask(None).await, "10.9.8.7 http false");
}

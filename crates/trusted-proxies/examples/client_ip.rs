//! The resolved client in every log line, and the key a rate limiter should count by.
//!
//! `cargo run -p trusted-proxies --example client_ip` sends three requests through an axum
//! app behind "nginx" (in memory, no network): two from different clients through nginx, and
//! one straight to the app with a forged `X-Forwarded-For`. It prints what was logged and
//! which bucket each request would be counted in, and checks both. It needs the `axum`
//! feature (a default one): `Resolved` is then an extractor.
#![cfg_attr(not(feature = "axum"), allow(dead_code, unused_imports))]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower::ServiceExt;
use tracing::Instrument;
use trusted_proxies::{ClientAddr, ProxyConfig, Resolved, TrustPolicy, TrustedProxiesLayer};

#[cfg(feature = "axum")]
// ANCHOR: span
/// Opens a span per request that names the client trusted-proxies resolved: every event
/// logged while the request is handled carries that address, not the proxy's.
async fn client_span(resolved: Resolved, request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        client = %resolved.client(),
        peer = %resolved.peer(),
        method = %request.method(),
        path = request.uri().path(),
    );
    next.run(request).instrument(span).await
}
// ANCHOR_END: span

#[cfg(feature = "axum")]
// ANCHOR: app
fn app(config: ProxyConfig) -> Router {
    Router::new()
        .route("/", get(handler))
        // Layers added later wrap earlier ones: the resolver runs first, then the span.
        .layer(middleware::from_fn(client_span))
        .layer(TrustedProxiesLayer::new(config))
}
// ANCHOR_END: app

// ANCHOR: key
/// What a rate limiter counts requests by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RateLimitKey {
    /// An IPv4 client.
    V4(Ipv4Addr),
    /// An IPv6 client's /64: one subscriber usually holds a whole /64, and counting each
    /// address would give it 2^64 buckets.
    V6Net(Ipv6Addr),
    /// No address could be resolved (`unknown`, garbage or an overlong chain behind a trusted
    /// proxy): one shared bucket, so such requests cannot escape the limit.
    Unknown,
}

/// The resolved client, never the TCP peer (behind nginx, that is nginx: one bucket for
/// everyone) and never a raw `X-Forwarded-For` (the client writes it: a new bucket per
/// request).
fn rate_limit_key(resolved: &Resolved) -> RateLimitKey {
    match resolved.client() {
        ClientAddr::Ip(IpAddr::V4(ip)) => RateLimitKey::V4(ip),
        ClientAddr::Ip(IpAddr::V6(ip)) => {
            RateLimitKey::V6Net(Ipv6Addr::from(u128::from(ip) & (u128::MAX << 64)))
        }
        ClientAddr::Unknown => RateLimitKey::Unknown,
    }
}
// ANCHOR_END: key

#[cfg(feature = "axum")]
async fn handler(resolved: Resolved) -> String {
    let key = rate_limit_key(&resolved);
    tracing::info!(?key, "counted");
    format!("{key:?}")
}

/// Where the log lines go: a buffer, so that the example can check them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

async fn send(app: &Router, peer: SocketAddr, forwarded_for: &str) -> String {
    let mut request = Request::get("/")
        .header("x-forwarded-for", forwarded_for)
        .body(Body::empty())
        .expect("a request");
    // What `into_make_service_with_connect_info::<SocketAddr>()` puts there.
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(request).await.expect("infallible");
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .expect("a body");
    String::from_utf8(body.to_vec()).expect("text")
}

#[cfg(not(feature = "axum"))]
fn main() {
    eprintln!("this example needs trusted-proxies' `axum` feature (on by default)");
}

#[cfg(feature = "axum")]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_target(false)
        .without_time()
        .init();

    // nginx, by the address it connects from (the deployment's configuration names it; here a
    // documentation address).
    let nginx: SocketAddr = "192.0.2.10:41000".parse().expect("an address");
    let app = app(ProxyConfig::new(TrustPolicy::from_addrs([nginx.ip()])));

    let requests = [
        ("through nginx", nginx, "203.0.113.7"),
        ("through nginx", nginx, "2001:db8:7:1::42"),
        (
            "around nginx, forged",
            "198.51.100.99:5000".parse().expect("an address"),
            "203.0.113.7",
        ),
    ];
    println!(
        "{:<22} {:<18} {:<18} bucket",
        "request", "TCP peer", "X-Forwarded-For"
    );
    let mut buckets = Vec::new();
    for (what, peer, forwarded_for) in requests {
        let bucket = send(&app, peer, forwarded_for).await;
        println!("{what:<22} {:<18} {forwarded_for:<18} {bucket}", peer.ip());
        buckets.push(bucket);
    }
    let logged = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("text");
    println!("\nlogged:\n{logged}");

    assert_eq!(
        buckets,
        [
            "V4(203.0.113.7)",
            "V6Net(2001:db8:7:1::)",
            "V4(198.51.100.99)"
        ],
        "each client should have its own bucket, and a forger around nginx its real address"
    );
    for client in [
        "client=203.0.113.7",
        "client=2001:db8:7:1::42",
        "client=198.51.100.99",
    ] {
        assert!(
            logged.contains(client),
            "the log should name {client}:\n{logged}"
        );
    }
}

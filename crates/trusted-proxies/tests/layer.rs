//! The layer, the extractor and the Secure-cookie guard in a real axum `Router`.
#![cfg(feature = "axum")]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::response::AppendHeaders;
use axum::routing::get;
use http::{Request, Response, StatusCode, header::SET_COOKIE};
use tower::ServiceExt;
use trusted_proxies::{
    Peer, PeerAddr, ProxyConfig, Resolved, SecureCookieGuardLayer, TrustPolicy,
    TrustedProxiesLayer, WithheldCookies,
};

async fn set_cookies() -> impl axum::response::IntoResponse {
    // `AppendHeaders`: a plain header array would `insert`, keeping only the last cookie.
    (
        AppendHeaders([
            (
                SET_COOKIE,
                "id=abc; Path=/; HttpOnly; Secure; SameSite=Strict",
            ),
            (SET_COOKIE, "theme=dark; Path=/"),
            (SET_COOKIE, "__Host-csrf=x; Path=/; secure"),
        ]),
        "ok",
    )
}

async fn whoami(r: Resolved) -> String {
    format!(
        "client={} scheme={} host={} hops={:?}",
        r.client(),
        r.scheme(),
        r.host().unwrap_or("-"),
        r.trusted_hops()
    )
}

fn app(guard: SecureCookieGuardLayer) -> Router {
    let config = ProxyConfig::new(TrustPolicy::parse("loopback").unwrap());
    Router::new()
        .route("/cookies", get(set_cookies))
        .route("/whoami", get(whoami))
        .layer(guard)
        .layer(TrustedProxiesLayer::new(config))
}

fn request(path: &str, peer: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::empty()).unwrap();
    if let Some(p) = peer {
        req.extensions_mut()
            .insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
    }
    req
}

fn cookies(res: &Response<Body>) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn body(res: Response<Body>) -> String {
    String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn guard_strips_secure_cookies_when_the_request_is_http() {
    let res = app(SecureCookieGuardLayer::new())
        .oneshot(request(
            "/cookies",
            Some("127.0.0.1:5000"),
            &[("x-forwarded-for", "198.51.100.7")],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(cookies(&res), ["theme=dark; Path=/"]);
    let withheld = res.extensions().get::<WithheldCookies>();
    assert_eq!(
        withheld.map(WithheldCookies::names),
        Some(&["id".to_owned(), "__Host-csrf".to_owned()][..]),
        "the response should say which cookies were withheld"
    );
}

#[tokio::test]
async fn guard_keeps_secure_cookies_when_a_trusted_proxy_says_https() {
    let res = app(SecureCookieGuardLayer::new())
        .oneshot(request(
            "/cookies",
            Some("[::ffff:127.0.0.1]:5000"),
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("x-forwarded-proto", "https"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(cookies(&res).len(), 3, "{:?}", cookies(&res));
    assert!(res.extensions().get::<WithheldCookies>().is_none());
}

#[tokio::test]
async fn guard_strips_when_an_untrusted_peer_claims_https() {
    let res = app(SecureCookieGuardLayer::new())
        .oneshot(request(
            "/cookies",
            Some("203.0.113.9:5000"),
            &[("x-forwarded-proto", "https")],
        ))
        .await
        .unwrap();
    assert_eq!(cookies(&res), ["theme=dark; Path=/"]);
}

#[tokio::test]
async fn guard_keeps_non_secure_cookies_in_every_case() {
    for (name, proto) in [("http", "http"), ("https", "https")] {
        let res = app(SecureCookieGuardLayer::new())
            .oneshot(request(
                "/cookies",
                Some("127.0.0.1:1"),
                &[("x-forwarded-proto", proto)],
            ))
            .await
            .unwrap();
        assert!(
            cookies(&res).contains(&"theme=dark; Path=/".to_owned()),
            "case {name}"
        );
    }
}

#[tokio::test]
async fn guard_without_resolver_fails_closed() {
    let app = Router::new()
        .route("/cookies", get(set_cookies))
        .layer(SecureCookieGuardLayer::new());
    let res = app
        .oneshot(request(
            "/cookies",
            Some("127.0.0.1:1"),
            &[("x-forwarded-proto", "https")],
        ))
        .await
        .unwrap();
    assert_eq!(cookies(&res), ["theme=dark; Path=/"]);
}

#[tokio::test]
async fn extractor_sees_what_the_layer_resolved() {
    let res = app(SecureCookieGuardLayer::new())
        .oneshot(request(
            "/whoami",
            Some("127.0.0.1:1"),
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
                ("x-forwarded-proto", "https"),
                ("host", "app.lab.test"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        body(res).await,
        "client=198.51.100.7 scheme=https host=app.lab.test hops=[127.0.0.1]"
    );
}

#[tokio::test]
async fn extractor_rejects_with_500_without_the_layer() {
    let app = Router::new().route("/whoami", get(whoami));
    let res = app
        .oneshot(request("/whoami", Some("127.0.0.1:1"), &[]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(res).await.contains("TrustedProxiesLayer"));
}

#[tokio::test]
async fn optional_extractor_is_none_without_the_layer() {
    let app = Router::new().route(
        "/",
        get(|r: Option<Resolved>| async move { format!("{}", r.is_some()) }),
    );
    let res = app.oneshot(request("/", None, &[])).await.unwrap();
    assert_eq!(body(res).await, "false");
}

#[tokio::test]
async fn peer_addr_extension_is_used_without_connect_info() {
    let config = ProxyConfig::new(TrustPolicy::none().trust_unix_peers(true));
    let app = Router::new()
        .route("/whoami", get(whoami))
        .layer(TrustedProxiesLayer::new(config));
    let mut req = request(
        "/whoami",
        None,
        &[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ],
    );
    req.extensions_mut().insert(PeerAddr(Peer::Unix));
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(
        body(res).await,
        "client=198.51.100.7 scheme=https host=- hops=[]"
    );
}

#[tokio::test]
async fn missing_peer_trusts_nothing() {
    let res = app(SecureCookieGuardLayer::new())
        .oneshot(request(
            "/whoami",
            None,
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("x-forwarded-proto", "https"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(body(res).await, "client=unknown scheme=http host=- hops=[]");
}

/// A `MakeWriter` collecting log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn with_captured_logs(f: impl FnOnce()) -> String {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn guard_warns_once_per_interval_and_says_what_to_configure() {
    let logs = with_captured_logs(|| {
        block_on(async {
            // Clones of one layer share the limit.
            let guard = SecureCookieGuardLayer::new();
            for _ in 0..3 {
                let res = app(guard.clone())
                    .oneshot(request(
                        "/cookies",
                        Some("172.17.0.2:5000"),
                        &[("x-forwarded-proto", "https")],
                    ))
                    .await
                    .unwrap();
                assert_eq!(cookies(&res).len(), 1);
            }
        })
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "one warning for three strips: {logs}");
    let w = warnings[0];
    assert!(
        !w.contains("TrustPolicy::parse(\""),
        "the warning must not suggest pasting the peer's literal address: {w}"
    );
    for needle in [
        "id, __Host-csrf",
        "scheme=http",
        "peer=172.17.0.2:5000",
        "does not trust",
        "TrustPolicy",
        "If 172.17.0.2 is that proxy",
        "from configuration",
        "https://expressjs.com/en/guide/behind-proxies.html",
        "book/src/stage-2.md",
    ] {
        assert!(w.contains(needle), "warning lacks {needle:?}: {w}");
    }
}

#[test]
fn guard_reports_suppressed_repeats() {
    let logs = with_captured_logs(|| {
        block_on(async {
            let guard = SecureCookieGuardLayer::with_warn_interval(Duration::from_millis(500));
            for i in 0..4 {
                if i == 3 {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                }
                app(guard.clone())
                    .oneshot(request("/cookies", Some("127.0.0.1:1"), &[]))
                    .await
                    .unwrap();
            }
        })
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    assert!(warnings[0].contains("suppressed=0"), "{}", warnings[0]);
    assert!(warnings[1].contains("suppressed=2"), "{}", warnings[1]);
    assert!(
        warnings[1].contains("trusts its peer"),
        "a trusted peer that did not say https gets the other advice: {}",
        warnings[1]
    );
}

#[test]
fn guard_stays_quiet_when_nothing_is_stripped() {
    let logs = with_captured_logs(|| {
        block_on(async {
            app(SecureCookieGuardLayer::new())
                .oneshot(request(
                    "/cookies",
                    Some("127.0.0.1:1"),
                    &[("x-forwarded-proto", "https")],
                ))
                .await
                .unwrap();
        })
    });
    assert!(!logs.contains("WARN"), "{logs}");
}

//! [`SecureCookieGuardLayer`]: express-session's rule, made loud.
//!
//! A browser drops a `Secure` cookie set over plain HTTP, so a session cookie sent on a
//! request the app believes is `http` never comes back, and every request starts a new
//! session. express-session avoids sending it, silently. This guard does the same, and says
//! why, once a minute at most.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http::header::{HeaderValue, SET_COOKIE};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::parse::trim_ows;
use crate::{Peer, Resolved, Scheme};

/// Where the guard's warning sends people (its `help` field).
///
/// ```
/// assert!(trusted_proxies::HELP.contains("behind-proxies"));
/// ```
pub const HELP: &str = "https://expressjs.com/en/guide/behind-proxies.html and book/src/stage-2.md";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// A [`tower::Layer`](tower_layer::Layer) that removes every `Set-Cookie` response header
/// carrying the `Secure` attribute when the request is not HTTPS, as express-session does, and
/// logs why with `tracing::warn!`.
///
/// "HTTPS" is [`Resolved::is_https`] from the request extensions, so
/// [`TrustedProxiesLayer`](crate::TrustedProxiesLayer) must wrap this layer (be added after it
/// with `Router::layer`, or before it in a `ServiceBuilder`). Without a [`Resolved`] the
/// request counts as not HTTPS (fail closed). Cookies without `Secure` are kept.
///
/// The warning names the cookies, the resolved scheme and the peer, and says what to
/// configure. It is rate-limited to one per minute per layer (clones share the limit),
/// reporting how many were suppressed in between.
///
/// ```
/// use axum::{Router, routing::get};
/// use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { ([("set-cookie", "id=1; Secure; HttpOnly")], "hi") }))
///     .layer(SecureCookieGuardLayer::new()) // inner: runs after the resolver
///     .layer(TrustedProxiesLayer::new(ProxyConfig::new(TrustPolicy::parse("loopback")?)));
/// # Ok::<(), trusted_proxies::PolicyError>(())
/// ```
///
/// The same with `tower::ServiceBuilder`, where the first layer is the outermost:
///
/// ```
/// use tower::ServiceBuilder;
/// use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustedProxiesLayer};
///
/// let layers = ServiceBuilder::new()
///     .layer(TrustedProxiesLayer::new(ProxyConfig::default()))
///     .layer(SecureCookieGuardLayer::new());
/// # let _ = layers;
/// ```
#[derive(Clone, Debug)]
pub struct SecureCookieGuardLayer {
    limiter: Arc<RateLimiter>,
}

impl SecureCookieGuardLayer {
    /// A guard warning at most once per 60 seconds.
    ///
    /// ```
    /// let guard = trusted_proxies::SecureCookieGuardLayer::new();
    /// # let _ = guard;
    /// ```
    pub fn new() -> Self {
        Self::with_warn_interval(DEFAULT_INTERVAL)
    }

    /// A guard warning at most once per `interval` (`Duration::ZERO`: every time).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let guard = trusted_proxies::SecureCookieGuardLayer::with_warn_interval(Duration::from_secs(300));
    /// # let _ = guard;
    /// ```
    pub fn with_warn_interval(interval: Duration) -> Self {
        SecureCookieGuardLayer {
            limiter: Arc::new(RateLimiter {
                interval,
                state: Mutex::new(RateState {
                    last: None,
                    suppressed: 0,
                }),
            }),
        }
    }
}

impl Default for SecureCookieGuardLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for SecureCookieGuardLayer {
    type Service = SecureCookieGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecureCookieGuard {
            inner,
            limiter: Arc::clone(&self.limiter),
        }
    }
}

#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    state: Mutex<RateState>,
}

#[derive(Debug)]
struct RateState {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimiter {
    /// `Some(suppressed since the last warning)` when a warning may be logged now.
    fn permit(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match s.last {
            Some(t) if now.duration_since(t) < self.interval => {
                s.suppressed += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.suppressed))
            }
        }
    }
}

/// The service made by [`SecureCookieGuardLayer`].
///
/// ```
/// use tower_layer::Layer;
/// use trusted_proxies::{SecureCookieGuard, SecureCookieGuardLayer};
///
/// let svc: SecureCookieGuard<()> = SecureCookieGuardLayer::new().layer(());
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct SecureCookieGuard<S> {
    inner: S,
    limiter: Arc<RateLimiter>,
}

/// What the response side needs to know about an insecure request.
#[derive(Clone, Copy, Debug)]
struct Insecure {
    resolved: Option<(Scheme, Peer, bool)>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for SecureCookieGuard<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = SecureCookieGuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let insecure = match req.extensions().get::<Resolved>() {
            Some(r) if r.is_https() => None,
            Some(r) => Some(Insecure {
                resolved: Some((r.scheme(), r.peer(), r.peer_trusted())),
            }),
            None => Some(Insecure { resolved: None }),
        };
        SecureCookieGuardFuture {
            inner: self.inner.call(req),
            insecure,
            limiter: Arc::clone(&self.limiter),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`SecureCookieGuard`]: the inner future, with `Secure` cookies
    /// removed from its response when the request was not HTTPS.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use tower::{Layer, Service, service_fn};
    /// use trusted_proxies::{SecureCookieGuardFuture, SecureCookieGuardLayer};
    ///
    /// let inner = service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, Infallible>(http::Response::new(()))
    /// });
    /// let mut guard = SecureCookieGuardLayer::new().layer(inner);
    /// let future = guard.call(http::Request::new(()));
    /// let _: &SecureCookieGuardFuture<_> = &future;
    /// ```
    pub struct SecureCookieGuardFuture<F> {
        #[pin]
        inner: F,
        insecure: Option<Insecure>,
        limiter: Arc<RateLimiter>,
    }
}

impl<F, B, E> Future for SecureCookieGuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(insecure) = this.insecure.take() {
            let stripped = strip_secure_cookies(res.headers_mut());
            if !stripped.is_empty() {
                warn(this.limiter, insecure, &stripped);
                res.extensions_mut()
                    .insert(WithheldCookies { names: stripped });
            }
        }
        Poll::Ready(Ok(res))
    }
}

/// The cookies [`SecureCookieGuard`] removed from a response, put in the response's extensions
/// so that an outer layer can show the person in the browser what happened (the lab's pages
/// do), not only the log.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use tower::ServiceExt;
/// use trusted_proxies::{SecureCookieGuardLayer, WithheldCookies};
///
/// # tokio_test_block_on(async {
/// let app = Router::new()
///     .route("/", get(|| async { ([("set-cookie", "id=1; Secure")], "hi") }))
///     .layer(SecureCookieGuardLayer::new()); // no Resolved: not HTTPS
/// let res = app.oneshot(Request::new(Body::empty())).await.unwrap();
/// let withheld = res.extensions().get::<WithheldCookies>().unwrap();
/// assert_eq!(withheld.names(), ["id"]);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithheldCookies {
    names: Vec<String>,
}

impl WithheldCookies {
    /// The names of the removed cookies, in response order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Whether a `Set-Cookie` value has the `Secure` attribute (RFC 6265 §5.2: attribute names
/// are case-insensitive, and any value after `Secure=` is ignored by browsers).
pub(crate) fn has_secure_attribute(value: &[u8]) -> bool {
    value.split(|&b| b == b';').skip(1).any(|attr| {
        let name = attr.split(|&b| b == b'=').next().unwrap_or_default();
        trim_ows(name).eq_ignore_ascii_case(b"secure")
    })
}

fn cookie_name(value: &HeaderValue) -> String {
    let b = value.as_bytes();
    let name = b
        .split(|&c| c == b'=' || c == b';')
        .next()
        .unwrap_or_default();
    String::from_utf8_lossy(trim_ows(name)).into_owned()
}

/// Removes `Secure` cookies, keeping the others in order. Returns the removed cookies' names.
fn strip_secure_cookies(headers: &mut http::HeaderMap) -> Vec<String> {
    if !headers
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| has_secure_attribute(v.as_bytes()))
    {
        return Vec::new();
    }
    let all: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
    headers.remove(SET_COOKIE);
    let mut stripped = Vec::new();
    for v in all {
        if has_secure_attribute(v.as_bytes()) {
            stripped.push(cookie_name(&v));
        } else {
            headers.append(SET_COOKIE, v);
        }
    }
    stripped
}

fn warn(limiter: &RateLimiter, insecure: Insecure, stripped: &[String]) {
    let Some(suppressed) = limiter.permit() else {
        return;
    };
    let cookie = stripped.join(", ");
    match insecure.resolved {
        None => tracing::warn!(
            cookie = %cookie,
            scheme = "unknown",
            peer = "unknown",
            suppressed,
            help = HELP,
            "dropped Secure cookie(s) `{cookie}`: the request carries no trusted_proxies::Resolved, \
             so it cannot be known to be HTTPS. Add TrustedProxiesLayer so that it wraps \
             SecureCookieGuardLayer, with a TrustPolicy naming the proxy that terminates TLS \
             ({suppressed} similar warnings suppressed)"
        ),
        Some((scheme, peer, false)) => tracing::warn!(
            cookie = %cookie,
            scheme = %scheme,
            peer = %peer,
            suppressed,
            help = HELP,
            "dropped Secure cookie(s) `{cookie}`: the request is {scheme} as far as the app can \
             tell, because the app does not trust its peer {peer}, the proxy that terminates \
             TLS, so that proxy's X-Forwarded-Proto is ignored. If {peer_ip} is that proxy, give \
             the TrustPolicy the addresses your deployment assigns it, from configuration (in \
             the lab: env.proxy_addresses), not this literal address, which changes when the \
             proxy moves; a browser would discard this cookie and every request would start a \
             new session ({suppressed} similar warnings suppressed)",
            peer_ip = peer.ip().map_or_else(|| "<proxy address>".to_owned(), |ip| ip.to_string()),
        ),
        Some((scheme, peer, true)) => tracing::warn!(
            cookie = %cookie,
            scheme = %scheme,
            peer = %peer,
            suppressed,
            help = HELP,
            "dropped Secure cookie(s) `{cookie}`: the app trusts its peer {peer}, but the trusted \
             proxies report the request as {scheme}. Make the proxy that terminates TLS send \
             `X-Forwarded-Proto: https` (or Forwarded proto=https), and make sure the \
             TrustPolicy names every proxy between it and the app ({suppressed} similar warnings \
             suppressed)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_attribute_detection() {
        let table: &[(&str, bool)] = &[
            ("id=1; Secure", true),
            ("id=1; Path=/; secure; HttpOnly", true),
            ("id=1;SECURE", true),
            ("id=1; Secure=yes", true),
            ("id=1; \tSecure\t", true),
            ("id=1; HttpOnly", false),
            ("secure=1; HttpOnly", false),
            ("id=Secure", false),
            ("id=1; SecureX", false),
            ("id=1; Path=/Secure", false),
        ];
        for (v, want) in table {
            assert_eq!(has_secure_attribute(v.as_bytes()), *want, "case {v:?}");
        }
    }

    #[test]
    fn strip_keeps_other_cookies_in_order() {
        let mut h = http::HeaderMap::new();
        for v in [
            "a=1",
            "b=2; Secure",
            "c=3; HttpOnly",
            "__Host-d=4; Secure; Path=/",
        ] {
            h.append(SET_COOKIE, HeaderValue::from_static(v));
        }
        let names = strip_secure_cookies(&mut h);
        assert_eq!(names, ["b", "__Host-d"]);
        let kept: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(kept, ["a=1", "c=3; HttpOnly"]);
    }

    #[test]
    fn rate_limiter_counts_suppressed() {
        let l = RateLimiter {
            interval: Duration::from_millis(300),
            state: Mutex::new(RateState {
                last: None,
                suppressed: 0,
            }),
        };
        assert_eq!(l.permit(), Some(0));
        assert_eq!(l.permit(), None);
        assert_eq!(l.permit(), None);
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(l.permit(), Some(2));
        assert_eq!(l.permit(), None);
    }
}

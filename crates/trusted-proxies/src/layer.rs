//! [`TrustedProxiesLayer`]: resolves every request and stores the [`Resolved`] in its
//! extensions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http::{Extensions, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::{Peer, ProxyConfig, Resolved};

/// The socket peer of a request, for servers that are not axum with `ConnectInfo` (a Unix
/// socket listener, hyper directly, tests). Insert it into the request extensions before
/// [`TrustedProxiesLayer`] runs.
///
/// ```
/// use trusted_proxies::{Peer, PeerAddr};
///
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(PeerAddr(Peer::Unix));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub Peer);

/// A [`tower::Layer`](tower_layer::Layer) that resolves every request with a [`ProxyConfig`]
/// and inserts the [`Resolved`] into the request's extensions.
///
/// The socket peer is taken from `axum::extract::ConnectInfo<SocketAddr>` (feature `axum`;
/// serve with `into_make_service_with_connect_info::<SocketAddr>()`), else from a [`PeerAddr`]
/// extension. With neither, the peer is [`Peer::Unknown`]: nothing is trusted, the client is
/// unknown and the scheme is the connection scheme; the first such request logs a warning.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::get};
/// use trusted_proxies::{ProxyConfig, Resolved, TrustPolicy, TrustedProxiesLayer};
///
/// let config = ProxyConfig::new(TrustPolicy::parse("loopback")?);
/// let app: Router = Router::new()
///     .route("/", get(|r: Resolved| async move { r.client().to_string() }))
///     .layer(TrustedProxiesLayer::new(config));
/// # }
/// # Ok::<(), trusted_proxies::PolicyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxiesLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ProxyConfig,
    warned_unknown_peer: AtomicBool,
}

impl TrustedProxiesLayer {
    /// A layer resolving requests with `config`.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustedProxiesLayer};
    /// let layer = TrustedProxiesLayer::new(ProxyConfig::default());
    /// # let _ = layer;
    /// ```
    pub fn new(config: ProxyConfig) -> Self {
        TrustedProxiesLayer {
            shared: Arc::new(Shared {
                config,
                warned_unknown_peer: AtomicBool::new(false),
            }),
        }
    }

    /// The configuration in use.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustedProxiesLayer};
    /// assert!(TrustedProxiesLayer::new(ProxyConfig::default()).config().policy().is_none());
    /// ```
    pub fn config(&self) -> &ProxyConfig {
        &self.shared.config
    }
}

impl<S> Layer<S> for TrustedProxiesLayer {
    type Service = TrustedProxies<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrustedProxies {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`TrustedProxiesLayer`].
///
/// ```
/// use tower_layer::Layer;
/// use trusted_proxies::{ProxyConfig, TrustedProxies, TrustedProxiesLayer};
///
/// let svc: TrustedProxies<()> = TrustedProxiesLayer::new(ProxyConfig::default()).layer(());
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxies<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B> Service<Request<B>> for TrustedProxies<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let peer = peer_of(req.extensions());
        if peer == Peer::Unknown
            && !self
                .shared
                .warned_unknown_peer
                .swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "trusted-proxies: the request carries no peer address (no ConnectInfo<SocketAddr> \
                 and no PeerAddr extension), so no proxy can be trusted; serve with \
                 `into_make_service_with_connect_info::<SocketAddr>()` or insert a PeerAddr"
            );
        }
        #[cfg(feature = "identity")]
        let resolved: Resolved = self.shared.config.resolve_request_with_identity(
            peer,
            req.extensions().get::<crate::PeerIdentity>(),
            &req,
        );
        #[cfg(not(feature = "identity"))]
        let resolved: Resolved = self.shared.config.resolve_request(peer, &req);
        tracing::trace!(
            client = %resolved.client(),
            scheme = %resolved.scheme(),
            host = resolved.host().unwrap_or("-"),
            peer = %peer,
            peer_trusted = resolved.peer_trusted(),
            "trusted-proxies: resolved request"
        );
        req.extensions_mut().insert(resolved);
        self.inner.call(req)
    }
}

fn peer_of(ext: &Extensions) -> Peer {
    #[cfg(feature = "axum")]
    if let Some(ci) = ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Peer::Tcp(ci.0);
    }
    ext.get::<PeerAddr>().map_or(Peer::Unknown, |p| p.0)
}

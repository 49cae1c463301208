//! What Express's `app.set('trust proxy', …)` does, done right, for axum and tower services.
//!
//! Behind a proxy that terminates TLS, the socket says the client is the proxy and the scheme
//! is `http`. The proxy's `X-Forwarded-For` / `X-Forwarded-Proto` (or RFC 7239 `Forwarded`)
//! headers say otherwise, but anyone can send those headers. This crate believes them only as
//! far as a [`TrustPolicy`] allows:
//!
//! * nothing from headers counts unless the **socket peer** is trusted;
//! * the chain `[peer, X-Forwarded-For right to left]` is walked and stops at the **first
//!   untrusted or unparseable** hop (`unknown`, `_obfuscated` and garbage stop it; they are
//!   never skipped), so a forged leftmost value is ignored;
//! * scheme and host come from the **same trusted position** as the client, not from the
//!   leftmost (client-written) value;
//! * results are typed ([`ClientAddr`], [`Scheme`], a validated host), never raw header text;
//! * IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`, what `[::]` listeners report) match IPv4
//!   ranges;
//! * the common path (up to 8 hops) does not allocate.
//!
//! [`SecureCookieGuardLayer`] then applies express-session's rule: a `Secure` cookie is not
//! sent on a request that is not HTTPS, and a warning says which proxy to trust.
//!
//! # Quick start
//!
//! ```
//! # #[cfg(feature = "axum")] mod quick_start {
//! use std::net::SocketAddr;
//!
//! use axum::{Router, routing::get};
//! use trusted_proxies::{
//!     ProxyConfig, Resolved, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer,
//! };
//!
//! async fn whoami(r: Resolved) -> String {
//!     format!("client={} scheme={} origin={:?}", r.client(), r.scheme(), r.origin())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Where the proxies are is the deployment's configuration, not code: here the addresses
//! // the TLS-terminating nginx connects from, in an environment variable.
//! let proxies = std::env::var("TRUSTED_PROXIES").unwrap_or_else(|_| "loopback".into());
//! let policy: TrustPolicy = proxies.parse()?;
//! let config = ProxyConfig::new(policy).allowed_hosts(["app.lab.test"]);
//!
//! let app = Router::new()
//!     .route("/", get(whoami))
//!     // Layers added later wrap earlier ones: the resolver must wrap the guard.
//!     .layer(SecureCookieGuardLayer::new())
//!     .layer(TrustedProxiesLayer::new(config));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // `ConnectInfo<SocketAddr>` gives the layer the socket peer.
//! let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>());
//! # drop(server);
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! Outside axum, or on a Unix socket, insert a [`PeerAddr`] into the request extensions
//! instead; or call [`ProxyConfig::resolve`] yourself, which is a pure function.
//!
//! # Features
//!
//! * `axum` (default): reads `axum::extract::ConnectInfo<SocketAddr>` and makes [`Resolved`]
//!   an extractor (rejecting with 500 when the layer is missing: see [`MissingResolved`]).
//! * `identity`: trust the proxy by the name its client certificate proves, not by its
//!   address ([`PeerIdentity`], [`TrustPolicy::trust_identities`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod addr;
mod cidr;
mod config;
mod cookie_guard;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "identity")]
mod identity;
mod layer;
mod parse;
mod policy;
mod resolve;

pub use addr::{ClientAddr, Peer, Scheme};
pub use config::{HeaderFamily, ProxyConfig};
pub use cookie_guard::{
    HELP, SecureCookieGuard, SecureCookieGuardFuture, SecureCookieGuardLayer, WithheldCookies,
};
#[cfg(feature = "axum")]
pub use extract::MissingResolved;
#[cfg(feature = "identity")]
pub use identity::PeerIdentity;
pub use layer::{PeerAddr, TrustedProxies, TrustedProxiesLayer};
pub use parse::{MAX_HEADER_BYTES, MAX_HOPS};
pub use policy::{PolicyError, TrustPolicy};
pub use resolve::Resolved;

/// The README's examples, compiled as doctests so that they cannot rot.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

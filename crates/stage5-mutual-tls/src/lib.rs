//! Stage 5: trust the proxy by identity, not by address.
//!
//! Stage 4's app, with one change: nginx reaches it over mutual TLS (`nginx/stage5.conf`), and
//! the trust policy names no address at all. It trusts the peer whose client certificate,
//! signed by the internal CA, proves the proxy's name. Addresses move in containers and clouds;
//! that name does not. And the session cookie no longer crosses the inner hop in cleartext.
//!
//! The TLS itself (a rustls server that requires a client certificate from the internal CA)
//! is the harness's part (`labkit::mtls`), as serving plain HTTP is for the other stages: it
//! puts a `PeerIdentity` on each request of a verified connection.

use axum::Router;
use lab_app::AppEnv;
pub use stage4_secure_store::{Settings, Store, StoreUrlError};
use trusted_proxies::TrustPolicy;

/// This stage's number.
pub const NUMBER: u8 = 5;
/// A few words.
pub const TITLE: &str = "trust by identity (mutual TLS)";
/// The lesson.
pub const LESSON: &str = "nginx proves it is the proxy with a client certificate, and the app trusts that name, not an address: the inner hop is encrypted and authenticated both ways.";
/// nginx's site config.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage5.conf"));

// ANCHOR: app
/// Stage 4's app, trusting the proxy by the name its certificate proves.
pub fn app(env: &AppEnv) -> Router {
    app_with(&Settings::for_env(env), env).unwrap_or_else(|error| panic!("{error}"))
}

/// The same with explicit `settings`.
pub fn app_with(settings: &Settings, env: &AppEnv) -> Result<Router, StoreUrlError> {
    // No address: the peer is trusted only if its verified certificate names the proxy.
    let policy = TrustPolicy::none().trust_identities(env.proxy_identities.iter().cloned());
    stage4_secure_store::app_trusting(policy, settings, env)
}
// ANCHOR_END: app

//! Stage 2: the broken proxy setup. nginx terminates TLS (`nginx/stage2.conf`) and forwards
//! the recipe's headers, but the app trusts no proxy: every request looks like plain HTTP from
//! nginx's address. Like express-session, it then refuses to send its Secure cookie, and the
//! session is lost.
//!
//! Run it: `cargo xtask lab 2 --reference` (without `--reference`: your workshop code). Its claims: `tests/broken_proxy.rs`.

use axum::Router;
use lab_app::AppEnv;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

/// This stage's place in the story.
pub const NUMBER: u8 = 2;
/// A few words for the stage.
pub const TITLE: &str = "the broken proxy setup";
/// What the stage teaches.
pub const LESSON: &str = "nginx speaks HTTPS to the browser and plain HTTP to the app. An app \
that trusts no proxy believes every request is plain HTTP from nginx: it withholds its Secure \
cookie (the session is lost), loops on HTTPS-only pages, logs nginx as the client and builds \
http:// URLs.";
/// nginx terminates TLS with the recipe's forwarded headers.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage2.conf"));

// ANCHOR: app
/// The demo app asking for Secure cookies while trusting no proxy.
pub fn app(_env: &AppEnv) -> Router {
    // The recipe's `cookie: {secure: true}`.
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(true);
    lab_app::router()
        .layer(sessions)
        // express-session's rule: no Secure cookie on a request believed to be plain HTTP.
        .layer(SecureCookieGuardLayer::new())
        // No `trust proxy` yet: nginx's forwarded headers count for nothing.
        .layer(TrustedProxiesLayer::new(ProxyConfig::new(
            TrustPolicy::none(),
        )))
}
// ANCHOR_END: app

//! Stage 1: plain HTTP. The app is served directly, sessions work, and the session cookie
//! crosses the network in cleartext for anyone on the path to read and replay.
//!
//! Run it: `cargo xtask lab 1 --reference` (without `--reference`: your workshop code). Its claims: `tests/plain_http.rs`.

use axum::Router;
use lab_app::AppEnv;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, TrustPolicy, TrustedProxiesLayer};

/// This stage's place in the story.
pub const NUMBER: u8 = 1;
/// A few words for the stage.
pub const TITLE: &str = "plain HTTP";
/// What the stage teaches.
pub const LESSON: &str = "Sessions work over plain HTTP, and the session cookie travels in \
cleartext: anyone between the browser and the app can read it and become you.";
/// No nginx: the app answers the browser itself.
pub const NGINX_SITE: Option<&str> = None;

// ANCHOR: app
/// The demo app with an in-memory session store and a cookie without `Secure`.
pub fn app(_env: &AppEnv) -> Router {
    // The naive start: tower-sessions' defaults are safe, so plain HTTP means opting out.
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    lab_app::router()
        .layer(sessions)
        // There is no proxy yet: the socket is the truth.
        .layer(TrustedProxiesLayer::new(ProxyConfig::new(
            TrustPolicy::none(),
        )))
}
// ANCHOR_END: app

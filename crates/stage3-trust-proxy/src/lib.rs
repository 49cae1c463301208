//! Stage 3: the trust-proxy fix. The app trusts exactly the proxy in front of it, by the
//! address it connects from, and believes nginx's X-Forwarded-* headers from there and from
//! nowhere else. nginx (`nginx/stage3.conf`) overwrites those headers at the edge, so nobody
//! can forge them, through nginx or around it.
//!
//! Run it: `cargo xtask lab 3 --reference` (without `--reference`: your workshop code). Its claims: `tests/trust_proxy.rs` and `tests/spoofing.rs`.

use axum::Router;
use lab_app::AppEnv;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

/// This stage's place in the story.
pub const NUMBER: u8 = 3;
/// A few words for the stage.
pub const TITLE: &str = "the trust-proxy fix";
/// What the stage teaches.
pub const LESSON: &str = "Trust exactly your proxy, by the address it connects from, and let \
it overwrite the forwarded headers at the edge: the app sees HTTPS, the real client and the \
public host again, and nobody else can make it believe otherwise.";
/// nginx terminates TLS and overwrites the forwarded headers.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage3.conf"));

// ANCHOR: app
/// The demo app trusting exactly the proxies in front of it.
pub fn app(env: &AppEnv) -> Router {
    // The recipe's `app.enable('trust proxy')`, done right: not "everyone", but the addresses
    // our proxies connect from.
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    app_trusting(policy, env)
}

/// The demo app with an explicit trust policy (what `app` uses, and what the tests vary).
pub fn app_trusting(policy: TrustPolicy, env: &AppEnv) -> Router {
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(true);
    let trust = ProxyConfig::new(policy)
        // Absolute URLs only ever name our own hosts, whatever a header says.
        .allowed_hosts(env.public_hosts.iter().cloned());
    lab_app::router()
        .layer(sessions)
        .layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust))
}
// ANCHOR_END: app

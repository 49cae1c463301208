//! Lab 3: trust the proxy, and nobody else.
//!
//! nginx now terminates TLS in front of the app and overwrites the forwarded headers
//! (`nginx/stage3.conf`), but the app trusts no proxy, so every request still looks like plain
//! HTTP from nginx. Choose the trust policy: the app must believe its nginx, and must not
//! believe anyone who talks to it directly.
//!
//! Try it: `cargo xtask lab 3 --mine`. Grade it: `cargo xtask grade 3`. Stuck? `cargo xtask hint 3`.

use axum::Router;
use lab_app::AppEnv;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

// --- Don't change these: they tell the harness how to run this lab. ---
/// This lab's stage.
pub const NUMBER: u8 = 3;
/// A few words for the lab.
pub const TITLE: &str = "lab 3: the trust policy (your code)";
/// What the lab teaches.
pub const LESSON: &str = "Trust exactly your proxy, by the address it connects from.";
/// Stage 3's nginx.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage3.conf"));
// --- End of the part not to change. ---

/// The demo app with your trust policy. `env.proxy_addresses` are the addresses the app's
/// proxies connect from.
pub fn app(env: &AppEnv) -> Router {
    // The address the guard's warning named, once.
    let policy = TrustPolicy::parse("172.17.0.2").expect("a valid policy");
    app_trusting(policy, env)
}

// --- Don't change the rest: the tests use it to try other policies. ---
/// The demo app with an explicit trust policy.
pub fn app_trusting(policy: TrustPolicy, env: &AppEnv) -> Router {
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(true);
    let trust = ProxyConfig::new(policy).allowed_hosts(env.public_hosts.iter().cloned());
    lab_app::router()
        .layer(sessions)
        .layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust))
}

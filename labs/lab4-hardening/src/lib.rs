//! Lab 4: harden the session.
//!
//! The app works behind its hardened nginx, but its sessions are the naive ones: an in-memory
//! store, the default cookie, the same id before and after login, and no end. Make them
//! production sessions: a persistent store, a `__Host-` cookie with the right attributes, a
//! new id at login, an idle timeout and an absolute lifetime.
//!
//! Try it: `cargo xtask lab 4 --mine`. Grade it: `cargo xtask grade 4`. Stuck? `cargo xtask hint 4`.

use axum::Router;
use lab_app::{AppEnv, AppOptions};
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

// --- Don't change these: they tell the harness how to run this lab. ---
/// This lab's stage.
pub const NUMBER: u8 = 4;
/// A few words for the lab.
pub const TITLE: &str = "lab 4: hardened sessions (your code)";
/// What the lab teaches.
pub const LESSON: &str = "Production sessions: persistent, shared, cycled, bounded in time.";
/// Stage 4's hardened nginx.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage4.conf"));
/// The tools you may use: stage 4's stores, settings and hardening layers.
pub use stage4_secure_store::hardening;
pub use stage4_secure_store::{STORE_TIMEOUT, Settings, SqliteStore, Store, StoreUrlError};
// --- End of the part not to change. ---

/// The demo app with the settings the environment gives.
pub fn app(env: &AppEnv) -> Router {
    app_with(&Settings::for_env(env), env).unwrap_or_else(|error| panic!("{error}"))
}

/// The demo app with explicit settings (the tests vary them): `settings.store_url`,
/// `settings.idle_timeout` and `settings.absolute_lifetime` are yours to honour.
pub fn app_with(settings: &Settings, env: &AppEnv) -> Result<Router, StoreUrlError> {
    let _ = settings;
    // TODO: keep sessions in `Store::open(&settings.store_url)?`, not in memory.
    let store = MemoryStore::default();
    // TODO: the cookie: a `__Host-` name, Secure, HttpOnly, a SameSite you can justify,
    // Path=/; an idle timeout (`Expiry::OnInactivity`) that every request renews.
    let sessions = SessionManagerLayer::new(store).with_secure(true);
    // TODO: a new session id at login (`AppOptions`).
    let options = AppOptions::default();
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    let trust = ProxyConfig::new(policy).allowed_hosts(env.public_hosts.iter().cloned());
    // TODO: end sessions at `settings.absolute_lifetime` (`hardening::absolute_lifetime`), and
    // keep `Secure` on the cookie that logs out (`hardening::secure_host_cookies`).
    // TODO: read only the cookie whose name is yours byte for byte
    // (`hardening::exact_session_cookie`), and refuse state-changing requests from other
    // origins before any session is touched (`hardening::same_origin_only`).
    Ok(lab_app::router_with(options)
        .layer(sessions)
        .layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust)))
}

//! Lab 4: harden the session.
//!
//! The app works behind its hardened nginx, but its sessions are the naive ones: an in-memory
//! store, the default cookie, the same id before and after login, and no end. Make them
//! production sessions: a persistent store, a `__Host-` cookie with the right attributes, a
//! new id at login, an idle timeout and an absolute lifetime.
//!
//! Try it: `cargo xtask lab 4 --mine`. Grade it: `cargo xtask grade 4`. Stuck? `cargo xtask hint 4`.

use axum::Router;
use axum::middleware;
use lab_app::{AppEnv, AppOptions};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
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
    // Persistent and shared: it survives restarts and serves every replica.
    let store = Store::open(&settings.store_url)?;
    let idle = time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::MAX);
    let sessions = SessionManagerLayer::new(store)
        // `__Host-` makes the browser insist on Secure, Path=/ and no Domain.
        .with_name("__Host-id")
        .with_secure(true)
        .with_http_only(true)
        // Lax: links from other sites keep you logged in; their POSTs carry no cookie.
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every request is activity, not only the ones that change the session.
        .with_always_save(true);
    // A planted pre-login id must not become the logged-in session.
    let options = AppOptions {
        cycle_id_on_login: true,
        ..AppOptions::default()
    };
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    let trust = ProxyConfig::new(policy).allowed_hosts(env.public_hosts.iter().cloned());
    Ok(lab_app::router_with(options)
        .layer(middleware::from_fn_with_state(settings.absolute_lifetime, hardening::absolute_lifetime))
        .layer(sessions)
        // Only a cookie named `__Host-id` byte for byte is the session: a sibling's
        // `%5F_Host-id` must not be read as it.
        .layer(middleware::from_fn_with_state("__Host-id", hardening::exact_session_cookie))
        .layer(middleware::map_response(hardening::secure_host_cookies))
        .layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust)))
}

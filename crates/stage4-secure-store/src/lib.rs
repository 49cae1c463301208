//! Stage 4: a persistent, shared, hardened session store behind a hardened edge.
//!
//! The recipe's own warning, "NEVER use in-memory store for production", made real: sessions
//! live in SQLite (the default) or Redis (shared by replicas), the cookie is `__Host-` with
//! every attribute it should have, the id changes at login, sessions end after idling and
//! after an absolute lifetime, and a store outage answers 503 instead of "anonymous".
//!
//! Run it: `cargo xtask lab 4 --reference` (SQLite), or with a Redis container:
//! `cargo xtask lab 4 --reference --store redis`.

pub mod hardening;
pub mod renewal;
mod sqlite;
mod store;

use std::time::Duration;

use crate::renewal::RenewWhenDue;
use axum::Router;
use axum::middleware;
use lab_app::{AppEnv, AppOptions};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, SecureCookieGuardLayer, TrustPolicy, TrustedProxiesLayer};

pub use sqlite::{CLEANUP_EVERY, SqliteStore};
pub use store::{STORE_TIMEOUT, Store, StoreUrlError};

/// This stage's place in the story.
pub const NUMBER: u8 = 4;
/// A few words for the stage.
pub const TITLE: &str = "a secure store";
/// What the stage teaches.
pub const LESSON: &str = "Sessions live in a persistent, shared store; the cookie is __Host-, \
Secure, HttpOnly and SameSite; the id changes at login; sessions end when idle and after an \
absolute lifetime; a store outage answers 503, never \"anonymous\"; and the edge speaks only \
modern TLS.";
/// nginx, hardened.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage4.conf"));

/// The session cookie's name.
pub const COOKIE_NAME: &str = "__Host-id";

/// Where sessions live when nothing says otherwise: a file, so that no server is needed.
pub const DEFAULT_STORE: &str = "sqlite://target/lab-sessions.db";

/// The session settings a deployment chooses.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `sqlite://...` or `redis://...`.
    pub store_url: String,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, however active.
    pub absolute_lifetime: Duration,
    /// Show the lab's "what the app saw" panel on the pages. A real app would not: it names
    /// the proxy's address and the headers it sends to whoever asks.
    pub show_panel: bool,
}

impl Settings {
    /// OWASP's usual figures (15-30 minutes idle, hours absolute), and the store the
    /// environment names, else [`DEFAULT_STORE`].
    pub fn for_env(env: &AppEnv) -> Settings {
        Settings {
            store_url: env
                .session_store
                .clone()
                .unwrap_or_else(|| DEFAULT_STORE.to_owned()),
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_lifetime: Duration::from_secs(8 * 60 * 60),
            show_panel: true,
        }
    }
}

// ANCHOR: app
/// The demo app with a persistent store and hardened sessions.
///
/// # Panics
///
/// When the environment names a session store URL that is not `sqlite://` or `redis://`.
pub fn app(env: &AppEnv) -> Router {
    app_with(&Settings::for_env(env), env).unwrap_or_else(|error| panic!("{error}"))
}

/// The demo app with explicit `settings` (what `app` uses, and what the tests vary).
pub fn app_with(settings: &Settings, env: &AppEnv) -> Result<Router, StoreUrlError> {
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    app_trusting(policy, settings, env)
}

/// Stage 4's app with `policy` as its trust policy (stage 5 trusts its proxy by identity).
pub fn app_trusting(
    policy: TrustPolicy,
    settings: &Settings,
    env: &AppEnv,
) -> Result<Router, StoreUrlError> {
    // Written when the data changed, or when the idle deadline is due for renewal: at most
    // once per request, and seldom for a request that only reads (`renewal`).
    let store = RenewWhenDue::new(
        Store::open(&settings.store_url)?,
        renewal::renew_after(settings.idle_timeout),
    );
    let idle = time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::MAX);
    let sessions = SessionManagerLayer::new(store)
        // `__Host-`: the browser only accepts it Secure, for Path=/ and with no Domain, so
        // no sibling subdomain can plant or overwrite it (as long as we read the name byte
        // for byte: `hardening::exact_session_cookie`).
        .with_name(COOKIE_NAME)
        .with_secure(true)
        .with_http_only(true)
        // Lax: sent on top-level navigations from other sites (links into the app keep you
        // logged in), never on their cross-site POSTs. Not a CSRF defence on its own (a
        // sibling subdomain is same-site): `hardening::same_origin_only` is.
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every request counts as activity: offer a save on each one, not only when the data
        // changed, or "idle" would mean "unchanged". `RenewWhenDue` writes only the due ones.
        .with_always_save(true);
    let trust = ProxyConfig::new(policy).allowed_hosts(env.public_hosts.iter().cloned());
    let options = AppOptions {
        cycle_id_on_login: true,
        hide_panel: !settings.show_panel,
    };
    // Layers run outermost (last) first: trust resolves the origin, the origin check refuses
    // cross-origin writes before any session exists, and only the exact cookie reaches the
    // session layer.
    Ok(lab_app::router_with(options)
        .layer(middleware::from_fn_with_state(
            settings.absolute_lifetime,
            hardening::absolute_lifetime,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            COOKIE_NAME,
            hardening::exact_session_cookie,
        ))
        .layer(middleware::map_response(hardening::secure_host_cookies))
        .layer(middleware::from_fn(hardening::same_origin_only))
        .layer(SecureCookieGuardLayer::new())
        .layer(TrustedProxiesLayer::new(trust)))
}
// ANCHOR_END: app

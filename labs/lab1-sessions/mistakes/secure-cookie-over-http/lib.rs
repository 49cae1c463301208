//! Lab 1: give the demo app sessions.
//!
//! The demo app's handlers (`/login`, `/me`, `/count`, `/logout`) read and write the
//! visitor's session, but nothing gives them one yet. Add tower-sessions' session layer with
//! an in-memory store, so that logging in, counting and logging out work over plain HTTP.
//!
//! Try it: `cargo xtask lab 1 --mine`. Grade it: `cargo xtask grade 1`. Stuck? `cargo xtask hint 1`.

use axum::Router;
use lab_app::AppEnv;
use tower_sessions::{MemoryStore, SessionManagerLayer};
use trusted_proxies::{ProxyConfig, TrustPolicy, TrustedProxiesLayer};

// --- Don't change these: they tell the harness how to run this lab. ---
/// This lab's stage.
pub const NUMBER: u8 = 1;
/// A few words for the lab.
pub const TITLE: &str = "lab 1: sessions (your code)";
/// What the lab teaches.
pub const LESSON: &str = "Give the app sessions: a store on the server, an id in a cookie.";
/// No nginx: the app answers the browser itself, over plain HTTP.
pub const NGINX_SITE: Option<&str> = None;
// --- End of the part not to change. ---

/// The demo app, with sessions.
pub fn app(_env: &AppEnv) -> Router {
    lab_app::router()
        .layer(SessionManagerLayer::new(MemoryStore::default()))
        .layer(TrustedProxiesLayer::new(ProxyConfig::new(TrustPolicy::none())))
}

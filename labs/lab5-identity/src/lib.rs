//! Lab 5: trust the proxy by identity.
//!
//! nginx now reaches the app over mutual TLS (`nginx/stage5.conf`): it presents a client
//! certificate from the lab's internal CA, and the harness serves the app with a TLS server
//! that accepts only that CA's certificates. The app below still trusts its proxy the stage 3
//! way, by the address it connects from. Make it trust the proxy by the name its certificate
//! proves, and nothing else.
//!
//! Try it: `cargo xtask lab 5 --mine`. Grade it: `cargo xtask grade 5`. Stuck? `cargo xtask hint 5`.

use axum::Router;
use lab_app::AppEnv;
pub use stage4_secure_store::{Settings, Store, StoreUrlError};
use trusted_proxies::TrustPolicy;

// --- Don't change these: they tell the harness how to run this lab. ---
/// This lab's stage.
pub const NUMBER: u8 = 5;
/// A few words for the lab.
pub const TITLE: &str = "lab 5: trust by identity (your code)";
/// What the lab teaches.
pub const LESSON: &str = "Trust the proxy by the name its certificate proves, not by its address.";
/// Stage 5's nginx: mutual TLS to the app.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../../../nginx/stage5.conf"));
// --- End of the part not to change. ---

/// The demo app with the settings the environment gives.
pub fn app(env: &AppEnv) -> Router {
    app_with(&Settings::for_env(env), env).unwrap_or_else(|error| panic!("{error}"))
}

/// Stage 4's app with your trust policy. `env.proxy_identities` are the names the proxies'
/// certificates prove; `env.proxy_addresses` where they happen to connect from today.
pub fn app_with(settings: &Settings, env: &AppEnv) -> Result<Router, StoreUrlError> {
    // TODO: trust the proxy by the name on its certificate, not by its address
    // (`TrustPolicy::trust_identities`, behind trusted-proxies' `identity` feature).
    let policy = TrustPolicy::from_addrs(env.proxy_addresses.iter().copied());
    stage4_secure_store::app_trusting(policy, settings, env)
}

//! The demo app every stage of the lab shares.
//!
//! A deliberately ordinary web app: a login form, "who am I", a per-session counter, logout,
//! an HTTPS-only page and a page that redirects with an absolute URL, as real apps do. It knows
//! nothing about any stage: a stage wraps [`router`] in the layers that are its lesson (a
//! session store, a trust policy, a secure-cookie guard).
//!
//! The app asks two questions of every request, and the answers are the whole lab:
//! - *who is this?* The session, through [`tower_sessions::Session`].
//! - *how did this request reach us?* Scheme, host and client address, through
//!   [`trusted_proxies::Resolved`], which a stage's `TrustedProxiesLayer` puts on the request.
//!
//! ```no_run
//! use tower_sessions::{MemoryStore, SessionManagerLayer};
//! use trusted_proxies::{ProxyConfig, TrustPolicy, TrustedProxiesLayer};
//!
//! let app = lab_app::router()
//!     .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
//!     .layer(TrustedProxiesLayer::new(ProxyConfig::new(TrustPolicy::none())));
//! # let _: axum::Router = app;
//! ```

mod env;
mod error;
mod pages;
pub mod panel;
mod routes;
mod visitor;

pub use env::AppEnv;
pub use error::AppError;
pub use panel::{StageInfo, with_panel};
pub use routes::{AppOptions, FORWARDING_HEADERS, Me, router, router_with};
pub use visitor::Visitor;

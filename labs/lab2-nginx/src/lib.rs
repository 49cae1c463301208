//! Lab 2: put nginx in front of the app, terminating TLS.
//!
//! Your file is `labs/lab2-nginx/nginx.conf`: it starts as the old recipe's config. Make it a
//! TLS proxy that current nginx and OpenSSL accept, forwarding the headers the app will need
//! (and that nobody outside can forge). The app below is stage 2's and trusts no proxy yet,
//! so the session will still be lost: that is the point of stage 2.
//!
//! Try it: `cargo xtask lab 2 --mine`. Grade it: `cargo xtask grade 2`. Stuck? `cargo xtask hint 2`.

/// This lab's stage.
pub const NUMBER: u8 = 2;
/// A few words for the lab.
pub const TITLE: &str = "lab 2: nginx as a TLS proxy (your nginx.conf)";
/// What the lab teaches.
pub const LESSON: &str = "Terminate TLS in nginx and forward what the app needs to know.";
/// Your nginx config.
pub const NGINX_SITE: Option<&str> = Some(include_str!("../nginx.conf"));

// --- Don't change the app: this lab is about nginx.conf. ---
/// Stage 2's app: it asks for Secure cookies and trusts no proxy.
pub use stage2_broken_proxy::app;

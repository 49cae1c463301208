//! The lab's harness, shared by every stage's tests and by `cargo xtask`.
//!
//! [`Lab::start`] brings up a stage the way a test needs it: the lab's own CA and a server
//! certificate for `app.lab.test`, nginx (in Docker, or the host's binary) terminating TLS in
//! front of the stage's app, the app itself in-process on an ephemeral port, and a client that
//! trusts only the lab's CA. Everything the client does lands in a [`Transcript`] that failing
//! tests print.
//!
//! ```no_run
//! # async fn example(stage: labkit::Stage) -> labkit::Result<()> {
//! let lab = labkit::Lab::start(&stage).await?;
//! let login = lab.client().log_in("alice").await?;
//! assert!(login.set_cookies().is_empty(), "{}", lab.report());
//! # Ok(()) }
//! ```

pub mod app;
pub mod certs;
pub mod client;
pub mod curl;
pub mod doctor;
pub mod edge;
pub mod error;
pub mod images;
pub mod internal;
pub mod lab;
pub mod mtls;
pub mod observer;
pub mod openssl;
pub mod redact;
pub mod redis;
pub mod transcript;
pub mod trust;
pub mod walkthrough;

pub use certs::{LAB_HOST, LabCerts};
pub use client::{Exchange, LabClient, error_chain};
pub use edge::{Backend, Edge};
pub use error::{LabError, Result};
pub use lab::{AppEnv, Lab, LabOptions, Stage, temporary_sqlite_store};
pub use lab_app::Me;
pub use observer::Observer;
pub use redis::Redis;
pub use reqwest;
pub use transcript::Transcript;

/// Logs for tests: quiet unless `TEST_LOG` is set (then `RUST_LOG` filters, default `info`).
pub fn init_test_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_test_writer()
            .try_init();
    }
}

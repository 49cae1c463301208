//! What stage 4's test files share: starting the stage on a given store, with given timeouts.

#![allow(dead_code, reason = "each claims module uses a part")]

use std::time::Duration;

use crate::stage_under_test::{self, Settings};
use labkit::{AppEnv, Lab, LabOptions, Result, Stage};

/// The session cookie's name in stage 4.
pub const COOKIE: &str = "__Host-id";

pub fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

/// A fresh SQLite file URL in a temporary directory (kept alive by the returned guard).
pub fn sqlite_url() -> (tempfile::TempDir, String) {
    labkit::temporary_sqlite_store()
}

/// Stage 4 on `store`, with `replicas` app instances behind nginx.
pub async fn start_on(store: &str, replicas: usize) -> Result<Lab> {
    let options = LabOptions {
        session_store: Some(store.to_owned()),
        replicas,
        ..LabOptions::from_env()?
    };
    Lab::start_with(&stage(), options).await
}

/// Idle timeout for the timeout tests: whole seconds, since Redis expires by the second.
pub const SHORT_IDLE: Duration = Duration::from_secs(3);
/// Absolute lifetime for the timeout tests.
pub const SHORT_LIFETIME: Duration = Duration::from_secs(6);

/// Stage 4 on `store` with short timeouts: [`SHORT_IDLE`] and [`SHORT_LIFETIME`].
pub async fn start_with_short_timeouts(store: &str) -> Result<Lab> {
    fn short(env: &AppEnv) -> axum::Router {
        let settings = Settings {
            idle_timeout: SHORT_IDLE,
            absolute_lifetime: SHORT_LIFETIME,
            ..Settings::for_env(env)
        };
        stage_under_test::app_with(&settings, env).expect("a valid store URL")
    }
    let options = LabOptions {
        session_store: Some(store.to_owned()),
        ..LabOptions::from_env()?
    };
    Lab::start_with(
        &Stage {
            app: short,
            ..stage()
        },
        options,
    )
    .await
}

/// The session id a response sets, if any.
pub fn session_id(exchange: &labkit::Exchange) -> Option<String> {
    exchange
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.name() == COOKIE && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

/// `GET /me` from a fresh client that sends `cookie` and nothing else.
pub async fn me_with_cookie(lab: &Lab, cookie: &str) -> Result<labkit::Me> {
    let client = lab.new_client()?;
    let request = client
        .request(labkit::reqwest::Method::GET, "/me")
        .header("cookie", cookie);
    client.send(request).await?.json()
}

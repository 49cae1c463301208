use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Everything a handler of the demo app can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The session store failed: the request cannot know who it is for.
    #[error("the session store failed: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// The request carries no host the app may use to build an absolute URL.
    #[error(
        "no valid host to build an absolute URL from (is the Host header missing or not allowed?)"
    )]
    NoHost,
    /// The login form was filled in wrongly.
    #[error("{0}")]
    BadLogin(&'static str),
}

/// What a visitor reads while the session store is down.
pub const STORE_DOWN: &str =
    "Sessions are unavailable for a moment. Please try again in a few seconds.";

/// How long a client should wait before retrying when the session store is down.
const RETRY_AFTER_SECONDS: &str = "5";

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            // Without its store the app cannot know who is asking: say "not now" rather than
            // answer as if anonymous, and keep the answer out of every cache.
            // The store's own words ("unable to open database file", a Redis timeout) go to
            // the log, never to the visitor: they describe our infrastructure to anyone.
            AppError::Session(_) => {
                tracing::error!(error = %self, "request failed");
                let headers = [
                    (header::RETRY_AFTER, RETRY_AFTER_SECONDS),
                    (header::CACHE_CONTROL, "no-store"),
                ];
                (StatusCode::SERVICE_UNAVAILABLE, headers, STORE_DOWN).into_response()
            }
            AppError::NoHost | AppError::BadLogin(_) => {
                (StatusCode::BAD_REQUEST, self.to_string()).into_response()
            }
        }
    }
}

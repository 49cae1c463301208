use axum::http::StatusCode;
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self {
            AppError::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::NoHost | AppError::BadLogin(_) => StatusCode::BAD_REQUEST,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, self.to_string()).into_response()
    }
}

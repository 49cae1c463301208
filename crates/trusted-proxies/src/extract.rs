//! axum extractor for [`Resolved`] (feature `axum`).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::Resolved;

/// Rejection when a handler extracts [`Resolved`] but [`TrustedProxiesLayer`](crate::TrustedProxiesLayer)
/// did not run for the request: a wiring bug, answered with `500 Internal Server Error`.
///
/// ```
/// use axum::response::IntoResponse;
/// use trusted_proxies::MissingResolved;
///
/// assert_eq!(MissingResolved.into_response().status(), 500);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error(
    "trusted_proxies::Resolved is missing from the request extensions: add \
     `.layer(TrustedProxiesLayer::new(config))` so that it wraps this route"
)]
pub struct MissingResolved;

impl IntoResponse for MissingResolved {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// Clones the [`Resolved`] that [`TrustedProxiesLayer`](crate::TrustedProxiesLayer) stored;
/// rejects with [`MissingResolved`] (500) when the layer is missing.
impl<S: Send + Sync> FromRequestParts<S> for Resolved {
    type Rejection = MissingResolved;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Resolved>()
            .cloned()
            .ok_or(MissingResolved)
    }
}

/// `Option<Resolved>`: `None` when the layer is missing, never a rejection.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Resolved {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Resolved>().cloned())
    }
}

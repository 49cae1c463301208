//! What the app keeps about a visitor in their session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::AppError;

const USER: &str = "user";
const COUNTER: &str = "counter";

/// The visitor behind a request, as far as their session tells.
///
/// A thin, typed view over [`Session`] so that handlers never spell session keys.
#[derive(Clone, Debug)]
pub struct Visitor(Session);

impl Visitor {
    /// The logged-in user's name, if any.
    pub async fn user(&self) -> Result<Option<String>, AppError> {
        Ok(self.0.get(USER).await?)
    }

    /// How many times this session has counted so far.
    pub async fn counter(&self) -> Result<u64, AppError> {
        Ok(self.0.get(COUNTER).await?.unwrap_or(0))
    }

    /// Records `name` as the logged-in user.
    ///
    /// The session id is *not* cycled here: that hardening is stage 4's lesson.
    pub async fn log_in(&self, name: &str) -> Result<(), AppError> {
        Ok(self.0.insert(USER, name).await?)
    }

    /// Adds one to the session's counter and returns the new value.
    pub async fn count(&self) -> Result<u64, AppError> {
        let next = self.counter().await? + 1;
        self.0.insert(COUNTER, next).await?;
        Ok(next)
    }

    /// Ends the session: its data is deleted from the store, not only forgotten by the browser.
    pub async fn log_out(&self) -> Result<(), AppError> {
        Ok(self.0.flush().await?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = <Session as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state).await.map(Visitor)
    }
}

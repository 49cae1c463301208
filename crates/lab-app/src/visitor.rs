//! What the app keeps about a visitor in their session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::AppError;

const USER: &str = "user";
const COUNTER: &str = "counter";
const LOGGED_IN_AT: &str = "logged_in_at";

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

    /// When the user logged in, in seconds since the Unix epoch.
    pub async fn logged_in_at(&self) -> Result<Option<u64>, AppError> {
        Ok(self.0.get(LOGGED_IN_AT).await?)
    }

    /// Records `name` as the logged-in user, in a new session id when `cycle_id` is set
    /// (see [`AppOptions`](crate::AppOptions)).
    pub async fn log_in(&self, name: &str, cycle_id: bool) -> Result<(), AppError> {
        if cycle_id {
            // A fixed id planted before login must not become the logged-in session.
            self.0.cycle_id().await?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        self.0.insert(USER, name).await?;
        self.0.insert(LOGGED_IN_AT, now).await?;
        self.saved().await
    }

    /// Adds one to the session's counter and returns the new value.
    pub async fn count(&self) -> Result<u64, AppError> {
        let next = self.counter().await? + 1;
        self.0.insert(COUNTER, next).await?;
        self.saved().await?;
        Ok(next)
    }

    /// Saves now, so that a store failure is this handler's error (503) rather than the
    /// session middleware's empty 500 after the handler has answered.
    async fn saved(&self) -> Result<(), AppError> {
        Ok(self.0.save().await?)
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

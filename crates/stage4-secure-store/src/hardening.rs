//! Session hardening that tower-sessions leaves to the app.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::middleware::Next;
use axum::response::Response;
use lab_app::{AppError, Visitor};

// ANCHOR: absolute_lifetime
/// Ends a session `max` after login, however active it stays: an idle timeout alone lets a
/// stolen session live forever as long as the thief keeps using it.
pub async fn absolute_lifetime(
    State(max): State<Duration>,
    visitor: Visitor,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Some(logged_in_at) = visitor.logged_in_at().await? {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now.saturating_sub(logged_in_at) >= max.as_secs() {
            tracing::info!("session reached its absolute lifetime: logging out");
            visitor.log_out().await?;
        }
    }
    Ok(next.run(request).await)
}
// ANCHOR_END: absolute_lifetime

// ANCHOR: secure_host_cookies
/// Adds `Secure` to any `__Host-` cookie that lacks it. tower-sessions 0.14 builds the cookie
/// that deletes the session on logout without `Secure`, and browsers ignore a `__Host-` cookie
/// without it, so the browser would keep the dead id (FIELD-NOTES; fixed upstream, unreleased).
pub async fn secure_host_cookies(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
    headers.remove(SET_COOKIE);
    for cookie in cookies {
        let text = cookie.to_str().unwrap_or_default();
        let fixed = if text.starts_with("__Host-") && !has_secure(text) {
            HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
        } else {
            cookie
        };
        headers.append(SET_COOKIE, fixed);
    }
    response
}
// ANCHOR_END: secure_host_cookies

fn has_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .skip(1)
        .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_is_recognised_as_an_attribute_only() {
        assert!(has_secure("__Host-id=x; Path=/; Secure"));
        assert!(has_secure("__Host-id=x; secure; Path=/"));
        assert!(!has_secure("__Host-id=Secure; Path=/"));
        assert!(!has_secure("__Host-id=x; Path=/"));
    }
}

//! Session hardening that tower-sessions leaves to the app.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lab_app::{AppError, Visitor};
use trusted_proxies::Resolved;

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

// ANCHOR: exact_session_cookie
/// Passes on only the cookie named exactly `name`, byte for byte, and no cookie at all when
/// there are two of them (fail closed: which one is the real one cannot be known).
///
/// Why: a `__Host-` name promises that no sibling subdomain could have set the cookie, but only
/// to a server that reads names as the browser stored them. tower-cookies (under
/// tower-sessions) percent-decodes cookie names and trims whitespace from them, and the last of
/// two equal names wins: a sibling that sets `%5F_Host-id` (which the browser lets it set with
/// `Domain=`) would be read as `__Host-id`. The demo app reads no other cookie, so every other
/// cookie is dropped here rather than re-parsed.
pub async fn exact_session_cookie(
    State(name): State<&'static str>,
    mut request: Request,
    next: Next,
) -> Response {
    let kept = exact_cookie(request.headers(), name);
    let headers = request.headers_mut();
    headers.remove(COOKIE);
    if let Some(cookie) = kept {
        headers.insert(COOKIE, cookie);
    }
    next.run(request).await
}
// ANCHOR_END: exact_session_cookie

/// The one `name=value` pair among all `Cookie` lines whose name is `name` byte for byte.
fn exact_cookie(headers: &HeaderMap, name: &str) -> Option<HeaderValue> {
    let mut found = None;
    let mut count = 0;
    for line in headers.get_all(COOKIE) {
        // RFC 6265 separates pairs with "; ": only that space is stripped, nothing else.
        for pair in line.as_bytes().split(|&b| b == b';') {
            let pair = pair.strip_prefix(b" ").unwrap_or(pair);
            if pair
                .strip_prefix(name.as_bytes())
                .is_some_and(|rest| rest.starts_with(b"="))
            {
                count += 1;
                found = Some(pair);
            }
        }
    }
    match (count, found) {
        (1, Some(pair)) => HeaderValue::from_bytes(pair).ok(),
        _ => None,
    }
}

// ANCHOR: same_origin_only
/// Refuses a state-changing request (anything but GET, HEAD, OPTIONS) that a browser says came
/// from another origin, before the session is even loaded: no session is created or changed.
///
/// SameSite=Lax is not enough. A cross-site form that logs the victim in as the attacker
/// needs no cookie (login CSRF); a cross-site POST arrives without the cookie and would start
/// a new session that replaces the victim's (forced logout); and a sibling subdomain is
/// *same-site*, so its POSTs carry the cookie. What browsers tell us:
/// - `Sec-Fetch-Site` (every current browser): only `same-origin` and `none` (typed by the
///   user) pass.
/// - Without it (older browsers), `Origin`: it must be this app's own origin, as the trusted
///   proxy reported it (`null`, sent by sandboxed frames and some redirects, never is).
/// - With neither, the request is not from a browser that could be tricked (curl, the lab's
///   tests, API clients): it passes. This is the rule of Go's `CrossOriginProtection` and
///   Rails' origin check; a browser never omits both on a cross-origin POST.
pub async fn same_origin_only(view: Resolved, request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    match cross_origin(request.headers(), view.origin().as_deref()) {
        None => next.run(request).await,
        Some(reason) => {
            tracing::info!(
                method = %request.method(),
                path = request.uri().path(),
                reason,
                "refused a cross-origin request"
            );
            (
                StatusCode::FORBIDDEN,
                [(axum::http::header::CACHE_CONTROL, "no-store")],
                "This request came from another site and was refused.",
            )
                .into_response()
        }
    }
}
// ANCHOR_END: same_origin_only

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why the browser's headers say the request is cross-origin, if they do.
fn cross_origin(headers: &HeaderMap, own_origin: Option<&str>) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => None,
            b"same-site" => Some("Sec-Fetch-Site: same-site (a sibling subdomain)"),
            b"cross-site" => Some("Sec-Fetch-Site: cross-site"),
            _ => Some("Sec-Fetch-Site: unrecognised value"),
        };
    }
    let origin = headers.get(ORIGIN)?;
    match own_origin {
        Some(own) if origin.as_bytes().eq_ignore_ascii_case(own.as_bytes()) => None,
        _ if origin.as_bytes() == b"null" => Some("Origin: null"),
        Some(_) => Some("Origin is another origin"),
        None => Some("Origin present, but the app knows no origin of its own"),
    }
}

fn has_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .skip(1)
        .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(lines: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(COOKIE, HeaderValue::from_bytes(line).unwrap());
        }
        headers
    }

    #[test]
    fn only_a_byte_exact_name_is_the_session_cookie() {
        let name = "__Host-id";
        // (case, Cookie lines, expected pair)
        type Case<'a> = (&'a str, &'a [&'a [u8]], Option<&'a str>);
        let table: &[Case<'_>] = &[
            ("alone", &[b"__Host-id=a"], Some("__Host-id=a")),
            (
                "among others",
                &[b"x=1; __Host-id=a; y=2"],
                Some("__Host-id=a"),
            ),
            ("percent-encoded _", &[b"%5F_Host-id=b"], None),
            ("percent-encoded -", &[b"__Host%2Did=b"], None),
            ("U+2000 before", &["\u{2000}__Host-id=b".as_bytes()], None),
            ("U+00A0 before", &["\u{a0}__Host-id=b".as_bytes()], None),
            ("tab before", &[b"x=1;\t__Host-id=b"], None),
            ("space after the name", &[b"__Host-id =b"], None),
            ("prefix of a longer name", &[b"__Host-idx=b"], None),
            (
                "real, then an encoded twin",
                &[b"__Host-id=a; %5F_Host-id=b"],
                Some("__Host-id=a"),
            ),
            ("two exact", &[b"__Host-id=a; __Host-id=b"], None),
            (
                "two exact, two lines",
                &[b"__Host-id=a", b"__Host-id=b"],
                None,
            ),
            ("empty value", &[b"__Host-id="], Some("__Host-id=")),
        ];
        for (case, lines, want) in table {
            let got = exact_cookie(&cookies(lines), name);
            assert_eq!(
                got.as_ref().map(|v| v.to_str().unwrap()),
                *want,
                "case `{case}`"
            );
        }
    }

    #[test]
    fn only_same_origin_browser_requests_and_non_browser_requests_pass() {
        let own = Some("https://app.lab.test:8443");
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
        let table: &[Case<'_>] = &[
            ("no browser headers", &[], true),
            ("same-origin", &[("sec-fetch-site", "same-origin")], true),
            ("typed by the user", &[("sec-fetch-site", "none")], true),
            (
                "same-site sibling",
                &[("sec-fetch-site", "same-site")],
                false,
            ),
            ("cross-site", &[("sec-fetch-site", "cross-site")], false),
            (
                "Sec-Fetch-Site decides over a matching Origin",
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://app.lab.test:8443"),
                ],
                false,
            ),
            (
                "own Origin",
                &[("origin", "https://app.lab.test:8443")],
                true,
            ),
            (
                "own Origin, other case",
                &[("origin", "https://APP.lab.test:8443")],
                true,
            ),
            (
                "other port",
                &[("origin", "https://app.lab.test:6666")],
                false,
            ),
            (
                "other scheme",
                &[("origin", "http://app.lab.test:8443")],
                false,
            ),
            ("other site", &[("origin", "https://evil.example")], false),
            ("null", &[("origin", "null")], false),
        ];
        for (case, headers, passes) in table {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.insert(*name, HeaderValue::from_static(value));
            }
            assert_eq!(cross_origin(&map, own).is_none(), *passes, "case `{case}`");
        }
        let origin_without_own = [(ORIGIN, HeaderValue::from_static("https://app.lab.test"))];
        assert!(cross_origin(&origin_without_own.into_iter().collect(), None).is_some());
    }

    #[test]
    fn secure_is_recognised_as_an_attribute_only() {
        assert!(has_secure("__Host-id=x; Path=/; Secure"));
        assert!(has_secure("__Host-id=x; secure; Path=/"));
        assert!(!has_secure("__Host-id=Secure; Path=/"));
        assert!(!has_secure("__Host-id=x; Path=/"));
    }
}

//! The demo app's routes: what a user can do, and what the app believes about each request.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use trusted_proxies::{Resolved, Scheme};

use crate::pages;
use crate::panel::Seen;
use crate::{AppError, Visitor};

/// Choices a stage makes about the demo app's own behaviour.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppOptions {
    /// Give the session a new id at login (session fixation defence, stage 4's lesson).
    pub cycle_id_on_login: bool,
    /// Leave the "what the app saw" panel off the pages. A teaching aid, not something a real
    /// app shows its users: it names the proxy's address and the headers it sends.
    pub hide_panel: bool,
}

/// The demo app's routes, without any layer: a stage adds its session store and trust policy.
pub fn router() -> Router {
    router_with(AppOptions::default())
}

/// The demo app's routes with `options`.
pub fn router_with(options: AppOptions) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/me", get(me))
        .route("/count", post(count))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/why/account-loop", get(account_loop))
        .route("/private", get(private))
        .layer(Extension(options))
}

/// The answer of `GET /me`: who the app thinks you are, and how it thinks you reached it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The logged-in user, or `None` for an anonymous session.
    pub user: Option<String>,
    /// This session's counter.
    pub counter: u64,
    /// The client's address as the app sees it (`None`: unknown).
    pub client_ip: Option<IpAddr>,
    /// `http` or `https`, as the app sees it.
    pub scheme: String,
    /// The TCP peer (the proxy, or a client that came around it): where every trust decision
    /// starts.
    #[serde(default)]
    pub peer: String,
    /// Whether the app's trust policy trusts that peer, and so reads its forwarding headers.
    #[serde(default)]
    pub peer_trusted: bool,
    /// The origin the app would put in absolute URLs, if it has a usable host.
    pub origin: Option<String>,
    /// The `X-Forwarded-For` the app received, verbatim: what the proxies (or a forger) claim.
    /// Shown for learning; the app's own conclusion is `client_ip`.
    pub x_forwarded_for: Option<String>,
    /// Every header of [`FORWARDING_HEADERS`] the app received, verbatim (lines joined with
    /// `, `), by lower-case name: what reached the app past the proxies, whoever wrote it.
    #[serde(default)]
    pub forwarding_headers: BTreeMap<String, String>,
}

/// Headers that some proxy, framework or library reads as a statement about the client, its
/// scheme, host, port or path. An edge proxy must set or clear every one of them: the one it
/// passes through untouched is the one a client can forge (see `nginx/stage3.conf`).
pub const FORWARDING_HEADERS: &[&str] = &[
    // The X-Forwarded family: what nginx, HAProxy and most load balancers write, and what
    // `trusted-proxies` reads by default.
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    // RFC 7239 (`trusted-proxies` with `HeaderFamily::Forwarded`, Rack 3, Rails).
    "forwarded",
    // Client-address headers that nginx's realip module, CDNs and many libraries read.
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-original-forwarded-for",
    // Scheme and host variants (Rack, Werkzeug, IIS-era proxies, Symfony, Laravel).
    "x-url-scheme",
    "front-end-https",
    "x-original-host",
    "x-host",
    // Path overrides (IIS URL Rewrite, Symfony): they change which route a request reaches.
    "x-original-url",
    "x-rewrite-url",
];

/// The [`FORWARDING_HEADERS`] in `headers`, verbatim.
pub(crate) fn forwarding_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    FORWARDING_HEADERS
        .iter()
        .filter_map(|name| {
            headers
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .reduce(|a, b| format!("{a}, {b}"))
                .map(|value| ((*name).to_owned(), value))
        })
        .collect()
}

async fn home(visitor: Visitor, seen: Seen) -> Result<Html<String>, AppError> {
    Ok(Html(pages::home(
        visitor.user().await?.as_deref(),
        visitor.counter().await?,
        &seen,
    )))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(seen: Seen, Query(query): Query<NextQuery>) -> Html<String> {
    let next = query.next.as_deref().and_then(local_path);
    Html(pages::login_form(None, next, &seen))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    /// Where to go after logging in: honoured only if it is a path on this site.
    #[serde(default)]
    next: Option<String>,
}

/// Logs in by name alone: this is a lab about cookies, not about passwords.
async fn login(
    visitor: Visitor,
    Extension(options): Extension<AppOptions>,
    seen: Seen,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, AppError> {
    // A form that does not parse gets the login page's own words, not the extractor's text
    // (which describes our code to whoever sent it).
    let (name, next) = match &form {
        Ok(Form(form)) => (form.username.trim(), form.next.as_deref()),
        Err(rejection) => {
            tracing::info!(%rejection, "login form refused");
            ("", None)
        }
    };
    let next = next.and_then(local_path);
    if let Err(problem) = check_username(name) {
        let page = pages::login_form(Some(problem), next, &seen);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response());
    }
    visitor.log_in(name, options.cycle_id_on_login).await?;
    tracing::info!(user = name, "logged in");
    Ok(match next {
        Some(next) => redirect(StatusCode::SEE_OTHER, next),
        None => Html(pages::welcome(name, &seen)).into_response(),
    })
}

/// `next` if it is a path on this site, else `None`: no open redirect. A browser reads
/// `//host` and `/\host` as another host, and drops tabs and newlines from a URL (`/\t/host`
/// is `//host`), so only visible ASCII without a backslash, after one `/` that is not
/// followed by another `/`, passes. Percent-escapes stay escapes in a path: `/%2F%2Fhost` is a
/// path on this site.
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let local = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes.len() <= 512
        && bytes.iter().all(|&b| b.is_ascii_graphic() && b != b'\\');
    local.then_some(next)
}

/// Names are short and plain so that pages can show them without escaping.
fn check_username(name: &str) -> Result<(), &'static str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    match name.len() {
        0 => Err("Please enter a user name."),
        1..=32 if name.chars().all(plain) => Ok(()),
        _ => Err("A user name is 1 to 32 letters, digits, '-', '_' or '.'."),
    }
}

async fn me(visitor: Visitor, view: Resolved, headers: HeaderMap) -> Result<Json<Me>, AppError> {
    let forwarding_headers = forwarding_headers(&headers);
    let x_forwarded_for = forwarding_headers.get("x-forwarded-for").cloned();
    Ok(Json(Me {
        user: visitor.user().await?,
        counter: visitor.counter().await?,
        client_ip: view.client_ip(),
        scheme: view.scheme().to_string(),
        peer: match view.peer() {
            trusted_proxies::Peer::Tcp(addr) => addr.ip().to_string(),
            other => other.to_string(),
        },
        peer_trusted: view.peer_trusted(),
        origin: view.origin(),
        x_forwarded_for,
        forwarding_headers,
    }))
}

#[derive(Serialize)]
struct Count {
    counter: u64,
}

/// Counts; a browser (which asks for HTML) goes back to the home page (post/redirect/get),
/// an API client gets the new value as JSON.
async fn count(visitor: Visitor, headers: HeaderMap) -> Result<Response, AppError> {
    let counter = visitor.count().await?;
    Ok(if wants_html(&headers) {
        redirect(StatusCode::SEE_OTHER, "/")
    } else {
        Json(Count { counter }).into_response()
    })
}

/// Logs out; a browser goes back to the home page (post/redirect/get).
async fn logout(visitor: Visitor, seen: Seen, headers: HeaderMap) -> Result<Response, AppError> {
    visitor.log_out().await?;
    Ok(if wants_html(&headers) {
        redirect(StatusCode::SEE_OTHER, "/")
    } else {
        Html(pages::logged_out(&seen)).into_response()
    })
}

/// Whether the client asked for a page (a browser's `Accept` names `text/html`).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/html")))
}

/// An HTTPS-only page, guarded the way most frameworks do it: a request the app believes to be
/// plain HTTP is redirected to the same URL with `https://`. Behind a TLS proxy that the app
/// does not trust, that URL is the one the client already asked for: a redirect loop.
async fn account(visitor: Visitor, seen: Seen) -> Result<Response, AppError> {
    if !seen.view.is_https() {
        let target = url_for(&seen.view, Scheme::Https, "/account")?;
        return Ok(redirect(StatusCode::MOVED_PERMANENTLY, &target));
    }
    Ok(Html(pages::account(visitor.user().await?.as_deref(), &seen)).into_response())
}

/// The `/account` loop, explained for this request (linked from the panel).
async fn account_loop(seen: Seen, headers: HeaderMap) -> Html<String> {
    let target = url_for(&seen.view, Scheme::Https, "/account").ok();
    let told_https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    Html(pages::account_loop(target.as_deref(), told_https, &seen))
}

/// A members-only page. Visitors who are not logged in are sent to the login form with an
/// absolute URL built from the request, as many apps and frameworks do.
async fn private(visitor: Visitor, seen: Seen) -> Result<Response, AppError> {
    match visitor.user().await? {
        Some(name) => Ok(Html(pages::private(&name, &seen)).into_response()),
        None => {
            let origin = seen.view.origin().ok_or(AppError::NoHost)?;
            let target = format!("{origin}/login?next=%2Fprivate");
            Ok(redirect(StatusCode::SEE_OTHER, &target))
        }
    }
}

fn redirect(status: StatusCode, location: &str) -> Response {
    (status, [(header::LOCATION, location)]).into_response()
}

/// Builds an absolute URL for another scheme from what the app believes about the request.
fn url_for(view: &Resolved, scheme: Scheme, path_and_query: &str) -> Result<String, AppError> {
    let host = view.host().ok_or(AppError::NoHost)?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    Ok(match view.port() {
        Some(port) if port != scheme.default_port() => {
            format!("{scheme}://{host}:{port}{path_and_query}")
        }
        _ => format!("{scheme}://{host}{path_and_query}"),
    })
}

#[cfg(test)]
mod tests {
    use super::{check_username, local_path};

    #[test]
    fn next_is_honoured_only_for_a_path_on_this_site() {
        for local in [
            "/private",
            "/",
            "/a/b?c=d#e",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
        ] {
            assert_eq!(local_path(local), Some(local), "{local:?} is a local path");
        }
        for foreign in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "%2F%2Fevil.example",
            "evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(
                local_path(foreign),
                None,
                "{foreign:?} must not be followed"
            );
        }
    }

    #[test]
    fn user_names_are_plain_and_short() {
        for good in ["alice", "bob-2", "c.d_e", &"x".repeat(32)] {
            assert_eq!(check_username(good), Ok(()), "{good:?} should be accepted");
        }
        for bad in ["", "<script>", "a b", "émile", &"x".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad:?} should be refused");
        }
    }
}

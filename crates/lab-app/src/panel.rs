//! "What the app saw": a panel on every HTML page that shows the person in the browser what
//! the lesson is about (the peer, the forwarded headers, what the app concluded, what became of
//! the session cookie), where until now only the terminal and the book said it.
//!
//! Two halves, because no single place knows everything:
//! - the page handlers render what the request told the app ([`Seen`], an extractor);
//! - [`with_panel`], outside every stage layer, fills in the session cookie's fate, which is only
//!   known once the secure-cookie guard has had its say on the response.
//!
//! The panel shows cookie *names* and attributes, never a value: a session id on a page is a
//! session id in every screenshot, proxy cache and shoulder-surfer's notes.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use trusted_proxies::{Peer, Resolved, WithheldCookies};

use crate::routes::{AppOptions, forwarding_headers};

/// Which stage serves the app, for the panel. The lab's harness sets it with [`with_panel`].
#[derive(Clone, Debug)]
pub struct StageInfo {
    /// 1, 2, 3, 4.
    pub number: u8,
    /// A few words.
    pub title: &'static str,
    /// The lesson, in a sentence.
    pub lesson: &'static str,
    /// Where the stage's chapter is (a path to the built book).
    pub chapter: String,
    /// The workshop lab for it, if any (a folder).
    pub lab: Option<String>,
}

/// The marker the page leaves for [`with_panel`]: replaced by the session cookie's fate.
const COOKIE_MARK: &str = "<!--lab:cookie-->";
/// The marker at the top of a page: replaced by a warning when the cookie was withheld.
const ALERT_MARK: &str = "<!--lab:alert-->";
/// What the cookie line says where no [`with_panel`] runs (an app served outside the lab).
const COOKIE_UNKNOWN: &str = "not known here (the lab's panel layer is not installed)";
/// The largest page the layer rewrites; the lab's pages are a few KiB.
const MAX_PAGE: usize = 1 << 20;

/// `router` with the panel completed: handlers learn which stage runs (`info`) and, on the way
/// out, the page gets the session cookie's fate. It wraps every layer `router` already has.
///
/// ```
/// let info = lab_app::StageInfo {
///     number: 9,
///     title: "an example",
///     lesson: "Layers wrap.",
///     chapter: "book/build/index.html".into(),
///     lab: None,
/// };
/// let app: axum::Router = lab_app::with_panel(lab_app::router(), info);
/// ```
pub fn with_panel(router: axum::Router, info: StageInfo) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(info, fill))
}

async fn fill(State(info): State<StageInfo>, mut request: Request, next: Next) -> Response {
    let sent = cookie_names(request.headers());
    request.extensions_mut().insert(info);
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE).await else {
        return Response::from_parts(parts, Body::from("page too large for the panel"));
    };
    let page = String::from_utf8_lossy(&bytes);
    if !page.contains(COOKIE_MARK) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let withheld = parts.extensions.get::<WithheldCookies>();
    let set: Vec<String> = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(without_value)
        .collect();
    let fate = cookie_fate(&set, withheld, &sent);
    let alert = withheld.map(withheld_alert).unwrap_or_default();
    // The marker is followed by the text for an app without this layer: drop that text.
    let page = page
        .replacen(&format!("{COOKIE_MARK}{COOKIE_UNKNOWN}"), &fate, 1)
        .replacen(ALERT_MARK, &alert, 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}

/// What became of the session cookie on this answer, in plain words.
fn cookie_fate(set: &[String], withheld: Option<&WithheldCookies>, sent: &[String]) -> String {
    if let Some(withheld) = withheld {
        return format!(
            "<strong>withheld</strong>: the app set {names} with the <code>Secure</code> flag, but \
             it believes this request came over plain HTTP (see the scheme above), so the \
             secure-cookie guard removed it, as express-session does. A browser would not have \
             kept it over HTTP either.",
            names = code_list(withheld.names())
        );
    }
    if !set.is_empty() {
        let lines: Vec<String> = set
            .iter()
            .map(|c| {
                let note = if has_attribute(c, "secure") {
                    ""
                } else {
                    " (no <code>Secure</code> flag: over http:// it travels in cleartext)"
                };
                format!("<code>{}</code>{note}", escape(c))
            })
            .collect();
        return format!("<strong>set</strong> by this answer: {}", lines.join("; "));
    }
    if sent.is_empty() {
        "<strong>none</strong>: this answer sets no cookie, and your browser sent none".to_owned()
    } else {
        format!(
            "<strong>not needed</strong>: this answer sets no cookie; your browser sent {}",
            code_list(sent)
        )
    }
}

fn withheld_alert(withheld: &WithheldCookies) -> String {
    format!(
        r#"<p class="alert">⚠ This answer's session cookie ({}) was withheld: the app believes the request is plain HTTP. Whatever this page says, your browser holds no session, and the next request will not know you. The panel below says why.</p>"#,
        code_list(withheld.names())
    )
}

/// `name=…; attributes`: the cookie without its value.
fn without_value(value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    let (pair, attributes) = text.split_once(';').unwrap_or((&text, ""));
    let name = pair.split_once('=').map_or(pair, |(name, _)| name).trim();
    if attributes.is_empty() {
        format!("{name}=…")
    } else {
        format!("{name}=…;{attributes}")
    }
}

fn has_attribute(cookie: &str, attribute: &str) -> bool {
    cookie.split(';').skip(1).any(|a| {
        a.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(attribute))
    })
}

/// The names of the cookies a request carries (never their values).
fn cookie_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(';')
                .filter_map(|pair| Some(pair.split_once('=')?.0.trim().to_owned()))
                .collect::<Vec<_>>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn code_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("<code>{}</code>", escape(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// HTML-escapes text a client may have chosen (header values, cookie names).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a page handler knows about its request, for the panel.
#[derive(Clone, Debug)]
pub struct Seen {
    pub(crate) view: Resolved,
    headers: HeaderMap,
    stage: Option<StageInfo>,
    hidden: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Seen {
    type Rejection = <Resolved as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let view = Resolved::from_request_parts(parts, state).await?;
        let options = parts
            .extensions
            .get::<AppOptions>()
            .copied()
            .unwrap_or_default();
        Ok(Seen {
            view,
            headers: parts.headers.clone(),
            stage: parts.extensions.get::<StageInfo>().cloned(),
            hidden: options.hide_panel,
        })
    }
}

impl Seen {
    /// The panel's HTML, or nothing when the stage turned it off.
    pub(crate) fn panel(&self) -> String {
        if self.hidden {
            return String::new();
        }
        let view = &self.view;
        let stage = match &self.stage {
            Some(s) => {
                let lab = s
                    .lab
                    .as_ref()
                    .map(|lab| format!("<br>The workshop's lab: <code>{}</code>", escape(lab)))
                    .unwrap_or_default();
                format!(
                    "<p><strong>Stage {}: {}.</strong> {}<br>The chapter: <code>{}</code>{lab}</p>",
                    s.number,
                    escape(s.title),
                    escape(s.lesson),
                    escape(&s.chapter)
                )
            }
            None => String::new(),
        };
        let peer = match view.peer() {
            Peer::Tcp(addr) => addr.ip().to_string(),
            other => other.to_string(),
        };
        let trust = if view.peer_trusted() {
            "<strong>trusted</strong> by the app's policy, so the forwarded headers below count"
        } else {
            "<strong>not trusted</strong> by the app's policy, so the forwarded headers below are ignored"
        };
        let received = forwarding_headers(&self.headers);
        let received = if received.is_empty() {
            "none".to_owned()
        } else {
            received
                .iter()
                .map(|(name, value)| format!("<code>{}: {}</code>", escape(name), escape(value)))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let host = view
            .origin()
            .unwrap_or_else(|| "(no usable host)".to_owned());
        let loop_link = if view.is_https() {
            String::new()
        } else {
            r#"<p><a href="/why/account-loop">Why does <code>/account</code> loop?</a></p>"#
                .to_owned()
        };
        format!(
            r#"<section class="panel"><h2>What the app saw</h2>
{stage}<dl>
<dt>TCP peer</dt><dd><code>{peer}</code>: {trust}</dd>
<dt>Forwarded headers, as received</dt><dd>{received}</dd>
<dt>What the app concluded</dt><dd>client <code>{client}</code>, scheme <code>{scheme}</code>, origin <code>{host}</code></dd>
<dt>Session cookie</dt><dd>{COOKIE_MARK}{COOKIE_UNKNOWN}</dd>
</dl>
{loop_link}</section>"#,
            client = escape(&view.client().to_string()),
            scheme = view.scheme(),
            host = escape(&host),
        )
    }

    /// The marker for the warning at the top of the page (empty when the panel is off).
    pub(crate) fn alert_mark(&self) -> &'static str {
        if self.hidden { "" } else { ALERT_MARK }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_shown_without_its_value() {
        let value = HeaderValue::from_static("id=SECRET; HttpOnly; Secure; Path=/");
        assert_eq!(without_value(&value), "id=…; HttpOnly; Secure; Path=/");
    }

    #[test]
    fn cookie_names_never_carry_values() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("id=SECRET; theme=dark"),
        );
        assert_eq!(cookie_names(&headers), ["id", "theme"]);
    }

    #[test]
    fn client_text_is_escaped() {
        assert_eq!(escape(r#"<script>"&'"#), "&lt;script&gt;&quot;&amp;&#39;");
    }
}

//! The demo app's HTML pages. User names are checked to be plain before they get here; what
//! else a client chose (a header, a `next` path) is escaped by the panel's `escape`. Every
//! page carries the "what the app saw" panel ([`Seen::panel`]).

use crate::panel::{Seen, escape};

fn page(title: &str, body: &str, seen: &Seen) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} · secure-sessions-lab</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;line-height:1.5}}
code{{background:#eee;padding:0 .2rem;overflow-wrap:anywhere}} form{{display:inline-block;margin-right:1rem}}
.alert{{background:#fde8e8;border-left:4px solid #c00;padding:.5rem 1rem}}
.panel{{background:#f4f6fa;border:1px solid #cbd2e0;padding:.25rem 1rem;margin-top:2rem;font-size:.92rem}}
.panel h2{{font-size:1rem}} .panel dt{{font-weight:600}} .panel dd{{margin:0 0 .5rem 1rem}}</style></head>
<body>
{alert}
<h1>{title}</h1>
{body}
{panel}
<hr><nav><a href="/">home</a> · <a href="/login">log in</a> · <a href="/me">/me</a> ·
<a href="/account">account (HTTPS only)</a> · <a href="/private">private (members only)</a></nav>
</body>
</html>
"#,
        alert = seen.alert_mark(),
        panel = seen.panel(),
    )
}

/// The home page: who you are, and how the app believes you reached it.
pub(crate) fn home(user: Option<&str>, counter: u64, seen: &Seen) -> String {
    let who = match user {
        Some(name) => format!("You are logged in as <strong>{name}</strong>."),
        None => "You are not logged in.".to_owned(),
    };
    let body = format!(
        r#"<p>{who}</p>
<p>The app sees your address as <code>{client}</code>, over <code>{scheme}</code>.</p>
<p>This session has counted to <strong>{counter}</strong>.</p>
<form method="post" action="/count"><button>Count</button></form>
<form method="post" action="/logout"><button>Log out</button></form>"#,
        client = seen.view.client(),
        scheme = seen.view.scheme(),
    );
    page("Home", &body, seen)
}

/// The login form, with a problem to show if the last attempt was refused, and where to go
/// after logging in (a local path, already checked).
pub(crate) fn login_form(problem: Option<&str>, next: Option<&str>, seen: &Seen) -> String {
    let problem = problem
        .map(|p| format!("<p><strong>{p}</strong></p>"))
        .unwrap_or_default();
    let next = next
        .map(|n| format!(r#"<input type="hidden" name="next" value="{}">"#, escape(n)))
        .unwrap_or_default();
    let body = format!(
        r#"{problem}<form method="post" action="/login">
<label>User name <input name="username" autofocus required maxlength="32"></label>
{next}<button>Log in</button>
</form>"#
    );
    page("Log in", &body, seen)
}

pub(crate) fn welcome(name: &str, seen: &Seen) -> String {
    page(
        "Welcome",
        &format!(
            r#"<p>Welcome, <strong>{name}</strong>. You are logged in.</p>
<p><a href="/">Go to the home page</a>: it says whether the next request still knows you.</p>"#
        ),
        seen,
    )
}

pub(crate) fn logged_out(seen: &Seen) -> String {
    page("Logged out", "<p>Your session has ended.</p>", seen)
}

pub(crate) fn account(user: Option<&str>, seen: &Seen) -> String {
    let who = user.unwrap_or("anonymous visitor");
    page(
        "Account",
        &format!("<p>This page is only served over HTTPS. Hello, <strong>{who}</strong>.</p>"),
        seen,
    )
}

pub(crate) fn private(name: &str, seen: &Seen) -> String {
    page(
        "Members only",
        &format!("<p>Only logged-in users see this. Hello, <strong>{name}</strong>.</p>"),
        seen,
    )
}

/// Why `/account` loops, worked out for this very request: `target` is where `/account` would
/// send it, and `told_https` whether a proxy said the browser used HTTPS.
pub(crate) fn account_loop(target: Option<&str>, told_https: bool, seen: &Seen) -> String {
    let scheme = seen.view.scheme();
    let target = target.map_or_else(
        || "nowhere: the app has no usable host for this request".to_owned(),
        |t| format!("<code>{}</code>", escape(t)),
    );
    let verdict = if seen.view.is_https() {
        "The app believes this request came over HTTPS, so <code>/account</code> answers at once: no loop here."
    } else if told_https {
        "A proxy told the app the browser used HTTPS (<code>X-Forwarded-Proto: https</code>), but the app does not trust that proxy, so it believes plain HTTP. The https:// URL it redirects to is the one the browser is already on: the browser asks again, gets the same answer, and gives up after about 20 redirects (<code>ERR_TOO_MANY_REDIRECTS</code>). Deleting cookies, as the browser suggests, changes nothing."
    } else {
        "Nothing told the app this request was HTTPS."
    };
    let body = format!(
        r#"<p><code>/account</code> is an HTTPS-only page, guarded the way most frameworks do it: a request the app believes is plain HTTP is redirected (301) to the same page with <code>https://</code>.</p>
<p>For this request the app believes <code>{scheme}</code>, so <code>/account</code> would redirect to {target}.</p>
<p>{verdict}</p>
<p>See it: <a href="/account">/account</a>. The fix is stage 3's: trust exactly the proxy, so that its <code>X-Forwarded-Proto</code> counts.</p>"#
    );
    page("Why /account loops", &body, seen)
}

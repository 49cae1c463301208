//! The demo app's HTML pages. User names are checked to be plain before they get here, and
//! nothing else a client sends is ever written into a page.

use trusted_proxies::Resolved;

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} · secure-sessions-lab</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5}}
code{{background:#eee;padding:0 .2rem}} form{{display:inline-block;margin-right:1rem}}</style></head>
<body>
<h1>{title}</h1>
{body}
<hr><nav><a href="/">home</a> · <a href="/login">log in</a> · <a href="/me">/me</a> ·
<a href="/account">account (HTTPS only)</a> · <a href="/private">private (members only)</a></nav>
</body>
</html>
"#
    )
}

/// The home page: who you are, and how the app believes you reached it.
pub(crate) fn home(user: Option<&str>, counter: u64, view: &Resolved) -> String {
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
        client = view.client(),
        scheme = view.scheme(),
    );
    page("Home", &body)
}

/// The login form, with a problem to show if the last attempt was refused.
pub(crate) fn login_form(problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p><strong>{p}</strong></p>"))
        .unwrap_or_default();
    let body = format!(
        r#"{problem}<form method="post" action="/login">
<label>User name <input name="username" autofocus required maxlength="32"></label>
<button>Log in</button>
</form>"#
    );
    page("Log in", &body)
}

pub(crate) fn welcome(name: &str) -> String {
    page(
        "Welcome",
        &format!("<p>Welcome, <strong>{name}</strong>. You are logged in.</p>"),
    )
}

pub(crate) fn logged_out() -> String {
    page("Logged out", "<p>Your session has ended.</p>")
}

pub(crate) fn account(user: Option<&str>) -> String {
    let who = user.unwrap_or("anonymous visitor");
    page(
        "Account",
        &format!("<p>This page is only served over HTTPS. Hello, <strong>{who}</strong>.</p>"),
    )
}

pub(crate) fn private(name: &str) -> String {
    page(
        "Members only",
        &format!("<p>Only logged-in users see this. Hello, <strong>{name}</strong>.</p>"),
    )
}

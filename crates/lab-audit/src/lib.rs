//! The lab's attacks, as black-box checks against a deployment you name.
//!
//! `cargo xtask audit https://host[:port]` runs [`audit`] and prints its [`Report`]: for each
//! check, what it sent, what came back, pass / fail / could not tell, and the fix with the book
//! chapter that explains it. The checks are the ones the lab proves against its own stages:
//! TLS below 1.2, HSTS, plain HTTP, the session cookie's flags and name, forged forwarding
//! headers (each with a unique canary), a cross-origin POST, and a cookie whose name only
//! decodes to the session cookie's.
//!
//! Only the host in the target URL is contacted (on its HTTPS port and, for one check, its
//! plain HTTP port), with a bounded number of requests ([`plan`] lists them: `--dry-run`),
//! each with a timeout. Redirects are never followed. A check that cannot tell says so: it
//! never passes by default.

mod checks;
mod client;
pub mod openssl;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use client::error_chain;
pub use report::{Finding, Report, Verdict};

/// What to audit, and what the audit may use.
#[derive(Clone, Debug)]
pub struct Options {
    /// `https://host[:port]`: the only host contacted.
    pub target: url::Url,
    /// Also trust this CA (PEM file), beside the system's roots.
    pub ca: Option<PathBuf>,
    /// Connect here instead of resolving the target's host (like curl's `--resolve`).
    pub resolve: Option<std::net::IpAddr>,
    /// The plain-HTTP port to try (default 80).
    pub http_port: u16,
    /// The session cookie's name, if known; else the one the login (or the home page) sets.
    pub cookie: Option<String>,
    /// A login form: its path and fields, posted as `application/x-www-form-urlencoded`.
    pub login: Option<Login>,
    /// A page that answers with an absolute URL in `Location` (a redirect to a login page,
    /// say). Default `/`.
    pub redirect_path: String,
    /// A page that shows the client's address (or echoes who you are).
    pub echo_path: Option<String>,
    /// An endpoint whose POST changes state, for the cross-origin check (default: the login).
    pub csrf_path: Option<String>,
    /// Text that the echo page (or `/`) shows only to a logged-in visitor (default: the login's
    /// `username` field, else its first value).
    pub logged_in_text: Option<String>,
    /// Each request's timeout.
    pub timeout: Duration,
}

impl Options {
    /// Options for `target` with every default.
    pub fn new(target: url::Url) -> Options {
        Options {
            target,
            ca: None,
            resolve: None,
            http_port: 80,
            cookie: None,
            login: None,
            redirect_path: "/".into(),
            echo_path: None,
            csrf_path: None,
            logged_in_text: None,
            timeout: Duration::from_secs(10),
        }
    }

    pub(crate) fn host(&self) -> &str {
        self.target.host_str().unwrap_or_default()
    }

    pub(crate) fn port(&self) -> u16 {
        self.target.port_or_known_default().unwrap_or(443)
    }

    /// Where TCP connections go: the resolved address, else the host itself.
    pub(crate) fn connect_to(&self) -> String {
        match self.resolve {
            Some(ip) => SocketAddr::new(ip, self.port()).to_string(),
            None => format!("{}:{}", self.host(), self.port()),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        let mut url = self.target.clone();
        url.set_path("");
        format!("{}{path}", url.as_str().trim_end_matches('/'))
    }

    pub(crate) fn marker(&self) -> Option<String> {
        self.logged_in_text.clone().or_else(|| {
            let login = self.login.as_ref()?;
            login
                .fields
                .iter()
                .find(|(name, _)| name == "username")
                .or(login.fields.first())
                .map(|(_, value)| value.clone())
        })
    }
}

/// A login form to post.
#[derive(Clone, Debug)]
pub struct Login {
    /// Its path (`/login`).
    pub path: String,
    /// Its fields, in order.
    pub fields: Vec<(String, String)>,
}

/// Why the audit could not run at all (a check that cannot tell is a [`Verdict`] instead).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The target is not an `https://` URL with a host.
    #[error("the target must be https://host[:port] (got {0})")]
    Target(String),
    /// The CA file could not be read or parsed.
    #[error("the CA file {path}: {detail}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(String),
}

/// Checks `options.target` once, every check in turn.
pub async fn audit(options: &Options) -> Result<Report, AuditError> {
    if options.target.scheme() != "https" || options.target.host_str().is_none() {
        return Err(AuditError::Target(options.target.to_string()));
    }
    let http = client::Http::new(options)?;
    let findings = checks::run_all(options, &http).await;
    Ok(Report {
        target: options.target.to_string(),
        findings,
    })
}

/// Every request the audit would send, one line each, without sending any.
pub fn plan(options: &Options) -> Vec<String> {
    checks::plan(options)
}

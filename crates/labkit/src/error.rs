use std::path::PathBuf;

/// Everything that can keep a lab from starting, each with what to do about it.
#[derive(thiserror::Error)]
pub enum LabError {
    /// The Docker engine did not answer.
    #[error(
        "Docker is not reachable ({0}).\n  Start the Docker engine (or run `cargo xtask doctor` to see what is missing),\n  or use the host's nginx instead: LAB_BACKEND=native"
    )]
    DockerUnavailable(String),
    /// No nginx (or Redis) image could be found, built or pulled.
    #[error(
        "no {what} image is available: {detail}\n  Run `cargo xtask doctor`: it says how to get one (pull `{official}`, install Debian's `{package}` so that `cargo xtask images` can build one offline, or set {env_var})"
    )]
    NoImage {
        what: &'static str,
        official: &'static str,
        package: &'static str,
        env_var: &'static str,
        detail: String,
    },
    /// nginx started but never said it was ready, or exited.
    #[error("nginx did not start: {reason}\n--- nginx said ---\n{logs}")]
    NginxFailed { reason: String, logs: String },
    /// The host has no nginx binary for the native backend.
    #[error(
        "no nginx binary found at {0} (set LAB_NGINX_BIN, or install nginx: `apt-get install nginx`, `brew install nginx`)"
    )]
    NoNginxBinary(PathBuf),
    /// A port could not be bound.
    #[error(
        "cannot listen on {addr}: {source}\n  Is another lab still running? Stop it, or pick another port."
    )]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The lab's certificates could not be made or read.
    #[error("the lab's certificates: {0}")]
    Certificates(String),
    /// A request from the lab's client failed before any answer came back.
    #[error("{method} {url} failed: {source}")]
    Request {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// An answer was not what the demo app sends.
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected { url: String, detail: String },
    /// The stage's app could not be built.
    #[error("{0}")]
    App(String),
    /// A file or process could not be handled.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// testcontainers failed in a way not covered above.
    #[error("Docker: {0}")]
    Docker(#[from] testcontainers::TestcontainersError),
}

/// A test that returns `Err` prints it with `Debug`: show the message a person can act on,
/// with its causes, rather than the enum's structure.
impl std::fmt::Debug for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let context = context.into();
        move |source| LabError::Io { context, source }
    }
}

/// The lab's `Result`.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

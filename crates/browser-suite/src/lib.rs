//! The lab's claims about browsers, proven in a real one.
//!
//! Everywhere else the lab's client is reqwest with a cookie jar: a simulation of a browser.
//! The lesson is about what browsers do with cookies, so this suite asks one: the system's
//! Chromium (or Chrome), driven over WebDriver by its own driver, against the lab's real nginx.
//!
//! - **The browser is found, never downloaded**: `LAB_CHROME` and `LAB_CHROMEDRIVER` name them,
//!   else the usual places on Linux, macOS and Windows; without one, [`BrowserError`] says how
//!   to install it.
//! - **The lab's CA is trusted as a person would trust it**: on Linux, in an NSS database in a
//!   temporary home that Chromium reads (`certutil`, from `libnss3-tools`), not by ignoring
//!   certificate errors. Elsewhere the system's trust store decides (see [`BrowserError`]).
//! - **Names**: `*.lab.test` and `attacker.example` resolve to 127.0.0.1 in the browser's own
//!   resolver (`--host-resolver-rules`), so a sibling subdomain and another site can be played
//!   by [`Attacker`] servers on loopback.
//! - **Screenshots**: [`Browser::screenshot`] saves what a test judged under
//!   `<target>/browser-shots/`, with stable names, for the book: `cargo xtask browser --book`
//!   copies a passing run's shots to `book/src/generated/screenshots/`, and the book's check
//!   fails when a test takes a shot the book lacks, or the book keeps one no test takes.

mod attacker;
mod browser;
mod find;

pub use attacker::Attacker;
pub use browser::{Browser, SHOTS_VAR, shots_dir};
pub use find::{Found, find};

/// Tests take turns. Chromium aborts whatever it is loading when the machine's network
/// interfaces change (`ERR_NETWORK_CHANGED`), and every lab adds and removes a Docker bridge:
/// two tests at once would make each other's pages fail. Hold the guard for the whole test.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// Why the browser could not be driven, and what to do about it.
#[derive(thiserror::Error)]
pub enum BrowserError {
    /// No Chromium or Chrome was found.
    #[error(
        "no Chromium or Chrome found (looked for {looked}).\n  Install one: Debian/Ubuntu `apt-get install chromium chromium-driver libnss3-tools`; \
         macOS `brew install --cask google-chrome` and `brew install chromedriver`; Windows: Chrome and the chromedriver of the same version.\n  \
         Or name it: LAB_CHROME=/path/to/chrome"
    )]
    NoBrowser {
        /// Where it looked.
        looked: String,
    },
    /// No chromedriver was found.
    #[error(
        "no chromedriver found (looked for {looked}).\n  Install the one that matches the browser: Debian/Ubuntu `apt-get install chromium-driver`; \
         macOS `brew install chromedriver`.\n  Or name it: LAB_CHROMEDRIVER=/path/to/chromedriver"
    )]
    NoDriver {
        /// Where it looked.
        looked: String,
    },
    /// The lab's CA could not be put in the browser's trust store.
    #[error("trusting the lab's CA in the browser: {0}")]
    Trust(String),
    /// The driver did not start or answer.
    #[error("chromedriver: {0}")]
    Driver(String),
    /// The browser session could not be created.
    #[error("starting the browser through chromedriver: {0}")]
    Session(#[from] fantoccini::error::NewSessionError),
    /// A WebDriver command failed.
    #[error("the browser: {0}")]
    Command(#[from] fantoccini::error::CmdError),
    /// A file could not be written or read.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

/// A test that returns `Err` prints it with `Debug`: show the message a person can act on.
impl std::fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl BrowserError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BrowserError {
        let context = context.into();
        move |source| BrowserError::Io { context, source }
    }
}

/// The suite's `Result`.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

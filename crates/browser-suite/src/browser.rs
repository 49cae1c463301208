//! One headless browser with a fresh profile, trusting the lab's CA, driven over WebDriver.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cookie::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::find::find;
use crate::{BrowserError, Result};

/// How long the driver may take to answer, and a page or a redirect to settle.
const PATIENCE: Duration = Duration::from_secs(20);

/// The browser's resolver: the lab's names, and another site for the attacks.
const RESOLVER_RULES: &str = "MAP *.lab.test 127.0.0.1, MAP attacker.example 127.0.0.1";

/// A running browser. Call [`close`](Self::close) at the end; dropping it stops the driver and
/// the browser too, as a test that panicked would.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
    // Last: removed after the browser that uses it has stopped.
    _home: tempfile::TempDir,
}

impl Browser {
    /// Starts the system's Chromium, headless, with a fresh profile that trusts `ca_pem`.
    pub async fn start(ca_pem: &str) -> Result<Browser> {
        let found = find()?;
        let home = tempfile::Builder::new()
            .prefix("lab-browser-")
            .tempdir()
            .map_err(BrowserError::io("a temporary home for the browser"))?;
        trust_ca(home.path(), ca_pem)?;
        let profile = home.path().join("profile");
        let port = free_port()?;
        let driver = Command::new(&found.driver)
            .arg(format!("--port={port}"))
            // Chromium finds its NSS database under $HOME: the temporary one.
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                BrowserError::Driver(format!("could not start {}: {e}", found.driver.display()))
            })?;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1000,1300".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--host-resolver-rules={RESOLVER_RULES}"),
            // Chrome tries https:// for http:// navigations on its own (HTTPS-Upgrades): that
            // would hide stage 1's lesson and make the HSTS claim unable to fail.
            "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable".to_owned(),
        ];
        if running_as_root() {
            // Chromium refuses to start as root with its sandbox (CI runs as root).
            args.push("--no-sandbox".to_owned());
        }
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": found.browser,
                "args": args,
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object");
        };
        let mut browser = Browser {
            client: None,
            driver,
            profile,
            _home: home,
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                // The driver is still starting: its port does not answer yet.
                Err(fantoccini::error::NewSessionError::FailedC(_))
                    if started.elapsed() < PATIENCE =>
                {
                    if let Ok(Some(status)) = browser.driver.try_wait() {
                        return Err(BrowserError::Driver(format!("exited with {status}")));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error.into()),
            }
        };
        browser.client = Some(client);
        Ok(browser)
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("a started browser")
    }

    /// Navigates to `url` and waits for the page to load. A load that Chromium aborted because
    /// the machine's network changed (a lab's Docker bridge getting its addresses a moment
    /// after it was made) is tried again, up to three times: it says nothing about the lab.
    pub async fn goto(&self, url: &str) -> Result<()> {
        for _ in 0..3 {
            let went = self.client().goto(url).await;
            if !self.network_changed(went.as_ref().err()).await {
                return Ok(went?);
            }
            tracing::info!(%url, "the network changed under the browser: loading again");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(self.client().goto(url).await?)
    }

    /// Whether the last load failed with `ERR_NETWORK_CHANGED` (as an error, or as Chromium's
    /// error page).
    async fn network_changed(&self, error: Option<&fantoccini::error::CmdError>) -> bool {
        if error.is_some_and(|e| e.to_string().contains("ERR_NETWORK_CHANGED")) {
            return true;
        }
        // WebDriver reports the URL that was asked for, not Chromium's error page: read the page.
        self.client()
            .source()
            .await
            .is_ok_and(|page| page.contains("ERR_NETWORK_CHANGED"))
    }

    /// The page's visible text.
    pub async fn text(&self) -> Result<String> {
        Ok(self
            .client()
            .find(Locator::Css("body"))
            .await?
            .text()
            .await?)
    }

    /// The page's HTML as the browser holds it (an error page included).
    pub async fn source(&self) -> Result<String> {
        Ok(self.client().source().await?)
    }

    /// The URL the browser shows.
    pub async fn url(&self) -> Result<String> {
        Ok(self.client().current_url().await?.to_string())
    }

    /// Logs in as a person would: opens `origin/login`, types `user`, clicks "Log in".
    pub async fn log_in(&self, origin: &str, user: &str) -> Result<()> {
        self.goto(&format!("{origin}/login")).await?;
        self.client()
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css("input[name=username]"))
            .await?
            .send_keys(user)
            .await?;
        self.click_button("Log in").await
    }

    /// Clicks the button labelled `label` and waits for the next page.
    pub async fn click_button(&self, label: &str) -> Result<()> {
        let xpath = format!("//button[normalize-space()='{label}']");
        let before = self.url().await?;
        let marker = self.mark_page().await?;
        self.client()
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&xpath))
            .await?
            .click()
            .await?;
        self.wait_for_new_page(&before, &marker).await
    }

    /// The cookies the browser holds for the current page's site, `HttpOnly` ones included.
    pub async fn cookies(&self) -> Result<Vec<Cookie<'static>>> {
        Ok(self.client().get_all_cookies().await?)
    }

    /// Waits until the browser shows a page on `host` (after a form posted by script, say).
    pub async fn wait_for_host(&self, host: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let url = self.client().current_url().await?;
            if url.host_str() == Some(host) {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                return Err(BrowserError::Driver(format!(
                    "the browser never reached {host}; it shows {url}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page as `<name>.png` in [`shots_dir`] and returns its path. Beside
    /// it, `<name>.txt` records the test that took it and the page's path, for the book's
    /// list of screenshots (`cargo xtask browser --book`).
    ///
    /// The shot is the page's `<html>` element: the window's width, and the page's height
    /// (the window is tall enough for the lab's longest page, panel included), so the book
    /// shows no empty window below a short page.
    ///
    /// Pass `name` as a string literal: the book's check finds the shots the suite takes by
    /// reading `screenshot("...")` in the tests' sources.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        // A page without a doctype (nginx's own error pages) is in quirks mode, where <html>
        // and <body> fill the window: let them take their content's height, as on every other
        // page. Nothing else about the page changes.
        let _ = self
            .client()
            .execute(
                "if (document.compatMode === 'BackCompat' && document.body) { \
                   document.documentElement.style.height = 'fit-content'; \
                   document.body.style.height = 'fit-content'; }",
                vec![],
            )
            .await;
        let png = match self.client().find(Locator::Css("html")).await {
            Ok(html) => html.screenshot().await.ok(),
            Err(_) => None,
        };
        // Should the page's element not do (a browser's error page, say), the window will.
        let png = match png {
            Some(png) => png,
            None => self.client().screenshot().await?,
        };
        let page = self
            .client()
            .current_url()
            .await
            .map(|url| url.path().to_owned())
            .unwrap_or_default();
        let dir = shots_dir();
        std::fs::create_dir_all(&dir)
            .map_err(BrowserError::io(format!("creating {}", dir.display())))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .map_err(BrowserError::io(format!("writing {}", path.display())))?;
        // libtest runs each test on a thread named after it (`stage1::stage1_...`).
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("(unknown test)");
        let record = dir.join(format!("{name}.txt"));
        std::fs::write(&record, format!("test: {test}\npage: {page}\n"))
            .map_err(BrowserError::io(format!("writing {}", record.display())))?;
        Ok(path)
    }

    /// Ends the session and stops the browser and its driver.
    pub async fn close(mut self) -> Result<()> {
        if let Some(client) = self.client.take() {
            client.close().await?;
        }
        Ok(())
    }

    /// Tags the current document, so that a new page (even at the same URL) can be told apart.
    async fn mark_page(&self) -> Result<String> {
        static PAGES: AtomicU64 = AtomicU64::new(0);
        let marker = format!("lab-{}", PAGES.fetch_add(1, Ordering::Relaxed));
        self.client()
            .execute(
                "window.__labMark = arguments[0];",
                vec![marker.clone().into()],
            )
            .await?;
        Ok(marker)
    }

    async fn wait_for_new_page(&self, before: &str, marker: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let same = self
                .client()
                .execute("return window.__labMark || null;", vec![])
                .await
                .map(|v| v.as_str() == Some(marker))
                .unwrap_or(false);
            if !same {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                return Err(BrowserError::Driver(format!(
                    "the click on {before} led to no new page"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if self.client.is_some() {
            // The session was not closed (a test panicked): the browser outlives a killed
            // driver, so stop the processes that use this profile.
            #[cfg(unix)]
            let _ = Command::new("pkill")
                .arg("-f")
                .arg(self.profile.as_os_str())
                .status();
        }
    }
}

/// The variable that names the folder screenshots go to (`cargo xtask browser` sets it).
pub const SHOTS_VAR: &str = "LAB_BROWSER_SHOTS";

/// Where screenshots go: the folder [`SHOTS_VAR`] names, else `<target>/browser-shots`, the
/// target dir this test binary was built into (`<target>/debug/deps/<test>`).
pub fn shots_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(SHOTS_VAR) {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_owned()))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("browser-shots")
}

/// Puts the lab's CA in an NSS database under `home`, as `certutil` would for a person, so that
/// Chromium on Linux trusts it for websites (`C,,`). Elsewhere the system's store decides:
/// `LAB_BROWSER_SYSTEM_TRUST=1` says the CA is already there.
fn trust_ca(home: &Path, ca_pem: &str) -> Result<()> {
    if std::env::var_os("LAB_BROWSER_SYSTEM_TRUST").is_some() {
        return Ok(());
    }
    if !cfg!(target_os = "linux") {
        return Err(BrowserError::Trust(
            "only Linux's NSS database can be prepared per run; add the lab's CA to the system's \
             trust store (Keychain Access, certmgr) and set LAB_BROWSER_SYSTEM_TRUST=1"
                .into(),
        ));
    }
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).map_err(BrowserError::io("creating the NSS database folder"))?;
    let ca = home.join("lab-ca.pem");
    std::fs::write(&ca, ca_pem).map_err(BrowserError::io("writing the lab CA"))?;
    let database = format!("sql:{}", db.display());
    let ca = ca.display().to_string();
    let steps: [&[&str]; 2] = [
        &["-d", &database, "-N", "--empty-password"],
        &[
            "-d",
            &database,
            "-A",
            "-t",
            "C,,",
            "-n",
            "secure-sessions-lab",
            "-i",
            &ca,
        ],
    ];
    for args in steps {
        let output = Command::new("certutil").args(args).output().map_err(|e| {
            BrowserError::Trust(format!(
                "`certutil` is needed to trust the lab's CA the way a person would \
                 (`apt-get install libnss3-tools`): {e}"
            ))
        })?;
        if !output.status.success() {
            return Err(BrowserError::Trust(format!(
                "certutil {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(BrowserError::io("finding a free port for chromedriver"))
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

//! Where the browser and its driver are: named by the environment, else the usual places.

use std::path::{Path, PathBuf};

use crate::{BrowserError, Result};

/// A browser and the driver that drives it.
#[derive(Clone, Debug)]
pub struct Found {
    /// Chromium or Chrome.
    pub browser: PathBuf,
    /// chromedriver.
    pub driver: PathBuf,
}

/// Browsers, in the order they are tried.
fn browser_candidates() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = Vec::new();
    if cfg!(target_os = "macos") {
        paths.push("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".into());
        paths.push("/Applications/Chromium.app/Contents/MacOS/Chromium".into());
    } else if cfg!(windows) {
        for base in ["C:\\Program Files", "C:\\Program Files (x86)"] {
            paths.push(Path::new(base).join("Google\\Chrome\\Application\\chrome.exe"));
        }
    } else {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            paths.extend(on_path(name));
        }
    }
    paths
}

/// Drivers, in the order they are tried.
fn driver_candidates() -> Vec<PathBuf> {
    let name = if cfg!(windows) {
        "chromedriver.exe"
    } else {
        "chromedriver"
    };
    let mut paths = on_path(name);
    if cfg!(target_os = "linux") {
        paths.push("/usr/lib/chromium/chromedriver".into());
    }
    paths
}

/// `name` in every folder of `PATH`.
fn on_path(name: &str) -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .collect()
        })
        .unwrap_or_default()
}

/// The browser and driver to use: `LAB_CHROME` and `LAB_CHROMEDRIVER` when set (and then they
/// must exist), else the first that exists of the usual places.
pub fn find() -> Result<Found> {
    let pick = |var: &str, candidates: Vec<PathBuf>| -> std::result::Result<PathBuf, String> {
        if let Some(named) = std::env::var_os(var) {
            let named = PathBuf::from(named);
            return if named.is_file() {
                Ok(named)
            } else {
                Err(format!(
                    "{} (from {var}, which does not exist)",
                    named.display()
                ))
            };
        }
        candidates
            .iter()
            .find(|path| path.is_file())
            .cloned()
            .ok_or_else(|| {
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
    };
    let browser = pick("LAB_CHROME", browser_candidates())
        .map_err(|looked| BrowserError::NoBrowser { looked })?;
    let driver = pick("LAB_CHROMEDRIVER", driver_candidates())
        .map_err(|looked| BrowserError::NoDriver { looked })?;
    Ok(Found { browser, driver })
}

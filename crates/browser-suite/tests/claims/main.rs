//! The lab's claims about browsers, one test each, in headless Chromium against the real nginx.
//! Every test saves a screenshot of the page it judged (`target/browser-shots/<name>.png`);
//! `cargo xtask browser --book` puts a passing run's shots in the book. Name a shot with a
//! string literal: the book's check reads `screenshot("...")` here to find stale ones.

mod stage1;
mod stage2;
mod stage3;
mod stage4;
mod stage5;

use browser_suite::Browser;
use labkit::Lab;

/// The failure report: what the browser showed, then the lab's transcript and nginx's log.
async fn report(browser: &Browser, lab: &Lab) -> String {
    let url = browser.url().await.unwrap_or_default();
    let text = browser.text().await.unwrap_or_default();
    format!("\n--- the browser shows {url} ---\n{text}{}", lab.report())
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

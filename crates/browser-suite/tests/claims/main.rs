//! The lab's claims about browsers, one test each, in headless Chromium against the real nginx.
//! Every test saves a screenshot of the page it judged (`target/browser-shots/<test>.png`).

mod stage1;
mod stage2;
mod stage3;
mod stage4;

use browser_suite::Browser;
use labkit::Lab;

/// The failure report: what the browser showed, then the lab's transcript and nginx's log.
async fn report(browser: &Browser, lab: &Lab) -> String {
    let url = browser.url().await.unwrap_or_default();
    let text = browser.text().await.unwrap_or_default();
    format!("\n--- the browser shows {url} ---\n{text}{}", lab.report())
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

//! `cargo xtask browser`: the lab's claims about browsers, in the system's Chromium.
//!
//! The suite is its own crate (`crates/browser-suite`), outside the default members, so that
//! plain `cargo test` needs no browser; this runs it, with the same clean environment as a
//! grade (no rebuild of ring and friends).

use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Only the tests whose name contains this (e.g. `stage4`).
    filter: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    println!(
        "The browser suite: headless Chromium against the real nginx. Screenshots go to \
         target/browser-shots/.\n"
    );
    let mut command = crate::cargo();
    command
        .current_dir(crate::workspace_root())
        .args(["test", "--package", "browser-suite"]);
    if let Some(filter) = &args.filter {
        command.args(["--", filter]);
    }
    let status = command
        .env("RUST_BACKTRACE", "0")
        .status()
        .context("running `cargo test --package browser-suite`")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

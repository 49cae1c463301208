//! `cargo xtask book`: build the book (`book/`), and with `--check` check it, by running the
//! book builder.
//!
//! The builder is its own crate, run with `cargo run`, because it is mdBook: ~120 crates that
//! must stay out of the xtask's build, or a workshop's first `cargo xtask lab 1` would wait
//! for them. It is compiled the first time someone builds the book.

use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Also check what mdBook lets slip (include files and anchors, leftover `{{#`, internal
    /// links, `cargo xtask` commands in the text) and fail on any problem.
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut builder = crate::cargo();
    builder.current_dir(crate::workspace_root()).args([
        "run",
        "--quiet",
        "--package",
        "book-builder",
        "--",
    ]);
    if args.check {
        builder.arg("--check");
    }
    // The builder asks this very binary whether each `cargo xtask ...` in the book exists.
    if let Ok(xtask) = std::env::current_exe() {
        builder.arg("--xtask").arg(xtask);
    }
    let status = builder
        .status()
        .context("running `cargo run --package book-builder`")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

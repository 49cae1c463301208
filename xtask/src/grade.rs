//! `cargo xtask grade N`: run lab N's grading tests on the participant's code, as it is.

use std::process::ExitCode;

use anyhow::Context;

use crate::labs;

#[derive(clap::Args)]
pub struct Args {
    /// The lab.
    lab: u8,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lab = labs::find(args.lab)?;
    println!(
        "Grading lab {} ({}): `cargo test -p {}`\n",
        lab.number, lab.dir, lab.package
    );
    let status = crate::cargo()
        .args(["test", "--quiet", "--package", lab.package])
        // A failing claim's message is the help; a backtrace per failure (RUST_BACKTRACE=1 in
        // the shell) buries it under hundreds of lines of the test runner's frames.
        .env("RUST_BACKTRACE", "0")
        .current_dir(crate::workspace_root())
        .status()
        .context("running cargo test")?;
    if status.success() {
        println!(
            "\nLab {} passes every claim of stage {}. Well done.",
            lab.number, lab.number
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "\nNot yet: each failure above says what was observed and what was expected.\nStuck? `cargo xtask hint {}`",
            lab.number
        );
        Ok(ExitCode::FAILURE)
    }
}

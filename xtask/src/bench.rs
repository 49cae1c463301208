//! `cargo xtask bench`: runs the bench, `crates/lab-bench`, in release.
//!
//! The bench is its own crate, run with `cargo run` as the book builder is, so that its code
//! stays out of the xtask's build: a workshop's first `cargo xtask lab 1` never compiles it.
//! Its flags are the one file both compile (`cli.rs`): `cargo xtask bench --help` and a
//! mistyped flag answer here at once, before cargo builds lab-bench (minutes, the first time),
//! and the book's check of `cargo xtask bench ...` lines builds nothing.

use std::process::ExitCode;

#[path = "../../crates/lab-bench/src/cli.rs"]
mod cli;

pub use cli::Args;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Here as well as in lab-bench: a machine without wrk learns it before a release build.
    cli::check_wrk()?;
    eprintln!(
        "Building the bench (crates/lab-bench) in release to measure release code (the first time takes a while)..."
    );
    cli::run_in_release(&args)
}

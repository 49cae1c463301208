//! The lab's automation: `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! This file only dispatches; each command is a module with a `run`.

mod audit;
mod bench;
mod book;
mod browser;
mod child_cargo;
mod doctor;
mod gixy;
mod grade;
mod hint;
mod images;
mod lab;
mod labs;
mod stages;
mod verify_labs;

use child_cargo::cargo;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Run the secure-sessions lab", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start stage N, walk through its story, then serve it for your browser until Ctrl-C.
    Lab(lab::Args),
    /// Build the offline nginx and Redis images from this machine's Debian binaries.
    Images,
    /// Check Docker, images, the host's nginx and ports, and say how to fix each.
    Doctor(doctor::Args),
    /// Build the book into book/build; with --check, also check it and fail on any problem.
    Book(book::Args),
    /// Grade workshop lab N: run the stage's claims against your code.
    Grade(grade::Args),
    /// Show the next hint for workshop lab N.
    Hint(hint::Args),
    /// Check every lab: starters fail as expected, solutions pass, common mistakes are named.
    VerifyLabs(verify_labs::Args),
    /// Measure what each stage costs beside nginx alone (wrk; writes book/src/perf/).
    Bench(bench::Args),
    /// Run the lab's attacks against a deployment you name (--dry-run lists the requests).
    Audit(audit::Args),
    /// Prove the lab's browser claims in the system's Chromium (screenshots in target/browser-shots).
    Browser(browser::Args),
    /// Audit each stage's whole nginx.conf with gixy-ng: stage 4 clean, earlier stages their lesson.
    Gixy(gixy::Args),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Lab(args) => lab::run(args).await,
        Command::Images => images::run().await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Book(args) => book::run(args),
        Command::Grade(args) => grade::run(args).await,
        Command::Hint(args) => hint::run(args),
        Command::VerifyLabs(args) => verify_labs::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Gixy(args) => gixy::run(args),
        Command::Browser(args) => browser::run(args),
        Command::Audit(args) => audit::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The app's own warnings (the secure-cookie guard's above all) are part of the lesson:
/// show `info` and up unless `RUST_LOG` says otherwise.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        "info,testcontainers=warn,bollard=warn,hyper=warn,tower_sessions=error".into()
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Whether to colour output: a terminal, and no `NO_COLOR`.
fn colour() -> bool {
    colour_on(&std::io::stdout())
}

/// Whether to colour what goes to `stream`: a terminal, and no `NO_COLOR`.
fn colour_on(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The workspace root: the xtask crate's parent directory.
fn workspace_root() -> std::path::PathBuf {
    let xtask = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_owned()
}

/// Cargo's target directory, where the lab keeps its CA, stage 4's sessions and the browser
/// suite's screenshots between runs: the one this very binary was built into
/// (`<target>/debug/xtask`), whatever `CARGO_TARGET_DIR` or the current folder say.
fn target_dir() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_owned()))
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from))
        .unwrap_or_else(|| workspace_root().join("target"))
}

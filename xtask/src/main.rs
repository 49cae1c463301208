//! The lab's automation: `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! This file only dispatches; each command is a module with a `run`.

mod doctor;
mod images;
mod lab;
mod stages;

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Lab(args) => lab::run(args).await,
        Command::Images => images::run().await,
        Command::Doctor(args) => doctor::run(args).await,
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
        .with_target(false)
        .init();
}

/// Whether to colour output: a terminal, and no `NO_COLOR`.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

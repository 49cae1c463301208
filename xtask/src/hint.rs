//! `cargo xtask hint N`: the next hint for lab N, one at a time.

use std::process::ExitCode;

use crate::labs;

#[derive(clap::Args)]
pub struct Args {
    /// The lab.
    lab: u8,
    /// Show every hint at once.
    #[arg(long)]
    all: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lab = labs::find(args.lab)?;
    if args.all {
        for (i, hint) in lab.hints.iter().enumerate() {
            println!("Hint {} of {}: {hint}\n", i + 1, lab.hints.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Remember which hint was shown last, so that asking again goes one step further.
    let seen = crate::workspace_root()
        .join("target")
        .join("lab-hints")
        .join(lab.number.to_string());
    let shown: usize = std::fs::read_to_string(&seen)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let next = shown.min(lab.hints.len() - 1);
    println!(
        "Hint {} of {} for lab {}: {}",
        next + 1,
        lab.hints.len(),
        lab.number,
        lab.hints[next]
    );
    if next + 1 < lab.hints.len() {
        println!(
            "(ask again for the next one, or `cargo xtask hint {} --all`)",
            lab.number
        );
    }
    if let Some(dir) = seen.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&seen, (next + 1).to_string())?;
    Ok(ExitCode::SUCCESS)
}

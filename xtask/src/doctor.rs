//! `cargo xtask doctor`: what the lab needs, found or not, and how to fix it.

use std::process::ExitCode;

use anstyle::AnsiColor;
use labkit::transcript::paint;

#[derive(clap::Args)]
pub struct Args {
    /// The port `cargo xtask lab` will serve on.
    #[arg(long, default_value_t = 8443)]
    port: u16,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let colour = crate::colour();
    let findings = labkit::doctor::run(args.port).await;
    for finding in &findings {
        let (mark, style) = if finding.ok {
            ("ok  ", AnsiColor::Green.on_default())
        } else {
            ("FAIL", AnsiColor::Red.on_default().bold())
        };
        let mark = paint(style, mark, colour);
        println!("{mark} {}: {}", finding.check, finding.found);
        if let Some(fix) = &finding.fix {
            println!("     fix: {fix}");
        }
    }
    let all_ok = findings.iter().all(|finding| finding.ok);
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

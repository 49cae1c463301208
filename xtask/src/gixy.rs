//! `cargo xtask gixy`: audit each stage's whole nginx configuration, as the harness writes it,
//! with gixy-ng (PyPI), an nginx auditor nobody on the team wrote.
//!
//! Stage 4, the hardened edge, must have no finding at all. The earlier stages keep the
//! problems that are their lesson, and exactly those: a finding that appears or disappears
//! there fails too, so the list below stays what the book says.

use std::collections::BTreeSet;
use std::process::{Command, ExitCode};

use anyhow::Context;

use crate::stages;

#[derive(clap::Args)]
pub struct Args {
    /// The gixy executable [default: $LAB_GIXY, else `gixy` on PATH].
    #[arg(long)]
    gixy: Option<String>,
}

/// What gixy finds in each stage's configuration, by plugin name: the stage's lesson.
const EXPECTED: &[(u8, &[&str])] = &[
    // The recipe's proxying: no HSTS, a version banner, and `Host $http_host` passed on.
    (2, &["host_spoofing", "hsts_header", "version_disclosure"]),
    // Stage 3 fixes the trust, not the edge: HSTS and the banner are stage 4's lesson.
    (3, &["hsts_header", "version_disclosure"]),
    // The hardened edge: nothing; and stage 5's, which adds mutual TLS to the app.
    (4, &[]),
    (5, &[]),
];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let gixy = args
        .gixy
        .or_else(|| std::env::var("LAB_GIXY").ok())
        .unwrap_or_else(|| "gixy".to_owned());
    let mut failed = false;
    for (number, expected) in EXPECTED {
        let stage = stages::reference(*number)?;
        let site = stage
            .site
            .with_context(|| format!("stage {number} has no nginx site"))?;
        let prefix = labkit::edge::write_config(site)
            .with_context(|| format!("writing stage {number}'s nginx.conf"))?;
        let conf = prefix.path().join("nginx.conf");
        let output = Command::new(&gixy)
            .args(["--format", "json"])
            .arg(&conf)
            .output()
            .map_err(|error| {
                anyhow::anyhow!(
                    "could not run `{gixy}` ({error}): install gixy-ng with `pip install gixy-ng==0.2.59`, or name it with --gixy / LAB_GIXY"
                )
            })?;
        let findings = findings(&output.stdout).with_context(|| {
            format!(
                "reading gixy's answer on stage {number} (exit {}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        let expected: BTreeSet<String> = expected.iter().map(|p| (*p).to_owned()).collect();
        let found: BTreeSet<String> = findings.iter().map(|(plugin, _)| plugin.clone()).collect();
        if found == expected {
            println!(
                "ok   stage {number}: {}",
                if found.is_empty() {
                    "no problems found".to_owned()
                } else {
                    format!("the lesson's problems, as expected: {}", join(&found))
                }
            );
        } else {
            failed = true;
            println!("FAIL stage {number}: gixy found {}", join(&found));
            for missing in expected.difference(&found) {
                println!("     expected but not found: {missing}");
            }
            for (plugin, summary) in findings.iter().filter(|(p, _)| !expected.contains(p)) {
                println!("     not expected: {plugin}: {summary}");
            }
            println!(
                "     (nginx/stage{number}.conf, in the frame the harness writes around it: crates/labkit/src/edge/config.rs)"
            );
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `(plugin, summary)` of each finding in gixy's JSON report.
fn findings(json: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    let report: Vec<serde_json::Value> = serde_json::from_slice(json)?;
    Ok(report
        .iter()
        .map(|finding| {
            let text = |key: &str| finding[key].as_str().unwrap_or_default().to_owned();
            (text("plugin"), text("summary"))
        })
        .collect())
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "nothing".to_owned()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::findings;

    #[test]
    fn gixy_reports_are_read_by_plugin() {
        let json = br#"[{"plugin": "hsts_header", "summary": "Missing HSTS header", "line": 3},
                        {"plugin": "host_spoofing", "summary": "The proxied Host header may be spoofed."}]"#;
        let found = findings(json).expect("a report");
        assert_eq!(
            found,
            [
                ("hsts_header".to_owned(), "Missing HSTS header".to_owned()),
                (
                    "host_spoofing".to_owned(),
                    "The proxied Host header may be spoofed.".to_owned()
                )
            ]
        );
        assert!(findings(b"[]").expect("an empty report").is_empty());
        assert!(findings(b"not json").is_err());
    }
}

//! `cargo xtask grade N`: run lab N's grading tests on the participant's code, as it is.
//!
//! A pass is remembered with what it was a pass of: the grade's test binary (cargo writes a
//! new one whenever the participant's code, a claim or an nginx config it includes changes),
//! the nginx and Redis images the claims ran against, and the lab's environment variables.
//! Grading the very same build again answers at once with that pass, saying so; `--again`
//! runs the claims anyway. A failure is never remembered: re-grading after one always runs
//! the claims (a flaky Docker should not stick).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::labs::{self, Lab};

#[derive(clap::Args)]
pub struct Args {
    /// The lab.
    lab: u8,
    /// Run the claims even when this very build already passed them.
    #[arg(long)]
    again: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lab = labs::find(args.lab)?;
    let root = crate::workspace_root();
    println!(
        "Grading lab {} ({}): `cargo test -p {}`\n",
        lab.number, lab.dir, lab.package
    );
    // Built first, on its own, to know which binary the claims are; a build error shows here.
    let Some(binary) = build(lab, &root)? else {
        return Ok(not_yet(lab));
    };
    let what = Graded::describe(&binary, lab.number >= 4).await;
    let record = record_path(&root, lab);
    if !args.again
        && let Some(what) = &what
        && let Some(passed_at) = Graded::passed_before(&record, what)
    {
        println!(
            "Nothing changed since this build of lab {} passed every claim of stage {} ({passed_at}).\nTo run the claims again anyway: `cargo xtask grade {} --again`.",
            lab.number, lab.number, lab.number
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Forget a pass before running: whatever happens next, it is no longer the last verdict.
    let _ = std::fs::remove_file(&record);
    let status = crate::cargo()
        .args(["test", "--quiet", "--package", lab.package])
        // A failing claim's message is the help; a backtrace per failure (RUST_BACKTRACE=1 in
        // the shell) buries it under hundreds of lines of the test runner's frames.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_TEST_THREADS", claims_at_once())
        .current_dir(&root)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        return Ok(not_yet(lab));
    }
    if let Some(what) = what {
        what.remember_pass(&record);
    }
    println!(
        "\nLab {} passes every claim of stage {}. Well done.",
        lab.number, lab.number
    );
    Ok(ExitCode::SUCCESS)
}

/// Claims a grade runs at once, unless `RUST_TEST_THREADS` says otherwise. The claims mostly
/// wait (for nginx's container to start, for a session's idle timeout or lifetime to pass:
/// lab 4 has four claims that wait 7 to 9 s each), so one per core, the test runner's
/// default, leaves a 2-core machine idle while a grade takes twice as long as it needs.
pub fn claims_at_once() -> String {
    std::env::var("RUST_TEST_THREADS").unwrap_or_else(|_| CLAIMS_AT_ONCE.to_string())
}

/// On 2 cores, lab 4 after a one-line edit: 44.7 s with the default 2 at once, 17.2-17.7 s
/// with 6 (its claims 13.5-14.6 s, four runs in a row without a failure).
const CLAIMS_AT_ONCE: usize = 6;

fn not_yet(lab: &Lab) -> ExitCode {
    println!(
        "\nNot yet: each failure above says what was observed and what was expected.\nStuck? `cargo xtask hint {}`",
        lab.number
    );
    ExitCode::FAILURE
}

/// Builds the lab's grade and returns its test binary, or `None` when the build failed (cargo
/// has shown why).
fn build(lab: &Lab, root: &Path) -> anyhow::Result<Option<PathBuf>> {
    let output = crate::cargo()
        .args(["test", "--no-run", "--quiet", "--package", lab.package])
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    if !output.status.success() {
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(test_binary(&stdout, lab.package))
}

/// The test executable cargo's JSON messages name for `package`.
fn test_binary(messages: &str, package: &str) -> Option<PathBuf> {
    let package = package.replace('-', "_");
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["kind"][0] == "test")
        .filter(|message| {
            message["package_id"]
                .as_str()
                .is_some_and(|id| id.replace('-', "_").contains(&package))
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// What a grade ran: one line per input that could change its verdict.
#[derive(Debug, PartialEq)]
struct Graded(String);

impl Graded {
    /// Describes a grade of `binary`, or `None` when it cannot be told (no Docker: the claims
    /// will say so themselves).
    async fn describe(binary: &Path, uses_redis: bool) -> Option<Graded> {
        let meta = std::fs::metadata(binary).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let nginx = labkit::images::nginx().await.ok()?;
        let mut lines = vec![
            format!("binary {}", binary.display()),
            format!("size {}", meta.len()),
            format!("modified {}", modified.as_nanos()),
            format!("nginx {nginx}"),
        ];
        if uses_redis {
            lines.push(format!("redis {}", labkit::images::redis().await.ok()?));
        }
        let mut lab_vars: Vec<String> = std::env::vars()
            .filter(|(name, _)| name.starts_with("LAB_"))
            .map(|(name, value)| format!("env {name}={value}"))
            .collect();
        lab_vars.sort();
        lines.extend(lab_vars);
        Some(Graded(lines.join("\n")))
    }

    /// When this very grade last passed, if it did.
    fn passed_before(record: &Path, what: &Graded) -> Option<String> {
        let text = std::fs::read_to_string(record).ok()?;
        let (when, described) = text.split_once('\n')?;
        (described == what.0).then(|| when.trim_start_matches("passed ").to_owned())
    }

    fn remember_pass(&self, record: &Path) {
        let when = time_of_day_utc();
        if let Some(dir) = record.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(record, format!("passed {when}\n{}", self.0));
    }
}

/// The time of day, for "passed at": `14:03:27 UTC`.
fn time_of_day_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    format!(
        "at {:02}:{:02}:{:02} UTC",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn record_path(root: &Path, lab: &Lab) -> PathBuf {
    root.join("target")
        .join("lab-grades")
        .join(format!("lab{}.passed", lab.number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_remembered_for_exactly_what_passed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let record = dir.path().join("lab3.passed");
        let built = Graded("binary /t/grade-1\nsize 10\nmodified 5\nnginx n:1\nredis r:1".into());
        assert_eq!(Graded::passed_before(&record, &built), None, "nothing yet");
        built.remember_pass(&record);
        assert!(Graded::passed_before(&record, &built).is_some());
        for changed in [
            "binary /t/grade-2\nsize 10\nmodified 5\nnginx n:1\nredis r:1",
            "binary /t/grade-1\nsize 10\nmodified 6\nnginx n:1\nredis r:1",
            "binary /t/grade-1\nsize 10\nmodified 5\nnginx n:2\nredis r:1",
            "binary /t/grade-1\nsize 10\nmodified 5\nnginx n:1\nredis r:1\nenv LAB_BACKEND=native",
        ] {
            assert_eq!(
                Graded::passed_before(&record, &Graded(changed.into())),
                None,
                "a pass must not stand for another build or environment: {changed:?}"
            );
        }
    }

    #[test]
    fn the_grade_binary_is_found_in_cargos_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/labs/lab3-trust#0.1.0","target":{"kind":["lib"]},"executable":null}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/labs/lab3-trust#lab3-trust@0.1.0","target":{"kind":["test"]},"executable":"/w/target/debug/deps/grade-abc"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            test_binary(&messages, "lab3-trust"),
            Some(PathBuf::from("/w/target/debug/deps/grade-abc"))
        );
        assert_eq!(test_binary(&messages, "lab4-hardening"), None);
    }
}

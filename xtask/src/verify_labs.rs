//! `cargo xtask verify-labs`: every starter fails the way its table entry says, every solution
//! passes, and every common mistake gets its message. All of it runs in a temporary copy of
//! the workspace: the participant's files are never touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::labs::{self, LABS, Lab};

#[derive(clap::Args)]
pub struct Args {
    /// Only this lab.
    lab: Option<u8>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = crate::workspace_root();
    let copy = tempfile::Builder::new()
        .prefix("verify-labs-")
        .tempdir()
        .context("a temporary directory")?;
    copy_tree(&root, copy.path()).context("copying the workspace")?;
    // The workspace's own target directory: the copy's crates have other paths, so nothing
    // of the real build is overwritten, and the dependencies are already built.
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let mut failures = Vec::new();
    for lab in LABS
        .iter()
        .filter(|lab| args.lab.is_none_or(|n| n == lab.number))
    {
        if let Err(error) = verify(lab, copy.path(), &target) {
            println!("✘ lab {}: {error:#}", lab.number);
            failures.push(lab.number);
        }
    }
    if failures.is_empty() {
        println!(
            "\nverify-labs: every starter fails as expected, every solution passes, every mistake is named."
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\nverify-labs: labs {failures:?} are not right (see above).");
        Ok(ExitCode::FAILURE)
    }
}

fn verify(lab: &Lab, workspace: &Path, target: &Path) -> anyhow::Result<()> {
    let dir = workspace.join(lab.dir);
    let originals = lab
        .edits
        .iter()
        .map(|file| Ok((*file, std::fs::read(dir.join(file))?)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("reading the starter")?;

    let starter = grade(lab, workspace, target)?;
    let missing: Vec<_> = lab
        .starter_fails
        .iter()
        .filter(|t| !starter.failed.contains(**t))
        .collect();
    if starter.passed || !missing.is_empty() {
        bail!(
            "the starter should fail {missing:?}, but failed only {:?}",
            starter.failed
        );
    }
    println!(
        "✔ lab {} starter fails {} test(s) as it should ({:.0} s): {:?}",
        lab.number,
        starter.failed.len(),
        starter.seconds,
        starter.failed
    );

    lay_over(&dir.join("solution"), &dir)?;
    let solution = grade(lab, workspace, target)?;
    if !solution.passed {
        bail!(
            "the solution should pass, but fails {:?}\n{}",
            solution.failed,
            solution.output
        );
    }
    println!(
        "✔ lab {} solution passes ({:.0} s)",
        lab.number, solution.seconds
    );

    for mistake in lab.mistakes {
        lay_over(&dir.join("solution"), &dir)?;
        lay_over(&dir.join("mistakes").join(mistake.name), &dir)?;
        let graded = grade(lab, workspace, target)?;
        if !graded.failed.contains(mistake.fails) || !graded.output.contains(mistake.message) {
            bail!(
                "mistake `{}` should fail {} with a message containing {:?}; failed {:?}",
                mistake.name,
                mistake.fails,
                mistake.message,
                graded.failed
            );
        }
        println!(
            "✔ lab {} mistake `{}` fails {} and says {:?}",
            lab.number, mistake.name, mistake.fails, mistake.message
        );
    }

    for (file, contents) in originals {
        std::fs::write(dir.join(file), contents)?;
    }
    Ok(())
}

struct Graded {
    passed: bool,
    failed: BTreeSet<String>,
    output: String,
    seconds: f64,
}

fn grade(lab: &Lab, workspace: &Path, target: &Path) -> anyhow::Result<Graded> {
    let started = Instant::now();
    let output = crate::cargo()
        .args(["test", "--no-fail-fast", "--package", lab.package])
        .env("RUST_BACKTRACE", "0")
        .env("RUST_TEST_THREADS", crate::grade::claims_at_once())
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .context("running cargo test")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let failed = text
        .lines()
        .filter_map(|line| line.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        // `plain_http::sessions_work_over_plain_http`: the claim's name is the last part.
        .map(|name| name.rsplit("::").next().unwrap_or(name).to_owned())
        .collect();
    Ok(Graded {
        passed: output.status.success(),
        failed,
        output: text,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Copies every file of `from` over `to`, mapped by [`labs::target_of`].
fn lay_over(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        std::fs::copy(entry.path(), to.join(labs::target_of(&name)))?;
    }
    Ok(())
}

/// Copies the workspace without `target/` and `.git/`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (source, dest): (PathBuf, PathBuf) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &dest)?;
        } else {
            std::fs::copy(&source, &dest)?;
        }
    }
    Ok(())
}

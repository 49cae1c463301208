//! Every `cargo xtask ...` the book tells a reader to type is a command the xtask accepts.
//!
//! No list of commands is kept here: each distinct command line is handed to the xtask itself
//! with `--help` appended. clap rejects an unknown subcommand or flag (exit 2) before it gets
//! to `--help`, and prints help (exit 0) for one it knows, without running anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::findings::{Finding, Rule, markdown_files};

/// How to run the xtask.
#[derive(Clone, Debug)]
pub enum Xtask {
    /// A built xtask binary (what `cargo xtask book` passes: itself).
    Binary(PathBuf),
    /// `cargo run --quiet --package xtask --` in this workspace.
    Cargo {
        /// The workspace root.
        workspace: PathBuf,
    },
}

impl Xtask {
    /// Builds the xtask once, so that a build failure is reported as one error and not as
    /// every command being rejected.
    pub fn prepare(&self) -> std::io::Result<()> {
        let Xtask::Cargo { workspace } = self else {
            return Ok(());
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "--quiet", "--package", "xtask"])
            .stdin(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "`cargo build --package xtask` failed ({status}): the book's `cargo xtask` commands cannot be checked until the xtask builds"
            )))
        }
    }

    /// Runs `args` followed by `--help`; `Err` holds why the xtask refused them.
    pub fn accepts(&self, args: &[String]) -> Result<(), String> {
        let mut command = match self {
            Xtask::Binary(path) => Command::new(path),
            Xtask::Cargo { workspace } => {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let mut command = Command::new(cargo);
                command
                    .current_dir(workspace)
                    .args(["run", "--quiet", "--package", "xtask", "--"]);
                command
            }
        };
        let output = command
            .args(args)
            .arg("--help")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("could not run the xtask: {error}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .find(|line| line.starts_with("error"))
            .or_else(|| stderr.lines().find(|line| !line.trim().is_empty()))
            .unwrap_or("no message")
            .trim()
            .to_owned();
        Err(format!("{reason} ({})", output.status))
    }
}

/// A token that stands for a value the reader chooses (`N`, `<stage>`): checked as `1`.
fn is_placeholder(token: &str) -> bool {
    (token.starts_with('<') && token.ends_with('>'))
        || (!token.is_empty() && token.chars().all(|c| c.is_ascii_uppercase()))
}

/// The arguments after each `cargo xtask` on `line`: the words up to the end of a code span,
/// a shell comment or operator, or prose punctuation. `None` for a bare `cargo xtask` or one
/// followed by a placeholder for the command itself (`cargo xtask <command>`).
pub fn commands_in(line: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("cargo xtask") {
        let rest = &line[at + "cargo xtask".len()..];
        let rest = rest.split('`').next().unwrap_or("");
        let mut args = Vec::new();
        for word in rest.split_whitespace() {
            let trimmed = word.trim_end_matches(['.', ',', ':', ';', ')']);
            let ok = trimmed
                .chars()
                // A comma inside a word is a list value (`--rows a,b`); at its end, prose.
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,".contains(c));
            if !(is_placeholder(trimmed) || ok && !trimmed.is_empty()) {
                break;
            }
            args.push(trimmed.to_owned());
            if trimmed.len() != word.len() {
                break;
            }
        }
        match args.first() {
            None => {}
            Some(first) if is_placeholder(first) || first.starts_with('-') => {}
            Some(_) => found.push(
                args.into_iter()
                    .map(|arg| {
                        if is_placeholder(&arg) {
                            "1".to_owned()
                        } else {
                            arg
                        }
                    })
                    .collect(),
            ),
        }
    }
    found
}

/// Checks every `cargo xtask` command line written in the book's sources (`src`), running the
/// xtask once per distinct command line.
pub fn check(src: &Path, xtask: &Xtask) -> std::io::Result<Vec<Finding>> {
    // Command line -> every place it is written.
    let mut written: BTreeMap<Vec<String>, Vec<(PathBuf, usize)>> = BTreeMap::new();
    for chapter in markdown_files(src)? {
        let text = std::fs::read_to_string(&chapter)?;
        for (index, line) in text.lines().enumerate() {
            for args in commands_in(line) {
                written
                    .entry(args)
                    .or_default()
                    .push((chapter.clone(), index + 1));
            }
        }
    }
    xtask.prepare()?;
    let mut findings = Vec::new();
    for (args, places) in written {
        if let Err(reason) = xtask.accepts(&args) {
            let shown = format!("cargo xtask {}", args.join(" "));
            for (file, line) in places {
                findings.push(Finding::new(
                    &file,
                    line,
                    Rule::XtaskCommand,
                    format!("`{shown}` is not a command the xtask accepts: {reason}"),
                    "write a command from `cargo xtask --help` (placeholders such as N are checked as 1), or add the command to xtask/src/main.rs",
                ));
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lists: &[&[&str]]) -> Vec<Vec<String>> {
        lists
            .iter()
            .map(|list| list.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn a_comma_inside_a_word_is_a_list_value() {
        assert_eq!(
            commands_in("`cargo xtask bench --rows stage4-sqlite,stage5-sqlite`, then"),
            strings(&[&["bench", "--rows", "stage4-sqlite,stage5-sqlite"]])
        );
        assert_eq!(
            commands_in("run cargo xtask lab 1, then"),
            strings(&[&["lab", "1"]])
        );
    }

    #[test]
    fn command_lines_end_where_the_command_ends() {
        assert_eq!(
            commands_in("Run `cargo xtask lab 2`."),
            strings(&[&["lab", "2"]])
        );
        assert_eq!(
            commands_in("cargo xtask lab N --once   # then Ctrl-C"),
            strings(&[&["lab", "1", "--once"]])
        );
        assert_eq!(
            commands_in("run cargo xtask doctor, then cargo xtask images."),
            strings(&[&["doctor"], &["images"]])
        );
        assert_eq!(
            commands_in("cargo xtask lab 3 --backend native && echo ok"),
            strings(&[&["lab", "3", "--backend", "native"]])
        );
        assert!(commands_in("`cargo xtask <command>` and `cargo xtask`").is_empty());
    }
}

//! A cargo command for a child build, clean of what `cargo run` set for this process.
//!
//! Compiled twice, by the xtask and by the bench (`#[path]` in crates/lab-bench/src/main.rs):
//! both start cargo from a process cargo started.

/// A `cargo` command for a child build, without the package variables that `cargo run` gave
/// this process (`CARGO_PKG_*`, `CARGO_MANIFEST_*`, ...). ring's build script reruns when they
/// change, which rebuilt rustls, reqwest, testcontainers and bollard (30-60 s) on every grade.
pub fn cargo() -> std::process::Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_package_variable) {
            command.env_remove(name);
        }
    }
    command
}

/// Whether `name` is one of the variables cargo sets for the package it runs.
fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || name.starts_with("CARGO_BIN_EXE_")
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` runs this test with the package variables set, as `cargo run` runs the
    /// xtask: every one of them must be removed from a child cargo's environment.
    #[test]
    fn child_cargo_commands_drop_the_package_variables() {
        let inherited: Vec<String> = std::env::vars()
            .map(|(name, _)| name)
            .filter(|name| is_package_variable(name))
            .collect();
        assert!(
            inherited.iter().any(|name| name == "CARGO_PKG_NAME"),
            "cargo sets CARGO_PKG_NAME for tests; saw {inherited:?}"
        );
        let command = cargo();
        let removed: Vec<String> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .filter_map(|(name, _)| name.to_str().map(str::to_owned))
            .collect();
        for name in &inherited {
            assert!(
                removed.contains(name),
                "{name} is passed on to child cargo commands"
            );
        }
        for kept in ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_TERM_COLOR"] {
            assert!(!is_package_variable(kept), "{kept} must be passed on");
        }
    }
}

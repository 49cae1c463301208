//! Checks of what the lab needs, each with what to do when it is missing.

use std::net::TcpListener;
use std::process::Command;

use testcontainers::core::client::docker_client_instance;

use crate::edge::native_nginx_binary;
use crate::error::{LabError, Result};
use crate::images::{self, ImageSpec, Origin};

/// One finding.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// Whether the lab can go ahead.
    pub ok: bool,
    /// What was found.
    pub found: String,
    /// What to do, when something is wrong.
    pub fix: Option<String>,
}

/// The Docker engine's version, if it answers.
pub async fn docker_version() -> Result<String> {
    let docker = docker_client_instance()
        .await
        .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
    let version = docker
        .version()
        .await
        .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
    Ok(version.version.unwrap_or_else(|| "unknown version".into()))
}

/// Runs every check; `port` is the port `cargo xtask lab` serves on.
pub async fn run(port: u16) -> Vec<Finding> {
    let mut findings = Vec::new();
    let docker = docker_version().await;
    findings.push(match &docker {
        Ok(version) => ok("Docker engine", format!("answers (version {version})")),
        Err(error) => problem(
            "Docker engine",
            error.to_string(),
            "start Docker (Debian: `apt-get install docker.io && dockerd &`), or run the lab on the host's nginx: `cargo xtask lab N --backend native`",
        ),
    });
    if docker.is_ok() {
        findings.push(image_finding(&images::NGINX).await);
        findings.push(image_finding(&images::REDIS).await);
    }
    findings.push(host_nginx());
    findings.push(match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => ok(&format!("port {port}"), "free".into()),
        Err(error) => problem(
            &format!("port {port}"),
            error.to_string(),
            "stop whatever uses it (another `cargo xtask lab`?), or pick another: `cargo xtask lab N --port 0`",
        ),
    });
    findings
}

async fn image_finding(spec: &ImageSpec) -> Finding {
    let check = format!("{} image", spec.what);
    match images::choose(spec).await {
        Ok(image) if image.origin == Origin::Pull => problem(
            &check,
            format!(
                "{image}: not present, and the host has no {} to build one from",
                spec.binaries[0]
            ),
            &format!(
                "with a registry: `docker pull {}`; offline: `apt-get install {}` then `cargo xtask images`; or set {}",
                spec.official, spec.package, spec.env_var
            ),
        ),
        Ok(image) => ok(&check, image.to_string()),
        Err(error) => problem(&check, error.to_string(), "see the message above"),
    }
}

fn host_nginx() -> Finding {
    let binary = native_nginx_binary();
    match Command::new(&binary).arg("-v").output() {
        Ok(out) => ok(
            "host nginx (native backend)",
            format!(
                "{}: {}",
                binary.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ),
        Err(_) => Finding {
            check: "host nginx (native backend)".into(),
            // Only needed without Docker, so its absence is not a failure.
            ok: true,
            found: format!("none at {}", binary.display()),
            fix: Some("optional: install nginx to run the lab without Docker".into()),
        },
    }
}

fn ok(check: &str, found: String) -> Finding {
    Finding {
        check: check.into(),
        ok: true,
        found,
        fix: None,
    }
}

fn problem(check: &str, found: String, fix: &str) -> Finding {
    Finding {
        check: check.into(),
        ok: false,
        found,
        fix: Some(fix.into()),
    }
}

//! The host's own nginx in a temporary prefix: the lab on a laptop without Docker.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Edge, EdgeSpec, Logs, Running, Upstream, native_site, render_main};
use crate::error::{LabError, Result};

/// The nginx binary: `LAB_NGINX_BIN`, else Debian's path, else the first `nginx` on `PATH`.
pub fn nginx_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LAB_NGINX_BIN") {
        return path.into();
    }
    let debian = PathBuf::from("/usr/sbin/nginx");
    if debian.exists() {
        return debian;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.exists())
        .unwrap_or(debian)
}

/// A running nginx master process; stopped (with its workers) on drop.
pub(crate) struct Process {
    child: Child,
    _prefix: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; killing it outright would orphan them
        // on the listening ports.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) async fn start(spec: EdgeSpec<'_>) -> Result<Edge> {
    let binary = nginx_binary();
    if !binary.exists() {
        return Err(LabError::NoNginxBinary(binary));
    }
    let https_port = match spec.https_port {
        Some(port) => port,
        None => free_port()?,
    };
    let http_port = free_port()?;
    let site = native_site(spec.site, https_port, http_port);
    let prefix = write_prefix(&spec, site, https_port)?;
    let root = prefix.path();
    let mut child = Command::new(&binary)
        .arg("-p")
        .arg(root)
        .args(["-e", "stderr", "-c"])
        .arg(root.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(LabError::io(format!("starting {}", binary.display())))?;
    let logs = Logs::default();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(|line| line.ok()) {
                sink.push(&line);
                sink.push("\n");
            }
        });
    }
    let process = Process {
        child,
        _prefix: prefix,
    };
    wait_ready(process, &logs).await.map(|running| Edge {
        running: Running::Native(running),
        network: None,
        https_port,
        http_port,
        app_sees: IpAddr::V4(Ipv4Addr::LOCALHOST),
        sees_clients_as: IpAddr::V4(Ipv4Addr::LOCALHOST),
        logs,
    })
}

/// A temporary prefix holding `nginx.conf` (the frame, for the host's nginx) and the lab's
/// files, with `site` as `lab/site.conf`.
fn write_prefix(spec: &EdgeSpec<'_>, site: String, https_port: u16) -> Result<tempfile::TempDir> {
    let prefix = tempfile::Builder::new()
        .prefix("lab-nginx-")
        .tempdir()
        .map_err(LabError::io("creating a prefix for nginx"))?;
    let root = prefix.path();
    let upstreams: Vec<String> = match &spec.upstream {
        Upstream::App(ports) => ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect(),
        Upstream::Edge { host_port, .. } => vec![format!("127.0.0.1:{host_port}")],
    };
    // As root, nginx drops its workers to `nobody`; as anyone else the directive is an error.
    let user = if is_root() {
        "user nobody nogroup;"
    } else {
        ""
    };
    let scratch = root.display().to_string();
    let main = render_main(user, &scratch, &upstreams, https_port);
    let files = std::iter::once(("nginx.conf", main)).chain(spec.lab_files(site));
    std::fs::create_dir_all(root.join("lab")).map_err(LabError::io("creating the nginx prefix"))?;
    for (name, contents) in files {
        std::fs::write(root.join(name), contents)
            .map_err(LabError::io(format!("writing {name} for nginx")))?;
    }
    Ok(prefix)
}

/// Writes `site` in the lab's frame into a temporary folder, as the native backend runs it
/// but with the site as written (`listen 443` kept): `nginx.conf` beside the lab's files, with
/// the lab's certificates, an app upstream on 127.0.0.1 and a public HTTPS port of 443. For
/// checking the whole configuration nginx would run (`nginx -t`, gixy).
pub fn write_config(site: &str) -> Result<tempfile::TempDir> {
    let spec = EdgeSpec {
        site,
        certs: crate::certs::LabCerts::shared()?,
        upstream: Upstream::App(vec![9]),
        https_port: Some(443),
        network: None,
        internal: None,
    };
    write_prefix(&spec, site.to_owned(), 443)
}

/// Runs the host's nginx with `-t` on `site` in the lab's frame (with the lab's certificates,
/// an app upstream on 127.0.0.1 and a public HTTPS port of 443) and returns what nginx said
/// when it accepted the config, or [`LabError::NginxFailed`] with its complaint.
///
/// The site is checked as written: its `listen 443`/`listen 80` are not rewritten (`-t`
/// binds nothing).
pub fn check_config(site: &str) -> Result<String> {
    let binary = nginx_binary();
    if !binary.exists() {
        return Err(LabError::NoNginxBinary(binary));
    }
    let prefix = write_config(site)?;
    let root = prefix.path();
    let output = Command::new(&binary)
        .arg("-t")
        .arg("-p")
        .arg(root)
        .args(["-e", "stderr", "-c"])
        .arg(root.join("nginx.conf"))
        .stdin(Stdio::null())
        .output()
        .map_err(LabError::io(format!("running {} -t", binary.display())))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(said)
    } else {
        Err(LabError::NginxFailed {
            reason: format!("`{} -t` exited with {}", binary.display(), output.status),
            logs: said,
        })
    }
}

async fn wait_ready(mut process: Process, logs: &Logs) -> Result<Process> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if logs.contains("start worker process") {
            return Ok(process);
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            // Let the reader threads catch the last lines.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Err(LabError::NginxFailed {
                reason: format!("nginx exited with {status}"),
                logs: logs.text(),
            });
        }
        if Instant::now() > deadline {
            return Err(LabError::NginxFailed {
                reason: "nginx was not ready after 10 s".into(),
                logs: logs.text(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port that was free a moment ago. nginx (or Docker, publishing a container's port)
/// binds it itself, so another program could take it in between; that race is rare enough for a
/// lab and fails loudly when it happens.
pub(super) fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| LabError::Bind {
            addr: "127.0.0.1:0".into(),
            source,
        })
}

fn is_root() -> bool {
    // `id -u` avoids an unsafe libc call for a fact we need once per start.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

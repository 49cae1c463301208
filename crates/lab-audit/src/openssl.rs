//! `openssl s_client` as a witness of what a server's TLS accepts: Debian's OpenSSL can still
//! offer what a modern client refuses to (TLS 1.0, RSA key exchange, CBC suites), so a refusal
//! seen with it is the server's. Used by the audit, stage 4's edge claims and lab 2's grade.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of `openssl` printed.
pub struct OpenSsl {
    /// The command line, for messages.
    pub command: String,
    /// How it ended.
    pub status: String,
    /// What it printed.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl OpenSsl {
    /// `(protocol, suite)` from s_client's `New, TLSv1.2, Cipher is ...` line, if the
    /// handshake finished.
    pub fn negotiated(&self) -> Option<(String, String)> {
        let line = self.stdout.lines().find(|l| l.starts_with("New, "))?;
        let (protocol, suite) = line.strip_prefix("New, ")?.split_once(", Cipher is ")?;
        (protocol != "(NONE)").then(|| (protocol.to_owned(), suite.trim().to_owned()))
    }

    /// Whether the client sent a ClientHello for `version` (`-msg`: `>>> TLS 1.0, Handshake
    /// [...], ClientHello`): the client really tried.
    pub fn offered(&self, version: &str) -> bool {
        self.stdout.lines().any(|l| {
            l.starts_with(&format!(">>> {version}, Handshake")) && l.ends_with("ClientHello")
        })
    }

    /// The alert the server sent (`-msg`: `<<< TLS 1.2, Alert [...], fatal handshake_failure`).
    pub fn server_alert(&self) -> Option<&str> {
        self.stdout
            .lines()
            .find(|l| l.starts_with("<<< ") && l.contains(", Alert "))
            .and_then(|l| l.rsplit(", ").next())
    }

    /// Whether the server's certificate chain verified against the given CA.
    pub fn verified(&self) -> bool {
        self.stdout.contains("Verify return code: 0 (ok)")
    }
}

impl std::fmt::Display for OpenSsl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let handshake: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| {
                l.starts_with(">>> ")
                    || l.starts_with("<<< ")
                    || l.starts_with("New, ")
                    || l.contains("Verify return code")
            })
            .collect();
        write!(
            f,
            "\n--- `{}` ({}) ---\n{}\n{}",
            self.command,
            self.status,
            handshake.join("\n"),
            self.stderr.trim()
        )
    }
}

/// Runs `openssl args...` with stdin closed and a deadline, off the async runtime. A missing
/// `openssl` panics: the lab's TLS claims need a client that still speaks old TLS.
pub async fn openssl(args: Vec<String>) -> OpenSsl {
    try_openssl(args)
        .await
        .unwrap_or_else(|missing| panic!("{missing}"))
}

/// [`openssl`], with a missing binary as an error that says how to install it.
pub async fn try_openssl(args: Vec<String>) -> Result<OpenSsl, String> {
    tokio::task::spawn_blocking(move || run_openssl(&args, Duration::from_secs(20)))
        .await
        .map_err(|e| format!("the openssl runner failed: {e}"))?
}

/// `openssl s_client -msg` to `connect` (`host:port`) with SNI `server_name`, trusting `ca`
/// (a file) when given, with `options` first (`-tls1`, `-cipher ...`).
pub async fn s_client(
    connect: &str,
    server_name: &str,
    ca: Option<&std::path::Path>,
    options: &[&str],
) -> Result<OpenSsl, String> {
    let mut args: Vec<String> = vec!["s_client".into()];
    args.extend(options.iter().map(|o| o.to_string()));
    args.extend([
        "-msg".into(),
        "-servername".into(),
        server_name.into(),
        "-connect".into(),
        connect.into(),
    ]);
    if let Some(ca) = ca {
        args.extend(["-CAfile".into(), ca.display().to_string()]);
    }
    try_openssl(args).await
}

fn run_openssl(args: &[String], deadline: Duration) -> Result<OpenSsl, String> {
    let command = format!("openssl {}", args.join(" "));
    let mut child = match Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "`openssl` is not installed, and these TLS claims need it as the client: \
                 `apt-get install openssl` ({error})"
            ));
        }
        Err(error) => return Err(format!("could not run `{command}`: {error}")),
    };
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|stream| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if started.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("killed after {deadline:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => break format!("could not wait for it: {error}"),
        }
    };
    let [stdout, stderr] = readers.map(|reader| reader.join().unwrap_or_default());
    Ok(OpenSsl {
        command,
        status,
        stdout,
        stderr,
    })
}

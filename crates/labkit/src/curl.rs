//! The real `curl` against a running lab, for the book's "Try the attack" parts: the command
//! line a reader can type, and the answer it printed, with what changes from run to run (ports,
//! the lab network's addresses, dates, session ids) replaced by placeholders, so that a
//! committed copy of the output can be compared with a fresh run.
//!
//! ```no_run
//! # async fn example(lab: &labkit::Lab) {
//! use labkit::curl::{Curl, Target};
//! let run = Curl::new(Target::Nginx, "/me")
//!     .header("X-Forwarded-For: 203.0.113.66")
//!     .run(lab)
//!     .await;
//! println!("{}", run.transcript());
//! # }
//! ```

use crate::Lab;
use crate::certs::LAB_HOST;
use crate::redact::Normaliser;

/// Where curl sends the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The public origin: `https://app.lab.test:PORT`, through nginx, trusting the lab's CA.
    Nginx,
    /// Straight to the app's own port on 127.0.0.1 over plain HTTP, around nginx, as someone
    /// who can reach the app's port would.
    AroundNginx,
}

/// One curl command, built from the arguments it will run with.
#[derive(Clone, Debug)]
pub struct Curl {
    target: Target,
    path: String,
    args: Vec<String>,
    secrets: Vec<(String, String)>,
}

impl Curl {
    /// `curl -sS -i` (silent, errors shown, headers printed) for `path` on `target`.
    pub fn new(target: Target, path: &str) -> Curl {
        Curl {
            target,
            path: path.to_owned(),
            args: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// `-H 'line'`.
    pub fn header(mut self, line: &str) -> Curl {
        self.args.push("-H".to_owned());
        self.args.push(line.to_owned());
        self
    }

    /// `--data-urlencode 'field'` (makes it a form POST).
    pub fn form(mut self, field: &str) -> Curl {
        self.args.push("--data-urlencode".to_owned());
        self.args.push(field.to_owned());
        self
    }

    /// `-X METHOD`.
    pub fn method(mut self, method: &str) -> Curl {
        self.args.push("-X".to_owned());
        self.args.push(method.to_owned());
        self
    }

    /// Shows `value` (a session id, say) as `placeholder` in the command and the answer.
    pub fn redact(mut self, value: &str, placeholder: &str) -> Curl {
        if !value.is_empty() {
            self.secrets
                .push((value.to_owned(), placeholder.to_owned()));
        }
        self
    }

    /// Runs the real `curl` against `lab`.
    ///
    /// # Panics
    ///
    /// When `curl` is not installed (with how to install it), or it cannot be run, or it gets
    /// no HTTP answer: the book's outputs come from real runs, so a missing curl fails the
    /// claim, never skips it.
    pub async fn run(self, lab: &Lab) -> CurlRun {
        let ca = crate::openssl::ca_file(lab);
        let ca_path = ca.path().display().to_string();
        let mut args: Vec<String> = vec!["-sS".into(), "-i".into()];
        let url = match self.target {
            Target::Nginx => {
                let port = lab
                    .front()
                    .map(|edge| edge.https_port())
                    .expect("a stage with nginx in front");
                args.extend([
                    "--resolve".into(),
                    format!("{LAB_HOST}:{port}:127.0.0.1"),
                    "--cacert".into(),
                    ca_path.clone(),
                ]);
                format!("https://{LAB_HOST}:{port}{}", self.path)
            }
            Target::AroundNginx => format!("http://{}{}", lab.app_addr(), self.path),
        };
        args.extend(self.args.iter().cloned());
        args.push(url);

        let output = tokio::process::Command::new("curl")
            .args(&args)
            .output()
            .await
            .unwrap_or_else(|error| {
                if error.kind() == std::io::ErrorKind::NotFound {
                    panic!(
                        "curl is not installed, and the book's \"Try the attack\" outputs come \
                         from running it: install it (Debian/Ubuntu: `apt-get install -y curl`; \
                         macOS: it ships with the system)"
                    )
                }
                panic!("could not run curl: {error}")
            });
        let raw = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let normaliser = Normaliser::for_lab(lab, &ca_path, &self.secrets);
        let shown: Vec<String> = args
            .iter()
            .map(|arg| shell_quote(&normaliser.apply(arg)))
            .collect();
        let command = format!("curl {}", shown.join(" "));
        // Every attack gets an HTTP answer, refused or not: a failed curl (no connection, a TLS
        // error) is the lab's problem, not an outcome.
        assert!(
            output.status.success(),
            "`{command}` failed ({}): {stderr}{}",
            output.status,
            lab.report()
        );
        let answer = normaliser.apply_answer(&raw);
        CurlRun {
            command,
            answer,
            raw,
            stderr,
            exit: output.status.code(),
        }
    }
}

/// What one run of curl printed.
#[derive(Clone, Debug)]
pub struct CurlRun {
    /// The command line as a reader would type it, with placeholders.
    pub command: String,
    /// The answer (status line, headers, body), with placeholders.
    pub answer: String,
    /// The answer exactly as curl printed it (line ends made `\n`).
    pub raw: String,
    /// What curl printed on stderr.
    pub stderr: String,
    /// curl's exit code.
    pub exit: Option<i32>,
}

impl CurlRun {
    /// `$ curl ...`, then the answer: what the book shows.
    pub fn transcript(&self) -> String {
        format!("$ {}\n{}", self.command, self.answer.trim_end())
            .trim_end()
            .to_owned()
            + "\n"
    }

    /// The answer's status code (the last status line: curl prints one per response).
    pub fn status(&self) -> Option<u16> {
        self.raw
            .lines()
            .rfind(|line| line.starts_with("HTTP/"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
    }

    /// Every value of the header `name` (case-insensitive), raw.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.head()
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The first value of the header `name`, raw.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// The body, raw.
    pub fn body(&self) -> &str {
        self.raw.split_once("\n\n").map_or("", |(_, body)| body)
    }

    /// The body as JSON, with what curl printed when it is not.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(self.body()).unwrap_or_else(|error| {
            panic!(
                "`{}` did not answer the expected JSON ({error}); curl printed:\n{}{}",
                self.command, self.raw, self.stderr
            )
        })
    }

    fn head(&self) -> &str {
        self.raw
            .split_once("\n\n")
            .map_or(&self.raw, |(head, _)| head)
    }
}

/// Single quotes around an argument that the shell would otherwise split or expand.
fn shell_quote(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain && !arg.is_empty() {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("-sS"), "-sS");
        assert_eq!(
            shell_quote("X-Forwarded-For: 203.0.113.66"),
            "'X-Forwarded-For: 203.0.113.66'"
        );
        assert_eq!(shell_quote("Cookie: <id>"), "'Cookie: <id>'");
    }
}

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

use std::net::IpAddr;

use crate::Lab;
use crate::certs::LAB_HOST;

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

/// Replaces what varies from run to run with placeholders.
struct Normaliser {
    /// (text, placeholder), applied in order: longer, more specific values first.
    literal: Vec<(String, String)>,
    /// Addresses replaced only as whole tokens (`10.1.2.1` must not match in `10.1.2.13`).
    addresses: Vec<(String, &'static str)>,
    /// Port numbers replaced only after a `:`, as whole tokens.
    ports: Vec<(String, &'static str)>,
}

impl Normaliser {
    fn for_lab(lab: &Lab, ca_path: &str, secrets: &[(String, String)]) -> Normaliser {
        let mut literal: Vec<(String, String)> = secrets.to_vec();
        // Where `cargo xtask lab` keeps the CA, so that a reader can paste the command.
        literal.push((ca_path.to_owned(), "target/lab-ca/ca.pem".to_owned()));
        let mut addresses = Vec::new();
        let mut ports = Vec::new();
        let mut push_address = |ip: IpAddr, name: &'static str| {
            let text = ip.to_string();
            if text != "127.0.0.1" && !addresses.iter().any(|(t, _)| *t == text) {
                addresses.push((text, name));
            }
        };
        if let Some(edge) = lab.edge() {
            push_address(edge.address_seen_by_app(), "<nginx>");
        }
        push_address(lab.client_address(), "<gateway>");
        for addr in lab.app_listen_addrs() {
            push_address(addr.ip(), "<gateway>");
        }
        if let Some(front) = lab.front() {
            ports.push((front.https_port().to_string(), "<port>"));
            ports.push((front.http_port().to_string(), "<http-port>"));
        }
        ports.push((lab.app_addr().port().to_string(), "<app-port>"));
        Normaliser {
            literal,
            addresses,
            ports,
        }
    }

    /// For a command-line argument.
    fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (value, placeholder) in &self.literal {
            text = text.replace(value, placeholder);
        }
        for (address, placeholder) in &self.addresses {
            text = replace_token(&text, address, placeholder, |_| true);
        }
        for (port, placeholder) in &self.ports {
            text = replace_token(&text, port, placeholder, |before| before == Some(':'));
        }
        text
    }

    /// For the answer: also dates, cookie ids, nginx's version, body lengths and the
    /// ephemeral ports of peers.
    fn apply_answer(&self, answer: &str) -> String {
        let text = self.apply(answer);
        let mut lines = Vec::new();
        let mut in_head = true;
        for line in text.split('\n') {
            if line.is_empty() {
                in_head = false;
            }
            if !in_head {
                lines.push(ephemeral_ports(line));
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                lines.push(line.to_owned());
                continue;
            };
            let value = match name.to_ascii_lowercase().as_str() {
                "date" => " <date>".to_owned(),
                "content-length" => " <length>".to_owned(),
                "server" => match value.split_once('/') {
                    Some((product, _)) => format!("{product}/<version>"),
                    None => value.to_owned(),
                },
                "set-cookie" => set_cookie(value),
                _ => value.to_owned(),
            };
            lines.push(format!("{name}:{value}"));
        }
        lines.join("\n")
    }
}

/// `Set-Cookie` with its id and expiry replaced (already-redacted values are kept).
fn set_cookie(value: &str) -> String {
    value
        .split(';')
        .enumerate()
        .map(|(i, part)| {
            let (name, val) = part.split_once('=').unwrap_or((part, ""));
            if i == 0 {
                if val.is_empty() || val.starts_with('<') {
                    part.to_owned()
                } else {
                    format!("{name}=<id>")
                }
            } else if name.trim().eq_ignore_ascii_case("expires") {
                format!("{name}=<date>")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `1.2.3.4:56789` (an address with a port the lab did not choose) becomes
/// `1.2.3.4:<client-port>`; so does `<nginx>:56789`.
fn ephemeral_ports(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        out.push(chars[i]);
        let after_address = chars[i] == ':'
            && i > 0
            && (chars[i - 1] == '>' || chars[i - 1].is_ascii_digit())
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if after_address && looks_like_address_before(&chars[..i]) {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            out.push_str("<client-port>");
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Whether `before` ends with a dotted IPv4 address or a placeholder such as `<nginx>`.
fn looks_like_address_before(before: &[char]) -> bool {
    if before.last() == Some(&'>') {
        return true;
    }
    let tail: String = before
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit() || **c == '.')
        .collect();
    tail.matches('.').count() == 3
}

/// Replaces `token` where it is not part of a longer number or address.
fn replace_token(
    text: &str,
    token: &str,
    placeholder: &str,
    before_ok: impl Fn(Option<char>) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        let before = rest[..at].chars().last();
        let after = rest[at + token.len()..].chars().next();
        let whole = !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit() || (c == '.' && token.contains('.')));
        out.push_str(&rest[..at]);
        if whole && before_ok(before) {
            out.push_str(placeholder);
        } else {
            out.push_str(token);
        }
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
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
    fn addresses_are_replaced_as_whole_tokens() {
        assert_eq!(
            replace_token("10.1.2.1, 10.1.2.13", "10.1.2.1", "<g>", |_| true),
            "<g>, 10.1.2.13"
        );
        assert_eq!(
            replace_token("a:4433 b:44330 14433", "4433", "<p>", |b| b == Some(':')),
            "a:<p> b:44330 14433"
        );
    }

    #[test]
    fn peers_lose_their_ephemeral_port() {
        assert_eq!(
            ephemeral_ports(r#"{"peer":"127.0.0.1:51234","x":"<nginx>:40000"}"#),
            r#"{"peer":"127.0.0.1:<client-port>","x":"<nginx>:<client-port>"}"#
        );
    }

    #[test]
    fn cookies_lose_their_id_and_date() {
        assert_eq!(
            set_cookie(" id=abc; Path=/; Expires=Tue, 01 Dec 2026 16:20:54 GMT; Secure"),
            " id=<id>; Path=/; Expires=<date>; Secure"
        );
        assert_eq!(set_cookie(" id=; Max-Age=0"), " id=; Max-Age=0");
    }

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

//! What changes from run to run in what the lab prints (ports, the lab network's addresses,
//! dates, session ids, temporary paths), replaced by placeholders, so that a committed copy of
//! an output (the book's `generated/` folder) can be compared with a fresh run.

use std::net::IpAddr;

use crate::Lab;
use crate::edge::Backend;

/// Whether what `lab` prints can be compared with the book's copies: they are made with nginx
/// in Docker (or with no nginx, stage 1); the native backend's addresses differ (`127.0.0.1`
/// everywhere) and would make every copy look stale.
pub fn comparable_with_the_book(lab: &Lab) -> bool {
    lab.edge()
        .is_none_or(|edge| edge.backend() == Backend::Docker)
}

/// `text` as the book shows it, when [`comparable_with_the_book`]; `None` otherwise.
pub fn for_the_book(lab: &Lab, text: &str) -> Option<String> {
    comparable_with_the_book(lab).then(|| lab_output(lab, text))
}

/// `text` (a walk-through, a failing test's report, nginx's log) with placeholders. nginx's
/// start-up notices (its version, the kernel's, limits, process ids) are left out: they
/// differ from machine to machine and say nothing about the lab.
pub fn lab_output(lab: &Lab, text: &str) -> String {
    let mut secrets = Vec::new();
    if let Some(store) = &lab.env().session_store {
        secrets.push((store.clone(), "<session-store>".to_owned()));
    }
    let normaliser = Normaliser::for_lab(lab, "", &secrets);
    text.lines()
        .map(|line| {
            let line = normaliser.apply(line);
            let line = match line.find("Set-Cookie: ") {
                Some(at) => {
                    let (before, value) = line.split_at(at + "Set-Cookie:".len());
                    format!("{before}{}", set_cookie(value))
                }
                None => cookie_header(&line).unwrap_or(line),
            };
            nginx_timestamp(&ephemeral_ports(&line))
        })
        .filter(|line| !line.trim_start().starts_with("<time> [notice]"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A request's `cookie: a=1; b=2` line with every value replaced by `<id>` (the lab's cookies
/// carry session ids, real or forged, which are random).
fn cookie_header(line: &str) -> Option<String> {
    let indent = line.len() - line.trim_start().len();
    let (name, value) = line.trim_start().split_once(": ")?;
    if !name.eq_ignore_ascii_case("cookie") {
        return None;
    }
    let pairs: Vec<String> = value
        .split("; ")
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && !value.starts_with('<') => {
                format!("{name}=<id>")
            }
            _ => pair.to_owned(),
        })
        .collect();
    Some(format!("{}{name}: {}", &line[..indent], pairs.join("; ")))
}

/// nginx's error log starts a line with `2026/12/01 19:00:00 [warn] 1#1: `: the time and the
/// process ids change from run to run.
fn nginx_timestamp(line: &str) -> String {
    let bytes = line.as_bytes();
    let stamp = bytes.len() > 19
        && bytes[..19].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'/',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !stamp {
        return line.to_owned();
    }
    let rest = &line[19..];
    // ` [warn] 1#1: *3 message` -> ` [warn] message`
    let Some((level, message)) = rest.split_once("] ") else {
        return format!("<time>{rest}");
    };
    let message = message
        .split_once(": ")
        .filter(|(ids, _)| ids.chars().all(|c| c.is_ascii_digit() || c == '#'))
        .map_or(message, |(_, m)| m);
    let message = match message.strip_prefix('*') {
        Some(m) => m.split_once(' ').map_or(m, |(_, m)| m),
        None => message,
    };
    format!("<time>{level}] {message}")
}

/// Replaces what varies from run to run with placeholders.
pub(crate) struct Normaliser {
    /// (text, placeholder), applied in order: longer, more specific values first.
    literal: Vec<(String, String)>,
    /// Addresses replaced only as whole tokens (`10.1.2.1` must not match in `10.1.2.13`).
    addresses: Vec<(String, &'static str)>,
    /// Port numbers replaced only after a `:`, as whole tokens.
    ports: Vec<(String, &'static str)>,
}

impl Normaliser {
    pub(crate) fn for_lab(lab: &Lab, ca_path: &str, secrets: &[(String, String)]) -> Normaliser {
        let mut literal: Vec<(String, String)> = secrets.to_vec();
        // Where `cargo xtask lab` keeps the CA, so that a reader can paste the command.
        if !ca_path.is_empty() {
            literal.push((ca_path.to_owned(), "target/lab-ca/ca.pem".to_owned()));
        }
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
    pub(crate) fn apply(&self, text: &str) -> String {
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
    pub(crate) fn apply_answer(&self, answer: &str) -> String {
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
    fn request_cookies_lose_their_values() {
        assert_eq!(
            cookie_header("      cookie: %5F_Host-id=abc; __Host-id=<id>").as_deref(),
            Some("      cookie: %5F_Host-id=<id>; __Host-id=<id>")
        );
        assert_eq!(cookie_header("      content-type: text/plain"), None);
    }

    #[test]
    fn nginx_error_lines_lose_time_and_process_ids() {
        assert_eq!(
            nginx_timestamp("2026/12/01 19:00:00 [warn] 1#1: *3 upstream timed out, client: x"),
            "<time> [warn] upstream timed out, client: x"
        );
        assert_eq!(
            nginx_timestamp("2026/12/01 19:00:00 [notice] 1#1: using the \"epoll\" event method"),
            "<time> [notice] using the \"epoll\" event method"
        );
        assert_eq!(
            nginx_timestamp("1.2.3.4 \"GET / HTTP/1.1\" 200"),
            "1.2.3.4 \"GET / HTTP/1.1\" 200"
        );
    }
}

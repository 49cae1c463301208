//! Header parsing. Everything here works on borrowed header bytes and never allocates: the
//! walk reads lists right to left, straight out of the `HeaderMap`.

pub(crate) mod forwarded;
pub(crate) mod host;
pub(crate) mod lines;
pub(crate) mod xff;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most hops the walk examines (socket peer not counted). A chain that is still trusted
/// after this many hops resolves to [`ClientAddr::Unknown`](crate::ClientAddr::Unknown).
///
/// ```
/// use trusted_proxies::{ClientAddr, MAX_HOPS, Peer, ProxyConfig, TrustPolicy};
///
/// let chain = vec!["10.0.0.9"; MAX_HOPS + 1].join(", ");
/// let mut h = http::HeaderMap::new();
/// h.insert("x-forwarded-for", chain.parse()?);
/// let peer = Peer::from("10.0.0.1:1".parse::<std::net::SocketAddr>()?);
/// let r = ProxyConfig::new(TrustPolicy::all()).resolve(peer, &h);
/// assert_eq!(r.client(), ClientAddr::Unknown);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_HOPS: usize = 32;

/// The most bytes of one list-valued header family that are read, counted from the right
/// (lines joined by commas). A hop lying beyond the budget resolves to
/// [`ClientAddr::Unknown`](crate::ClientAddr::Unknown) if the walk gets that far.
///
/// ```
/// use trusted_proxies::{ClientAddr, MAX_HEADER_BYTES, Peer, ProxyConfig, TrustPolicy};
///
/// // A client-written left part beyond the budget is never read when the walk stops first.
/// let padding = " ".repeat(MAX_HEADER_BYTES);
/// let mut h = http::HeaderMap::new();
/// h.insert("x-forwarded-for", format!("{padding}1.1.1.1, 198.51.100.7").parse()?);
/// let peer = Peer::from("127.0.0.1:1".parse::<std::net::SocketAddr>()?);
/// let r = ProxyConfig::new(TrustPolicy::parse("loopback")?).resolve(peer, &h);
/// assert_eq!(r.client(), ClientAddr::Ip("198.51.100.7".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// A parsed hop identifier (an `X-Forwarded-For` element or a `Forwarded` `for=` value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// An address, IPv4-mapped IPv6 folded.
    Ip(IpAddr),
    /// RFC 7239 `unknown`.
    Unknown,
    /// RFC 7239 obfuscated identifier (`_hidden`).
    Obfuscated,
    /// Anything else.
    Invalid,
}

/// Strips HTTP optional whitespace (spaces and tabs) from both ends.
#[inline]
pub(crate) fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Parses one hop: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`, `unknown`, `_obf`.
/// Zone ids (`fe80::1%eth0`) are refused: they are meaningless off the host that wrote them.
#[inline(always)]
pub(crate) fn parse_node(b: &[u8]) -> Node {
    // Fast path for the overwhelmingly common `a.b.c.d` (std's parser is ~3x slower).
    if let Some((v4, rest)) = parse_ipv4_prefix(b) {
        match rest {
            [] => return Node::Ip(IpAddr::V4(v4)),
            [b':', port @ ..] if parse_port(port).is_some() => return Node::Ip(IpAddr::V4(v4)),
            _ => {}
        }
    }
    parse_node_slow(b)
}

/// Everything but plain IPv4: kept out of line so that the walk's loop stays small.
#[inline(never)]
fn parse_node_slow(b: &[u8]) -> Node {
    if b.first() == Some(&b'_') {
        return Node::Obfuscated;
    }
    if b.eq_ignore_ascii_case(b"unknown") {
        return Node::Unknown;
    }
    let Ok(s) = std::str::from_utf8(b) else {
        return Node::Invalid;
    };
    if let Some(rest) = s.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Node::Invalid;
        };
        let Ok(v6) = inner.parse::<Ipv6Addr>() else {
            return Node::Invalid;
        };
        return match after {
            "" => Node::Ip(IpAddr::V6(v6).to_canonical()),
            _ => match after.strip_prefix(':') {
                Some(port) if node_port_ok(port) => Node::Ip(IpAddr::V6(v6).to_canonical()),
                _ => Node::Invalid,
            },
        };
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Node::Ip(ip.to_canonical());
    }
    // `a.b.c.d:port`; a bare IPv6 with a port is ambiguous and was refused above.
    if let Some((host, port)) = s.split_once(':')
        && node_port_ok(port)
        && let Ok(v4) = host.parse::<Ipv4Addr>()
    {
        return Node::Ip(IpAddr::V4(v4));
    }
    Node::Invalid
}

/// Parses a dotted-quad IPv4 address at the start of `b` with std's strictness (four decimal
/// octets of at most three digits, no leading zeros, each <= 255); returns it and the rest.
#[inline]
fn parse_ipv4_prefix(b: &[u8]) -> Option<(Ipv4Addr, &[u8])> {
    let (a, rest) = parse_octet(b)?;
    let (b, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    let (c, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    let (d, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    Some((Ipv4Addr::new(a, b, c, d), rest))
}

/// One decimal octet at the start of `b`: 1 to 3 digits, no leading zero, at most 255.
/// Straight-line code that looks at each byte once: this runs for every octet of every hop.
#[inline(always)]
fn parse_octet(b: &[u8]) -> Option<(u8, &[u8])> {
    let digit = |i: usize| b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10);
    let d0 = digit(0)?;
    let Some(d1) = digit(1) else {
        return Some((d0, &b[1..]));
    };
    // A leading zero stands alone.
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(2) else {
        return Some((d0 * 10 + d1, &b[2..]));
    };
    if digit(3).is_some() {
        return None;
    }
    let n = u16::from(d0) * 100 + u16::from(d1) * 10 + u16::from(d2);
    Some((u8::try_from(n).ok()?, &b[3..]))
}

/// A whole string that is a dotted-quad IPv4 address.
#[inline]
pub(crate) fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    match parse_ipv4_prefix(b) {
        Some((ip, [])) => Some(ip),
        _ => None,
    }
}

/// A port in a hop: decimal, or an RFC 7239 obfuscated port (`_abc`). The port itself is never
/// used; it only has to be well formed for the address in front of it to count.
fn node_port_ok(p: &str) -> bool {
    parse_port(p.as_bytes()).is_some()
        || (p.len() > 1
            && p.starts_with('_')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
}

/// A decimal TCP port, 1..=65535, at most 5 digits.
#[inline]
pub(crate) fn parse_port(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).ok().filter(|&p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_forms() {
        let ip = |s: &str| Node::Ip(s.parse::<IpAddr>().unwrap());
        let table: &[(&str, Node)] = &[
            ("1.2.3.4", ip("1.2.3.4")),
            ("1.2.3.4:8080", ip("1.2.3.4")),
            ("::1", ip("::1")),
            ("[::1]", ip("::1")),
            ("[2001:db8::1]:4711", ip("2001:db8::1")),
            ("[2001:db8::1]:_obf", ip("2001:db8::1")),
            ("::ffff:10.0.0.1", ip("10.0.0.1")),
            ("[::ffff:10.0.0.1]:80", ip("10.0.0.1")),
            ("unknown", Node::Unknown),
            ("UNKNOWN", Node::Unknown),
            ("_hidden", Node::Obfuscated),
            ("fe80::1%eth0", Node::Invalid),
            ("[fe80::1%25eth0]", Node::Invalid),
            ("2001:db8::1:80x", Node::Invalid),
            ("1.2.3.4:", Node::Invalid),
            ("1.2.3.4:99999", Node::Invalid),
            ("[::1]80", Node::Invalid),
            ("[::1", Node::Invalid),
            ("1.2.3", Node::Invalid),
            ("evil.example", Node::Invalid),
            ("", Node::Invalid),
            ("\"1.2.3.4\"", Node::Invalid),
        ];
        for (input, want) in table {
            assert_eq!(parse_node(input.as_bytes()), *want, "case {input:?}");
        }
    }

    #[test]
    fn fast_ipv4_path_agrees_with_std() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.1000",
            "1.2.3.4x",
            " 1.2.3.4",
            "1.2.3.-4",
            "192.168.000.1",
            "10.0.0.1:80",
            "10.0.0.1:",
        ] {
            let std = s.parse::<Ipv4Addr>().ok();
            let fast = parse_ipv4_prefix(s.as_bytes())
                .filter(|(_, rest)| rest.is_empty())
                .map(|(ip, _)| ip);
            assert_eq!(fast, std, "case {s:?}");
        }
    }

    #[test]
    fn ows_and_ports() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(parse_port(b"443"), Some(443));
        assert_eq!(parse_port(b"0"), None);
        assert_eq!(parse_port(b"65536"), None);
        assert_eq!(parse_port(b"+80"), None);
    }
}

//! `Host` / `X-Forwarded-Host` / `Forwarded: host=` values: `host[:port]`, validated and
//! normalised into an inline buffer (no allocation on the request path).

use std::fmt::{self, Write as _};
use std::net::Ipv6Addr;

use super::{parse_port, trim_ows};

/// Longest accepted host name: the DNS limit. Bracketed IPv6 literals are shorter.
const MAX_NAME: usize = 253;

/// Hosts up to this long are stored inline; longer ones (rare) go to the heap. Sized so that
/// a bracketed IPv6 literal (at most 41 bytes as [`ipv6`] writes it) and typical names fit,
/// and `Resolved` stays within 256 bytes: the two copies a caller makes of it (out of
/// `resolve`, and into wherever it keeps it) then take glibc's short `memcpy` path, half the
/// instructions of the loop larger copies take. 62 bytes cost a 3-hop resolve about 60
/// instructions more.
const INLINE_HOST: usize = 46;

/// A validated, lower-cased host: a DNS-style name, a dotted IPv4 address or a bracketed,
/// canonically written IPv6 address.
#[derive(Clone)]
pub(crate) enum HostStr {
    Inline { len: u8, buf: [u8; INLINE_HOST] },
    Heap(Box<str>),
}

impl HostStr {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII is ever written.
            HostStr::Inline { len, buf } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default()
            }
            HostStr::Heap(s) => s,
        }
    }

    fn from_scratch(s: &Scratch) -> Self {
        HostStr::Inline {
            len: s.len as u8,
            buf: s.buf,
        }
    }
}

impl PartialEq for HostStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for HostStr {}

impl fmt::Debug for HostStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Stack buffer an IPv6 literal is written into.
struct Scratch {
    buf: [u8; INLINE_HOST],
    len: usize,
}

impl Scratch {
    fn push(&mut self, bytes: &[u8]) -> fmt::Result {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl fmt::Write for Scratch {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes())
    }
}

/// A validated `host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub(crate) host: HostStr,
    pub(crate) port: Option<u16>,
}

/// Validates `host[:port]`.
///
/// Accepted: names of ASCII letters, digits, `-`, `.` and `_` (stricter than RFC 3986
/// reg-name on purpose: no percent-encoding or sub-delimiters, which have no business in a
/// host that ends up in URLs and logs); dotted IPv4; bracketed IPv6 (and, leniently, a bare
/// IPv6 address with no port). Refused: userinfo, paths, zone ids, empty or zero ports,
/// names longer than 253 bytes, and all-numeric names that are not valid IPv4.
pub(crate) fn parse_host(raw: &[u8]) -> Option<HostPort> {
    let mut out = None;
    parse_host_into(raw, &mut out);
    out
}

/// [`parse_host`] into `out`, which must be `None` and stays so when `raw` is refused.
///
/// The request path writes the host straight into its `Resolved`: returned by value, the
/// freshly written bytes were read back at once for the move, and stalled on store
/// forwarding.
#[inline]
pub(crate) fn parse_host_into(raw: &[u8], out: &mut Option<HostPort>) {
    debug_assert!(out.is_none(), "a refused host must leave no host behind");
    let t = trim_ows(raw);
    if let Some(rest) = t.strip_prefix(b"[") {
        *out = bracketed(rest);
        return;
    }
    let i = name_end(t);
    let (name, port) = match t.get(i) {
        None => (t, None),
        Some(b':') => {
            let port = &t[i + 1..];
            if port.contains(&b':') {
                // A second colon: only a bare IPv6 address (no port) can have that.
                *out = ipv6(t).map(|host| HostPort { host, port: None });
                return;
            }
            let Some(port) = parse_port(port) else { return };
            (&t[..i], Some(port))
        }
        Some(_) => return,
    };
    // An empty, overlong or '-'-led name; an empty label (a leading '.', or two in a row; a
    // trailing one is the DNS root, allowed).
    let (Some(&first), true) = (name.first(), name.len() <= MAX_NAME) else {
        return;
    };
    if first == b'-' || first == b'.' || has_double_dot(name) {
        return;
    }
    // All digits and dots: it must be a valid IPv4 address (browsers would read `1.2.3` as
    // one). Strictly parsed IPv4 is already in canonical form. From the right, where a name's
    // letters usually are.
    let numeric = name.iter().rev().all(|&b| CLASS[usize::from(b)] != NAME);
    if numeric && super::parse_ipv4(name).is_none() {
        return;
    }
    if name.len() > INLINE_HOST {
        let host = HostStr::Heap(String::from_utf8_lossy(name).to_ascii_lowercase().into());
        *out = Some(HostPort { host, port });
        return;
    }
    // Written in place, lower-cased on the way.
    let HostPort {
        host: HostStr::Inline { buf, .. },
        ..
    } = out.insert(HostPort {
        host: HostStr::Inline {
            len: name.len() as u8,
            buf: [0; INLINE_HOST],
        },
        port,
    })
    else {
        return;
    };
    lower_into(buf, name);
}

/// The index of the first byte of `t` that cannot be in a name (the port's `:`, or garbage),
/// else its length.
///
/// The loop only looks for that byte: empty labels and all-numeric names are rare, and checked
/// afterwards, where they cost less than a class accumulated at every byte. Four bytes a round
/// share one loop test.
#[inline(always)]
fn name_end(t: &[u8]) -> usize {
    let invalid = |b: &u8| CLASS[usize::from(*b)] == INVALID;
    let mut chunks = t.chunks_exact(4);
    let mut at = 0;
    for chunk in &mut chunks {
        if let Some(k) = chunk.iter().position(invalid) {
            return at + k;
        }
        at += 4;
    }
    let tail = chunks.remainder();
    at + tail.iter().position(invalid).unwrap_or(tail.len())
}

/// Copies the validated `name` (ASCII, at most [`INLINE_HOST`] bytes) into `buf` lower-cased,
/// eight bytes at a time: read from the header and written once, never read back here.
#[inline(always)]
fn lower_into(buf: &mut [u8; INLINE_HOST], name: &[u8]) {
    let n = name.len();
    if n < 8 {
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        return;
    }
    let mut copy = |at: usize| {
        if let (Some(src), Some(dst)) = (name.get(at..at + 8), buf.get_mut(at..at + 8)) {
            let mut w = [0; 8];
            w.copy_from_slice(src);
            dst.copy_from_slice(&lower8(u64::from_le_bytes(w)).to_le_bytes());
        }
    };
    let mut at = 0;
    while at + 8 <= n {
        copy(at);
        at += 8;
    }
    if at < n {
        // The last, partial word: overlap the previous one (same bytes, same result).
        copy(n - 8);
    }
}

/// `w`'s eight bytes with `A`..=`Z` lower-cased; every byte must be ASCII (below 0x80), so
/// that no addition below carries into the next byte.
#[inline(always)]
fn lower8(w: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    // The high bit of a byte is set by the first sum iff the byte is >= 'A', and by the
    // second iff it is > 'Z'.
    let ge_a = w + ONES * u64::from(0x80 - b'A');
    let gt_z = w + ONES * u64::from(0x80 - b'Z' - 1);
    w | ((ge_a & !gt_z & HIGH) >> 2)
}

/// Whether two dots follow each other in `name`, looked for eight bytes at a time in windows
/// that overlap by at least one byte, so that every pair of neighbours lies within one of
/// them: the first and last eight bytes (all of a name up to 15 bytes), and the ones between.
#[inline]
fn has_double_dot(name: &[u8]) -> bool {
    let (Some(head), Some(tail)) = (name.first_chunk::<8>(), name.last_chunk::<8>()) else {
        return double_dot_in(load_partial(name));
    };
    if double_dot_in(u64::from_le_bytes(*head)) || double_dot_in(u64::from_le_bytes(*tail)) {
        return true;
    }
    let mut at = 7;
    while let Some(w) = name.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        if double_dot_in(u64::from_le_bytes(*w)) {
            return true;
        }
        at += 7;
    }
    false
}

/// Whether two neighbouring bytes of `w` are both `.`.
#[inline(always)]
fn double_dot_in(w: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const LOW7: u64 = ONES * 0x7f;
    let x = w ^ (ONES * u64::from(b'.'));
    // The high bit of each byte that is zero in `x`, exactly (as in `xff::rfind_comma`): no
    // borrow crosses bytes, so a dot's neighbour is never flagged by mistake.
    let dots = !(((x & LOW7) + LOW7) | x | LOW7);
    dots & (dots >> 8) != 0
}

/// The bytes of `b` (fewer than eight) as a little-endian word, zeros after them: a few
/// overlapping loads, no byte loop and no copy call.
#[inline(always)]
fn load_partial(b: &[u8]) -> u64 {
    let n = b.len();
    let u32_at = |i: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&b[i..i + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        // The bytes the two loads share are the same, so OR-ing keeps them.
        4..=7 => u32_at(0) | (u32_at(n - 4) << ((n - 4) * 8)),
        1..=3 => {
            let byte = |i: usize| u64::from(b[i]) << (i * 8);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        _ => 0,
    }
}

/// The rest of a `[`-prefixed host: `v6]` or `v6]:port`.
#[cold]
fn bracketed(rest: &[u8]) -> Option<HostPort> {
    let close = rest.iter().position(|&b| b == b']')?;
    let port = match &rest[close + 1..] {
        [] => None,
        [b':', p @ ..] => Some(parse_port(p)?),
        _ => return None,
    };
    Some(HostPort {
        host: ipv6(&rest[..close])?,
        port,
    })
}

// Byte classes for host names.
const INVALID: u8 = 0;
const DIGIT: u8 = 1;
const NAME: u8 = 2;
const DOT: u8 = 3;

/// Byte classes for host names: a table lookup instead of a chain of comparisons.
const CLASS: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'0'..=b'9' => DIGIT,
            b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' => NAME,
            b'.' => DOT,
            _ => INVALID,
        };
        b += 1;
    }
    t
};

/// An IPv6 literal (without brackets), written canonically with brackets. Zone ids fail.
fn ipv6(b: &[u8]) -> Option<HostStr> {
    let v6: Ipv6Addr = std::str::from_utf8(b).ok()?.parse().ok()?;
    let mut s = Scratch {
        buf: [0; INLINE_HOST],
        len: 0,
    };
    write!(s, "[{v6}]").ok()?;
    Some(HostStr::from_scratch(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn lower8_lowers_exactly_the_ascii_capitals() {
        for b in 0..0x80u8 {
            for pos in 0..8 {
                let mut w = [b'a', b'Z', b'0', b'.', b'_', b'-', b'A', b'z'];
                w[pos] = b;
                let want = w.map(|c| c.to_ascii_lowercase());
                assert_eq!(lower8(u64::from_le_bytes(w)).to_le_bytes(), want, "{w:?}");
            }
        }
    }

    #[test]
    fn double_dots_are_found_wherever_they_are() {
        // Every length around the eight-byte windows and their one-byte overlaps.
        for len in 0..40 {
            let name = vec![b'a'; len];
            assert!(!has_double_dot(&name), "len {len}");
            for i in 0..len {
                let mut one = name.clone();
                one[i] = b'.';
                assert!(!has_double_dot(&one), "len {len}, dot at {i}");
                if i + 1 < len {
                    one[i + 1] = b'.';
                    assert!(has_double_dot(&one), "len {len}, dots at {i}");
                }
            }
        }
        // Bytes that differ from '.' only in bits a borrow could flip.
        assert!(!has_double_dot(b"./.-/-.,"));
        assert!(!has_double_dot(&[
            b'.', 0xae, b'.', 0x2f, b'.', 0xae, b'.', 0x0e, b'.'
        ]));
    }

    #[test]
    fn host_table() {
        type Case<'a> = (&'a str, Option<(&'a str, Option<u16>)>);
        let table: &[Case<'_>] = &[
            ("app.lab.test", Some(("app.lab.test", None))),
            ("App.Lab.Test:8443", Some(("app.lab.test", Some(8443)))),
            (" localhost:3000 ", Some(("localhost", Some(3000)))),
            ("127.0.0.1:80", Some(("127.0.0.1", Some(80)))),
            ("[::1]", Some(("[::1]", None))),
            ("[0:0::1]:8080", Some(("[::1]", Some(8080)))),
            ("2001:DB8::1", Some(("[2001:db8::1]", None))),
            ("my_host", Some(("my_host", None))),
            ("user@evil.test", None),
            ("evil.test/path", None),
            ("evil.test?x", None),
            ("[fe80::1%25eth0]", None),
            ("[::1]x", None),
            ("[::1]:", None),
            ("host:", None),
            ("host:0", None),
            ("host:65536", None),
            ("host:80:80", None),
            ("", None),
            (".evil", None),
            ("a..b", None),
            ("1.2.3", None),
            ("999.1.1.1", None),
            ("ex ample", None),
            ("ex%41mple", None),
            ("a,b", None),
            ("ünicode.test", None),
        ];
        for (input, want) in table {
            let got = parse_host(input.as_bytes());
            let got = got.as_ref().map(|h| (h.host.as_str(), h.port));
            assert_eq!(got, *want, "case {input:?}");
        }
        // The longest IPv6 literal as written back still fits the inline buffer.
        let widest = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535";
        let got = parse_host(widest.as_bytes());
        assert_eq!(
            got.as_ref().map(|h| (h.host.as_str(), h.port)),
            Some((&widest[..41], Some(65535)))
        );
        let long = "a".repeat(254);
        assert!(parse_host(long.as_bytes()).is_none(), "254-byte name");
        assert!(
            parse_host("a".repeat(253).as_bytes()).is_some(),
            "253-byte name"
        );
    }

    /// The validation as it was before the single-pass classifier and the in-place
    /// lower-casing: the new code must agree with it on every input.
    fn reference(raw: &[u8]) -> Option<HostPort> {
        let t = trim_ows(raw);
        if let Some(rest) = t.strip_prefix(b"[") {
            let close = rest.iter().position(|&b| b == b']')?;
            let port = match &rest[close + 1..] {
                [] => None,
                [b':', p @ ..] => Some(parse_port(p)?),
                _ => return None,
            };
            return Some(HostPort {
                host: ipv6(&rest[..close])?,
                port,
            });
        }
        // Check the name's characters up to the port separator first, then copy it lower-cased
        // in a loop of its own: a smaller check loop than doing both at once, with the copy
        // bounded by the inline buffer instead of a bounds test per byte.
        if t.first() == Some(&b'-') {
            return None;
        }
        let mut numeric = true;
        let mut after_dot = true; // so that a leading '.' reads as an empty label
        let mut colon = None;
        for (i, &b) in t.iter().enumerate() {
            match R_CLASS[usize::from(b)] {
                R_DIGIT => after_dot = false,
                R_NAME => {
                    numeric = false;
                    after_dot = false;
                }
                R_DOT if after_dot => return None,
                R_DOT => after_dot = true,
                R_COLON => {
                    colon = Some(i);
                    break;
                }
                _ => return None,
            }
        }
        let (name, port) = match colon {
            Some(i) => {
                let port = &t[i + 1..];
                if port.contains(&b':') {
                    // A second colon: only a bare IPv6 address (no port) can have that.
                    return Some(HostPort {
                        host: ipv6(t)?,
                        port: None,
                    });
                }
                (&t[..i], Some(parse_port(port)?))
            }
            None => (t, None),
        };
        if name.is_empty() || name.len() > MAX_NAME {
            return None;
        }
        // All digits and dots: it must be a valid IPv4 address (browsers would read `1.2.3` as
        // one). Strictly parsed IPv4 is already in canonical form.
        if numeric && crate::parse::parse_ipv4(name).is_none() {
            return None;
        }
        let host = if name.len() <= INLINE_HOST {
            let mut buf = [0u8; INLINE_HOST];
            for (d, s) in buf.iter_mut().zip(name) {
                *d = s.to_ascii_lowercase();
            }
            HostStr::Inline {
                len: name.len() as u8,
                buf,
            }
        } else {
            HostStr::Heap(String::from_utf8_lossy(name).to_ascii_lowercase().into())
        };
        Some(HostPort { host, port })
    }

    const R_INVALID: u8 = 0;
    const R_DIGIT: u8 = 1;
    const R_NAME: u8 = 2;
    const R_DOT: u8 = 3;
    const R_COLON: u8 = 4;

    /// Byte classes for host names: a table lookup instead of a chain of comparisons.
    const R_CLASS: [u8; 256] = {
        let mut t = [R_INVALID; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = match b as u8 {
                b'0'..=b'9' => R_DIGIT,
                b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' => R_NAME,
                b'.' => R_DOT,
                b':' => R_COLON,
                _ => R_INVALID,
            };
            b += 1;
        }
        t
    };

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]

        #[test]
        fn agrees_with_the_reference(
            raw in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "Z", "q", "0", "1", "9", "255", "256", "01", ".", "..", "-", "_", ":", "::",
                    ":80", ":0", ":65536", "[", "]", " ", "\t", "@", "/", "%", "\u{e9}", "\u{7f}",
                    "App", "LAB", "test", "1.2.3.4", "fe80::1", "::ffff:1.2.3.4", "2001:DB8::1",
                ]),
                0..24,
            ).prop_map(|v| v.concat())
        ) {
            let got = parse_host(raw.as_bytes());
            let want = reference(raw.as_bytes());
            proptest::prop_assert_eq!(got, want, "{:?}", raw);
        }
    }

    #[test]
    fn agrees_with_the_reference_at_every_length() {
        // The eight-byte lower-casing, its overlapping last word and the inline/heap boundary.
        for len in 0..=260 {
            for case in 0..3 {
                let name: String = (0..len)
                    .map(|i| match (i + case) % 7 {
                        0 => 'A',
                        1 => 'z',
                        2 => '0',
                        3 if i % 5 != 0 => '.',
                        4 => '-',
                        5 => '_',
                        _ => 'Q',
                    })
                    .collect();
                for input in [name.clone(), format!("{name}:8443"), format!(" {name} ")] {
                    assert_eq!(
                        parse_host(input.as_bytes()),
                        reference(input.as_bytes()),
                        "{input:?}"
                    );
                }
            }
        }
    }
}

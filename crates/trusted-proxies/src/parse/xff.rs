//! Comma-separated list headers (`X-Forwarded-For`, `-Proto`, `-Host`, `-Port`) read right to
//! left.
//!
//! All lines of a header are one list, in order (RFC 9110 §5.3): reading the lines backwards
//! and each line backwards gives the merged list from the right without building it. Empty
//! elements are skipped, as RFC 9110 §5.6.1 asks of list recipients.

use std::net::Ipv4Addr;

use super::lines::{Lines, RevLines};
use super::{MAX_HEADER_BYTES, trim_ows};

/// One step of a right-to-left read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// A non-empty element, whitespace trimmed.
    Value(&'a [u8]),
    /// The next element lies (partly) beyond [`MAX_HEADER_BYTES`]; nothing follows.
    OverBudget,
}

/// Right-to-left iterator over the elements of all lines of one header.
pub(crate) struct RevList<'a> {
    lines: RevLines<'a>,
    /// The not yet read left part of the current line; `None` between lines.
    cur: Option<&'a [u8]>,
    used: usize,
}

impl<'a> RevList<'a> {
    #[inline]
    pub(crate) fn new(lines: Lines<'a>) -> Self {
        RevList {
            lines: lines.rev(),
            cur: None,
            used: 0,
        }
    }
}

impl<'a> Iterator for RevList<'a> {
    type Item = Item<'a>;

    // Inlined into the loops that drive it (the walk, `nth_from_right`), the iterator's state
    // stays in registers; out of line, saving and reloading it on every call was about a
    // tenth of the instructions of a 3-hop resolve.
    #[inline(always)]
    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            let line = match self.cur.take() {
                Some(l) => l,
                None => self.lines.next()?.as_bytes(),
            };
            let elem = match rfind_comma(line) {
                Some(i) => {
                    self.cur = Some(&line[..i]);
                    &line[i + 1..]
                }
                None => line,
            };
            // Each element costs its bytes plus one separator.
            self.used += elem.len() + 1;
            if self.used > MAX_HEADER_BYTES + 1 {
                // Nothing follows: forget the remaining lines.
                self.cur = None;
                self.lines = RevLines::One(None);
                return Some(Item::OverBudget);
            }
            let t = trim_ows(elem);
            if !t.is_empty() {
                return Some(Item::Value(t));
            }
        }
    }
}

/// A right-to-left reader of hops: [`RevList`] in general, [`RevLine`] for the common single
/// line. The walk is written once over this and compiled for each.
pub(crate) trait HopSource<'a> {
    fn next_hop(&mut self) -> Option<Hop<'a>>;
}

impl<'a> HopSource<'a> for RevList<'a> {
    #[inline(always)]
    fn next_hop(&mut self) -> Option<Hop<'a>> {
        RevList::next_hop(self)
    }
}

/// Right-to-left reader of a header that is one line within [`MAX_HEADER_BYTES`], what a
/// chain of proxies writes. It gives exactly [`RevList`]'s hops for such a header, with none
/// of its bookkeeping: no next line to fetch, and no byte budget to count, since the elements
/// and separators of one line within the budget never exceed it.
pub(crate) struct RevLine<'a> {
    /// The not yet read left part of the line; `None` once the leftmost element is read.
    rest: Option<&'a [u8]>,
}

impl<'a> RevLine<'a> {
    /// `None` when `lines` is not one line within the budget: use [`RevList`].
    #[inline(always)]
    pub(crate) fn new(lines: &Lines<'a>) -> Option<Self> {
        match lines {
            Lines::One(v) if v.len() <= MAX_HEADER_BYTES => Some(RevLine {
                rest: Some(v.as_bytes()),
            }),
            _ => None,
        }
    }
}

impl<'a> HopSource<'a> for RevLine<'a> {
    /// As [`RevList::next_hop`]: plain IPv4 read straight, anything else split at the last
    /// comma, trimmed, and empty elements skipped.
    #[inline(always)]
    fn next_hop(&mut self) -> Option<Hop<'a>> {
        loop {
            let line = self.rest?;
            if let Some((ip, start)) = rparse_ipv4_element(line) {
                self.rest = start.checked_sub(1).map(|comma| &line[..comma]);
                return Some(Hop::V4(ip));
            }
            let elem = match rfind_comma(line) {
                Some(i) => {
                    self.rest = Some(&line[..i]);
                    &line[i + 1..]
                }
                None => {
                    self.rest = None;
                    line
                }
            };
            let t = trim_ows(elem);
            if !t.is_empty() {
                return Some(Hop::Other(t));
            }
        }
    }
}

impl<'a> RevList<'a> {
    /// The next element like [`next`](Iterator::next), with plain dotted-quad IPv4 elements
    /// (what proxies write) already parsed.
    ///
    /// Such an element is read backwards straight from the header bytes: trailing whitespace,
    /// the address, leading whitespace and the `,` (or the line's start) before it, each byte
    /// looked at once and the address kept in registers. Anything else (ports, IPv6,
    /// `unknown`, empty elements, garbage) goes the general way; the fast path accepts only
    /// what [`parse_node`](super::parse_node) reads as the same IPv4 address.
    #[inline(always)]
    pub(crate) fn next_hop(&mut self) -> Option<Hop<'a>> {
        let line = match self.cur.take() {
            Some(l) => l,
            None => self.lines.next()?.as_bytes(),
        };
        if let Some((ip, start)) = rparse_ipv4_element(line) {
            // Each element costs its bytes plus one separator, as in `next`.
            self.used += line.len() - start + 1;
            if self.used > MAX_HEADER_BYTES + 1 {
                self.lines = RevLines::One(None);
                return Some(Hop::OverBudget);
            }
            if let Some(comma) = start.checked_sub(1) {
                self.cur = Some(&line[..comma]);
            }
            return Some(Hop::V4(ip));
        }
        self.cur = Some(line);
        Some(match self.next()? {
            Item::Value(v) => Hop::Other(v),
            Item::OverBudget => Hop::OverBudget,
        })
    }
}

/// One step of [`RevList::next_hop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hop<'a> {
    /// A plain dotted-quad IPv4 element, parsed.
    V4(Ipv4Addr),
    /// Any other non-empty element, whitespace trimmed.
    Other(&'a [u8]),
    /// As [`Item::OverBudget`].
    OverBudget,
}

/// Reads the last element of `line` backwards when it is `OWS a.b.c.d OWS`, with std's
/// strictness (decimal octets of one to three digits, no leading zero, at most 255), and
/// starts the line or follows a `,`. Returns the address and the index where the element
/// (its leading whitespace included) starts. `None` for anything else, however close.
#[inline(always)]
fn rparse_ipv4_element(line: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut s = line;
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    // The address as an integer, its last octet first: no reassembly from four bytes.
    let mut ip = u32::from(rparse_octet(&mut s)?);
    for shift in [8, 16, 24] {
        s = s.strip_suffix(b".")?;
        ip |= u32::from(rparse_octet(&mut s)?) << shift;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    // A fifth digit, a sign, a letter, a colon…: not a plain address.
    match s {
        [] | [.., b','] => Some((Ipv4Addr::from_bits(ip), s.len())),
        _ => None,
    }
}

/// The decimal octet at the end of `s`, one to three digits, removed from `s`. A leading zero
/// is refused (as std does); a further digit in front is left for the caller to refuse.
#[inline(always)]
fn rparse_octet(s: &mut &[u8]) -> Option<u8> {
    let digit = |c: u8| {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(d)
    };
    let (&c, rest) = s.split_last()?;
    let ones = digit(c)?;
    *s = rest;
    let Some((&c, rest)) = s.split_last() else {
        return Some(ones);
    };
    let Some(tens) = digit(c) else {
        return Some(ones);
    };
    *s = rest;
    let two = tens * 10 + ones;
    let Some((&c, rest)) = s.split_last() else {
        return (tens != 0).then_some(two);
    };
    let Some(hundreds) = digit(c) else {
        return (tens != 0).then_some(two);
    };
    *s = rest;
    if hundreds == 0 {
        return None;
    }
    u8::try_from(u16::from(hundreds) * 100 + u16::from(two)).ok()
}

/// The index of the last `,` in `b`, eight bytes at a time: the walk's search for separators
/// touches every byte it reads, and a byte-by-byte loop was a large part of its cost.
#[inline]
fn rfind_comma(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    let mut end = b.len();
    while let Some(chunk) = b[..end].last_chunk::<8>() {
        let x = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(b','));
        // The high bit of each byte that is zero in `x` (a comma in `chunk`), exactly: unlike
        // the shorter `(x - ONES) & !x` test, no borrow crosses bytes, so the highest hit is
        // the last comma.
        let hits = !(((x & LOW7) + LOW7) | x | LOW7);
        if hits != 0 {
            // Little-endian: the most significant hit is the rightmost byte.
            return Some(end - 1 - (hits.leading_zeros() / 8) as usize);
        }
        end -= 8;
    }
    b[..end].iter().rposition(|&c| c == b',')
}

/// The result of looking up a positional value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// No value at all.
    Absent,
    /// The value to use.
    Value(&'a [u8]),
    /// A value exists but cannot be used (beyond the byte budget): fail closed.
    Invalid,
}

/// The `n`-th element from the right (1-based), or the leftmost one when the list is shorter.
///
/// Why the leftmost of a short list: every element of a list no longer than `n` was written
/// by one of the `n` trusted hops nearest to us (the client sits at position `n`), so the
/// leftmost one is the view of the trusted proxy closest to the client that recorded one. A
/// single value is thus the value set by the nearest proxy that set it.
#[inline(always)]
pub(crate) fn nth_from_right(lines: Lines<'_>, n: usize) -> Lookup<'_> {
    match lines {
        Lines::Absent => Lookup::Absent,
        // The common case, a single value (what a proxy that sets the header writes): it is
        // the answer whatever `n` is, so skip the general right-to-left machinery. The
        // outcomes are those of the loop below for a one-element list.
        Lines::One(v) if v.len() <= SHORT && !v.as_bytes().contains(&b',') => {
            let t = trim_ows(v.as_bytes());
            if t.is_empty() {
                Lookup::Absent
            } else {
                Lookup::Value(t)
            }
        }
        Lines::One(_) | Lines::Many(_) => nth_from_right_slow(lines, n),
    }
}

/// Single values up to this long take [`nth_from_right`]'s inline path (well within the
/// byte budget, and short enough that a plain search for `,` is cheap).
const SHORT: usize = 64;

#[inline(never)]
fn nth_from_right_slow(lines: Lines<'_>, n: usize) -> Lookup<'_> {
    if let Lines::One(v) = lines
        && rfind_comma(v.as_bytes()).is_none()
    {
        let v = v.as_bytes();
        if v.len() > MAX_HEADER_BYTES {
            return Lookup::Invalid;
        }
        let t = trim_ows(v);
        return if t.is_empty() {
            Lookup::Absent
        } else {
            Lookup::Value(t)
        };
    }
    let mut found = Lookup::Absent;
    for (k, item) in RevList::new(lines).enumerate() {
        match item {
            Item::Value(v) => found = Lookup::Value(v),
            Item::OverBudget => return Lookup::Invalid,
        }
        if k + 1 >= n {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::{Node, parse_node};
    use super::*;
    use http::{HeaderMap, HeaderValue};
    use proptest::strategy::Strategy;

    fn all(h: &HeaderMap) -> Lines<'_> {
        Lines::Many(h.get_all("x-forwarded-for"))
    }

    fn map(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", HeaderValue::from_str(l).unwrap());
        }
        h
    }

    fn rev(h: &HeaderMap) -> Vec<String> {
        RevList::new(all(h))
            .map(|i| match i {
                Item::Value(v) => String::from_utf8(v.to_vec()).unwrap(),
                Item::OverBudget => "<over>".into(),
            })
            .collect()
    }

    /// Every step of `next_hop` against `next` + `parse_node` on the same lines: the fast
    /// path must give exactly what the general one gives, budget included.
    fn assert_hops_agree(lines: &[Vec<u8>]) {
        let mut h = HeaderMap::new();
        for l in lines {
            if let Ok(v) = HeaderValue::from_bytes(l) {
                h.append("x-forwarded-for", v);
            }
        }
        let want: Vec<Option<Node>> = RevList::new(all(&h))
            .map(|i| match i {
                Item::Value(v) => Some(parse_node(v)),
                Item::OverBudget => None,
            })
            .collect();
        let hops = |mut list: Box<dyn HopSource<'_> + '_>| {
            let mut got = Vec::new();
            while let Some(hop) = list.next_hop() {
                got.push(match hop {
                    Hop::V4(ip) => Some(Node::Ip(ip.into())),
                    Hop::Other(v) => Some(parse_node(v)),
                    Hop::OverBudget => None,
                });
            }
            got
        };
        assert_eq!(hops(Box::new(RevList::new(all(&h)))), want, "{lines:?}");
        // The single-line reader, wherever it applies, reads the same.
        if let Some(v) = h.get("x-forwarded-for")
            && h.get_all("x-forwarded-for").iter().count() == 1
            && let Some(line) = RevLine::new(&Lines::One(v))
        {
            assert_eq!(hops(Box::new(line)), want, "single line {lines:?}");
        }
    }

    #[test]
    fn next_hop_agrees_with_the_general_path() {
        let cases = [
            "1.2.3.4",
            " 1.2.3.4 ",
            "\t1.2.3.4\t,\t5.6.7.8\t",
            "0.0.0.0, 255.255.255.255",
            "01.2.3.4",
            "1.2.3.04",
            "1.02.3.4",
            "1.2.3.00",
            "256.1.1.1",
            "1.2.3.256",
            "1.2.3.999",
            "1.2.3.1000",
            "1000.1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3.4",
            "1.2.3.4.",
            "-1.2.3.4",
            "+1.2.3.4",
            "a1.2.3.4",
            "1.2.3.4a",
            "1.2.3",
            "1.2.3.4:80",
            "[1.2.3.4]",
            "::ffff:1.2.3.4",
            "[::ffff:10.0.0.1]:80",
            "1.2.3.4 5.6.7.8",
            "unknown, 1.2.3.4",
            "_hidden,1.2.3.4,",
            ",,1.2.3.4,, ,",
            "x,1.2.3.4",
            "1.2.3.4",
            "",
            " ",
        ];
        for c in cases {
            assert_hops_agree(&[c.as_bytes().to_vec()]);
            assert_hops_agree(&[c.as_bytes().to_vec(), b"10.0.0.1".to_vec()]);
            assert_hops_agree(&[b"10.0.0.1, 10.0.0.2".to_vec(), c.as_bytes().to_vec()]);
        }
        // Around the byte budget: the fast path counts bytes as `next` does.
        for pad in [0, 1, 2, 7, 8, 9, 15, 16] {
            for tail in ["1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "junk"] {
                let fill = " ".repeat(MAX_HEADER_BYTES - tail.len() - pad);
                let line = format!("{fill}9.9.9.9,{tail}");
                assert_hops_agree(&[line.clone().into_bytes()]);
                assert_hops_agree(&[line.into_bytes(), tail.as_bytes().to_vec()]);
                let long = format!("{}{tail}", "1".repeat(MAX_HEADER_BYTES - pad));
                assert_hops_agree(&[long.into_bytes(), b"5.6.7.8".to_vec()]);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        #[test]
        fn next_hop_agrees_on_generated_lines(
            lines in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "0", "1", "2", "5", "9", "00", "25", "255", "256", "199", ".", ",",
                        " ", "\t", ":", "[", "]", "a", "_", "1.2.3.4", "10.0.0.1", ":80",
                    ]),
                    0..16,
                )
                .prop_map(|v| v.concat().into_bytes()),
                0..4,
            )
        ) {
            assert_hops_agree(lines.as_slice());
        }

        #[test]
        fn nth_from_right_inline_path_agrees(
            v in "[a-z ,\t]{0,70}",
            n in 1usize..5,
        ) {
            let h = map(&[&v]);
            let one = Lines::One(h.get("x-forwarded-for").unwrap());
            let slow = nth_from_right_slow(Lines::One(h.get("x-forwarded-for").unwrap()), n);
            proptest::prop_assert_eq!(nth_from_right(one, n), slow);
        }
    }

    #[test]
    fn lines_merge_in_order_and_read_backwards() {
        let h = map(&["a, b", "c", " ,d ,, \te\t"]);
        assert_eq!(rev(&h), ["e", "d", "c", "b", "a"]);
    }

    #[test]
    fn rfind_comma_finds_the_last_one() {
        // Every position and length around the 8-byte chunks, with one or two commas.
        for len in 0..40 {
            for i in 0..len {
                for j in [None, Some(0), Some(i / 2)] {
                    let mut b = vec![b'a'; len];
                    // Bytes that differ from ',' only in bits a borrow could flip.
                    for (k, c) in b.iter_mut().enumerate() {
                        *c = [b'a', b'-', b'.', 0xac, b'+', 0x2d][k % 6];
                    }
                    if let Some(j) = j {
                        b[j] = b',';
                    }
                    b[i] = b',';
                    let want = b.iter().rposition(|&c| c == b',');
                    assert_eq!(rfind_comma(&b), want, "len {len} i {i} j {j:?}");
                }
            }
            let plain = vec![b'x'; len];
            assert_eq!(rfind_comma(&plain), None);
        }
    }

    #[test]
    fn budget_stops_reading() {
        let long = "1".repeat(MAX_HEADER_BYTES);
        let h = map(&[&long, "x"]);
        assert_eq!(rev(&h), ["x", "<over>"]);
    }

    #[test]
    fn nth_from_right_clamps_to_the_leftmost() {
        let h = map(&["a, b, c"]);
        let get = |n| match nth_from_right(all(&h), n) {
            Lookup::Value(v) => std::str::from_utf8(v).unwrap().to_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(get(1), "c");
        assert_eq!(get(2), "b");
        assert_eq!(get(3), "a");
        assert_eq!(get(9), "a");
        assert_eq!(nth_from_right(Lines::Absent, 1), Lookup::Absent);
    }
}

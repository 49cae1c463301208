//! Comma-separated list headers (`X-Forwarded-For`, `-Proto`, `-Host`, `-Port`) read right to
//! left.
//!
//! All lines of a header are one list, in order (RFC 9110 §5.3): reading the lines backwards
//! and each line backwards gives the merged list from the right without building it. Empty
//! elements are skipped, as RFC 9110 §5.6.1 asks of list recipients.

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
#[inline]
pub(crate) fn nth_from_right(lines: Lines<'_>, n: usize) -> Lookup<'_> {
    match lines {
        Lines::Absent => return Lookup::Absent,
        // The common case, a single value (what a proxy that sets the header writes): it is
        // the answer whatever `n` is, so skip the general right-to-left machinery. The
        // outcomes are those of the loop below for a one-element list.
        Lines::One(v) if rfind_comma(v.as_bytes()).is_none() => {
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
        Lines::One(_) | Lines::Many(_) => {}
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
    use super::*;
    use http::{HeaderMap, HeaderValue};

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

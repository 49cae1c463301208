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
    done: bool,
}

impl<'a> RevList<'a> {
    pub(crate) fn new(lines: Lines<'a>) -> Self {
        RevList {
            lines: lines.rev(),
            cur: None,
            used: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for RevList<'a> {
    type Item = Item<'a>;

    #[inline]
    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if self.done {
                return None;
            }
            let line = match self.cur.take() {
                Some(l) => l,
                None => match self.lines.next() {
                    Some(v) => v.as_bytes(),
                    None => {
                        self.done = true;
                        return None;
                    }
                },
            };
            let elem = match line.iter().rposition(|&b| b == b',') {
                Some(i) => {
                    self.cur = Some(&line[..i]);
                    &line[i + 1..]
                }
                None => line,
            };
            // Each element costs its bytes plus one separator.
            self.used += elem.len() + 1;
            if self.used > MAX_HEADER_BYTES + 1 {
                self.done = true;
                return Some(Item::OverBudget);
            }
            let t = trim_ows(elem);
            if !t.is_empty() {
                return Some(Item::Value(t));
            }
        }
    }
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
    if let Lines::Absent = lines {
        return Lookup::Absent;
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

//! RFC 7239 `Forwarded`, read right to left.
//!
//! Quoted strings may hold `,` and `;`, so elements cannot be split blindly: each header line
//! is scanned left to right (respecting quotes) for the spans of its rightmost elements, which
//! are then parsed and handed out newest first. Lines are read independently: an unterminated
//! quote cannot swallow a later line that a proxy added.

use super::lines::{Lines, RevLines};
use super::{MAX_HEADER_BYTES, MAX_HOPS, trim_ows};

/// The parameters of one element that matter here. A present-but-unusable value (a quoted
/// string with backslash escapes, which no address, scheme or host needs) is stored as an
/// empty slice: it then fails validation, which is the fail-closed outcome we want.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub(crate) for_: Option<&'a [u8]>,
    pub(crate) proto: Option<&'a [u8]>,
    pub(crate) host: Option<&'a [u8]>,
    /// Syntax error or a repeated parameter: nothing in the element may be used.
    pub(crate) malformed: bool,
    /// At least one pair was present (`by=` and extensions included).
    pub(crate) any: bool,
}

impl Element<'_> {
    /// No pairs at all (only whitespace and `;`): an empty list element, which is skipped. An
    /// element with only `by=` is not empty: it is a hop that did not disclose its client.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        !self.malformed && !self.any
    }
}

/// One step of a right-to-left read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    Element(Element<'a>),
    /// More elements exist than were kept (hop cap or byte budget); nothing follows.
    Truncated,
}

/// Ring capacity: the walk never looks further than `MAX_HOPS` elements.
const RING: usize = MAX_HOPS + 1;

/// Right-to-left iterator over the elements of all `Forwarded` lines.
///
/// Each line is scanned once for where its (rightmost [`RING`]) elements are; an element is
/// parsed from its span when handed out. Keeping spans, not parsed elements, keeps this
/// iterator small and parses only the elements the walk reaches.
pub(crate) struct RevElements<'a> {
    lines: RevLines<'a>,
    line: &'a [u8],
    /// `(start, end)` of the current line's elements, a ring in line order.
    spans: [(u16, u16); RING],
    /// Elements of the current line not yet handed out (newest first from `next_idx`).
    pending: usize,
    next_idx: usize,
    /// The current line had more elements than the ring holds.
    line_truncated: bool,
    used: usize,
    done: bool,
}

impl<'a> RevElements<'a> {
    #[inline]
    pub(crate) fn new(lines: Lines<'a>) -> Self {
        RevElements {
            lines: lines.rev(),
            line: &[],
            spans: [(0, 0); RING],
            pending: 0,
            next_idx: 0,
            line_truncated: false,
            used: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for RevElements<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if self.done {
                return None;
            }
            if self.pending > 0 {
                let (start, end) = self.spans[self.next_idx];
                self.pending -= 1;
                self.next_idx = (self.next_idx + RING - 1) % RING;
                let mut p = Parser {
                    b: &self.line[usize::from(start)..usize::from(end)],
                    pos: 0,
                };
                return Some(Item::Element(p.element()));
            }
            if self.line_truncated {
                self.done = true;
                return Some(Item::Truncated);
            }
            let Some(line) = self.lines.next() else {
                self.done = true;
                return None;
            };
            let line = line.as_bytes();
            // The bytes of this line still within the budget, counted from its right end.
            let Some(left) = (MAX_HEADER_BYTES + 1).checked_sub(self.used + 1) else {
                // An earlier line used the whole budget: this one is beyond it.
                self.done = true;
                return Some(Item::Element(Element {
                    malformed: true,
                    ..Element::default()
                }));
            };
            self.used += line.len() + 1;
            // Only elements lying wholly in the line's rightmost `left` bytes are handed out.
            // The spans are still found from the line's start, since whether a `,` ends an
            // element depends on the quotes before it; a long line that a proxy appended to
            // thus keeps the proxy's elements (the rightmost ones), and the element crossing
            // the budget is where the walk stops (fail closed).
            let cut = line.len().saturating_sub(left);
            let mut count = 0usize;
            let mut crossed = false;
            let spans = &mut self.spans;
            scan_spans(line, |start, end| {
                if start < cut {
                    crossed = true;
                } else {
                    // At most `left` <= MAX_HEADER_BYTES past `cut`, so offsets fit in u16.
                    spans[count % RING] = ((start - cut) as u16, (end - cut) as u16);
                    count += 1;
                }
            });
            self.line = &line[cut..];
            self.pending = count.min(RING);
            self.next_idx = (count + RING - 1) % RING;
            self.line_truncated = count > RING || crossed;
        }
    }
}

/// Finds the spans of a line's non-empty elements, left to right, without parsing them: an
/// element ends at a `,` outside quoted strings. A `"` anywhere outside a quoted string opens
/// one (with `\\` escapes), and an unterminated one runs to the end of the line: exactly
/// where [`parse_line`] ends elements, including while it recovers from a syntax error.
pub(crate) fn scan_spans(line: &[u8], mut emit: impl FnMut(usize, usize)) {
    let mut start = 0;
    let mut nonempty = false;
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b',' => {
                if nonempty {
                    emit(start, i);
                }
                start = i + 1;
                nonempty = false;
                i += 1;
            }
            b'"' => {
                nonempty = true;
                i += 1;
                while i < line.len() {
                    match line[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b' ' | b'\t' | b';' => i += 1,
            _ => {
                nonempty = true;
                i += 1;
            }
        }
    }
    if nonempty {
        emit(start, line.len());
    }
}

/// RFC 7230 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one header line, calling `emit` with every non-empty element and its byte span,
/// left to right. Parsing the span alone gives the same element: an element ends at a
/// top-level `,` or the end of the line, and nothing past that point affects it.
#[cfg(test)]
pub(crate) fn parse_line<'a>(line: &'a [u8], mut emit: impl FnMut(Element<'a>, usize, usize)) {
    let mut p = Parser { b: line, pos: 0 };
    loop {
        let start = p.pos;
        let el = p.element();
        if !el.is_empty() {
            emit(el, start, p.pos);
        }
        if p.pos >= p.b.len() {
            return;
        }
        p.pos += 1; // the ','
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips to the next top-level `,` (or the end), stepping over quoted strings.
    fn recover(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b',' => return,
                b'"' => {
                    if self.quoted().is_none() {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Reads a quoted string starting at the opening quote. `None` if unterminated (then
    /// `pos` is at the end). An escaped string yields an empty slice (see [`Element`]).
    fn quoted(&mut self) -> Option<&'a [u8]> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        while i < self.b.len() {
            match self.b[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                b'"' => {
                    self.pos = i + 1;
                    return Some(if escaped { &[] } else { &self.b[start..i] });
                }
                _ => i += 1,
            }
        }
        self.pos = self.b.len();
        None
    }

    /// Parses pairs until the `,` ending the element (left in place) or the end.
    fn element(&mut self) -> Element<'a> {
        let mut el = Element::default();
        loop {
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return el,
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            if !self.pair(&mut el) {
                el.malformed = true;
                self.recover();
                return el;
            }
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return el,
                Some(b';') => self.pos += 1,
                Some(_) => {
                    el.malformed = true;
                    self.recover();
                    return el;
                }
            }
        }
    }

    /// Parses `name=value` into `el`; `false` on a syntax error or a repeated parameter.
    fn pair(&mut self, el: &mut Element<'a>) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let name = &self.b[start..self.pos];
        if name.is_empty() || self.peek() != Some(b'=') {
            return false;
        }
        self.pos += 1;
        let value = if self.peek() == Some(b'"') {
            match self.quoted() {
                Some(v) => v,
                None => return false,
            }
        } else {
            // RFC 7239 wants a token here. Also accepting `:`, `[` and `]` lets through the
            // common unquoted `for=1.2.3.4:80` and `for=[::1]`; values are still validated.
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|c| is_tchar(c) || matches!(c, b':' | b'[' | b']'))
            {
                self.pos += 1;
            }
            &self.b[start..self.pos]
        };
        let value = trim_ows(value);
        el.any = true;
        let slot = if name.eq_ignore_ascii_case(b"for") {
            &mut el.for_
        } else if name.eq_ignore_ascii_case(b"proto") {
            &mut el.proto
        } else if name.eq_ignore_ascii_case(b"host") {
            &mut el.host
        } else {
            // `by` and extensions: syntax-checked, otherwise unused.
            return true;
        };
        if slot.is_some() {
            return false; // RFC 7239 §4: each parameter at most once per element
        }
        *slot = Some(value);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn parse(line: &str) -> Vec<Element<'_>> {
        let mut v = Vec::new();
        parse_line(line.as_bytes(), |e, start, end| {
            // The span alone parses to the same element (what `RevElements` relies on).
            let mut again = Parser {
                b: &line.as_bytes()[start..end],
                pos: 0,
            };
            assert_eq!(again.element(), e, "span {start}..{end} of {line:?}");
            v.push(e);
        });
        v
    }

    fn s(b: Option<&[u8]>) -> Option<&str> {
        b.map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn quoted_strings_may_hold_commas_and_semicolons() {
        let els = parse(r#"for="[2001:db8::1]:4711";host="a,b;c", for=192.0.2.1;proto=https"#);
        assert_eq!(els.len(), 2);
        assert_eq!(s(els[0].for_), Some("[2001:db8::1]:4711"));
        assert_eq!(s(els[0].host), Some("a,b;c"));
        assert_eq!(s(els[1].for_), Some("192.0.2.1"));
        assert_eq!(s(els[1].proto), Some("https"));
        assert!(!els[0].malformed && !els[1].malformed);
    }

    #[test]
    fn malformed_elements_are_flagged_and_parsing_resyncs() {
        let table: &[(&str, usize, &[bool])] = &[
            ("for=1.2.3.4 junk, for=5.6.7.8", 2, &[true, false]),
            ("for=1.2.3.4;for=5.6.7.8, for=9.9.9.9", 2, &[true, false]),
            ("for=\"1.2.3.4, for=5.6.7.8", 1, &[true]),
            ("=x, for=1.1.1.1", 2, &[true, false]),
            ("for, for=1.1.1.1", 2, &[true, false]),
            (" , ;, for=1.1.1.1 ,", 1, &[false]),
            ("by=_x, for=1.1.1.1", 2, &[false, false]),
            ("FOR=1.1.1.1;Proto=HTTPS;by=_x", 1, &[false]),
        ];
        for (line, n, flags) in table {
            let els = parse(line);
            assert_eq!(els.len(), *n, "case {line:?}: element count");
            let got: Vec<bool> = els.iter().map(|e| e.malformed).collect();
            assert_eq!(&got, flags, "case {line:?}: malformed flags");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// `parse` asserts that every element's span re-parses to the same element.
        #[test]
        fn spans_reparse_to_the_same_element(line in "[a-z0-9=;,\" \\\\\t:_.\\[\\]]{0,48}") {
            parse(&line);
        }
    }

    #[test]
    fn escaped_quoted_values_are_unusable() {
        let els = parse(r#"for="1.2.3.\4""#);
        assert_eq!(els[0].for_, Some(&b""[..]));
    }

    #[test]
    fn lines_are_read_newest_first_and_capped() {
        let mut h = HeaderMap::new();
        h.append("forwarded", HeaderValue::from_static("for=a, for=b"));
        h.append("forwarded", HeaderValue::from_static("for=c"));
        let got: Vec<_> = RevElements::new(Lines::Many(h.get_all("forwarded")))
            .map(|i| match i {
                Item::Element(e) => s(e.for_).unwrap_or("-").to_owned(),
                Item::Truncated => "T".to_owned(),
            })
            .collect();
        assert_eq!(got, ["c", "b", "a"]);

        let many = (0..40)
            .map(|i| format!("for=10.0.0.{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut h = HeaderMap::new();
        h.append("forwarded", HeaderValue::from_str(&many).unwrap());
        let got: Vec<_> = RevElements::new(Lines::Many(h.get_all("forwarded"))).collect();
        assert_eq!(got.len(), RING + 1);
        assert_eq!(got[RING], Item::Truncated);
        match got[0] {
            Item::Element(e) => assert_eq!(s(e.for_), Some("10.0.0.39")),
            Item::Truncated => panic!("newest first"),
        }
    }
}

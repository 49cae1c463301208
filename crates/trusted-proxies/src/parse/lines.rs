//! Finding the forwarding headers of a request.
//!
//! `HeaderMap` hashes custom names such as `x-forwarded-proto` byte by byte (FNV), which made
//! five lookups the largest cost of a resolve. A request has few headers, so one linear pass
//! comparing names finds all of ours for less; maps with many values use plain lookups.

use http::header::{FORWARDED, GetAll, HOST, HeaderMap, HeaderName, HeaderValue, ValueIter};

use crate::HeaderFamily;

pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(crate) const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Above this many header values, hashing a handful of names beats scanning them all.
const SCAN_MAX: usize = 32;

/// Where the lines of one header are. Small (a reference or two) so that finding all our
/// headers moves little memory; iterate with [`Lines::rev`].
pub(crate) enum Lines<'a> {
    Absent,
    One(&'a HeaderValue),
    Many(GetAll<'a, HeaderValue>),
}

impl<'a> Lines<'a> {
    /// The lines, last first.
    #[inline]
    pub(crate) fn rev(self) -> RevLines<'a> {
        match self {
            Lines::Absent => RevLines::One(None),
            Lines::One(v) => RevLines::One(Some(v)),
            Lines::Many(all) => RevLines::Many(all.iter()),
        }
    }

    /// The lines of a `get_all` lookup.
    #[inline]
    pub(crate) fn from_all(all: GetAll<'a, HeaderValue>) -> Self {
        Lines::Many(all)
    }
}

/// Iterator over the lines of one header, last first.
pub(crate) enum RevLines<'a> {
    One(Option<&'a HeaderValue>),
    Many(ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for RevLines<'a> {
    type Item = &'a HeaderValue;

    #[inline]
    fn next(&mut self) -> Option<&'a HeaderValue> {
        match self {
            RevLines::One(v) => v.take(),
            RevLines::Many(it) => it.next_back(),
        }
    }
}

/// The headers a resolve may read. Only the chosen family's headers are filled in; `chain` is
/// `X-Forwarded-For` or `Forwarded`.
pub(crate) struct Found<'a> {
    pub(crate) chain: Lines<'a>,
    pub(crate) proto: Lines<'a>,
    pub(crate) host: Lines<'a>,
    pub(crate) port: Lines<'a>,
    pub(crate) own_host: Lines<'a>,
}

impl<'a> Found<'a> {
    #[inline]
    fn slot(&mut self, name: &HeaderName, family: HeaderFamily) -> Option<&mut Lines<'a>> {
        if name == HOST {
            return Some(&mut self.own_host);
        }
        match family {
            HeaderFamily::Forwarded => (name == FORWARDED).then_some(&mut self.chain),
            HeaderFamily::XForwarded => match name.as_str() {
                "x-forwarded-for" => Some(&mut self.chain),
                "x-forwarded-proto" => Some(&mut self.proto),
                "x-forwarded-host" => Some(&mut self.host),
                "x-forwarded-port" => Some(&mut self.port),
                _ => None,
            },
        }
    }
}

/// Finds this family's forwarding headers and `Host`.
#[inline(always)]
pub(crate) fn find(headers: &HeaderMap, family: HeaderFamily) -> Found<'_> {
    let mut found = Found {
        chain: Lines::Absent,
        proto: Lines::Absent,
        host: Lines::Absent,
        port: Lines::Absent,
        own_host: Lines::Absent,
    };
    if headers.len() <= SCAN_MAX {
        for (name, value) in headers {
            if let Some(slot) = found.slot(name, family) {
                match slot {
                    Lines::Absent => *slot = Lines::One(value),
                    // A second line: hash the name once to get all of them in order.
                    Lines::One(_) => *slot = Lines::Many(headers.get_all(name)),
                    Lines::Many(_) => {}
                }
            }
        }
    } else {
        let all = |name: HeaderName| Lines::Many(headers.get_all(name));
        found.own_host = all(HOST);
        match family {
            HeaderFamily::Forwarded => found.chain = all(FORWARDED),
            HeaderFamily::XForwarded => {
                found.chain = all(X_FORWARDED_FOR);
                found.proto = all(X_FORWARDED_PROTO);
                found.host = all(X_FORWARDED_HOST);
                found.port = all(X_FORWARDED_PORT);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(l: Lines<'_>) -> Vec<String> {
        l.rev().map(|x| x.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn scan_and_lookup_agree() {
        for filler in [0usize, 40] {
            let mut h = HeaderMap::new();
            for i in 0..filler {
                h.append(
                    HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
                    HeaderValue::from_static("x"),
                );
            }
            h.append("x-forwarded-for", HeaderValue::from_static("a"));
            h.append("x-forwarded-proto", HeaderValue::from_static("https"));
            h.append("x-forwarded-for", HeaderValue::from_static("b"));
            h.append("host", HeaderValue::from_static("h"));
            h.append("forwarded", HeaderValue::from_static("for=f"));
            let f = find(&h, HeaderFamily::XForwarded);
            assert_eq!(collect(f.chain), ["b", "a"], "filler {filler}");
            assert_eq!(collect(f.proto), ["https"], "filler {filler}");
            assert!(collect(f.host).is_empty(), "filler {filler}");
            assert_eq!(collect(f.own_host), ["h"], "filler {filler}");
            let f = find(&h, HeaderFamily::Forwarded);
            assert_eq!(collect(f.chain), ["for=f"], "filler {filler}");
            assert!(collect(f.proto).is_empty(), "filler {filler}");
        }
    }
}

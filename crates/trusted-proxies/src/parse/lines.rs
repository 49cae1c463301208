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

/// Which of [`Found`]'s fields a header fills.
#[derive(Clone, Copy)]
enum Slot {
    Chain,
    Proto,
    Host,
    Port,
    OwnHost,
}

/// The slot of header `name`, if this family reads it.
#[inline(always)]
fn slot(name: &HeaderName, family: HeaderFamily) -> Option<Slot> {
    if name == HOST {
        return Some(Slot::OwnHost);
    }
    match family {
        HeaderFamily::Forwarded => (name == FORWARDED).then_some(Slot::Chain),
        HeaderFamily::XForwarded => match name.as_str() {
            "x-forwarded-for" => Some(Slot::Chain),
            "x-forwarded-proto" => Some(Slot::Proto),
            "x-forwarded-host" => Some(Slot::Host),
            "x-forwarded-port" => Some(Slot::Port),
            _ => None,
        },
    }
}

/// Records one more line of a header.
#[inline(always)]
fn add<'a>(
    lines: &mut Lines<'a>,
    headers: &'a HeaderMap,
    name: &HeaderName,
    value: &'a HeaderValue,
) {
    match lines {
        Lines::Absent => *lines = Lines::One(value),
        // A second line: hash the name once to get all of them in order.
        Lines::One(_) => *lines = Lines::Many(headers.get_all(name)),
        Lines::Many(_) => {}
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
            // Each arm names its field: a `&mut` chosen at run time among the fields kept
            // `found` in memory, and copying it out afterwards stalled on store forwarding.
            let f = &mut found;
            match slot(name, family) {
                Some(Slot::Chain) => add(&mut f.chain, headers, name, value),
                Some(Slot::Proto) => add(&mut f.proto, headers, name, value),
                Some(Slot::Host) => add(&mut f.host, headers, name, value),
                Some(Slot::Port) => add(&mut f.port, headers, name, value),
                Some(Slot::OwnHost) => add(&mut f.own_host, headers, name, value),
                None => {}
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

//! The fuzz entry point, shared by `fuzz/fuzz_targets/resolve.rs` (libFuzzer) and
//! `tests/properties.rs` (a bounded proptest run on every `cargo test`).
//!
//! Input layout: byte 0 picks the configuration, byte 1 the peer, and the rest is header
//! lines separated by `\n`, each starting with a byte that picks the header name.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use trusted_proxies::{ClientAddr, HeaderFamily, Peer, ProxyConfig, Scheme, TrustPolicy};

const NAMES: [&str; 6] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
    "host",
];

fn config(b: u8) -> (ProxyConfig, bool) {
    let cidr = b & 3 == 3;
    let policy = match b & 3 {
        0 => TrustPolicy::none(),
        1 => TrustPolicy::all(),
        2 => TrustPolicy::hops(usize::from((b >> 2) & 3)),
        _ => TrustPolicy::parse("loopback, 10.0.0.0/8, fc00::/7").unwrap(),
    };
    let mut c = ProxyConfig::new(policy.trust_unix_peers(b & 4 != 0))
        .headers(if b & 8 != 0 {
            HeaderFamily::Forwarded
        } else {
            HeaderFamily::XForwarded
        })
        .honour_for(b & 16 == 0)
        .honour_proto(b & 32 == 0)
        .honour_host(b & 64 == 0)
        .connection_scheme(if b & 128 != 0 {
            Scheme::Https
        } else {
            Scheme::Http
        });
    if b & 0b0101_0000 == 0b0101_0000 {
        c = c.allowed_hosts(["a.test", "[::1]:8443", "10.0.0.1"]);
    }
    (c, cidr)
}

fn peer(b: u8) -> Peer {
    match b % 8 {
        0 => Peer::Unix,
        1 => Peer::Unknown,
        2 => Peer::from(SocketAddr::from((Ipv6Addr::LOCALHOST, 1))),
        // What a `[::]` listener reports for an IPv4 client.
        3 => Peer::from(SocketAddr::from((
            Ipv4Addr::new(10, 0, 0, b).to_ipv6_mapped(),
            1,
        ))),
        4 | 5 => Peer::from(SocketAddr::from((Ipv4Addr::new(10, 0, 0, b), 2))),
        _ => Peer::from(SocketAddr::from((Ipv4Addr::new(198, 51, 100, b), 3))),
    }
}

fn headers(data: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Some((&sel, value)) = line.split_first()
            && let Ok(v) = HeaderValue::from_bytes(value)
        {
            h.append(
                HeaderName::from_static(NAMES[usize::from(sel) % NAMES.len()]),
                v,
            );
        }
    }
    h
}

/// Resolves the decoded request and checks the invariants; panics on a violation.
pub fn run(data: &[u8]) {
    let [c, p, rest @ ..] = data else { return };
    let (config, cidr) = config(*c);
    let peer = peer(*p);
    let h = headers(rest);
    let r = config.resolve(peer, &h);

    assert_eq!(r, config.resolve(peer, &h), "deterministic");
    let _ = format!("{r:?}");
    if !config.policy().trusts_peer(peer) {
        assert_eq!(r.client().ip(), peer.ip(), "untrusted peer is the client");
        assert!(r.trusted_hops().is_empty());
        assert!(!r.peer_trusted());
    }
    if cidr {
        for hop in r.trusted_hops() {
            assert!(
                config.policy().trusts(*hop),
                "untrusted hop {hop} listed as trusted"
            );
        }
    }
    if let Some(host) = r.host() {
        assert!(
            !host.is_empty() && host.len() <= 253,
            "host length {host:?}"
        );
        assert!(
            host.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._[]:".contains(&b)),
            "host charset {host:?}"
        );
        let origin = r.origin().expect("a host gives an origin");
        assert!(
            origin.starts_with(r.scheme().as_str()) && origin.contains(host),
            "{origin}"
        );
    } else {
        assert!(r.origin().is_none() && r.port().is_none());
    }
    assert_ne!(r.port(), Some(0));

    // Prepending client-written hops never changes a walk that stopped before the left end:
    // the client is Unknown or not trusted by the (address-based) policy.
    let stopped = match r.client() {
        ClientAddr::Ip(ip) => cidr && !config.policy().trusts(ip),
        ClientAddr::Unknown => matches!(peer, Peer::Tcp(_)),
    };
    if cidr && stopped && config.policy().trusts_peer(peer) {
        let (name, forged) = match config.header_family() {
            HeaderFamily::XForwarded => ("x-forwarded-for", "6.6.6.6, 10.0.0.9"),
            HeaderFamily::Forwarded => ("forwarded", "for=6.6.6.6;proto=https;host=evil.test"),
        };
        let mut more = HeaderMap::new();
        more.append(name, HeaderValue::from_static(forged));
        for (k, v) in &h {
            more.append(k, v.clone());
        }
        let r2 = config.resolve(peer, &more);
        assert_eq!(r.client(), r2.client(), "prepending changed the client");
        assert_eq!(r.scheme(), r2.scheme(), "prepending changed the scheme");
        assert_eq!(r.host(), r2.host(), "prepending changed the host");
    }
}

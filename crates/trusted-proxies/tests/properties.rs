//! Property tests: no input panics, the walk agrees with a reference model, and client-written
//! hops to the left of the first untrusted one change nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use trusted_proxies::{ClientAddr, HeaderFamily, Peer, ProxyConfig, Scheme, TrustPolicy};

const NAMES: &[&str] = &[
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
    "host",
];

fn config_strategy() -> impl Strategy<Value = ProxyConfig> {
    let policy = prop_oneof![
        Just(TrustPolicy::none()),
        Just(TrustPolicy::all()),
        (0usize..5).prop_map(TrustPolicy::hops),
        Just(TrustPolicy::parse("loopback, 10.0.0.0/8, fc00::/7").unwrap()),
    ];
    (policy, any::<bool>(), any::<[bool; 3]>(), any::<bool>()).prop_map(|(p, fwd, h, allow)| {
        let mut c = ProxyConfig::new(p)
            .headers(if fwd {
                HeaderFamily::Forwarded
            } else {
                HeaderFamily::XForwarded
            })
            .honour_for(h[0])
            .honour_proto(h[1])
            .honour_host(h[2]);
        if allow {
            c = c.allowed_hosts(["a.test", "[::1]:8443"]);
        }
        c
    })
}

fn peer_strategy() -> impl Strategy<Value = Peer> {
    prop_oneof![
        Just(Peer::Unix),
        Just(Peer::Unknown),
        any::<(u8, u16)>()
            .prop_map(|(b, port)| Peer::from(SocketAddr::from(([10, 0, 0, b], port)))),
        any::<([u8; 4], u16)>().prop_map(|(ip, port)| Peer::from(SocketAddr::from((ip, port)))),
        any::<(u128, u16)>()
            .prop_map(|(ip, port)| Peer::from(SocketAddr::from((Ipv6Addr::from(ip), port)))),
    ]
}

/// Header bytes biased towards the syntax that matters.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..12),
        2 => proptest::sample::select(vec![
            ",", ";", "=", "\"", "\\", " ", "\t", "[", "]", ":", "for=", "proto=", "host=",
            "unknown", "_x", "10.0.0.2", "1.2.3.4", "::1", "::ffff:", "%25", "https", "HTTP",
            "a.test", "8443",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn headers_strategy() -> impl Strategy<Value = HeaderMap> {
    proptest::collection::vec((0..NAMES.len(), header_bytes()), 0..10).prop_map(|lines| {
        let mut h = HeaderMap::new();
        for (i, bytes) in lines {
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                h.append(HeaderName::from_static(NAMES[i]), v);
            }
        }
        h
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_results_are_sane(config in config_strategy(), peer in peer_strategy(), headers in headers_strategy()) {
        let r = config.resolve(peer, &headers);
        let _ = (r.origin(), r.host(), r.port(), format!("{r:?}"));
        if !config.policy().trusts_peer(peer) {
            prop_assert_eq!(r.client().ip(), peer.ip());
            prop_assert!(r.trusted_hops().is_empty());
        }
        if let Some(h) = r.host() {
            prop_assert!(h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b)), "host {:?}", h);
            prop_assert!(!h.bytes().any(|b| b.is_ascii_uppercase()));
        }
        prop_assert!(r.trusted_hops().len() <= trusted_proxies::MAX_HOPS + 1);
    }
}

/// One hop as a proxy (or the client) might write it.
#[derive(Clone, Debug)]
enum Hop {
    Trusted(Ipv4Addr),
    Untrusted(IpAddr),
    NotAnAddress(&'static str),
}

fn hop_strategy() -> impl Strategy<Value = Hop> {
    prop_oneof![
        4 => any::<[u8; 3]>().prop_map(|[a, b, c]| Hop::Trusted(Ipv4Addr::new(10, a, b, c))),
        2 => prop_oneof![
            any::<u8>().prop_map(|x| IpAddr::V4(Ipv4Addr::new(198, 51, 100, x))),
            any::<u16>().prop_map(|x| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, x))),
        ]
        .prop_map(Hop::Untrusted),
        1 => proptest::sample::select(vec!["unknown", "_hidden", "garbage", "1.2.3", "fe80::1%eth0", "[::1"])
            .prop_map(Hop::NotAnAddress),
    ]
}

/// Writes a hop the way real proxies vary: with or without port, IPv4-mapped, bracketed.
fn render(hop: &Hop, style: u8) -> String {
    match (hop, style % 4) {
        (Hop::Trusted(v4), 0) => v4.to_string(),
        (Hop::Trusted(v4), 1) => format!("{v4}:{}", 1000 + u16::from(style)),
        (Hop::Trusted(v4), 2) => format!("::ffff:{v4}"),
        (Hop::Trusted(v4), _) => format!("[::ffff:{v4}]:443"),
        (Hop::Untrusted(IpAddr::V4(v4)), s) if s % 2 == 0 => v4.to_string(),
        (Hop::Untrusted(IpAddr::V4(v4)), _) => format!("{v4}:80"),
        (Hop::Untrusted(IpAddr::V6(v6)), 0) => v6.to_string(),
        (Hop::Untrusted(IpAddr::V6(v6)), 1) => format!("[{v6}]"),
        (Hop::Untrusted(ip), _) => format!("[{ip}]:8080"),
        (Hop::NotAnAddress(s), _) => (*s).to_owned(),
    }
}

/// The reference model of the walk: the first hop from the right that is not trusted.
fn model(chain: &[Hop], peer: Ipv4Addr) -> ClientAddr {
    for hop in chain.iter().rev() {
        match hop {
            Hop::Trusted(_) => continue,
            Hop::Untrusted(ip) => return ClientAddr::Ip(*ip),
            Hop::NotAnAddress(_) => return ClientAddr::Unknown,
        }
    }
    match chain.first() {
        Some(Hop::Trusted(v4)) => ClientAddr::Ip(IpAddr::V4(*v4)),
        _ => ClientAddr::Ip(IpAddr::V4(peer)),
    }
}

/// Renders a chain into header lines, scattering empty elements, whitespace and line breaks.
fn xff_lines(chain: &[Hop], layout: &[u8]) -> Vec<String> {
    let mut lines = vec![String::new()];
    for (i, hop) in chain.iter().enumerate() {
        let l = layout.get(i).copied().unwrap_or(0);
        let line = lines.last_mut().unwrap();
        if !line.is_empty() {
            line.push_str(if l & 8 == 0 { ", " } else { ",\t," });
        }
        line.push_str(&render(hop, l));
        if l & 16 != 0 {
            lines.push(String::new());
        }
    }
    lines
}

fn forwarded_lines(chain: &[Hop], protos: &[bool], layout: &[u8]) -> Vec<String> {
    let mut lines = vec![String::new()];
    for (i, hop) in chain.iter().enumerate() {
        let l = layout.get(i).copied().unwrap_or(0);
        let line = lines.last_mut().unwrap();
        if !line.is_empty() {
            line.push_str(", ");
        }
        let node = render(hop, l);
        let quoted = node.contains(':') || node.contains('[') || l & 32 != 0;
        let proto = if protos.get(i).copied().unwrap_or(false) {
            "https"
        } else {
            "http"
        };
        if quoted {
            line.push_str(&format!("for=\"{node}\";proto={proto}"));
        } else {
            line.push_str(&format!("for={node};proto={proto}"));
        }
        if l & 16 != 0 {
            lines.push(String::new());
        }
    }
    lines
}

fn map(name: &'static str, lines: &[String]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for l in lines {
        h.append(name, HeaderValue::from_str(l).unwrap());
    }
    h
}

const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn cidr_config() -> ProxyConfig {
    ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8").unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn client_is_the_first_untrusted_hop_or_unknown(
        chain in proptest::collection::vec(hop_strategy(), 0..12),
        layout in proptest::collection::vec(any::<u8>(), 12),
    ) {
        let peer = Peer::from(SocketAddr::from((PEER, 4000)));
        let want = model(&chain, PEER);
        let r = cidr_config().resolve(peer, &map("x-forwarded-for", &xff_lines(&chain, &layout)));
        prop_assert_eq!(r.client(), want, "X-Forwarded-For");
        let protos = vec![false; chain.len()];
        let r = cidr_config()
            .headers(HeaderFamily::Forwarded)
            .resolve(peer, &map("forwarded", &forwarded_lines(&chain, &protos, &layout)));
        prop_assert_eq!(r.client(), want, "Forwarded");
        // Every listed hop is trusted, and the client never is one of them by accident.
        for ip in r.trusted_hops() {
            prop_assert!(cidr_config().policy().trusts(*ip));
        }
    }

    #[test]
    fn prepending_hops_left_of_the_first_untrusted_hop_changes_nothing(
        near in proptest::collection::vec(any::<[u8; 3]>().prop_map(|[a, b, c]| Hop::Trusted(Ipv4Addr::new(10, a, b, c))), 0..6),
        stop in hop_strategy().prop_filter("must stop the walk", |h| !matches!(h, Hop::Trusted(_))),
        left in proptest::collection::vec(hop_strategy(), 0..6),
        extra in proptest::collection::vec(hop_strategy(), 1..6),
        protos in proptest::collection::vec(any::<bool>(), 24),
        layout in proptest::collection::vec(any::<u8>(), 24),
    ) {
        let peer = Peer::from(SocketAddr::from((PEER, 4000)));
        // chain = left ++ [stop] ++ near; the attacker prepends `extra` on the far left.
        let mut chain: Vec<Hop> = left.clone();
        chain.push(stop);
        chain.extend(near);
        let mut longer = extra.clone();
        longer.extend(chain.iter().cloned());
        let n = extra.len();

        // X-Forwarded-For with an X-Forwarded-Proto appended at every hop (aligned lists).
        let xfp = |k: usize, skip: usize| protos[..k].iter().skip(skip).map(|&b| if b { "https" } else { "http" }).collect::<Vec<_>>().join(", ");
        let mut short = map("x-forwarded-for", &xff_lines(&chain, &layout[n..]));
        short.insert("x-forwarded-proto", HeaderValue::from_str(&xfp(longer.len(), n)).unwrap());
        let mut long = map("x-forwarded-for", &xff_lines(&longer, &[&layout[..n], &layout[n..]].concat()));
        long.insert("x-forwarded-proto", HeaderValue::from_str(&xfp(longer.len(), 0)).unwrap());
        let a = cidr_config().resolve(peer, &short);
        let b = cidr_config().resolve(peer, &long);
        prop_assert_eq!(&a, &b, "X-Forwarded-*");
        prop_assert!(a.client() == model(&chain, PEER));

        let fa = forwarded_lines(&chain, &protos[n..], &layout[n..]);
        let fb = forwarded_lines(&longer, &protos, &layout);
        let config = cidr_config().headers(HeaderFamily::Forwarded);
        let a = config.resolve(peer, &map("forwarded", &fa));
        let b = config.resolve(peer, &map("forwarded", &fb));
        prop_assert_eq!(&a, &b, "Forwarded");
        prop_assert!(matches!(a.scheme(), Scheme::Http | Scheme::Https));
    }
}

#[path = "common/fuzz_entry.rs"]
mod fuzz_entry;

/// Seeds shaped like the fuzzer's inputs: config byte, peer byte, `\n`-separated lines.
fn fuzz_input() -> impl Strategy<Value = Vec<u8>> {
    let line = (0u8..6, header_bytes()).prop_map(|(sel, mut v)| {
        v.insert(0, sel);
        v
    });
    (
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(line, 0..8),
    )
        .prop_map(|(c, p, lines)| {
            let mut out = vec![c, p];
            out.extend(lines.join(&b'\n'));
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The fuzz target's entry point (and its invariants) under a bounded random run.
    #[test]
    fn fuzz_entry_point_holds_its_invariants(data in fuzz_input()) {
        fuzz_entry::run(&data);
    }

    #[test]
    fn fuzz_entry_point_survives_raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        fuzz_entry::run(&data);
    }
}

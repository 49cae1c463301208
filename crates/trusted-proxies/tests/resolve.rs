//! Every trust-proxy pitfall, as a claim. Table cases name themselves in failure messages.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderValue, Request};
use trusted_proxies::{
    ClientAddr, HeaderFamily, MAX_HEADER_BYTES, MAX_HOPS, Peer, ProxyConfig, Resolved, Scheme,
    TrustPolicy,
};

fn peer(s: &str) -> Peer {
    match s {
        "unix" => Peer::Unix,
        "unknown" => Peer::Unknown,
        _ => Peer::from(s.parse::<SocketAddr>().expect("test peer")),
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn cfg(policy: &str) -> ProxyConfig {
    ProxyConfig::new(policy.parse().expect("test policy"))
}

fn run(config: &ProxyConfig, p: &str, h: &[(&str, &str)]) -> Resolved {
    config.resolve(peer(p), &headers(h))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn client(s: &str) -> ClientAddr {
    if s == "unknown" {
        ClientAddr::Unknown
    } else {
        ClientAddr::Ip(ip(s))
    }
}

fn hops(r: &Resolved) -> Vec<String> {
    r.trusted_hops().iter().map(ToString::to_string).collect()
}

/// (case name, policy, peer, headers, expected client)
type ClientCase<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

fn check_clients(config_of: impl Fn(&str) -> ProxyConfig, table: &[ClientCase<'_>]) {
    for (name, policy, p, h, want) in table {
        let r = run(&config_of(policy), p, h);
        assert_eq!(r.client(), client(want), "case `{name}`: {r:?}");
    }
}

#[test]
fn untrusted_peer_headers_count_for_nothing() {
    let r = run(
        &cfg("loopback"),
        "203.0.113.1:5000",
        &[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
            ("forwarded", "for=5.6.7.8;proto=https"),
            ("host", "app.lab.test"),
        ],
    );
    assert_eq!(r.client(), client("203.0.113.1"));
    assert_eq!(r.scheme(), Scheme::Http);
    assert_eq!(r.host(), Some("app.lab.test"));
    assert!(!r.peer_trusted());
    assert!(r.trusted_hops().is_empty());
}

#[test]
fn default_policy_trusts_nobody_not_even_loopback() {
    let r = ProxyConfig::default().resolve(
        peer("127.0.0.1:1"),
        &headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]),
    );
    assert_eq!(
        (r.client(), r.scheme()),
        (client("127.0.0.1"), Scheme::Http)
    );
}

#[test]
fn forged_leftmost_xff_is_ignored() {
    let r = run(
        &cfg("loopback"),
        "127.0.0.1:40000",
        &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(hops(&r), ["127.0.0.1"]);
}

#[test]
fn walk_stops_at_the_first_untrusted_hop() {
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.5")],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.5"]);
}

#[test]
fn unknown_identifier_stops_the_walk() {
    check_clients(
        cfg,
        &[
            (
                "xff unknown",
                "all",
                "10.0.0.1:1",
                &[("x-forwarded-for", "1.1.1.1, unknown")],
                "unknown",
            ),
            (
                "xff UNKNOWN",
                "all",
                "10.0.0.1:1",
                &[("x-forwarded-for", "1.1.1.1, UNKNOWN, 10.0.0.2")],
                "unknown",
            ),
            (
                "xff obfuscated",
                "all",
                "10.0.0.1:1",
                &[("x-forwarded-for", "1.1.1.1, _hidden")],
                "unknown",
            ),
            // Not skipped: the untrusted address behind `unknown` is not promoted to client.
            (
                "untrusted behind unknown",
                "10.0.0.0/8",
                "10.0.0.1:1",
                &[("x-forwarded-for", "198.51.100.7, unknown")],
                "unknown",
            ),
        ],
    );
}

#[test]
fn garbage_stops_the_walk_and_never_becomes_the_client() {
    let table: &[&str] = &[
        "evil.example",
        "1.2.3",
        "fe80::1%eth0",
        "[fe80::1%25eth0]:80",
        "\"1.2.3.4\"",
        "1.2.3.4:99999",
        "1.2.3.4:",
        "[::1",
        "<script>",
        "1.2.3.4 5.6.7.8",
    ];
    for garbage in table {
        let value = format!("198.51.100.7, {garbage}");
        let r = run(
            &cfg("10.0.0.0/8"),
            "10.0.0.1:1",
            &[("x-forwarded-for", &value)],
        );
        assert_eq!(r.client(), ClientAddr::Unknown, "case {garbage:?}");
        assert_eq!(r.client_ip(), None, "case {garbage:?}");
    }
}

#[test]
fn all_trusted_chain_yields_the_leftmost_value() {
    let r = run(
        &cfg("all"),
        "10.0.0.1:1",
        &[("x-forwarded-for", "6.6.6.6, 10.0.0.3, 10.0.0.2")],
    );
    assert_eq!(r.client(), client("6.6.6.6"));
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
}

#[test]
fn hop_count_policy_trusts_exactly_n_hops_from_the_peer() {
    let h: &[(&str, &str)] = &[("x-forwarded-for", "1.1.1.1, 2.2.2.2, 3.3.3.3")];
    for (n, want) in [
        (1, "3.3.3.3"),
        (2, "2.2.2.2"),
        (3, "1.1.1.1"),
        (4, "1.1.1.1"),
        (99, "1.1.1.1"),
    ] {
        let r = ProxyConfig::new(TrustPolicy::hops(n)).resolve(peer("203.0.113.9:1"), &headers(h));
        assert_eq!(r.client(), client(want), "case hops({n})");
    }
    let r = ProxyConfig::new(TrustPolicy::hops(0)).resolve(peer("203.0.113.9:1"), &headers(h));
    assert_eq!(r.client(), client("203.0.113.9"), "case hops(0)");
    let r = ProxyConfig::new(TrustPolicy::hops(2)).resolve(peer("203.0.113.9:1"), &headers(h));
    assert_eq!(hops(&r), ["203.0.113.9", "3.3.3.3"]);
}

#[test]
fn ipv4_mapped_peer_matches_loopback() {
    let r = run(
        &cfg("loopback"),
        "[::ffff:127.0.0.1]:40000",
        &[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert!(r.peer_trusted());
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(r.scheme(), Scheme::Https);
    assert_eq!(hops(&r), ["127.0.0.1"], "the hop is reported folded");
}

#[test]
fn ipv4_mapped_values_are_folded() {
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[(
            "x-forwarded-for",
            "::ffff:198.51.100.7, [::ffff:10.0.0.2]:80",
        )],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.2"]);
}

#[test]
fn ports_and_brackets_in_xff_are_accepted() {
    check_clients(
        cfg,
        &[
            (
                "v4:port",
                "loopback",
                "127.0.0.1:1",
                &[("x-forwarded-for", "198.51.100.7:5678")],
                "198.51.100.7",
            ),
            (
                "[v6]:port",
                "loopback",
                "127.0.0.1:1",
                &[("x-forwarded-for", "[2001:db8::1]:80")],
                "2001:db8::1",
            ),
            (
                "[v6]",
                "loopback",
                "127.0.0.1:1",
                &[("x-forwarded-for", "[2001:db8::1]")],
                "2001:db8::1",
            ),
            (
                "bare v6",
                "loopback",
                "127.0.0.1:1",
                &[("x-forwarded-for", "2001:db8::1")],
                "2001:db8::1",
            ),
            (
                "v6 peer",
                "::1",
                "[::1]:1",
                &[("x-forwarded-for", "2001:db8::1")],
                "2001:db8::1",
            ),
        ],
    );
}

#[test]
fn multiple_header_lines_are_merged_in_order() {
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2"),
            ("x-forwarded-for", "10.0.0.3"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.3", "10.0.0.2"]);
}

#[test]
fn whitespace_tabs_and_empty_elements_are_handled() {
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[
            ("x-forwarded-for", " ,\t198.51.100.7 ,, 10.0.0.2\t, "),
            ("x-forwarded-for", ""),
            ("x-forwarded-proto", " https ,\t"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(r.scheme(), Scheme::Https);
}

#[test]
fn scheme_comes_from_the_same_position_as_the_client() {
    // Positions from the right: 1 = written by the peer about 10.0.0.2, 2 = written by
    // 10.0.0.2 about the client, 3 = written by the client itself.
    let table: &[(&str, &str, Scheme)] = &[
        ("client lies https", "https, http, https", Scheme::Http),
        ("client lies http", "http, https, http", Scheme::Https),
        ("aligned", "https, https", Scheme::Https),
    ];
    for (name, xfp, want) in table {
        let r = run(
            &cfg("10.0.0.0/8"),
            "10.0.0.1:1",
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2"),
                ("x-forwarded-proto", xfp),
            ],
        );
        assert_eq!(r.client(), client("198.51.100.7"), "case `{name}`");
        assert_eq!(r.scheme(), *want, "case `{name}`");
    }
}

#[test]
fn client_written_x_forwarded_proto_is_ignored() {
    // Plain-HTTP client sends `X-Forwarded-Proto: https`; nginx appends `$scheme`.
    let r = run(
        &cfg("loopback"),
        "127.0.0.1:1",
        &[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https, http"),
        ],
    );
    assert_eq!(r.scheme(), Scheme::Http);
    assert!(!r.is_https());
}

#[test]
fn short_proto_list_uses_the_nearest_proxys_value() {
    // Two trusted proxies; only the nearest one set X-Forwarded-Proto (overwriting).
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[
            ("x-forwarded-for", "198.51.100.7, 10.0.0.2"),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(r.scheme(), Scheme::Https);
}

#[test]
fn trusted_peer_without_xff_is_the_client_but_its_proto_counts() {
    let r = run(
        &cfg("loopback"),
        "127.0.0.1:1",
        &[("x-forwarded-proto", "https"), ("host", "app.lab.test")],
    );
    assert_eq!(r.client(), client("127.0.0.1"));
    assert!(r.trusted_hops().is_empty());
    assert_eq!(r.scheme(), Scheme::Https);
    assert_eq!(r.origin().as_deref(), Some("https://app.lab.test"));
}

#[test]
fn invalid_scheme_falls_back_to_the_connection_scheme() {
    let table: &[(&str, &str, Scheme, Scheme)] = &[
        ("ftp", "ftp", Scheme::Http, Scheme::Http),
        ("upper case", "HTTPS", Scheme::Http, Scheme::Https),
        ("mixed case", "hTTp", Scheme::Https, Scheme::Http),
        (
            "garbage over https socket",
            "javascript:",
            Scheme::Https,
            Scheme::Https,
        ),
        ("empty", "", Scheme::Https, Scheme::Https),
        ("https with junk", "https x", Scheme::Http, Scheme::Http),
    ];
    for (name, xfp, conn, want) in table {
        let config = cfg("loopback").connection_scheme(*conn);
        let r = run(
            &config,
            "127.0.0.1:1",
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("x-forwarded-proto", xfp),
            ],
        );
        assert_eq!(r.scheme(), *want, "case `{name}`");
    }
}

#[test]
fn host_comes_from_the_trusted_position_and_is_validated() {
    // (case, extra headers, expected host, expected port)
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<u16>,
    );
    let table: &[Case<'_>] = &[
        (
            "aligned",
            &[("x-forwarded-host", "evil.test, App.Lab.Test")],
            Some("app.lab.test"),
            None,
        ),
        (
            "with port",
            &[("x-forwarded-host", "app.lab.test:8443")],
            Some("app.lab.test"),
            Some(8443),
        ),
        (
            "userinfo",
            &[("x-forwarded-host", "user@evil.test")],
            None,
            None,
        ),
        ("path", &[("x-forwarded-host", "evil.test/x")], None, None),
        (
            "zone id",
            &[("x-forwarded-host", "[fe80::1%25eth0]")],
            None,
            None,
        ),
        (
            "ipv6",
            &[("x-forwarded-host", "[2001:DB8::1]:8443")],
            Some("[2001:db8::1]"),
            Some(8443),
        ),
        (
            "falls back to Host",
            &[("host", "own.lab.test")],
            Some("own.lab.test"),
            None,
        ),
        (
            "invalid XFH does not fall back",
            &[("x-forwarded-host", "a b"), ("host", "own.lab.test")],
            None,
            None,
        ),
    ];
    for (name, extra, want_host, want_port) in table {
        let mut h = vec![("x-forwarded-for", "198.51.100.7")];
        h.extend_from_slice(extra);
        let r = run(&cfg("loopback"), "127.0.0.1:1", &h);
        assert_eq!(r.host(), *want_host, "case `{name}`");
        assert_eq!(r.port(), *want_port, "case `{name}`");
    }
}

#[test]
fn untrusted_peer_gets_its_own_host_header_validated() {
    let r = run(
        &cfg("loopback"),
        "203.0.113.1:1",
        &[("host", "evil.test/path")],
    );
    assert_eq!(r.host(), None);
    let r = run(
        &cfg("loopback"),
        "203.0.113.1:1",
        &[("host", "App.Lab.Test:8080")],
    );
    assert_eq!((r.host(), r.port()), (Some("app.lab.test"), Some(8080)));
    assert_eq!(r.origin().as_deref(), Some("http://app.lab.test:8080"));
}

#[test]
fn duplicate_host_headers_give_no_host() {
    for p in ["127.0.0.1:1", "203.0.113.1:1"] {
        let r = run(
            &cfg("loopback"),
            p,
            &[("host", "a.test"), ("host", "evil.test")],
        );
        assert_eq!(r.host(), None, "peer {p}");
    }
}

#[test]
fn host_allow_list_applies_to_every_source() {
    let config = cfg("loopback").allowed_hosts(["app.lab.test", "admin.lab.test:8443"]);
    // (case, peer, headers, expected host)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
    let table: &[Case<'_>] = &[
        (
            "forwarded host not listed",
            "127.0.0.1:1",
            &[("x-forwarded-host", "evil.test")],
            None,
        ),
        (
            "forwarded host listed, default port",
            "127.0.0.1:1",
            &[("x-forwarded-host", "APP.lab.test")],
            Some("app.lab.test"),
        ),
        (
            "entry without a port, forwarded host names another port",
            "127.0.0.1:1",
            &[("x-forwarded-host", "APP.lab.test:1234")],
            None,
        ),
        (
            "entry without a port, X-Forwarded-Port chooses another port",
            "127.0.0.1:1",
            &[
                ("x-forwarded-host", "app.lab.test"),
                ("x-forwarded-port", "6666"),
            ],
            None,
        ),
        (
            "entry without a port, own host names another port",
            "203.0.113.1:1",
            &[("host", "app.lab.test:6666")],
            None,
        ),
        (
            "entry without a port, own host names the default port",
            "203.0.113.1:1",
            &[("host", "app.lab.test:80")],
            Some("app.lab.test"),
        ),
        (
            "own host not listed",
            "203.0.113.1:1",
            &[("host", "evil.test")],
            None,
        ),
        (
            "own host listed",
            "203.0.113.1:1",
            &[("host", "app.lab.test")],
            Some("app.lab.test"),
        ),
        (
            "port entry, wrong port",
            "203.0.113.1:1",
            &[("host", "admin.lab.test:9000")],
            None,
        ),
        (
            "port entry, default port of http",
            "203.0.113.1:1",
            &[("host", "admin.lab.test")],
            None,
        ),
        (
            "port entry, right port",
            "203.0.113.1:1",
            &[("host", "admin.lab.test:8443")],
            Some("admin.lab.test"),
        ),
        (
            "port entry, forwarded port",
            "127.0.0.1:1",
            &[
                ("x-forwarded-host", "admin.lab.test"),
                ("x-forwarded-port", "8443"),
            ],
            Some("admin.lab.test"),
        ),
    ];
    for (name, p, h, want) in table {
        assert_eq!(run(&config, p, h).host(), *want, "case `{name}`");
    }
    let none_allowed = cfg("loopback").allowed_hosts(Vec::<String>::new());
    assert_eq!(
        run(&none_allowed, "127.0.0.1:1", &[("host", "app.lab.test")]).host(),
        None
    );
}

#[test]
fn x_forwarded_port_fills_in_a_missing_port() {
    let base: &[(&str, &str)] = &[
        ("x-forwarded-for", "198.51.100.7"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "8443"),
    ];
    let mut h = base.to_vec();
    h.push(("host", "app.lab.test"));
    let r = run(&cfg("loopback"), "127.0.0.1:1", &h);
    assert_eq!(r.origin().as_deref(), Some("https://app.lab.test:8443"));
    let mut h = base.to_vec();
    h.push(("x-forwarded-host", "app.lab.test:9443"));
    let r = run(&cfg("loopback"), "127.0.0.1:1", &h);
    assert_eq!(r.port(), Some(9443), "an explicit port in the host wins");
    let mut h = base.to_vec();
    h[2] = ("x-forwarded-port", "443");
    h.push(("host", "app.lab.test"));
    let r = run(&cfg("loopback"), "127.0.0.1:1", &h);
    assert_eq!(
        r.origin().as_deref(),
        Some("https://app.lab.test"),
        "default port omitted"
    );
}

#[test]
fn injected_forwarded_is_ignored_when_only_x_forwarded_is_honoured() {
    let r = run(
        &cfg("loopback"),
        "127.0.0.1:1",
        &[
            ("forwarded", "for=6.6.6.6;proto=https;host=evil.test"),
            ("x-forwarded-for", "198.51.100.7"),
            ("host", "app.lab.test"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(r.scheme(), Scheme::Http);
    assert_eq!(r.host(), Some("app.lab.test"));
}

#[test]
fn injected_x_forwarded_is_ignored_when_forwarded_is_honoured() {
    let config = cfg("loopback").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "127.0.0.1:1",
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
            ("forwarded", "for=198.51.100.7;proto=http"),
            ("host", "app.lab.test"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(r.scheme(), Scheme::Http);
    assert_eq!(r.host(), Some("app.lab.test"));
}

#[test]
fn forwarded_quoted_ipv6_with_port_and_params() {
    let config = cfg("loopback").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "127.0.0.1:1",
        &[(
            "forwarded",
            r#"for="[2001:db8:cafe::17]:4711";proto=HTTPS;host="app.lab.test:8443";by=_nginx"#,
        )],
    );
    assert_eq!(r.client(), client("2001:db8:cafe::17"));
    assert_eq!(r.scheme(), Scheme::Https);
    assert_eq!(r.origin().as_deref(), Some("https://app.lab.test:8443"));
}

#[test]
fn forwarded_quoted_strings_with_commas_and_semicolons_are_parsed_correctly() {
    // A naive split on `,` would see `for=6.6.6.6` and `proto=https` here.
    let config = cfg("10.0.0.0/8").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "10.0.0.1:1",
        &[(
            "forwarded",
            r#"for=198.51.100.7;ext="x, for=6.6.6.6; proto=https", for=10.0.0.2;proto=http"#,
        )],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(
        r.scheme(),
        Scheme::Http,
        "proto of the nearest element to the right"
    );
    assert_eq!(hops(&r), ["10.0.0.1", "10.0.0.2"]);
}

#[test]
fn forwarded_scheme_and_host_come_from_the_stopping_element() {
    let config = cfg("10.0.0.0/8").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "10.0.0.1:1",
        &[
            ("forwarded", "for=6.6.6.6;proto=http;host=evil.test"),
            (
                "forwarded",
                "for=198.51.100.7;proto=https;host=app.lab.test, for=10.0.0.2;proto=http;host=inner.test",
            ),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    assert_eq!(r.scheme(), Scheme::Https);
    assert_eq!(r.host(), Some("app.lab.test"));
}

#[test]
fn forwarded_unknown_obfuscated_missing_and_malformed_stop_the_walk() {
    let config = |p: &str| cfg(p).headers(HeaderFamily::Forwarded);
    check_clients(
        config,
        &[
            (
                "for=unknown",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=unknown")],
                "unknown",
            ),
            (
                "for=_hidden",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=_hidden")],
                "unknown",
            ),
            (
                "quoted obfuscated",
                "all",
                "10.0.0.1:1",
                &[("forwarded", r#"for=1.1.1.1, for="_gazonk""#)],
                "unknown",
            ),
            (
                "no for",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, proto=https")],
                "unknown",
            ),
            (
                "only by=",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, by=_nginx")],
                "unknown",
            ),
            (
                "junk after value",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=2.2.2.2 junk")],
                "unknown",
            ),
            (
                "repeated for",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=2.2.2.2;for=3.3.3.3")],
                "unknown",
            ),
            (
                "unterminated quote",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=\"2.2.2.2")],
                "unknown",
            ),
            (
                "escaped quote",
                "all",
                "10.0.0.1:1",
                &[("forwarded", r#"for=1.1.1.1, for="2.2.2\.2""#)],
                "unknown",
            ),
            (
                "unbracketed v6 with port",
                "all",
                "10.0.0.1:1",
                &[("forwarded", r#"for="2001:db8::1:80x""#)],
                "unknown",
            ),
            (
                "zone id",
                "all",
                "10.0.0.1:1",
                &[("forwarded", r#"for="[fe80::1%25eth0]""#)],
                "unknown",
            ),
            (
                "all trusted",
                "all",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1, for=2.2.2.2")],
                "1.1.1.1",
            ),
            (
                "empty elements",
                "10.0.0.0/8",
                "10.0.0.1:1",
                &[("forwarded", " , for=1.1.1.1 ,, ;, for=10.0.0.2")],
                "1.1.1.1",
            ),
            (
                "unquoted v4:port",
                "10.0.0.0/8",
                "10.0.0.1:1",
                &[("forwarded", "for=1.1.1.1:80")],
                "1.1.1.1",
            ),
        ],
    );
}

#[test]
fn unterminated_quote_in_one_line_cannot_swallow_the_next() {
    let config = cfg("10.0.0.0/8").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "10.0.0.1:1",
        &[
            ("forwarded", "for=\"6.6.6.6"),
            ("forwarded", "for=198.51.100.7"),
        ],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
}

#[test]
fn hop_cap_stops_the_walk_fail_closed() {
    let chain = |n: usize| {
        (0..n)
            .map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for family in [HeaderFamily::XForwarded, HeaderFamily::Forwarded] {
        let name = match family {
            HeaderFamily::XForwarded => "x-forwarded-for",
            HeaderFamily::Forwarded => "forwarded",
        };
        let value = |n| match family {
            HeaderFamily::XForwarded => chain(n),
            HeaderFamily::Forwarded => chain(n)
                .split(", ")
                .map(|v| format!("for={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let config = cfg("all").headers(family);
        let at_cap = run(&config, "10.0.0.1:1", &[(name, &value(MAX_HOPS))]);
        assert_eq!(
            at_cap.client(),
            client("10.0.0.1"),
            "{family:?}: {MAX_HOPS} hops resolve to the leftmost"
        );
        let over = run(&config, "10.0.0.1:1", &[(name, &value(MAX_HOPS + 1))]);
        assert_eq!(
            over.client(),
            ClientAddr::Unknown,
            "{family:?}: one hop over the cap"
        );
        // Untrusted hops near us: the cap is never reached, so a long left part is harmless.
        let config = cfg("loopback").headers(family);
        let long = format!("{}, 198.51.100.7", value(100));
        let long = if family == HeaderFamily::Forwarded {
            long.replace(", 198", ", for=198")
        } else {
            long
        };
        let r = run(&config, "127.0.0.1:1", &[(name, &long)]);
        assert_eq!(
            r.client(),
            client("198.51.100.7"),
            "{family:?}: long client-written prefix"
        );
    }
}

#[test]
fn header_byte_cap_stops_the_walk_fail_closed() {
    // Everything trusted, one fat element: the walk reaches the byte budget before the hop
    // cap and stops there with Unknown.
    let fat = format!("{}1.1.1.1, 10.0.0.2", " ".repeat(MAX_HEADER_BYTES));
    let r = run(&cfg("all"), "10.0.0.1:1", &[("x-forwarded-for", &fat)]);
    assert_eq!(
        r.client(),
        ClientAddr::Unknown,
        "element straddling the byte budget"
    );
    // Within the budget from the right, a trusted walk is unaffected by what lies beyond.
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[("x-forwarded-for", &format!("{fat}, 198.51.100.7"))],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    let big_line = format!("for=\"{}\"", " ".repeat(MAX_HEADER_BYTES));
    let config = cfg("all").headers(HeaderFamily::Forwarded);
    let r = run(
        &config,
        "10.0.0.1:1",
        &[("forwarded", &big_line), ("forwarded", "for=10.0.0.2")],
    );
    assert_eq!(
        r.client(),
        ClientAddr::Unknown,
        "Forwarded line beyond the budget"
    );
}

/// The audit's case: a client sends a `Forwarded` line of ~8 KiB and the proxy appends its own
/// element to that same line. The rightmost 8 KiB hold the proxy's element, so the client it
/// names is found; only an element that crosses the budget stops the walk.
#[test]
fn a_long_forwarded_line_keeps_the_elements_within_the_budget() {
    let config = cfg("10.0.0.0/8").headers(HeaderFamily::Forwarded);
    let appended = ", for=198.51.100.7;proto=https";
    // Lines one byte under, at, and one byte over the budget, and the audit's 8,170 + 30.
    for total in [
        MAX_HEADER_BYTES - 1,
        MAX_HEADER_BYTES,
        MAX_HEADER_BYTES + 1,
        8_170 + appended.len(),
        4 * MAX_HEADER_BYTES,
    ] {
        let client_part = format!("for=\"{}\"", "x".repeat(total - appended.len() - 6));
        let line = format!("{client_part}{appended}");
        assert_eq!(line.len(), total);
        let r = run(&config, "10.0.0.1:1", &[("forwarded", &line)]);
        assert_eq!(
            (r.client(), r.scheme()),
            (client("198.51.100.7"), Scheme::Https),
            "a {total}-byte line whose rightmost element the proxy appended"
        );
    }
    // The walk needs the element that crosses the budget: it stops there, fail closed.
    let line = format!("for=10.0.0.9{}, for=10.0.0.2", " ".repeat(MAX_HEADER_BYTES));
    let r = run(&config, "10.0.0.1:1", &[("forwarded", &line)]);
    assert_eq!(r.client(), ClientAddr::Unknown, "element beyond the budget");
    // A quote opened left of the budget still decides where elements end: this `,` is inside
    // the client's quoted string, so there is no element `for=10.0.0.7` to read.
    let line = format!("for=\"{}, for=10.0.0.7", " ".repeat(MAX_HEADER_BYTES));
    let r = run(&config, "10.0.0.1:1", &[("forwarded", &line)]);
    assert_eq!(
        r.client(),
        ClientAddr::Unknown,
        "an element opened beyond the budget"
    );
}

#[test]
fn honour_switches_limit_what_is_believed() {
    let h: &[(&str, &str)] = &[
        ("x-forwarded-for", "198.51.100.7"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "app.lab.test"),
        ("host", "internal:8080"),
    ];
    let r = run(&cfg("loopback").honour_for(false), "127.0.0.1:1", h);
    assert_eq!(
        r.client(),
        client("127.0.0.1"),
        "honour_for(false): socket peer"
    );
    assert!(r.trusted_hops().is_empty());
    assert_eq!(
        r.scheme(),
        Scheme::Https,
        "honour_for(false) still honours proto"
    );
    let r = run(&cfg("loopback").honour_proto(false), "127.0.0.1:1", h);
    assert_eq!(r.scheme(), Scheme::Http, "honour_proto(false)");
    assert_eq!(r.client(), client("198.51.100.7"));
    let r = run(&cfg("loopback").honour_host(false), "127.0.0.1:1", h);
    assert_eq!(
        (r.host(), r.port()),
        (Some("internal"), Some(8080)),
        "honour_host(false)"
    );

    let f: &[(&str, &str)] = &[
        (
            "forwarded",
            "for=198.51.100.7;proto=https;host=app.lab.test",
        ),
        ("host", "internal"),
    ];
    let fwd = |c: ProxyConfig| c.headers(HeaderFamily::Forwarded);
    let r = run(&fwd(cfg("loopback").honour_for(false)), "127.0.0.1:1", f);
    assert_eq!(
        (r.client(), r.scheme()),
        (client("127.0.0.1"), Scheme::Https),
        "Forwarded, honour_for(false)"
    );
    let r = run(
        &fwd(cfg("loopback").honour_proto(false).honour_host(false)),
        "127.0.0.1:1",
        f,
    );
    assert_eq!(
        (r.scheme(), r.host()),
        (Scheme::Http, Some("internal")),
        "Forwarded, proto/host off"
    );
}

#[test]
fn unix_peers_are_trusted_only_when_enabled() {
    let h: &[(&str, &str)] = &[
        ("x-forwarded-for", "198.51.100.7"),
        ("x-forwarded-proto", "https"),
    ];
    let r = run(&cfg("loopback"), "unix", h);
    assert_eq!(
        (r.client(), r.scheme()),
        (ClientAddr::Unknown, Scheme::Http)
    );
    let r = ProxyConfig::new(
        TrustPolicy::parse("loopback")
            .unwrap()
            .trust_unix_peers(true),
    )
    .resolve(peer("unix"), &headers(h));
    assert_eq!(
        (r.client(), r.scheme()),
        (client("198.51.100.7"), Scheme::Https)
    );
    assert!(
        r.trusted_hops().is_empty(),
        "a Unix peer has no address to list"
    );
    let r = run(&cfg("all"), "unix", h);
    assert_eq!(
        r.client(),
        client("198.51.100.7"),
        "all() trusts Unix peers"
    );
}

#[test]
fn unknown_peer_trusts_nothing() {
    let r = run(
        &cfg("all"),
        "unknown",
        &[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert_eq!(
        (r.client(), r.scheme(), r.peer_trusted()),
        (ClientAddr::Unknown, Scheme::Http, false)
    );
}

#[test]
fn trusted_hops_beyond_the_inline_capacity_are_kept() {
    let chain: Vec<String> = (2..=13).map(|i| format!("10.0.0.{i}")).collect();
    let value = format!("198.51.100.7, {}", chain.join(", "));
    let r = run(
        &cfg("10.0.0.0/8"),
        "10.0.0.1:1",
        &[("x-forwarded-for", &value)],
    );
    assert_eq!(r.client(), client("198.51.100.7"));
    let mut want = vec!["10.0.0.1".to_owned()];
    want.extend(chain.iter().rev().cloned());
    assert_eq!(hops(&r), want);
    let clone = r.clone();
    assert_eq!(clone, r);
}

#[test]
fn http2_authority_is_the_host_when_there_is_no_host_header() {
    let req = Request::get("http://App.Lab.Test:8080/x").body(()).unwrap();
    let r = ProxyConfig::default().resolve_request(peer("203.0.113.1:1"), &req);
    assert_eq!((r.host(), r.port()), (Some("app.lab.test"), Some(8080)));
    let mut req = Request::get("http://authority.test/x").body(()).unwrap();
    req.headers_mut()
        .insert("host", HeaderValue::from_static("host.test"));
    let r = ProxyConfig::default().resolve_request(peer("203.0.113.1:1"), &req);
    assert_eq!(
        r.host(),
        Some("host.test"),
        "the Host header wins over the URI"
    );
}

#[test]
fn origin_brackets_ipv6_and_omits_default_ports() {
    let table: &[(&str, Scheme, Option<&str>)] = &[
        ("[::1]:8443", Scheme::Https, Some("https://[::1]:8443")),
        ("[::1]:443", Scheme::Https, Some("https://[::1]")),
        ("127.0.0.1:80", Scheme::Http, Some("http://127.0.0.1")),
        ("127.0.0.1:443", Scheme::Http, Some("http://127.0.0.1:443")),
        ("bad host!", Scheme::Http, None),
    ];
    for (host, scheme, want) in table {
        let config = ProxyConfig::default().connection_scheme(*scheme);
        let r = run(&config, "203.0.113.1:1", &[("host", host)]);
        assert_eq!(r.origin().as_deref(), *want, "case {host:?}");
    }
}

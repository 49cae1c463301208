//! `resolve` for 1, 3 and 10 hop chains with a CIDR policy, beside the naive "rightmost
//! X-Forwarded-For" parse that most hand-rolled code does (and which checks nothing).

mod inputs;

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use inputs::{PEER, POLICY, headers, naive_rightmost};
use trusted_proxies::{HeaderFamily, Peer, ProxyConfig, TrustPolicy};

fn bench(c: &mut Criterion) {
    let config = ProxyConfig::new(TrustPolicy::parse(POLICY).unwrap());
    let peer = Peer::from(PEER.parse::<SocketAddr>().unwrap());
    let mut g = c.benchmark_group("xff");
    for hops in [1usize, 3, 10] {
        let h = headers(hops);
        assert_eq!(
            config.resolve(peer, &h).client_ip(),
            Some("198.51.100.7".parse().unwrap())
        );
        g.bench_with_input(BenchmarkId::new("resolve", hops), &h, |b, h| {
            b.iter(|| config.resolve(black_box(peer), black_box(h)))
        });
        g.bench_with_input(BenchmarkId::new("naive_rightmost", hops), &h, |b, h| {
            b.iter(|| naive_rightmost(black_box(h)))
        });
    }
    g.finish();

    let fwd = config.clone().headers(HeaderFamily::Forwarded);
    let mut h = HeaderMap::new();
    h.insert(
        "forwarded",
        HeaderValue::from_static("for=198.51.100.7;proto=https, for=10.0.0.3, for=10.0.0.2"),
    );
    c.bench_function("forwarded/resolve/3", |b| {
        b.iter(|| fwd.resolve(black_box(peer), black_box(&h)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The 3-hop resolve's inputs and the naive parse it is compared with: one source for the
//! criterion bench (`benches/resolve.rs`) and for lab-bench's callgrind count
//! (`crates/lab-bench/src/instructions.rs`, through `#[path]`), so that both measure the same
//! code. (A folder, not `benches/inputs.rs`, so that Cargo does not take it for a bench.)

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue};

/// The policy the bench trusts.
pub const POLICY: &str = "loopback, 10.0.0.0/8, 172.16.0.0/12";
/// The socket peer: the nearest proxy.
pub const PEER: &str = "10.0.0.1:40000";

/// `hops` trusted hops: the peer plus `hops - 1` proxies in X-Forwarded-For, then the client.
pub fn headers(hops: usize) -> HeaderMap {
    let mut xff = vec!["198.51.100.7".to_owned()];
    xff.extend((2..=hops).map(|i| format!("10.0.0.{i}")));
    let mut h = HeaderMap::new();
    h.insert(
        "x-forwarded-for",
        HeaderValue::from_str(&xff.join(", ")).unwrap(),
    );
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    h.insert("host", HeaderValue::from_static("app.lab.test"));
    h
}

/// The naive "rightmost X-Forwarded-For" parse most hand-rolled code does (it checks nothing).
pub fn naive_rightmost(h: &HeaderMap) -> Option<IpAddr> {
    h.get("x-forwarded-for")?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

//! The common path does not touch the heap: a counting global allocator proves it.
//!
//! Its own test binary, because the global allocator is per binary. Only allocations made on
//! the measuring thread while measuring are counted, so the test harness's other threads
//! cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use http::{HeaderMap, HeaderValue};
use trusted_proxies::{HeaderFamily, Peer, ProxyConfig, Resolved, TrustPolicy};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread locals are being torn down.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let out = std::hint::black_box(f());
    COUNTING.with(|c| c.set(false));
    (ALLOCS.with(Cell::get), out)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        // `from_str` copies into a fresh buffer, like a parsed request: no static shortcuts.
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn chain(n: usize) -> String {
    let mut v = vec!["198.51.100.7".to_owned()];
    v.extend((2..=n).map(|i| format!("10.0.0.{i}")));
    v.join(", ")
}

fn peer() -> Peer {
    Peer::from("10.0.0.1:40000".parse::<SocketAddr>().unwrap())
}

#[test]
fn the_allocation_counter_works() {
    let (n, v) = allocations(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert!(n >= 1, "the counter must see a Vec allocation, saw {n}");
}

#[test]
fn common_path_does_not_allocate() {
    let config = ProxyConfig::new(TrustPolicy::parse("loopback, 10.0.0.0/8, fc00::/7").unwrap())
        .allowed_hosts(["app.lab.test:8443"]);
    for hops in [1, 3, 8] {
        let h = headers(&[
            ("x-forwarded-for", &chain(hops)),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "app.lab.test"),
            ("x-forwarded-port", "8443"),
            ("host", "internal:8080"),
        ]);
        let (n, r): (usize, Resolved) = allocations(|| config.resolve(peer(), &h));
        assert_eq!(n, 0, "{hops} hops: resolve allocated {n} times");
        assert_eq!(
            r.client_ip(),
            Some("198.51.100.7".parse().unwrap()),
            "{hops} hops"
        );
        assert_eq!(r.trusted_hops().len(), hops, "{hops} hops");
        let (n, _) = allocations(|| {
            let copy = r.clone();
            (
                copy.host().map(str::len),
                copy.port(),
                copy.is_https(),
                copy.trusted_hops().len(),
            )
        });
        assert_eq!(
            n, 0,
            "{hops} hops: cloning and reading the result allocated {n} times"
        );
    }
}

/// Exactly the request and configuration of `benches/resolve.rs` ("xff/resolve/3"): the
/// Host header (no X-Forwarded-Host) and the CIDR policy take their own paths.
#[test]
fn the_benchmarked_requests_do_not_allocate() {
    let config =
        ProxyConfig::new(TrustPolicy::parse("loopback, 10.0.0.0/8, 172.16.0.0/12").unwrap());
    for hops in [1, 3, 8] {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_str(&chain(hops)).unwrap(),
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert("host", HeaderValue::from_static("app.lab.test"));
        let (n, r) = allocations(|| config.resolve(peer(), &h));
        assert_eq!(n, 0, "{hops} hops: resolve allocated {n} times");
        assert_eq!(r.client_ip(), Some("198.51.100.7".parse().unwrap()));
        assert_eq!(r.trusted_hops().len(), hops);
        assert_eq!(r.origin().as_deref(), Some("https://app.lab.test"));
    }
}

#[test]
fn forwarded_and_untrusted_paths_do_not_allocate() {
    let config = ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8, fc00::/7").unwrap())
        .headers(HeaderFamily::Forwarded);
    let h = headers(&[(
        "forwarded",
        r#"for=198.51.100.7;proto=https;host="app.lab.test:8443", for="[fc00::2]:80", for=10.0.0.3"#,
    )]);
    let (n, r) = allocations(|| config.resolve(peer(), &h));
    assert_eq!(n, 0, "Forwarded: {n} allocations");
    assert!(r.is_https());
    let untrusted = Peer::from("203.0.113.1:1".parse::<SocketAddr>().unwrap());
    let (n, _) = allocations(|| config.resolve(untrusted, &h));
    assert_eq!(n, 0, "untrusted peer: {n} allocations");
}

/// The documented bounds of `resolve`: 8 trusted hops and a host of 46 bytes stay inline.
#[test]
fn eight_hops_and_a_46_byte_host_do_not_allocate() {
    let config = ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8").unwrap());
    let host = format!("{}.lab.test", "a".repeat(46 - ".lab.test".len()));
    let h = headers(&[("x-forwarded-for", &chain(8)), ("host", &host)]);
    let (n, r) = allocations(|| config.resolve(peer(), &h));
    assert_eq!(n, 0, "resolve allocated {n} times");
    assert_eq!(r.host(), Some(host.as_str()));
    assert_eq!(r.trusted_hops().len(), 8);
}

#[test]
fn long_chains_allocate_only_beyond_the_inline_capacity() {
    let config = ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8").unwrap());
    let h = headers(&[("x-forwarded-for", &chain(12))]);
    let (n, r) = allocations(|| config.resolve(peer(), &h));
    assert_eq!(r.trusted_hops().len(), 12);
    assert_eq!(n, 1, "one allocation for the spilled hop list, saw {n}");
}

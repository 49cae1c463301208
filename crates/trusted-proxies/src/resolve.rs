//! The walk: from the socket peer outwards through trusted proxies, to the client, its scheme
//! and its host.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::Request;
use http::header::{HOST, HeaderMap};

use crate::config::ProxyConfig;
use crate::parse::forwarded::{self, RevElements};
use crate::parse::host::{HostPort, parse_host_into};
use crate::parse::lines::{self, Lines};
use crate::parse::xff::{Hop, HopSource, Lookup, RevLine, RevList, nth_from_right};
use crate::parse::{MAX_HOPS, Node, parse_node, parse_port, trim_ows};
use crate::{ClientAddr, HeaderFamily, Peer, Scheme};

/// Trusted hops kept inline before spilling to the heap: the common path never allocates.
const INLINE_HOPS: usize = 8;

/// The trusted proxies passed on the way, nearest first.
///
/// An enum rather than an inline array beside a `Vec`: the spilled list reuses the array's
/// room, which keeps `Resolved` small enough for a short copy (see `Resolved`).
#[derive(Clone)]
enum HopList {
    Inline { len: u8, ips: [IpAddr; INLINE_HOPS] },
    Spilled(Vec<IpAddr>),
}

impl HopList {
    const fn new() -> Self {
        HopList::Inline {
            len: 0,
            ips: [IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED); INLINE_HOPS],
        }
    }

    #[inline]
    fn push(&mut self, ip: IpAddr) {
        match self {
            HopList::Inline { len, ips } if usize::from(*len) < INLINE_HOPS => {
                ips[usize::from(*len)] = ip;
                *len += 1;
            }
            _ => self.push_spilled(ip),
        }
    }

    /// The ninth hop and beyond: rare, so out of the walk's loop.
    #[cold]
    #[inline(never)]
    fn push_spilled(&mut self, ip: IpAddr) {
        if let HopList::Inline { ips, .. } = self {
            let mut spilled = Vec::with_capacity(MAX_HOPS + 1);
            spilled.extend_from_slice(ips);
            *self = HopList::Spilled(spilled);
        }
        if let HopList::Spilled(spilled) = self {
            spilled.push(ip);
        }
    }

    fn pop(&mut self) -> Option<IpAddr> {
        match self {
            HopList::Inline { len, ips } => {
                *len = len.checked_sub(1)?;
                Some(ips[usize::from(*len)])
            }
            HopList::Spilled(spilled) => spilled.pop(),
        }
    }

    fn clear(&mut self) {
        match self {
            HopList::Inline { len, .. } => *len = 0,
            HopList::Spilled(spilled) => spilled.clear(),
        }
    }

    fn as_slice(&self) -> &[IpAddr] {
        match self {
            HopList::Inline { len, ips } => &ips[..usize::from(*len)],
            HopList::Spilled(spilled) => spilled,
        }
    }
}

/// What a request looks like once trusted proxies are accounted for: who the client is, which
/// scheme and host it used, and through which trusted proxies it came.
///
/// Built by [`ProxyConfig::resolve`]; put into request extensions by
/// [`TrustedProxiesLayer`](crate::TrustedProxiesLayer); extracted in axum handlers directly
/// (feature `axum`).
///
/// ```
/// use http::HeaderMap;
/// use trusted_proxies::{Peer, ProxyConfig, Scheme, TrustPolicy};
///
/// let config = ProxyConfig::new(TrustPolicy::parse("loopback")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.7".parse()?);
/// headers.insert("x-forwarded-proto", "https".parse()?);
/// headers.insert("host", "app.lab.test".parse()?);
///
/// let r = config.resolve(Peer::from("127.0.0.1:40000".parse::<std::net::SocketAddr>()?), &headers);
/// assert_eq!(r.client_ip(), Some("203.0.113.7".parse()?));
/// assert_eq!(r.scheme(), Scheme::Https);
/// assert_eq!(r.origin().as_deref(), Some("https://app.lab.test"));
/// assert_eq!(r.trusted_hops(), &["127.0.0.1".parse::<std::net::IpAddr>()?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Resolved {
    peer: Peer,
    peer_trusted: bool,
    client: ClientAddr,
    scheme: Scheme,
    host: Option<HostPort>,
    hops: HopList,
}

impl Resolved {
    /// The client: the first untrusted hop, counted from the socket peer; the leftmost hop when
    /// every hop is trusted; [`ClientAddr::Unknown`] when the walk stopped at something that is
    /// not an address.
    ///
    /// ```
    /// # use trusted_proxies::{ClientAddr, Peer, ProxyConfig, TrustPolicy};
    /// let r = ProxyConfig::default().resolve(Peer::Unknown, &http::HeaderMap::new());
    /// assert_eq!(r.client(), ClientAddr::Unknown);
    /// ```
    pub fn client(&self) -> ClientAddr {
        self.client
    }

    /// The client's IP address, if known.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig};
    /// let peer = Peer::from("192.0.2.9:5000".parse::<std::net::SocketAddr>()?);
    /// let r = ProxyConfig::default().resolve(peer, &http::HeaderMap::new());
    /// assert_eq!(r.client_ip(), Some("192.0.2.9".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client.ip()
    }

    /// The scheme the client used, as reported by the trusted proxy nearest to it, or the
    /// connection scheme when no trusted proxy reported a valid one.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig, Scheme};
    /// let r = ProxyConfig::default().resolve(Peer::Unknown, &http::HeaderMap::new());
    /// assert_eq!(r.scheme(), Scheme::Http);
    /// ```
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `self.scheme().is_https()`: what a `Secure` cookie needs.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig, Scheme, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::none()).connection_scheme(Scheme::Https);
    /// assert!(c.resolve(Peer::Unknown, &http::HeaderMap::new()).is_https());
    /// ```
    pub fn is_https(&self) -> bool {
        self.scheme.is_https()
    }

    /// The validated host, lower-cased, without port: a DNS-style name, a dotted IPv4 address,
    /// or an IPv6 address **in brackets** (`[2001:db8::1]`, canonically written) so that
    /// `format!("{host}:{port}")` is always a valid authority. `None` when absent, invalid
    /// (userinfo, path, zone id, bad port, …) or not in the
    /// [allow-list](ProxyConfig::allowed_hosts).
    ///
    /// It comes from the same trusted position as the scheme (`X-Forwarded-Host` / `host=`),
    /// falling back to the request's own `Host` (or, through the layer, the URI authority of an
    /// HTTP/2 request) when no trusted proxy supplied one.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig};
    /// let mut h = http::HeaderMap::new();
    /// h.insert("host", "App.Lab.Test:8443".parse()?);
    /// let r = ProxyConfig::default().resolve(Peer::Unknown, &h);
    /// assert_eq!((r.host(), r.port()), (Some("app.lab.test"), Some(8443)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host(&self) -> Option<&str> {
        self.host.as_ref().map(|h| h.host.as_str())
    }

    /// The explicit port of the host, from the winning host value or, failing that, the
    /// trusted `X-Forwarded-Port`. `None` when the host named none (or there is no valid host).
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig};
    /// let mut h = http::HeaderMap::new();
    /// h.insert("host", "[::1]:3000".parse()?);
    /// assert_eq!(ProxyConfig::default().resolve(Peer::Unknown, &h).port(), Some(3000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.host.as_ref().and_then(|h| h.port)
    }

    /// The origin the client used, `scheme://host[:port]`, leaving out the scheme's default
    /// port; IPv6 hosts are bracketed. `None` without a valid host.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig, Scheme, TrustPolicy};
    /// let mut h = http::HeaderMap::new();
    /// h.insert("host", "app.lab.test:443".parse()?);
    /// let c = ProxyConfig::new(TrustPolicy::none()).connection_scheme(Scheme::Https);
    /// assert_eq!(c.resolve(Peer::Unknown, &h).origin().as_deref(), Some("https://app.lab.test"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn origin(&self) -> Option<String> {
        let h = self.host.as_ref()?;
        Some(match h.port {
            Some(p) if p != self.scheme.default_port() => {
                format!("{}://{}:{p}", self.scheme, h.host.as_str())
            }
            _ => format!("{}://{}", self.scheme, h.host.as_str()),
        })
    }

    /// The socket peer.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig};
    /// let r = ProxyConfig::default().resolve(Peer::Unix, &http::HeaderMap::new());
    /// assert_eq!(r.peer(), Peer::Unix);
    /// ```
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Whether the socket peer is trusted, that is, whether any forwarding header was read.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::none().trust_unix_peers(true));
    /// assert!(c.resolve(Peer::Unix, &http::HeaderMap::new()).peer_trusted());
    /// ```
    pub fn peer_trusted(&self) -> bool {
        self.peer_trusted
    }

    /// The trusted proxies the walk passed through, nearest first (the socket peer first when
    /// it has an address). The client itself is never in the list: when the peer is trusted
    /// but names no further hop, the peer is the client and the list is empty, although the
    /// peer's scheme and host headers still count. Allocation-free up to 8 hops.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig, TrustPolicy};
    /// let mut h = http::HeaderMap::new();
    /// h.insert("x-forwarded-for", "198.51.100.1, 10.0.0.2".parse()?);
    /// let c = ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8")?);
    /// let r = c.resolve(Peer::from("10.0.0.1:1234".parse::<std::net::SocketAddr>()?), &h);
    /// let hops: Vec<String> = r.trusted_hops().iter().map(|ip| ip.to_string()).collect();
    /// assert_eq!(hops, ["10.0.0.1", "10.0.0.2"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_hops(&self) -> &[IpAddr] {
        self.hops.as_slice()
    }
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("client", &self.client)
            .field("scheme", &self.scheme)
            .field("host", &self.host())
            .field("port", &self.port())
            .field("peer", &self.peer)
            .field("peer_trusted", &self.peer_trusted)
            .field("trusted_hops", &self.trusted_hops())
            .finish()
    }
}

impl PartialEq for Resolved {
    fn eq(&self, other: &Self) -> bool {
        self.peer == other.peer
            && self.peer_trusted == other.peer_trusted
            && self.client == other.client
            && self.scheme == other.scheme
            && self.host == other.host
            && self.trusted_hops() == other.trusted_hops()
    }
}

impl Eq for Resolved {}

/// Validates the chosen host view into `r.host` (port and allow-list: see `finish`).
#[inline]
fn set_host(r: &mut Resolved, host: Lookup<'_>) {
    if let Lookup::Value(v) = host {
        parse_host_into(v, &mut r.host);
    }
}

/// Validates the chosen scheme view into `r.scheme`: `http` or `https` in any case, else the
/// connection scheme stays.
#[inline(always)]
fn set_scheme(r: &mut Resolved, proto: Lookup<'_>) {
    if let Lookup::Value(v) = proto
        && let Some(scheme) = Scheme::from_bytes(trim_ows(v))
    {
        r.scheme = scheme;
    }
}

/// The request's own host: the `Host` header, else the URI authority (HTTP/2). Several
/// `Host` lines make the request ambiguous: no host (RFC 9112 §3.2 says to reject it).
fn own_host<'a>(host: Lines<'a>, authority: Option<&'a [u8]>) -> Lookup<'a> {
    match host {
        Lines::One(v) => Lookup::Value(v.as_bytes()),
        Lines::Many(all) => {
            let mut it = all.iter();
            match (it.next(), it.next()) {
                (Some(v), None) => Lookup::Value(v.as_bytes()),
                (Some(_), Some(_)) => Lookup::Invalid,
                (None, _) => authority.map_or(Lookup::Absent, Lookup::Value),
            }
        }
        Lines::Absent => authority.map_or(Lookup::Absent, Lookup::Value),
    }
}

/// What the trusted position says about scheme and host, before validation.
struct Views<'a> {
    proto: Lookup<'a>,
    host: Lookup<'a>,
    port: Lookup<'a>,
}

impl ProxyConfig {
    /// Resolves a request from its socket peer and headers. Pure: no I/O, no logging, and no
    /// heap allocation for chains of up to 8 trusted hops and hosts of up to 46 bytes.
    ///
    /// # The rules
    ///
    /// 1. Nothing from headers counts unless the socket peer is trusted. Otherwise the client
    ///    is the peer, the scheme is the [connection scheme](Self::connection_scheme) and the
    ///    host is the request's `Host`.
    /// 2. The chain `[peer, X-Forwarded-For values right to left]` (all header lines merged in
    ///    order; or the `for=` of each `Forwarded` element) is walked from the peer and stops
    ///    at the first hop that is untrusted or is not an address. `unknown`, obfuscated
    ///    identifiers (`_hidden`) and garbage stop the walk: the client is then
    ///    [`ClientAddr::Unknown`]; they are never skipped. If every hop is trusted, the client
    ///    is the leftmost one (Express semantics).
    /// 3. The scheme and host come from the position where the walk stopped: the view of the
    ///    trusted proxy that accepted the client's connection, never a value further left
    ///    (which the client wrote). `X-Forwarded-Proto`, `-Host` and `-Port` are aligned right
    ///    to left with `X-Forwarded-For`; when such a list is shorter than the position, its
    ///    leftmost value is used (all its values were written by trusted proxies, and a single
    ///    value is the one set by the proxy nearest to us). For `Forwarded`, the stopping
    ///    element's `proto=`/`host=` is used, else the nearest one to its right.
    /// 4. A scheme other than `http`/`https` (any case) is ignored: the scheme falls back to the
    ///    connection scheme. A host that fails validation or the allow-list gives no host.
    /// 5. Limits: at most [`MAX_HOPS`](crate::MAX_HOPS) hops and the rightmost
    ///    [`MAX_HEADER_BYTES`](crate::MAX_HEADER_BYTES) of a header are examined. A walk that
    ///    reaches past either stops there with [`ClientAddr::Unknown`]. A `Forwarded` line
    ///    longer than the budget keeps the elements that lie wholly within its rightmost part
    ///    (their boundaries are found from the line's start: quotes decide them).
    ///
    /// Only one header family is read (see [`HeaderFamily`]).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use trusted_proxies::{ClientAddr, Peer, ProxyConfig, TrustPolicy};
    ///
    /// let config = ProxyConfig::new(TrustPolicy::parse("10.0.0.0/8")?);
    /// let mut h = HeaderMap::new();
    /// // The client forged the leftmost value; the proxy at 10.0.0.1 appended what it saw.
    /// h.insert("x-forwarded-for", "1.1.1.1, 203.0.113.50".parse()?);
    /// let r = config.resolve(Peer::from("10.0.0.1:5555".parse::<std::net::SocketAddr>()?), &h);
    /// assert_eq!(r.client(), ClientAddr::Ip("203.0.113.50".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&self, peer: Peer, headers: &HeaderMap) -> Resolved {
        self.resolve_with_authority(peer, headers, None, false)
    }

    /// Like [`resolve`](Self::resolve), also using the request URI's authority as the host
    /// when there is no `Host` header (HTTP/2 requests carry `:authority` instead).
    ///
    /// ```
    /// # use trusted_proxies::{Peer, ProxyConfig};
    /// let req = http::Request::get("https://app.lab.test/").body(())?;
    /// let r = ProxyConfig::default().resolve_request(Peer::Unknown, &req);
    /// assert_eq!(r.host(), Some("app.lab.test"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_request<B>(&self, peer: Peer, request: &Request<B>) -> Resolved {
        let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
        self.resolve_authority(peer, request.headers(), authority, false)
    }

    /// Like [`resolve_request`](Self::resolve_request), also trusting the socket peer when its
    /// verified certificate proves a name the policy trusts (feature `identity`).
    ///
    /// ```
    /// use trusted_proxies::{ClientAddr, Peer, PeerIdentity, ProxyConfig, TrustPolicy};
    ///
    /// let config = ProxyConfig::new(TrustPolicy::none().trust_identities(["proxy.internal"]));
    /// let req = http::Request::get("/")
    ///     .header("x-forwarded-for", "203.0.113.7")
    ///     .header("x-forwarded-proto", "https")
    ///     .body(())?;
    /// let peer = Peer::from("10.9.8.7:40000".parse::<std::net::SocketAddr>()?);
    /// let proxy = PeerIdentity::new(["proxy.internal"]);
    /// let r = config.resolve_request_with_identity(peer, Some(&proxy), &req);
    /// assert_eq!(r.client(), ClientAddr::Ip("203.0.113.7".parse()?));
    /// assert!(r.is_https());
    /// let r = config.resolve_request_with_identity(peer, None, &req);
    /// assert!(!r.peer_trusted());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "identity")]
    pub fn resolve_request_with_identity<B>(
        &self,
        peer: Peer,
        identity: Option<&crate::PeerIdentity>,
        request: &Request<B>,
    ) -> Resolved {
        let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
        let by_identity = identity.is_some_and(|id| self.policy.trusts_identity(id));
        self.resolve_authority(peer, request.headers(), authority, by_identity)
    }

    /// The one out-of-line instance for the generic entry points, so that they do not each
    /// copy the whole resolve into the caller's crate.
    #[inline(never)]
    fn resolve_authority(
        &self,
        peer: Peer,
        headers: &HeaderMap,
        authority: Option<&[u8]>,
        by_identity: bool,
    ) -> Resolved {
        self.resolve_with_authority(peer, headers, authority, by_identity)
    }

    /// Inlined into [`resolve`](Self::resolve), which then builds its result in place instead
    /// of calling this with one more level of arguments.
    #[inline(always)]
    fn resolve_with_authority(
        &self,
        peer: Peer,
        headers: &HeaderMap,
        authority: Option<&[u8]>,
        by_identity: bool,
    ) -> Resolved {
        // Built first and filled in place, so that each part is written where it ends up
        // (`Resolved` is 256 bytes; see the host below for why timing matters).
        let mut r = Resolved {
            peer,
            peer_trusted: false,
            client: ClientAddr::Unknown,
            scheme: self.connection_scheme,
            host: None,
            hops: HopList::new(),
        };
        // The peer, canonicalised once, is written into `r` while it is in registers: an
        // `Option<IpAddr>` or `ClientAddr` merged from both branches, or read back from `r`
        // by the walk, went through memory as narrow stores reloaded wide, and stalled on
        // store forwarding. An IPv4 peer (the common case) has an arm of its own, so that its
        // address is written whole: through `Peer::ip`, which also folds IPv6, it was pieced
        // together byte by byte.
        let peer_trusted = match peer {
            Peer::Tcp(SocketAddr::V4(a)) => {
                self.start_at_peer(&mut r, IpAddr::V4(*a.ip()), by_identity)
            }
            _ => match peer.ip() {
                Some(ip) => self.start_at_peer(&mut r, ip, by_identity),
                None => by_identity || self.policy.trusts_peer(peer),
            },
        };
        r.peer_trusted = peer_trusted;
        if peer_trusted {
            let found = lines::find(headers, self.family);
            let own = own_host(found.own_host, authority);
            match self.family {
                HeaderFamily::XForwarded => self.resolve_x_forwarded(
                    &mut r,
                    [found.chain, found.proto, found.host, found.port],
                    own,
                ),
                HeaderFamily::Forwarded => {
                    let views = self.walk_forwarded(&mut r, found.chain);
                    let host = match views.host {
                        Lookup::Absent => own,
                        other => other,
                    };
                    set_host(&mut r, host);
                    self.finish(&mut r, views.proto, views.port);
                }
            }
        } else {
            let host = own_host(Lines::from_all(headers.get_all(HOST)), authority);
            set_host(&mut r, host);
            self.finish(&mut r, Lookup::Absent, Lookup::Absent);
        }
        r
    }

    /// The peer's address is the client unless the walk gets further; a trusted peer is the
    /// first hop of the walk. Whether the peer is trusted.
    #[inline(always)]
    fn start_at_peer(&self, r: &mut Resolved, ip: IpAddr, by_identity: bool) -> bool {
        r.client = ClientAddr::Ip(ip);
        let trusted = by_identity || self.policy.trusts_at(ip, 0);
        if trusted && self.honour_for {
            r.hops.push(ip);
        }
        trusted
    }

    /// Validates the chosen scheme view into `r.scheme`, completes `r.host` (already parsed by
    /// [`set_host`]) with the port view and applies the allow-list.
    #[inline(always)]
    fn finish(&self, r: &mut Resolved, proto: Lookup<'_>, port: Lookup<'_>) {
        set_scheme(r, proto);
        self.finish_host(r, port);
    }

    /// Completes `r.host` (already parsed by [`set_host`]) with the port view and applies the
    /// allow-list, which needs the final scheme.
    #[inline(always)]
    fn finish_host(&self, r: &mut Resolved, port: Lookup<'_>) {
        if let Some(h) = &mut r.host {
            if h.port.is_none()
                && let Lookup::Value(p) = port
            {
                h.port = parse_port(trim_ows(p));
            }
            if !self.host_allowed(&h.host, h.port, r.scheme) {
                r.host = None;
            }
        }
    }

    /// The `X-Forwarded-*` family: walks `X-Forwarded-For`, then takes scheme, host and port
    /// from the position where it stopped.
    ///
    /// Each view is applied as soon as it is found, and the port only looked up when the host
    /// lacks one: collected into a struct first, the views went through memory and stalled on
    /// store forwarding.
    #[inline(always)]
    fn resolve_x_forwarded<'h>(&self, r: &mut Resolved, lines: [Lines<'h>; 4], own: Lookup<'h>) {
        let [xff, proto, host, port] = lines;
        // With no X-Forwarded-Host to honour, the host is the request's own whatever the walk
        // finds: parse it first. Parsed last, its freshly written bytes stalled the move of
        // `Resolved` to the caller on store forwarding.
        let own_first = !self.honour_host || matches!(host, Lines::Absent);
        if own_first {
            set_host(r, own);
        }
        let pos = if self.honour_for {
            self.walk_xff(r, xff)
        } else {
            0
        };
        // Position 0 means the peer itself is the client; its own headers describe the hop
        // from whoever connected to it, which is position 1.
        let at = pos.max(1);
        if self.honour_proto {
            // A single line that is exactly `http` or `https` (what a proxy writes) is a
            // one-element list, the answer at any position: nothing to search or trim.
            if let Lines::One(v) = &proto
                && let Some(scheme) = Scheme::from_bytes(v.as_bytes())
            {
                r.scheme = scheme;
            } else {
                set_scheme(r, nth_from_right(proto, at));
            }
        }
        if !own_first {
            let host = match nth_from_right(host, at) {
                Lookup::Absent => own,
                other => other,
            };
            set_host(r, host);
        }
        let port = match &r.host {
            Some(h) if h.port.is_none() && self.honour_host => nth_from_right(port, at),
            _ => Lookup::Absent,
        };
        self.finish_host(r, port);
    }

    /// The address walk over `X-Forwarded-For`, from the peer (already in `w.hops` when it has
    /// an address). Sets client and hops; returns the client's position (0 = the peer).
    #[inline(always)]
    fn walk_xff(&self, w: &mut Resolved, xff: Lines<'_>) -> usize {
        match RevLine::new(&xff) {
            Some(line) => self.walk_hops(w, line),
            None => self.walk_hops(w, RevList::new(xff)),
        }
    }

    /// [`walk_xff`](Self::walk_xff) over either reader.
    #[inline(always)]
    fn walk_hops<'h>(&self, w: &mut Resolved, mut list: impl HopSource<'h>) -> usize {
        let mut pos = 0;
        while let Some(hop) = list.next_hop() {
            pos += 1;
            match hop {
                // Kept apart from the general case so that the address stays in registers:
                // merged into a `Node`, it went through memory and stalled on store
                // forwarding at every hop.
                Hop::V4(v4) if pos <= MAX_HOPS => {
                    if self.policy.trusts_v4_at(v4, pos) {
                        w.hops.push(IpAddr::V4(v4));
                    } else {
                        w.client = ClientAddr::Ip(IpAddr::V4(v4));
                        return pos;
                    }
                }
                Hop::Other(v) if pos <= MAX_HOPS => {
                    if !self.step(w, parse_node(v), pos) {
                        return pos;
                    }
                }
                Hop::V4(_) | Hop::Other(_) | Hop::OverBudget => {
                    self.step(w, Node::Invalid, pos);
                    return pos;
                }
            }
        }
        self.ran_off_the_end(w, pos);
        pos
    }

    /// One hop of the walk. `true` to continue (the hop was trusted and recorded).
    #[inline(always)]
    fn step(&self, w: &mut Resolved, node: Node, pos: usize) -> bool {
        match node {
            Node::Ip(ip) if self.policy.trusts_at(ip, pos) => {
                w.hops.push(ip);
                true
            }
            Node::Ip(ip) => {
                w.client = ClientAddr::Ip(ip);
                false
            }
            Node::Unknown | Node::Obfuscated | Node::Invalid => {
                w.client = ClientAddr::Unknown;
                false
            }
        }
    }

    /// Every hop was trusted: the leftmost one is the client (Express semantics).
    fn ran_off_the_end(&self, w: &mut Resolved, pos: usize) {
        if pos == 0 {
            // No forwarded hop at all: the peer is the client (already set).
            w.hops.clear();
        } else if let Some(ip) = w.hops.pop() {
            w.client = ClientAddr::Ip(ip);
        }
    }

    /// Walks `Forwarded` elements from the peer (already in `w.hops` when it has an address);
    /// returns the views of the element where it stopped (or the nearest one to its right that
    /// has the parameter).
    fn walk_forwarded<'h>(&self, w: &mut Resolved, lines: Lines<'h>) -> Views<'h> {
        let mut proto = Lookup::Absent;
        let mut host = Lookup::Absent;
        let mut pos = 0;
        let mut stopped = false;
        for item in RevElements::new(lines) {
            pos += 1;
            let el = match item {
                forwarded::Item::Element(el) if pos <= MAX_HOPS => el,
                _ => {
                    self.step(w, Node::Invalid, pos);
                    stopped = true;
                    break;
                }
            };
            // This element was written by the trusted hop at `pos - 1`: its views are usable
            // unless the element is malformed.
            if !el.malformed {
                if let Some(v) = el.proto {
                    proto = Lookup::Value(v);
                }
                if let Some(v) = el.host {
                    host = Lookup::Value(v);
                }
            }
            if !self.honour_for {
                // The peer is the client; only the nearest element's views count.
                break;
            }
            let node = match (el.malformed, el.for_) {
                (false, Some(v)) => parse_node(v),
                _ => Node::Invalid,
            };
            if !self.step(w, node, pos) {
                stopped = true;
                break;
            }
        }
        if !self.honour_for {
            w.hops.clear();
        } else if !stopped {
            self.ran_off_the_end(w, pos);
        }
        Views {
            proto: if self.honour_proto {
                proto
            } else {
                Lookup::Absent
            },
            host: if self.honour_host {
                host
            } else {
                Lookup::Absent
            },
            port: Lookup::Absent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers copy `Resolved` at least twice (out of `resolve`, into where they keep it):
    /// within 256 bytes, each copy takes glibc's short `memcpy` path (see `INLINE_HOST`).
    #[test]
    fn resolved_stays_within_256_bytes() {
        assert!(std::mem::size_of::<Resolved>() <= 256);
    }
}

//! The small value types the rest of the crate speaks: [`Scheme`], [`ClientAddr`] and [`Peer`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The scheme a request arrived with, as far as trusted proxies let us know.
///
/// ```
/// use trusted_proxies::Scheme;
///
/// assert_eq!(Scheme::Https.as_str(), "https");
/// assert_eq!(Scheme::Https.default_port(), 443);
/// assert!(Scheme::Https.is_https());
/// assert_eq!(Scheme::Http.to_string(), "http");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain-text HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The lower-case scheme name, as used in URLs.
    ///
    /// ```
    /// assert_eq!(trusted_proxies::Scheme::Http.as_str(), "http");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL of this scheme implies when it names none: 80 or 443.
    ///
    /// ```
    /// assert_eq!(trusted_proxies::Scheme::Http.default_port(), 80);
    /// ```
    pub const fn default_port(&self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `true` for [`Scheme::Https`].
    ///
    /// ```
    /// assert!(!trusted_proxies::Scheme::Http.is_https());
    /// ```
    pub const fn is_https(&self) -> bool {
        matches!(self, Scheme::Https)
    }

    /// Parses `http` / `https` in any case; anything else is `None`.
    #[inline]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Scheme> {
        // Setting bit 0x20 lower-cases a letter, and for a letter target only its two cases
        // map onto it: an exact case-insensitive compare of these all-letter names, in one
        // word operation instead of a byte loop.
        let (head, s) = match bytes {
            [a, b, c, d] => ([*a, *b, *c, *d], None),
            [a, b, c, d, s] => ([*a, *b, *c, *d], Some(*s)),
            _ => return None,
        };
        if u32::from_le_bytes(head) | 0x2020_2020 != u32::from_le_bytes(*b"http") {
            return None;
        }
        match s {
            None => Some(Scheme::Http),
            Some(s) if s | 0x20 == b's' => Some(Scheme::Https),
            Some(_) => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client of a request: an address, or `Unknown` when the chain of trusted proxies ends in
/// something that is not an address (`unknown`, an obfuscated identifier, garbage, a Unix
/// socket, a chain that is too long).
///
/// It is never raw header text: a header value that does not parse as an IP address cannot
/// become "the client IP".
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use trusted_proxies::ClientAddr;
///
/// let c = ClientAddr::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
/// assert_eq!(c.to_string(), "192.0.2.1");
/// assert_eq!(ClientAddr::Unknown.to_string(), "unknown");
/// assert_eq!(ClientAddr::Unknown.ip(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientAddr {
    /// The client's IP address (IPv4-mapped IPv6 addresses are folded to IPv4).
    Ip(IpAddr),
    /// The client could not be identified.
    Unknown,
}

impl ClientAddr {
    /// The address, if known.
    ///
    /// ```
    /// # use std::net::{IpAddr, Ipv6Addr};
    /// # use trusted_proxies::ClientAddr;
    /// assert_eq!(ClientAddr::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)).ip(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    /// ```
    pub const fn ip(&self) -> Option<IpAddr> {
        match self {
            ClientAddr::Ip(ip) => Some(*ip),
            ClientAddr::Unknown => None,
        }
    }
}

impl From<IpAddr> for ClientAddr {
    fn from(ip: IpAddr) -> Self {
        ClientAddr::Ip(ip.to_canonical())
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAddr::Ip(ip) => fmt::Display::fmt(ip, f),
            ClientAddr::Unknown => f.write_str("unknown"),
        }
    }
}

/// The other end of the connection the request arrived on: the only address nobody can forge.
///
/// ```
/// use std::net::SocketAddr;
/// use trusted_proxies::Peer;
///
/// let peer = Peer::from("[::ffff:127.0.0.1]:5000".parse::<SocketAddr>().unwrap());
/// // IPv4-mapped IPv6 (what a `[::]` listener reports) is folded to IPv4.
/// assert_eq!(peer.ip(), Some("127.0.0.1".parse().unwrap()));
/// assert_eq!(Peer::Unix.to_string(), "unix");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix domain socket peer (no address). Trusted only with
    /// [`TrustPolicy::trust_unix_peers`](crate::TrustPolicy::trust_unix_peers).
    Unix,
    /// The peer address was not available (neither `ConnectInfo<SocketAddr>` nor
    /// [`PeerAddr`](crate::PeerAddr) was in the request extensions). Never trusted.
    Unknown,
}

impl Peer {
    /// The peer's IP address, IPv4-mapped IPv6 folded to IPv4; `None` for Unix or unknown peers.
    ///
    /// ```
    /// # use trusted_proxies::Peer;
    /// assert_eq!(Peer::Unknown.ip(), None);
    /// ```
    #[inline]
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Peer::Tcp(SocketAddr::V4(a)) => Some(IpAddr::V4(*a.ip())),
            Peer::Tcp(SocketAddr::V6(a)) => Some(IpAddr::V6(*a.ip()).to_canonical()),
            Peer::Unix | Peer::Unknown => None,
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Self {
        Peer::Tcp(addr)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => fmt::Display::fmt(addr, f),
            Peer::Unix => f.write_str("unix"),
            Peer::Unknown => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_from_bytes_is_exactly_case_insensitive() {
        let reference = |b: &[u8]| {
            if b.eq_ignore_ascii_case(b"https") {
                Some(Scheme::Https)
            } else if b.eq_ignore_ascii_case(b"http") {
                Some(Scheme::Http)
            } else {
                None
            }
        };
        // Every byte value at every position of both names, and a few lengths around them.
        for name in [&b"http"[..], b"https", b"htt", b"httpss"] {
            for pos in 0..name.len() {
                for byte in 0..=255u8 {
                    let mut b = name.to_vec();
                    b[pos] = byte;
                    assert_eq!(Scheme::from_bytes(&b), reference(&b), "{b:?}");
                }
            }
        }
    }
}

//! [`TrustPolicy`]: which hops may speak for the client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::Peer;
use crate::cidr::{Cidr, CidrSet};

/// Which proxies are believed when they say who the client is and how it connected.
///
/// Hops are numbered from the socket peer (0) outwards. A hop is *trusted* when the policy
/// says so for its address (or, for [`TrustPolicy::hops`], its position). See
/// [`ProxyConfig::resolve`](crate::ProxyConfig::resolve) for the walk.
///
/// | constructor | Express equivalent | trusts |
/// |---|---|---|
/// | [`none`](Self::none) (default) | `false` | nobody: the socket is the truth |
/// | [`all`](Self::all) | `true` | everybody: **spoofable**, see there |
/// | [`hops(n)`](Self::hops) | `n` | the `n` nearest hops, whatever their address |
/// | [`parse`](Self::parse) | `'loopback, 10.0.0.0/8'` | the listed addresses and ranges |
///
/// ```
/// use trusted_proxies::TrustPolicy;
///
/// // Documentation addresses (RFC 5737): yours come from the deployment's configuration.
/// let policy: TrustPolicy = "loopback, 192.0.2.0/24".parse()?;
/// assert!(policy.trusts("192.0.2.10".parse()?));
/// assert!(policy.trusts("::ffff:127.0.0.1".parse()?)); // IPv4-mapped is folded
/// assert!(!policy.trusts("203.0.113.9".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPolicy {
    kind: Kind,
    unix: bool,
    /// Names a peer's verified certificate may prove to be trusted (feature `identity`).
    identities: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    None,
    All,
    Hops(usize),
    Ranges(CidrSet),
}

/// Why a trust policy string was refused. The message names the offending entry.
///
/// ```
/// use trusted_proxies::{PolicyError, TrustPolicy};
///
/// let err = TrustPolicy::parse("loopback, 10.0.0.0/33").unwrap_err();
/// assert!(matches!(err, PolicyError::InvalidEntry { ref entry, .. } if entry == "10.0.0.0/33"));
/// assert!(err.to_string().contains("`10.0.0.0/33`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The string held nothing but whitespace.
    #[error(
        "the trust policy is empty: name the addresses your proxies connect from, as your deployment configures them (for example `loopback`, or a list read from the environment), or use `none`"
    )]
    Empty,
    /// A list had an empty entry, such as `loopback,,10.0.0.0/8` or a trailing comma.
    #[error("entry #{position} of the trust policy is empty (stray comma?)")]
    EmptyEntry {
        /// 1-based position of the empty entry in the list.
        position: usize,
    },
    /// An entry was neither an address, a CIDR range nor a named range.
    #[error("invalid trust policy entry `{entry}`: {reason}")]
    InvalidEntry {
        /// The entry as written (trimmed).
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

const LOOPBACK: &[(IpAddr, u8)] = &[
    (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
    (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
];
const LINKLOCAL: &[(IpAddr, u8)] = &[
    (IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16),
    (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
];
const UNIQUELOCAL: &[(IpAddr, u8)] = &[
    (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8),
    (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12),
    (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16),
    (IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
];

impl TrustPolicy {
    /// Trusts no peer: the client is the socket peer and headers count for nothing. The default.
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// assert!(!TrustPolicy::none().trusts("127.0.0.1".parse().unwrap()));
    /// assert_eq!(TrustPolicy::default(), TrustPolicy::none());
    /// ```
    pub fn none() -> Self {
        TrustPolicy {
            kind: Kind::None,
            unix: false,
            identities: Vec::new(),
        }
    }

    /// Trusts every hop, Unix socket peers included: Express's `trust proxy = true`.
    ///
    /// # This is spoofable
    ///
    /// With every hop trusted, the client is the *leftmost* `X-Forwarded-For` value, which is
    /// whatever the client chose to send, and the scheme and host come from the same
    /// client-controlled position. Anyone who can reach the app (directly, or through a proxy
    /// that appends rather than overwrites) can claim any address, `https`, and any host. Use
    /// it only when the app is unreachable except through proxies that *overwrite* these
    /// headers; prefer naming the proxies with [`parse`](Self::parse).
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// assert!(TrustPolicy::all().trusts("203.0.113.7".parse().unwrap()));
    /// ```
    pub fn all() -> Self {
        TrustPolicy {
            kind: Kind::All,
            unix: true,
            identities: Vec::new(),
        }
    }

    /// Trusts the `n` nearest hops whatever their address (Express's hop count): the socket
    /// peer is hop 0, the rightmost `X-Forwarded-For` value hop 1, and so on. `hops(0)` is
    /// [`none`](Self::none). A Unix socket peer is trusted only with
    /// [`trust_unix_peers`](Self::trust_unix_peers).
    ///
    /// Only correct when exactly `n` proxies always sit in front of the app: with fewer, the
    /// client gets to write one of the trusted values.
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// let p = TrustPolicy::hops(1);
    /// assert!(p.trusts("203.0.113.7".parse().unwrap())); // the peer, whoever it is
    /// ```
    pub fn hops(n: usize) -> Self {
        TrustPolicy {
            kind: if n == 0 { Kind::None } else { Kind::Hops(n) },
            unix: false,
            identities: Vec::new(),
        }
    }

    /// Parses a comma-separated list of addresses, CIDR ranges and named ranges, like
    /// proxy-addr / Express:
    ///
    /// * `192.0.2.10`, `::1`, `[::1]`: one address;
    /// * `10.0.0.0/8`, `fd00::/8`, `10.0.0.0/255.0.0.0`: a range (host bits are ignored);
    /// * `loopback` (`127.0.0.0/8`, `::1`), `linklocal` (`169.254.0.0/16`, `fe80::/10`),
    ///   `uniquelocal` (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fc00::/7`).
    ///
    /// For configuration from environment variables, the whole string may also be one keyword:
    /// `none`/`false`, `all`/`true`, or a hop count such as `1`. Whitespace around entries is
    /// ignored; names are case-insensitive; zone ids (`fe80::1%eth0`) are refused.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] naming the first bad entry.
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// let p = TrustPolicy::parse("loopback, 10.0.0.0/8, 192.0.2.10, ::1, uniquelocal")?;
    /// assert!(p.trusts("10.20.30.40".parse()?));
    /// assert_eq!(TrustPolicy::parse("2")?, TrustPolicy::hops(2));
    /// assert!(TrustPolicy::parse("loopback, nginx").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self, PolicyError> {
        let whole = s.trim();
        if whole.is_empty() {
            return Err(PolicyError::Empty);
        }
        match whole.to_ascii_lowercase().as_str() {
            "none" | "false" => return Ok(Self::none()),
            "all" | "true" => return Ok(Self::all()),
            _ => {}
        }
        if whole.bytes().all(|b| b.is_ascii_digit()) {
            return whole
                .parse::<usize>()
                .map(Self::hops)
                .map_err(|_| invalid(whole, "hop count is too large"));
        }
        let mut ranges = Vec::new();
        for (i, raw) in s.split(',').enumerate() {
            let entry = raw.trim();
            if entry.is_empty() {
                return Err(PolicyError::EmptyEntry { position: i + 1 });
            }
            parse_entry(entry, &mut ranges)?;
        }
        Ok(TrustPolicy {
            kind: Kind::Ranges(CidrSet::new(&ranges)),
            unix: false,
            identities: Vec::new(),
        })
    }

    /// Trusts exactly these addresses: the ones your proxies connect from. IPv4-mapped IPv6
    /// addresses are folded. An empty list trusts nobody, like [`none`](Self::none).
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use trusted_proxies::TrustPolicy;
    ///
    /// // Where nginx is: from the deployment's configuration (a documentation address here).
    /// let nginx: IpAddr = "192.0.2.10".parse()?;
    /// let policy = TrustPolicy::from_addrs([nginx]);
    /// assert!(policy.trusts(nginx));
    /// assert!(!policy.trusts("192.0.2.11".parse()?));
    /// assert!(TrustPolicy::from_addrs([]).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_addrs(addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        let cidrs: Vec<Cidr> = addrs
            .into_iter()
            .filter_map(|ip| match ip.to_canonical() {
                ip @ IpAddr::V4(_) => Cidr::new(ip, 32),
                ip @ IpAddr::V6(_) => Cidr::new(ip, 128),
            })
            .collect();
        if cidrs.is_empty() {
            return Self::none();
        }
        TrustPolicy {
            kind: Kind::Ranges(CidrSet::new(&cidrs)),
            unix: false,
            identities: Vec::new(),
        }
    }

    /// Whether a hop with this address is trusted. IPv4-mapped IPv6 addresses are folded to
    /// IPv4 first, so `::ffff:127.0.0.1` matches `loopback`.
    ///
    /// This answers for an address. For [`hops(n)`](Self::hops), where trust depends on the
    /// position, it answers for the socket peer (position 0): `true` when `n > 0`.
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// let p = TrustPolicy::parse("loopback")?;
    /// assert!(p.trusts("::ffff:127.0.0.1".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusts_at(ip.to_canonical(), 0)
    }

    /// Whether the socket peer is trusted. Unix peers are trusted only when
    /// [`trust_unix_peers`](Self::trust_unix_peers) says so; unknown peers never are.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, TrustPolicy};
    /// assert!(!TrustPolicy::all().trusts_peer(Peer::Unknown));
    /// assert!(TrustPolicy::none().trust_unix_peers(true).trusts_peer(Peer::Unix));
    /// ```
    pub fn trusts_peer(&self, peer: Peer) -> bool {
        match peer {
            Peer::Tcp(_) => peer.ip().is_some_and(|ip| self.trusts_at(ip, 0)),
            Peer::Unix => self.unix,
            Peer::Unknown => false,
        }
    }

    /// Also trusts a socket peer whose verified client certificate proves one of `names`,
    /// wherever it connects from (feature `identity`). Only the socket peer can be trusted
    /// this way; the hops behind it are judged by address as usual.
    ///
    /// ```
    /// use trusted_proxies::{PeerIdentity, TrustPolicy};
    ///
    /// let policy = TrustPolicy::none().trust_identities(["proxy.internal.example"]);
    /// assert!(policy.trusts_identity(&PeerIdentity::new(["proxy.internal.example"])));
    /// assert!(!policy.trusts("10.0.0.1".parse()?)); // no address is trusted
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "identity")]
    pub fn trust_identities<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.identities.extend(names.into_iter().map(Into::into));
        self
    }

    /// Whether `identity` proves a trusted name (exact, case-insensitive match).
    #[cfg(feature = "identity")]
    pub fn trusts_identity(&self, identity: &crate::PeerIdentity) -> bool {
        identity.names().iter().any(|name| {
            self.identities
                .iter()
                .any(|trusted| trusted.eq_ignore_ascii_case(name))
        })
    }

    /// Whether a peer on a Unix domain socket (a proxy on the same host) is trusted. Off by
    /// default, except for [`all`](Self::all). Only the socket peer can be a Unix peer; the
    /// hops behind it are judged by address as usual.
    ///
    /// ```
    /// # use trusted_proxies::{Peer, TrustPolicy};
    /// let p = TrustPolicy::parse("10.0.0.0/8")?.trust_unix_peers(true);
    /// assert!(p.trusts_peer(Peer::Unix));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trust_unix_peers(mut self, yes: bool) -> Self {
        self.unix = yes;
        self
    }

    /// `true` when no hop can ever be trusted (neither addresses, Unix peers nor identities).
    ///
    /// ```
    /// # use trusted_proxies::TrustPolicy;
    /// assert!(TrustPolicy::none().is_none());
    /// assert!(!TrustPolicy::hops(1).is_none());
    /// ```
    pub fn is_none(&self) -> bool {
        !self.unix && matches!(self.kind, Kind::None) && self.identities.is_empty()
    }

    /// Trust for a canonical (already folded) address at `position` (0 = socket peer).
    #[inline]
    pub(crate) fn trusts_at(&self, ip: IpAddr, position: usize) -> bool {
        match ip {
            IpAddr::V4(v4) => self.trusts_v4_at(v4, position),
            IpAddr::V6(_) => match &self.kind {
                Kind::None => false,
                Kind::All => true,
                Kind::Hops(n) => position < *n,
                Kind::Ranges(ranges) => ranges.contains(ip),
            },
        }
    }

    /// [`trusts_at`](Self::trusts_at) for an IPv4 address, what the walk mostly meets: the
    /// address stays a plain integer.
    #[inline]
    pub(crate) fn trusts_v4_at(&self, ip: Ipv4Addr, position: usize) -> bool {
        match &self.kind {
            Kind::None => false,
            Kind::All => true,
            Kind::Hops(n) => position < *n,
            Kind::Ranges(ranges) => ranges.contains_v4(ip),
        }
    }
}

impl Default for TrustPolicy {
    fn default() -> Self {
        Self::none()
    }
}

impl FromStr for TrustPolicy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn invalid(entry: &str, reason: &'static str) -> PolicyError {
    PolicyError::InvalidEntry {
        entry: entry.to_owned(),
        reason,
    }
}

fn parse_entry(entry: &str, out: &mut Vec<Cidr>) -> Result<(), PolicyError> {
    let named = match entry.to_ascii_lowercase().as_str() {
        "loopback" => Some(LOOPBACK),
        "linklocal" => Some(LINKLOCAL),
        "uniquelocal" => Some(UNIQUELOCAL),
        "all" | "true" | "none" | "false" => {
            return Err(invalid(
                entry,
                "this keyword is only valid as the whole policy",
            ));
        }
        _ => None,
    };
    if let Some(list) = named {
        for &(ip, prefix) in list {
            out.extend(Cidr::new(ip, prefix));
        }
        return Ok(());
    }
    if entry.contains('%') {
        return Err(invalid(entry, "zone ids are not supported"));
    }
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => (entry, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: IpAddr = addr.parse().map_err(|_| {
        invalid(
            entry,
            "not an IP address, CIDR range or named range (loopback, linklocal, uniquelocal)",
        )
    })?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match prefix {
        None => full,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok().filter(|&n| n <= full).ok_or_else(|| {
                invalid(
                    entry,
                    "prefix length out of range (32 for IPv4, 128 for IPv6)",
                )
            })?
        }
        Some(p) => {
            let mask: Ipv4Addr = p
                .parse()
                .map_err(|_| invalid(entry, "the part after `/` is not a prefix length"))?;
            if !ip.is_ipv4() {
                return Err(invalid(entry, "a dotted netmask only applies to IPv4"));
            }
            let m = u32::from(mask);
            if m.leading_ones() + m.trailing_zeros() != 32 {
                return Err(invalid(entry, "the netmask is not contiguous"));
            }
            m.leading_ones() as u8
        }
    };
    match Cidr::new(ip, bits) {
        Some(c) => {
            out.push(c);
            Ok(())
        }
        None => Err(invalid(entry, "prefix length out of range")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn named_ranges_cover_what_proxy_addr_covers() {
        let p = TrustPolicy::parse("loopback, linklocal, uniquelocal").unwrap();
        for yes in [
            "127.0.0.1",
            "127.255.255.254",
            "::1",
            "169.254.1.1",
            "fe80::1",
            "10.1.1.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "fd12::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(p.trusts(ip(yes)), "{yes} should be trusted");
        }
        for no in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "::2", "192.169.0.1"] {
            assert!(!p.trusts(ip(no)), "{no} should not be trusted");
        }
    }

    #[test]
    fn errors_name_the_bad_entry() {
        let table: &[(&str, &str)] = &[
            ("loopback, nginx", "nginx"),
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("::1/129", "::1/129"),
            ("fe80::1%eth0", "fe80::1%eth0"),
            ("10.0.0.0/255.0.255.0", "10.0.0.0/255.0.255.0"),
            ("::1/255.0.0.0", "::1/255.0.0.0"),
            ("loopback, all", "all"),
            ("10.0.0.0/", "10.0.0.0/"),
            ("99999999999999999999999", "99999999999999999999999"),
        ];
        for (input, bad) in table {
            let err = TrustPolicy::parse(input).unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{bad}`")),
                "case {input:?}: message {err} should name `{bad}`"
            );
        }
        assert_eq!(TrustPolicy::parse("  "), Err(PolicyError::Empty));
        assert_eq!(
            TrustPolicy::parse("loopback,,::1"),
            Err(PolicyError::EmptyEntry { position: 2 })
        );
    }

    #[test]
    fn keywords_and_netmasks() {
        assert_eq!(TrustPolicy::parse("TRUE").unwrap(), TrustPolicy::all());
        assert_eq!(TrustPolicy::parse("none").unwrap(), TrustPolicy::none());
        assert_eq!(TrustPolicy::parse("0").unwrap(), TrustPolicy::none());
        let p = TrustPolicy::parse("10.0.0.0/255.0.0.0, [::1]").unwrap();
        assert!(p.trusts(ip("10.9.9.9")) && p.trusts(ip("::1")));
    }

    #[test]
    fn hop_policy_trusts_by_position() {
        let p = TrustPolicy::hops(2);
        assert!(p.trusts_at(ip("8.8.8.8"), 0));
        assert!(p.trusts_at(ip("8.8.8.8"), 1));
        assert!(!p.trusts_at(ip("8.8.8.8"), 2));
    }
}

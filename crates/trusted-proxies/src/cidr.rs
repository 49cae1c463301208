//! A tiny CIDR matcher.
//!
//! Our own instead of a crate such as `ipnet` because the job is two integer compares: matching
//! is a mask-and-compare on `u32`/`u128` with no allocation, and IPv4-mapped IPv6 is folded once
//! at construction (entries) and once per lookup (addresses), so `::ffff:10.1.2.3` matches
//! `10.0.0.0/8` and `::ffff:10.0.0.0/104` means `10.0.0.0/8`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network: address bits with their mask already applied.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
}

impl Cidr {
    /// Builds the network containing `ip` with `prefix` leading bits. Host bits are cleared, as
    /// proxy-addr does. `None` when the prefix is too long for the family.
    pub(crate) fn new(ip: IpAddr, prefix: u8) -> Option<Cidr> {
        match ip {
            IpAddr::V4(v4) => {
                let mask = mask32(prefix)?;
                Some(Cidr::V4 {
                    net: u32::from(v4) & mask,
                    mask,
                })
            }
            IpAddr::V6(v6) => {
                // `::ffff:a.b.c.d/p` with p >= 96 only covers IPv4-mapped addresses, which we
                // fold to IPv4 before matching: store it as the IPv4 network it means.
                if let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix >= 96) {
                    return Cidr::new(IpAddr::V4(v4), prefix - 96);
                }
                let mask = mask128(prefix)?;
                Some(Cidr::V6 {
                    net: u128::from(v6) & mask,
                    mask,
                })
            }
        }
    }

    /// Whether `ip` (already canonical: IPv4-mapped folded) is inside the network.
    #[cfg(test)]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Cidr::V4 { net, mask }, IpAddr::V4(v4)) => u32::from(v4) & mask == *net,
            (Cidr::V6 { net, mask }, IpAddr::V6(v6)) => u128::from(v6) & mask == *net,
            _ => false,
        }
    }
}

/// A set of networks, split by family so that a lookup scans only same-family entries as
/// plain integer pairs.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct CidrSet {
    v4: Box<[(u32, u32)]>,
    v6: Box<[(u128, u128)]>,
}

impl CidrSet {
    pub(crate) fn new(cidrs: &[Cidr]) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for c in cidrs {
            match *c {
                Cidr::V4 { net, mask } => v4.push((net, mask)),
                Cidr::V6 { net, mask } => v6.push((net, mask)),
            }
        }
        v4.dedup();
        v6.dedup();
        CidrSet {
            v4: v4.into(),
            v6: v6.into(),
        }
    }

    /// Whether `ip` (already canonical: IPv4-mapped folded) is in any of the networks.
    #[inline]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => {
                let a = u128::from(v6);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }

    /// Whether `ip` is in any of the IPv4 networks.
    #[inline]
    pub(crate) fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        let a = u32::from(ip);
        self.v4.iter().any(|&(net, mask)| a & mask == net)
    }
}

impl fmt::Debug for CidrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v4 = self.v4.iter().map(|&(net, mask)| Cidr::V4 { net, mask });
        let v6 = self.v6.iter().map(|&(net, mask)| Cidr::V6 { net, mask });
        f.debug_list().entries(v4.chain(v6)).finish()
    }
}

fn mask32(prefix: u8) -> Option<u32> {
    match prefix {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - prefix)),
        _ => None,
    }
}

fn mask128(prefix: u8) -> Option<u128> {
    match prefix {
        0 => Some(0),
        1..=128 => Some(u128::MAX << (128 - prefix)),
        _ => None,
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Cidr::V4 { net, mask } => write!(f, "{}/{}", Ipv4Addr::from(net), mask.count_ones()),
            Cidr::V6 { net, mask } => write!(f, "{}/{}", Ipv6Addr::from(net), mask.count_ones()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse::<IpAddr>().unwrap().to_canonical()
    }

    #[test]
    fn masks_host_bits_and_matches_inside_only() {
        let c = Cidr::new(ip("10.1.2.3"), 8).unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::1")), "v6 never matches a v4 network");
    }

    #[test]
    fn mapped_v6_entry_becomes_v4_network() {
        let c = Cidr::new("::ffff:10.0.0.0".parse().unwrap(), 104).unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("::ffff:10.9.9.9")));
    }

    #[test]
    fn set_matches_by_family() {
        let set = CidrSet::new(&[
            Cidr::new(ip("10.0.0.0"), 8).unwrap(),
            Cidr::new(ip("fc00::"), 7).unwrap(),
        ]);
        assert!(set.contains(ip("10.1.1.1")));
        assert!(set.contains(ip("fd00::1")));
        assert!(!set.contains(ip("11.1.1.1")));
        assert!(!set.contains(ip("2001:db8::1")));
        assert_eq!(format!("{set:?}"), "[10.0.0.0/8, fc00::/7]");
    }

    #[test]
    fn zero_and_full_prefixes() {
        assert!(Cidr::new(ip("0.0.0.0"), 0).unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::new(ip("::"), 0).unwrap().contains(ip("2001:db8::1")));
        assert!(Cidr::new(ip("::1"), 128).unwrap().contains(ip("::1")));
        assert!(Cidr::new(ip("1.2.3.4"), 33).is_none());
        assert!(Cidr::new(ip("::1"), 129).is_none());
    }
}

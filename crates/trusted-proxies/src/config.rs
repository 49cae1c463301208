//! [`ProxyConfig`]: the policy plus which headers to read and what to believe from them.

use std::sync::Arc;

use crate::parse::host::{HostStr, parse_host};
use crate::{Scheme, TrustPolicy};

/// Which family of forwarding headers the trusted proxies write. Exactly one is read: reading
/// both would let a client inject the one the proxies do not overwrite.
///
/// ```
/// use trusted_proxies::{HeaderFamily, ProxyConfig, TrustPolicy};
///
/// let config = ProxyConfig::new(TrustPolicy::parse("loopback")?).headers(HeaderFamily::Forwarded);
/// assert_eq!(config.header_family(), HeaderFamily::Forwarded);
/// # Ok::<(), trusted_proxies::PolicyError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HeaderFamily {
    /// `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Port`
    /// (what nginx, HAProxy and most load balancers send). The default.
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded` (`for=`, `proto=`, `host=`).
    Forwarded,
}

/// An allow-listed host, normalised like a request host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AllowedHost {
    pub(crate) host: HostStr,
    pub(crate) port: Option<u16>,
}

/// Everything [`resolve`](ProxyConfig::resolve) needs: the [`TrustPolicy`], the header family
/// and what to honour from it, the scheme of the socket itself and an optional host
/// allow-list. Cheap to clone (the allow-list is shared).
///
/// ```
/// use trusted_proxies::{ProxyConfig, Scheme, TrustPolicy};
///
/// // nginx terminates TLS and speaks plain HTTP to the app. Its address comes from the
/// // deployment's configuration (192.0.2.10 is a documentation address, RFC 5737).
/// let config = ProxyConfig::new(TrustPolicy::parse("192.0.2.10")?)
///     .connection_scheme(Scheme::Http)
///     .allowed_hosts(["app.lab.test", "app.lab.test:8443"]);
/// assert!(config.policy().trusts("192.0.2.10".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub(crate) policy: TrustPolicy,
    pub(crate) family: HeaderFamily,
    pub(crate) honour_for: bool,
    pub(crate) honour_proto: bool,
    pub(crate) honour_host: bool,
    pub(crate) connection_scheme: Scheme,
    pub(crate) allowed_hosts: Option<Arc<[AllowedHost]>>,
}

impl ProxyConfig {
    /// A configuration with `policy`, [`HeaderFamily::XForwarded`], client address, scheme and
    /// host all honoured, connection scheme [`Scheme::Http`] and no host allow-list.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// let config = ProxyConfig::new(TrustPolicy::none());
    /// assert!(config.policy().is_none());
    /// ```
    pub fn new(policy: TrustPolicy) -> Self {
        ProxyConfig {
            policy,
            family: HeaderFamily::XForwarded,
            honour_for: true,
            honour_proto: true,
            honour_host: true,
            connection_scheme: Scheme::Http,
            allowed_hosts: None,
        }
    }

    /// Chooses the header family to read (the other one is ignored entirely).
    ///
    /// ```
    /// # use trusted_proxies::{HeaderFamily, ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::hops(1)).headers(HeaderFamily::Forwarded);
    /// # assert_eq!(c.header_family(), HeaderFamily::Forwarded);
    /// ```
    pub fn headers(mut self, family: HeaderFamily) -> Self {
        self.family = family;
        self
    }

    /// Whether trusted proxies may name the client (`X-Forwarded-For` / `for=`). When off, the
    /// client is the socket peer, while scheme and host may still come from the nearest proxy.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::hops(1)).honour_for(false);
    /// # let _ = c;
    /// ```
    pub fn honour_for(mut self, on: bool) -> Self {
        self.honour_for = on;
        self
    }

    /// Whether trusted proxies may set the scheme (`X-Forwarded-Proto` / `proto=`). When off,
    /// the scheme is the [connection scheme](Self::connection_scheme).
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::hops(1)).honour_proto(false);
    /// # let _ = c;
    /// ```
    pub fn honour_proto(mut self, on: bool) -> Self {
        self.honour_proto = on;
        self
    }

    /// Whether trusted proxies may set the host (`X-Forwarded-Host` and `X-Forwarded-Port` /
    /// `host=`). When off, the host is the request's own `Host`.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::hops(1)).honour_host(false);
    /// # let _ = c;
    /// ```
    pub fn honour_host(mut self, on: bool) -> Self {
        self.honour_host = on;
        self
    }

    /// Limits [`Resolved::host`](crate::Resolved::host) to these hosts, whichever header the
    /// host came from. Names are case-insensitive. An entry names an origin's host and port the
    /// way a browser does: `app.lab.test:8443` allows only port 8443, and an entry without a
    /// port (`app.lab.test`) allows only the scheme's default port (443 for https, 80 for
    /// http). A request host without an explicit port has its scheme's default port too. So a
    /// header cannot choose the port of an absolute URL (`X-Forwarded-Port: 6666` against an
    /// entry `app.lab.test` gives no host). List each port you publish. IPv6 entries may be
    /// bracketed or not.
    ///
    /// An entry that is not a valid host is logged with `tracing::warn!` and ignored, and an
    /// empty list allows no host at all (fail closed).
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::none()).allowed_hosts(["app.lab.test", "[::1]:8443"]);
    /// # let _ = c;
    /// ```
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list = Vec::new();
        for entry in hosts {
            let entry = entry.into();
            match parse_host(entry.as_bytes()) {
                Some(hp) => list.push(AllowedHost {
                    host: hp.host,
                    port: hp.port,
                }),
                None => tracing::warn!(
                    entry = %entry,
                    "trusted-proxies: ignoring invalid allowed host (expected host[:port])"
                ),
            }
        }
        self.allowed_hosts = Some(list.into());
        self
    }

    /// The scheme the socket itself speaks: [`Scheme::Http`] (the default) for an app behind a
    /// TLS-terminating proxy, [`Scheme::Https`] when the app terminates TLS itself. It is the
    /// scheme whenever no trusted proxy says otherwise.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, Scheme, TrustPolicy};
    /// let c = ProxyConfig::new(TrustPolicy::none()).connection_scheme(Scheme::Https);
    /// # let _ = c;
    /// ```
    pub fn connection_scheme(mut self, scheme: Scheme) -> Self {
        self.connection_scheme = scheme;
        self
    }

    /// The trust policy.
    ///
    /// ```
    /// # use trusted_proxies::{ProxyConfig, TrustPolicy};
    /// assert!(ProxyConfig::new(TrustPolicy::none()).policy().is_none());
    /// ```
    pub fn policy(&self) -> &TrustPolicy {
        &self.policy
    }

    /// The header family read.
    ///
    /// ```
    /// # use trusted_proxies::{HeaderFamily, ProxyConfig, TrustPolicy};
    /// assert_eq!(ProxyConfig::new(TrustPolicy::none()).header_family(), HeaderFamily::XForwarded);
    /// ```
    pub fn header_family(&self) -> HeaderFamily {
        self.family
    }

    pub(crate) fn host_allowed(&self, host: &HostStr, port: Option<u16>, scheme: Scheme) -> bool {
        match &self.allowed_hosts {
            None => true,
            Some(list) => {
                let default = scheme.default_port();
                let effective = port.unwrap_or(default);
                list.iter()
                    .any(|a| a.host == *host && a.port.unwrap_or(default) == effective)
            }
        }
    }
}

impl Default for ProxyConfig {
    /// `ProxyConfig::new(TrustPolicy::none())`.
    fn default() -> Self {
        Self::new(TrustPolicy::none())
    }
}

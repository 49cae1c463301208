//! Trust by identity (feature `identity`): the proxy is the peer that proved, with a client
//! certificate, that it holds a name, not whoever connects from an address. In containers and
//! clouds addresses move; a certificate's name does not.
//!
//! This crate verifies no certificate. The server's TLS layer does that (a client-certificate
//! verifier rooted at the internal CA), and then inserts a [`PeerIdentity`] holding the names
//! the verified certificate proves. Insert one only after such a handshake: a `PeerIdentity`
//! is a statement that the peer is who it says.

use std::sync::Arc;

/// The names a verified client certificate proves (its DNS subject alternative names), in the
/// request's extensions. [`TrustedProxiesLayer`](crate::TrustedProxiesLayer) reads it, and a
/// [`TrustPolicy`](crate::TrustPolicy) with
/// [`trust_identities`](crate::TrustPolicy::trust_identities) trusts the peer by it.
///
/// ```
/// use trusted_proxies::{PeerIdentity, TrustPolicy};
///
/// let proxy = PeerIdentity::new(["proxy.internal.example"]);
/// let policy = TrustPolicy::none().trust_identities(["proxy.internal.example"]);
/// assert!(policy.trusts_identity(&proxy));
/// assert!(!policy.trusts_identity(&PeerIdentity::new(["billing.internal.example"])));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    names: Arc<[String]>,
}

impl PeerIdentity {
    /// The identity of a peer whose verified certificate names `names`.
    pub fn new<I, S>(names: I) -> PeerIdentity
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PeerIdentity {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// The names, as the certificate gives them.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl std::fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names.join(", "))
    }
}

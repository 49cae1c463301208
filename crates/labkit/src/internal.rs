//! The lab's internal CA (stage 5): certificates for the hop between nginx and the app, apart
//! from the browser-facing CA a person is asked to trust. nginx proves it is the proxy with a
//! client certificate for [`PROXY_IDENTITY`]; the app proves it is the app with one for
//! [`APP_NAME`]. Any certificate this CA signs for a name is as good as another for that name,
//! so a rotated proxy certificate is accepted without restarting the app.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use time::OffsetDateTime;

use crate::error::{LabError, Result};

/// The name nginx's client certificate proves: what stage 5's app trusts.
pub const PROXY_IDENTITY: &str = "proxy.internal.lab.test";
/// The name the app's server certificate proves: what nginx checks (`proxy_ssl_name`).
pub const APP_NAME: &str = "app.internal.lab.test";
/// The only domain the internal CA may vouch for.
const INTERNAL_DOMAIN: &str = "internal.lab.test";
const VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Who a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A server (the app).
    Server,
    /// A client (nginx, or another service).
    Client,
}

/// A certificate and its key, in PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

/// The internal CA, able to issue more certificates (tests rotate and impersonate with it).
pub struct InternalCa {
    ca_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for InternalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalCa").finish_non_exhaustive()
    }
}

impl InternalCa {
    /// A fresh CA, constrained to `internal.lab.test`.
    pub fn generate() -> Result<InternalCa> {
        let key = KeyPair::generate().map_err(error)?;
        let ca_pem = params().self_signed(&key).map_err(error)?.pem();
        Ok(InternalCa {
            ca_pem,
            key_pem: key.serialize_pem(),
        })
    }

    /// The CA certificate, for whoever verifies what it signed.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A new certificate (and key) for `name`, as a server or a client.
    pub fn issue(&self, name: &str, role: Role) -> Result<Issued> {
        let ca_key = KeyPair::from_pem(&self.key_pem).map_err(error)?;
        let issuer = Issuer::new(params(), &ca_key);
        let mut leaf = CertificateParams::new(vec![name.to_owned()]).map_err(error)?;
        leaf.distinguished_name.push(DnType::CommonName, name);
        leaf.extended_key_usages = vec![match role {
            Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Role::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        let now = OffsetDateTime::now_utc();
        leaf.not_before = now - time::Duration::HOUR;
        leaf.not_after = now + VALIDITY;
        let key = KeyPair::generate().map_err(error)?;
        let cert = leaf.signed_by(&key, &issuer).map_err(error)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
        .distinguished_name
        .push(DnType::CommonName, "secure-sessions-lab internal CA");
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName(INTERNAL_DOMAIN.into())],
        excluded_subtrees: Vec::new(),
    });
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::HOUR;
    params.not_after = now + VALIDITY;
    params
}

fn error(e: rcgen::Error) -> LabError {
    LabError::Certificates(format!("the internal CA: {e}"))
}

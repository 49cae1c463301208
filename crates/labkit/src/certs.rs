//! The lab's own certificate authority and the server certificate nginx presents.
//!
//! Tests make a fresh CA per process; `cargo xtask lab` keeps one under `target/lab-ca/` so a
//! browser that was told to trust it once keeps trusting it.
//!
//! A person is asked to trust this CA in their browser, so it can vouch for nothing but the
//! lab: name constraints limit it to `lab.test` and its subdomains, `localhost` and loopback
//! addresses (a certificate it signs for any other name is refused by the verifier), and it
//! lives [`CA_VALIDITY`] at most, renewed automatically when it nears its end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use time::OffsetDateTime;

use crate::error::{LabError, Result};

/// The name the lab serves under. It is not `localhost` on purpose: clients and browsers
/// treat loopback names as secure and would send a `Secure` cookie over plain HTTP, hiding
/// the lesson (FIELD-NOTES, "reqwest 0.13").
pub const LAB_HOST: &str = "app.lab.test";

/// Every name and address the server certificate is valid for.
pub const SERVER_NAMES: [&str; 5] = [LAB_HOST, "edge.lab.test", "localhost", "127.0.0.1", "::1"];

/// How long the lab CA is valid: a CA left trusted in a browser stops being trusted on its own.
pub const CA_VALIDITY: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// A kept CA this close to its end is replaced by a new one.
pub const CA_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How long a server certificate is valid (they are made anew on every start).
pub const SERVER_CERT_VALIDITY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A CA and a server certificate signed by it, all PEM.
#[derive(Clone)]
pub struct LabCerts {
    /// The CA certificate: what clients trust.
    pub ca_pem: String,
    /// The server certificate nginx presents.
    pub server_cert_pem: String,
    /// The server certificate's private key.
    pub server_key_pem: String,
    /// The CA's key, kept to sign [`sign_for`](Self::sign_for)'s certificates (`None` for
    /// certificates made elsewhere).
    ca_key_pem: Option<String>,
}

impl std::fmt::Debug for LabCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabCerts")
            .field("ca_pem", &self.ca_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .finish_non_exhaustive()
    }
}

impl LabCerts {
    /// A CA and server certificate made once per process.
    pub fn shared() -> Result<&'static LabCerts> {
        static CERTS: OnceLock<LabCerts> = OnceLock::new();
        if let Some(certs) = CERTS.get() {
            return Ok(certs);
        }
        let made = Self::generate()?;
        Ok(CERTS.get_or_init(|| made))
    }

    /// A fresh CA and server certificate.
    pub fn generate() -> Result<LabCerts> {
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let ca_pem = ca_params(OffsetDateTime::now_utc())
            .self_signed(&ca_key)
            .map_err(cert_error)?
            .pem();
        Self::issue(&ca_pem, &ca_key)
    }

    /// The CA kept in `dir` (made there on first use, and made anew when it is within
    /// [`CA_RENEW_BEFORE`] of its end or was made by an older lab without an end date on
    /// record), and a server certificate from it. Returns whether the CA is new: a browser
    /// that trusted the old one must be told to trust this one.
    pub fn persistent(dir: &Path) -> Result<(LabCerts, bool)> {
        let (ca_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        let expires_path = dir.join("ca-expires");
        let now = OffsetDateTime::now_utc();
        let renew_at = now + CA_RENEW_BEFORE;
        let kept_until = read(&expires_path)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok());
        if ca_path.exists() && key_path.exists() && kept_until.is_some_and(|until| until > renew_at)
        {
            let ca_pem = read(&ca_path)?;
            let ca_key = KeyPair::from_pem(&read(&key_path)?).map_err(cert_error)?;
            return Ok((Self::issue(&ca_pem, &ca_key)?, false));
        }
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let params = ca_params(now);
        let until = params.not_after;
        let ca_pem = params.self_signed(&ca_key).map_err(cert_error)?.pem();
        std::fs::create_dir_all(dir)
            .map_err(LabError::io(format!("creating {}", dir.display())))?;
        write_private(&key_path, &ca_key.serialize_pem())?;
        std::fs::write(&ca_path, &ca_pem)
            .map_err(LabError::io(format!("writing {}", ca_path.display())))?;
        std::fs::write(&expires_path, until.unix_timestamp().to_string())
            .map_err(LabError::io(format!("writing {}", expires_path.display())))?;
        Ok((Self::issue(&ca_pem, &ca_key)?, true))
    }

    fn issue(ca_pem: &str, ca_key: &KeyPair) -> Result<LabCerts> {
        let (server_cert_pem, server_key_pem) = sign(ca_key, &SERVER_NAMES)?;
        Ok(LabCerts {
            ca_pem: ca_pem.to_owned(),
            server_cert_pem,
            server_key_pem,
            ca_key_pem: Some(ca_key.serialize_pem()),
        })
    }

    /// Certificates made elsewhere (for example an RSA certificate from `openssl req`): the
    /// CA that clients trust, and the certificate and key nginx presents.
    pub fn from_pems(ca_pem: String, server_cert_pem: String, server_key_pem: String) -> LabCerts {
        LabCerts {
            ca_pem,
            server_cert_pem,
            server_key_pem,
            ca_key_pem: None,
        }
    }

    /// A server certificate for `names`, signed by this CA: `(certificate, key)`, PEM. The
    /// CA signs whatever it is asked to; its name constraints make a verifier refuse a
    /// certificate for a name outside the lab (what the tests show).
    pub fn sign_for(&self, names: &[&str]) -> Result<(String, String)> {
        let pem = self.ca_key_pem.as_deref().ok_or_else(|| {
            LabError::Certificates("these certificates were made without the lab's CA key".into())
        })?;
        let ca_key = KeyPair::from_pem(pem).map_err(cert_error)?;
        sign(&ca_key, names)
    }
}

/// A server certificate for `names`, signed by the CA whose key is `ca_key`.
fn sign(ca_key: &KeyPair, names: &[&str]) -> Result<(String, String)> {
    // The CA's name and key identify it as the issuer (validity does not enter).
    let issuer = Issuer::new(ca_params(OffsetDateTime::now_utc()), ca_key);
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names.clone()).map_err(cert_error)?;
    // A common name that is an address would be checked as a DNS name against the CA's
    // constraints by OpenSSL: name the first DNS name, or none.
    if let Some(name) = names.iter().find(|n| n.parse::<IpAddr>().is_err()) {
        params
            .distinguished_name
            .push(DnType::CommonName, name.as_str());
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    // An hour back for clocks that disagree a little.
    params.not_before = now - time::Duration::HOUR;
    params.not_after = now + SERVER_CERT_VALIDITY;
    let key = KeyPair::generate().map_err(cert_error)?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The CA: valid from an hour before `now` for [`CA_VALIDITY`], for the lab's names only.
fn ca_params(now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(
        DnType::CommonName,
        "secure-sessions-lab CA (for this lab only)",
    );
    params.not_before = now - time::Duration::HOUR;
    params.not_after = now + CA_VALIDITY;
    // `lab.test` covers its subdomains (app., edge., evil.); the IP subtrees cover the
    // loopback addresses the server certificate names.
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("lab.test".into()),
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(Ipv6Addr::LOCALHOST.octets(), [0xff; 16])),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

/// The loopback address the lab binds and resolves its names to.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(LabError::io(format!("reading {}", path.display())))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(contents.as_bytes()))
        .map_err(LabError::io(format!("writing {}", path.display())))
}

fn cert_error(error: rcgen::Error) -> LabError {
    LabError::Certificates(error.to_string())
}

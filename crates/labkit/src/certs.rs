//! The lab's own certificate authority and the server certificate nginx presents.
//!
//! Tests make a fresh CA per process; `cargo xtask lab` keeps one under `target/lab-ca/` so a
//! browser that was told to trust it once keeps trusting it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{LabError, Result};

/// The name the lab serves under. It is not `localhost` on purpose: clients and browsers
/// treat loopback names as secure and would send a `Secure` cookie over plain HTTP, hiding
/// the lesson (FIELD-NOTES, "reqwest 0.13").
pub const LAB_HOST: &str = "app.lab.test";

/// Every name and address the server certificate is valid for.
pub const SERVER_NAMES: [&str; 5] = [LAB_HOST, "edge.lab.test", "localhost", "127.0.0.1", "::1"];

/// A CA and a server certificate signed by it, all PEM.
#[derive(Clone, Debug)]
pub struct LabCerts {
    /// The CA certificate: what clients trust.
    pub ca_pem: String,
    /// The server certificate nginx presents.
    pub server_cert_pem: String,
    /// The server certificate's private key.
    pub server_key_pem: String,
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
        let ca_pem = ca_params().self_signed(&ca_key).map_err(cert_error)?.pem();
        Self::issue(&ca_pem, &ca_key)
    }

    /// The CA kept in `dir` (made there on first use), and a server certificate from it.
    pub fn persistent(dir: &Path) -> Result<LabCerts> {
        let (ca_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        if ca_path.exists() && key_path.exists() {
            let ca_pem = read(&ca_path)?;
            let ca_key = KeyPair::from_pem(&read(&key_path)?).map_err(cert_error)?;
            return Self::issue(&ca_pem, &ca_key);
        }
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let ca_pem = ca_params().self_signed(&ca_key).map_err(cert_error)?.pem();
        std::fs::create_dir_all(dir)
            .map_err(LabError::io(format!("creating {}", dir.display())))?;
        write_private(&key_path, &ca_key.serialize_pem())?;
        std::fs::write(&ca_path, &ca_pem)
            .map_err(LabError::io(format!("writing {}", ca_path.display())))?;
        Self::issue(&ca_pem, &ca_key)
    }

    fn issue(ca_pem: &str, ca_key: &KeyPair) -> Result<LabCerts> {
        // The same parameters that made the CA: its name and key identify it as the issuer.
        let issuer = Issuer::new(ca_params(), ca_key);
        let mut params =
            CertificateParams::new(SERVER_NAMES.map(String::from).to_vec()).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, LAB_HOST);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
        Ok(LabCerts {
            ca_pem: ca_pem.to_owned(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        })
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(
        DnType::CommonName,
        "secure-sessions-lab CA (for this lab only)",
    );
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

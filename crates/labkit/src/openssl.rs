//! The lab's use of `openssl s_client` (see [`lab_audit::openssl`]): against the lab's nginx,
//! as `app.lab.test`, trusting the lab's CA.

pub use lab_audit::openssl::{OpenSsl, openssl};

use crate::Lab;

/// `openssl s_client` against the lab's nginx on loopback `port` as `app.lab.test`, trusting
/// `ca` (a file), printing every handshake message (`-msg`). A missing `openssl` panics with
/// how to install it.
pub async fn s_client(port: u16, ca: &tempfile::NamedTempFile, options: &[&str]) -> OpenSsl {
    lab_audit::openssl::s_client(
        &format!("127.0.0.1:{port}"),
        crate::LAB_HOST,
        Some(ca.path()),
        options,
    )
    .await
    .unwrap_or_else(|missing| panic!("{missing}"))
}

/// The lab's CA in a file, for `-CAfile`.
pub fn ca_file(lab: &Lab) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file for the lab CA");
    std::io::Write::write_all(&mut file, lab.certs().ca_pem.as_bytes())
        .expect("writing the lab CA");
    file
}

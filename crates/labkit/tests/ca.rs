//! The lab CA's promises to the person who trusts it in their browser: it can vouch for the
//! lab's names only, and not for long. Checked with two verifiers nobody on the team wrote:
//! rustls's webpki (what the lab's client uses) and `openssl verify`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use labkit::LabCerts;
use labkit::certs::{CA_RENEW_BEFORE, CA_VALIDITY};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

fn verify_with_webpki(certs: &LabCerts, cert_pem: &str, name: &str) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certs.ca_pem.as_bytes()).expect("the CA"))
        .expect("a CA webpki accepts as a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("a verifier");
    let leaf = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("a certificate");
    let server_name = ServerName::try_from(name.to_owned()).expect("a server name");
    verifier
        .verify_server_cert(&leaf, &[], &server_name, &[], UnixTime::now())
        .map(drop)
}

/// `openssl verify -CAfile ca.pem cert.pem`: what it printed, and whether it accepted.
fn verify_with_openssl(certs: &LabCerts, cert_pem: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (ca, cert) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"));
    std::fs::write(&ca, &certs.ca_pem).expect("write the CA");
    std::fs::write(&cert, cert_pem).expect("write the certificate");
    let output = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca)
        .arg(&cert)
        .output()
        .expect("openssl is installed (apt-get install openssl)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[test]
fn a_certificate_the_lab_ca_signs_for_another_name_is_refused() {
    let certs = LabCerts::generate().expect("lab certificates");
    for name in ["bank.example", "evil.test", "lab.test.evil.example"] {
        let (cert, _key) = certs
            .sign_for(&[name])
            .expect("the CA signs what it is asked");
        let webpki = verify_with_webpki(&certs, &cert, name);
        assert!(
            webpki.is_err(),
            "webpki accepted a lab-CA certificate for {name}: whoever trusts the lab CA would trust it for any site"
        );
        let (accepted, said) = verify_with_openssl(&certs, &cert);
        assert!(
            !accepted && said.contains("permitted subtree violation"),
            "openssl should refuse the certificate for {name} on the CA's name constraints; it said: {said}"
        );
    }
}

#[test]
fn the_lab_ca_still_vouches_for_the_labs_own_names() {
    let certs = LabCerts::generate().expect("lab certificates");
    for name in [
        "app.lab.test",
        "edge.lab.test",
        "evil.lab.test",
        "localhost",
        "127.0.0.1",
    ] {
        let (cert, _key) = certs.sign_for(&[name]).expect("a certificate");
        assert_eq!(
            verify_with_webpki(&certs, &cert, name),
            Ok(()),
            "webpki should accept the lab CA's certificate for {name}"
        );
        let (accepted, said) = verify_with_openssl(&certs, &cert);
        assert!(accepted, "openssl should accept {name}: {said}");
    }
    // The certificate nginx presents, for every name it carries.
    for name in labkit::certs::SERVER_NAMES {
        assert_eq!(
            verify_with_webpki(&certs, &certs.server_cert_pem, name),
            Ok(()),
            "the server certificate should be valid for {name}"
        );
    }
}

/// `openssl x509 -noout -dates`: `(notBefore, notAfter)` as Unix times.
fn validity(cert_pem: &str) -> (i64, i64) {
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-dates", "-dateopt", "iso_8601"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(cert_pem.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("openssl x509");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let date = |key: &str| {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        let format = time::format_description::well_known::Iso8601::DEFAULT;
        let normalised = line.trim().replace(' ', "T");
        time::OffsetDateTime::parse(&normalised, &format)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .unix_timestamp()
    };
    (date("notBefore="), date("notAfter="))
}

#[test]
fn the_lab_ca_lives_90_days_not_two_thousand_years() {
    let certs = LabCerts::generate().expect("lab certificates");
    let (from, until) = validity(&certs.ca_pem);
    let lifetime = Duration::from_secs(u64::try_from(until - from).expect("ends after it starts"));
    assert!(
        lifetime <= CA_VALIDITY + Duration::from_secs(3600),
        "the CA is valid for {} days; it should be at most {}",
        lifetime.as_secs() / 86_400,
        CA_VALIDITY.as_secs() / 86_400
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(from <= now && now < until, "the CA is valid now");
}

#[test]
fn a_kept_ca_is_renewed_before_it_ends_and_kept_otherwise() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (first, new) = LabCerts::persistent(dir.path()).expect("a CA");
    assert!(new, "the first run makes a CA");
    let (again, new) = LabCerts::persistent(dir.path()).expect("the same CA");
    assert!(
        !new && again.ca_pem == first.ca_pem,
        "a CA far from its end is kept"
    );

    // As if the CA were made long ago: its end is within the renewal margin.
    let soon = time::OffsetDateTime::now_utc() + (CA_RENEW_BEFORE - Duration::from_secs(86_400));
    std::fs::write(
        dir.path().join("ca-expires"),
        soon.unix_timestamp().to_string(),
    )
    .expect("rewrite the end date");
    let (renewed, new) = LabCerts::persistent(dir.path()).expect("a new CA");
    assert!(
        new && renewed.ca_pem != first.ca_pem,
        "a CA within {} days of its end is replaced",
        CA_RENEW_BEFORE.as_secs() / 86_400
    );

    // A CA kept by an older lab (no end date on record, valid to 4096) is replaced too.
    std::fs::remove_file(dir.path().join("ca-expires")).expect("remove the record");
    let (replaced, new) = LabCerts::persistent(dir.path()).expect("a new CA");
    assert!(
        new && replaced.ca_pem != renewed.ca_pem,
        "an unconstrained old CA is replaced"
    );
}

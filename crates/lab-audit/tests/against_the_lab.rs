//! The audit, proven against the lab itself through real nginx: stage 2 fails the checks that
//! are its lesson, stage 3 the stage-4-only hardening, stage 4 passes everything, and a
//! careless edge fails what stage 4's edge gets right. Every check fails somewhere and passes
//! somewhere; a check that cannot tell says so.

use std::io::Write;

use lab_audit::{Login, Options, Report, Verdict};
use labkit::{Lab, LabOptions, Stage};

use Verdict::{CannotTell as Unknown, Fail, Pass};

/// The audit of `lab`, as a user would point it at the lab: its origin, its CA, the login
/// form, a redirecting page and a page that echoes the client.
async fn audit(lab: &Lab) -> (Report, tempfile::NamedTempFile) {
    let mut ca = tempfile::NamedTempFile::new().expect("a temporary file");
    ca.write_all(lab.certs().ca_pem.as_bytes())
        .expect("writing the CA");
    let edge = lab.front().expect("nginx in front");
    let mut options = Options::new(lab.origin().parse().expect("the lab's origin"));
    options.ca = Some(ca.path().to_owned());
    options.resolve = Some("127.0.0.1".parse().expect("loopback"));
    options.http_port = edge.http_port();
    options.login = Some(Login {
        path: "/login".into(),
        fields: vec![("username".into(), "auditor".into())],
    });
    options.redirect_path = "/private".into();
    options.echo_path = Some("/me".into());
    let report = lab_audit::audit(&options).await.expect("the audit runs");
    println!("{}", report.render(false));
    (report, ca)
}

fn assert_verdicts(report: &Report, stage: &str, expected: &[(&str, Verdict)]) {
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(id, v)| report.verdict(id) != Some(*v))
        .map(|(id, v)| format!("{id}: expected {v:?}, got {:?}", report.verdict(id)))
        .collect();
    assert!(
        wrong.is_empty(),
        "the audit of {stage} should give {expected:?}; wrong: {wrong:#?}\n{}",
        report.render(false)
    );
    assert_eq!(
        report.findings.len(),
        expected.len(),
        "every check has an expectation"
    );
}

#[tokio::test]
async fn stage_2_fails_the_checks_that_are_its_lesson() -> labkit::Result<()> {
    let lab = Lab::start(&labkit::stage!(stage2_broken_proxy)).await?;
    let (report, _ca) = audit(&lab).await;
    assert_verdicts(
        &report,
        "stage 2",
        &[
            ("tls-versions", Pass),
            ("hsts", Fail),
            ("plain-http", Unknown),
            ("cookie-flags", Unknown),
            ("absolute-urls", Fail),
            ("forged-x-forwarded-proto", Pass),
            ("forged-x-forwarded-host", Fail),
            ("forged-x-forwarded-port", Fail),
            ("forged-forwarded", Fail),
            ("forged-x-forwarded-for", Fail),
            ("forged-x-real-ip", Pass),
            ("cross-origin-post", Fail),
            ("cookie-name-exact", Unknown),
        ],
    );
    assert!(report.failed());
    Ok(())
}

#[tokio::test]
async fn stage_3_fails_only_the_hardening_of_stage_4() -> labkit::Result<()> {
    let lab = Lab::start(&labkit::stage!(stage3_trust_proxy)).await?;
    let (report, _ca) = audit(&lab).await;
    assert_verdicts(
        &report,
        "stage 3",
        &[
            ("tls-versions", Pass),
            ("hsts", Fail),
            ("plain-http", Unknown),
            ("cookie-flags", Fail),
            ("absolute-urls", Pass),
            ("forged-x-forwarded-proto", Pass),
            ("forged-x-forwarded-host", Pass),
            ("forged-x-forwarded-port", Pass),
            ("forged-forwarded", Pass),
            ("forged-x-forwarded-for", Pass),
            ("forged-x-real-ip", Pass),
            ("cross-origin-post", Fail),
            ("cookie-name-exact", Fail),
        ],
    );
    Ok(())
}

#[tokio::test]
async fn stage_4_passes_everything() -> labkit::Result<()> {
    let (_dir, store) = labkit::temporary_sqlite_store();
    let lab = Lab::start_with(
        &labkit::stage!(stage4_secure_store),
        LabOptions {
            session_store: Some(store),
            ..LabOptions::from_env()?
        },
    )
    .await?;
    let (report, _ca) = audit(&lab).await;
    let every: Vec<(&str, Verdict)> = report.findings.iter().map(|f| (f.check, Pass)).collect();
    assert_verdicts(&report, "stage 4", &every);
    assert!(!report.failed());
    Ok(())
}

#[tokio::test]
async fn a_careless_edge_fails_what_stage_4s_edge_gets_right() -> labkit::Result<()> {
    let lab = Lab::start(&Stage {
        site: Some(include_str!("careless-edge.conf")),
        ..labkit::stage!(stage3_trust_proxy)
    })
    .await?;
    let (report, _ca) = audit(&lab).await;
    for (id, expected) in [
        ("tls-versions", Fail),
        ("plain-http", Fail),
        ("forged-x-forwarded-proto", Fail),
        ("forged-x-real-ip", Fail),
        ("forged-x-forwarded-port", Fail),
    ] {
        assert_eq!(
            report.verdict(id),
            Some(expected),
            "{id} on the careless edge\n{}",
            report.render(false)
        );
    }
    Ok(())
}

#[test]
fn the_dry_run_lists_every_request_and_sends_none() {
    let mut options = Options::new("https://example.invalid:8443".parse().expect("a URL"));
    options.login = Some(Login {
        path: "/login".into(),
        fields: vec![("username".into(), "me".into())],
    });
    let plan = lab_audit::plan(&options);
    assert!(plan.iter().any(|l| l.contains("X-Forwarded-Host")));
    assert!(
        plan.iter()
            .any(|l| l.starts_with("POST https://example.invalid:8443/login"))
    );
    assert!(
        plan.iter()
            .all(|l| !l.contains("http://") || l.contains("example.invalid")),
        "only the named host: {plan:#?}"
    );
}

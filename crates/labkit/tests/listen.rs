//! The harness's claim about reachability: the app listens where nginx reaches it (the lab
//! network's gateway) and on loopback, never on every address of the machine, where anyone on
//! the same Wi-Fi would reach it around nginx. The witness is the kernel's own socket table.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use labkit::{AppEnv, Lab, LabOptions, Result, Stage};

const SITE: &str = "server {
    listen 443 ssl;
    ssl_certificate lab/cert.pem;
    ssl_certificate_key lab/key.pem;
    location / { proxy_pass http://lab_app; }
}
";

fn app(_env: &AppEnv) -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "reached" }))
}

const STAGE: Stage = Stage {
    number: 0,
    title: "the harness",
    lesson: "The app is reachable only through nginx and from this machine.",
    site: Some(SITE),
    app,
};

/// The IPv4 addresses with a listening TCP socket on `port`, from `/proc/net/tcp`.
fn listening_on(port: u16) -> BTreeSet<IpAddr> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp (Linux)");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (addr, local_port) = fields.get(1)?.split_once(':')?;
            let listening = *fields.get(3)? == "0A";
            let addr = u32::from_str_radix(addr, 16).ok()?;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| IpAddr::V4(Ipv4Addr::from(addr.to_ne_bytes())))
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_app_listens_only_where_nginx_and_this_machine_reach_it() -> Result<()> {
    let lab = Lab::start_with(&STAGE, LabOptions::from_env()?).await?;
    let port = lab.app_addr().port();
    let expected: BTreeSet<IpAddr> = lab.app_listen_addrs().iter().map(|a| a.ip()).collect();
    let seen = listening_on(port);
    assert!(
        !seen.contains(&IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        "the app listens on 0.0.0.0:{port}: anyone on this machine's networks reaches it around nginx"
    );
    assert_eq!(
        seen, expected,
        "the kernel's listening sockets on port {port} should be exactly the lab's addresses"
    );
    assert!(seen.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let edge = lab.edge().expect("the stage has nginx");
    if edge.backend() == labkit::edge::Backend::Docker {
        // Published ports are relayed from the gateway: the host's address on the lab network.
        let gateway = edge.client_address();
        assert_eq!(
            seen,
            BTreeSet::from([IpAddr::V4(Ipv4Addr::LOCALHOST), gateway]),
            "loopback, and the lab network's gateway where nginx connects from"
        );
    }
    // And nginx does reach it there.
    let answer = lab.client().get("/").await?;
    assert_eq!(answer.status.as_u16(), 200, "{}", lab.report());
    Ok(())
}

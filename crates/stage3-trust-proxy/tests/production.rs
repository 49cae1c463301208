//! The claims of the chapter "Going to production" (`book/src/production.md`).
//!
//! Through real nginx: the realip module resolves `$remote_addr` the way trusted-proxies
//! resolves the client, from the right of `X-Forwarded-For` and only as far as it trusts
//! (`nginx/realip-inner.conf`, behind the appending load balancer of
//! `nginx/realip-outer.conf`); and a PROXY protocol header names the client only when the
//! peer that sends it is trusted (`nginx/proxy-protocol.conf`).
//!
//! Without nginx: the trust policies the chapter gives for a chain of proxies find the client
//! in the headers such a chain sends. The header shapes are the ones the vendors document;
//! these tests check what trusted-proxies concludes from them, not the vendors' products.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use labkit::edge::LabNetwork;
use labkit::reqwest::Method;
use labkit::walkthrough::FORGED_IP;
use labkit::{Backend, Edge, Lab, LabError, LabOptions, Me, Result, Stage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trusted_proxies::{ClientAddr, Peer, ProxyConfig, Resolved, Scheme, TrustPolicy};

#[allow(unused_imports, reason = "not every claims file names the stage")]
use crate::stage_under_test;

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

const REALIP_INNER: &str = include_str!("../../../nginx/realip-inner.conf");
const REALIP_OUTER: &str = include_str!("../../../nginx/realip-outer.conf");
const PROXY_PROTOCOL: &str = include_str!("../../../nginx/proxy-protocol.conf");

/// What the sites trust as written: a documentation range, which each test replaces.
const AS_WRITTEN: &str = "set_real_ip_from 192.0.2.0/24;";

/// `site`, trusting `sources` where it trusts the documentation range.
fn trusting(site: &str, sources: &[String]) -> &'static str {
    assert_eq!(
        site.matches(AS_WRITTEN).count(),
        1,
        "the site should say `{AS_WRITTEN}` once, for the test to replace:\n{site}"
    );
    let lines: Vec<String> = sources
        .iter()
        .map(|source| format!("set_real_ip_from {source};"))
        .collect();
    // A lab's site lives as long as the test process; a few hundred bytes.
    Box::leak(site.replace(AS_WRITTEN, &lines.join(" ")).into_boxed_str())
}

/// The lab's Docker network (the one the next lab will join), or `None` with the native
/// backend, where the client and every proxy are 127.0.0.1.
async fn lab_network() -> Result<Option<Arc<LabNetwork>>> {
    match LabOptions::from_env()?.backend {
        Backend::Docker => Ok(Some(LabNetwork::shared().await?)),
        Backend::Native => Ok(None),
    }
}

/// Every address of the lab's /24 but its gateway: where the lab's proxies can be, and where
/// the client (who arrives from the gateway) is not.
fn proxies_of(network: &LabNetwork) -> Vec<String> {
    let IpAddr::V4(gateway) = network.gateway() else {
        panic!(
            "the lab's network should be IPv4, its gateway is {}",
            network.gateway()
        );
    };
    let base = u32::from(gateway) & !0xff;
    assert_eq!(
        u32::from(gateway),
        base + 1,
        "the lab's gateway should be the .1 of its /24 (labkit::edge::LabNetwork)"
    );
    [
        (2, 31),
        (4, 30),
        (8, 29),
        (16, 28),
        (32, 27),
        (64, 26),
        (128, 25),
    ]
    .iter()
    .map(|(offset, prefix)| format!("{}/{prefix}", Ipv4Addr::from(base + offset)))
    .collect()
}

/// Stage 3's app trusting only the nginx next to it: nginx has resolved the client already.
fn trusting_only_the_nearest_nginx(env: &labkit::AppEnv) -> axum::Router {
    let nginx = env.proxy_addresses[0];
    stage_under_test::app_trusting(TrustPolicy::from_addrs([nginx]), env)
}

/// Client, load balancer (appending), nginx with realip trusting `sources`, app.
async fn behind_a_load_balancer(sources: &[String]) -> Result<Lab> {
    let stage = Stage {
        site: Some(trusting(REALIP_INNER, sources)),
        app: trusting_only_the_nearest_nginx,
        ..stage()
    };
    let options = LabOptions {
        outer_site: Some(REALIP_OUTER),
        ..LabOptions::from_env()?
    };
    Lab::start_with(&stage, options).await
}

/// The `$remote_addr` nginx logged for the request line `GET {path}`: its log format is
/// `$remote_addr "$request" $status xff="..."`. Waits a little: logs arrive on their own.
async fn logged_remote_addr(edge: &Edge, path: &str) -> Option<String> {
    // Any HTTP version: a proxy in front speaks HTTP/1.0 to nginx.
    let request_line = format!("\"GET {path} HTTP/");
    edge.logged(&request_line, Duration::from_secs(5)).await;
    edge.logs()
        .lines()
        .find(|line| line.contains(&request_line))
        .and_then(|line| line.split_whitespace().next().map(str::to_owned))
}

/// `GET path` through the load balancer with a forged `X-Forwarded-For`: what the app saw,
/// and what the inner nginx logged as `$remote_addr`.
async fn forge_through_the_load_balancer(lab: &Lab, path: &str) -> Result<(Me, Option<String>)> {
    let client = lab.client();
    let request = client
        .request(Method::GET, path)
        .header("x-forwarded-for", FORGED_IP);
    let me: Me = client.send(request).await?.json()?;
    let inner = lab.edge().expect("the nginx behind the load balancer");
    Ok((me, logged_remote_addr(inner, path).await))
}

/// The load balancer appends, so the client's forged entry reaches nginx on the left of the
/// real one. realip, trusting only the proxies' addresses, walks from the right and stops at
/// the client: the forgery never becomes `$remote_addr`, nor the app's client.
#[tokio::test]
async fn realip_trusting_only_the_proxies_ignores_a_forged_address() -> Result<()> {
    let Some(network) = lab_network().await? else {
        eprintln!(
            "native nginx: the client and both proxies are 127.0.0.1, which no trust list can tell apart; this claim needs Docker"
        );
        return Ok(());
    };
    let lab = behind_a_load_balancer(&proxies_of(&network)).await?;
    let (me, logged) = forge_through_the_load_balancer(&lab, "/me?realip=proxies").await?;
    let you = lab.client_address().to_string();
    assert_eq!(
        logged.as_deref(),
        Some(you.as_str()),
        "realip trusting only the proxies should log you ({you}) as $remote_addr, not the forged {FORGED_IP}: nginx logged {logged:?} (see the access log of the stage's nginx below, and nginx/realip-inner.conf){}",
        lab.report()
    );
    assert_eq!(
        me.client_ip.map(|ip| ip.to_string()),
        Some(you.clone()),
        "the app, trusting only the nginx next to it, should see the client realip found ({you}){}",
        lab.report()
    );
    Ok(())
}

/// `set_real_ip_from 0.0.0.0/0` (ingress-nginx's default `proxy-real-ip-cidr`) trusts every
/// entry, so the walk runs to the leftmost one, which the client wrote.
#[tokio::test]
async fn realip_trusting_every_address_makes_the_forgery_the_client() -> Result<()> {
    let lab = behind_a_load_balancer(&["0.0.0.0/0".to_owned()]).await?;
    let (me, logged) = forge_through_the_load_balancer(&lab, "/me?realip=everyone").await?;
    assert_eq!(
        logged.as_deref(),
        Some(FORGED_IP),
        "realip trusting 0.0.0.0/0 should take the leftmost entry, the forged {FORGED_IP}, for $remote_addr: nginx logged {logged:?} (see the access log of the stage's nginx below){}",
        lab.report()
    );
    assert_eq!(
        me.client_ip,
        FORGED_IP.parse().ok(),
        "the app believes the nginx next to it, so it should see the forged {FORGED_IP} too{}",
        lab.report()
    );
    Ok(())
}

/// nginx behind a layer-4 balancer that speaks the PROXY protocol, believing its header only
/// from `balancer`; the app trusts nginx.
async fn behind_a_proxy_protocol_balancer(balancer: IpAddr) -> Result<Lab> {
    let stage = Stage {
        site: Some(trusting(PROXY_PROTOCOL, &[balancer.to_string()])),
        ..stage()
    };
    Lab::start_with(&stage, LabOptions::from_env()?).await
}

/// Where the lab's client reaches nginx from: the gateway with Docker, loopback natively.
/// In the PROXY protocol claims that client plays the load balancer.
fn where_the_client_connects_from(network: Option<&LabNetwork>) -> IpAddr {
    network.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), LabNetwork::gateway)
}

/// What a balancer sends: a PROXY line naming a client of the documentation range.
const PROXY_LINE: &str = "PROXY TCP4 198.51.100.7 192.0.2.80 51234 80\r\n";

/// Sends `preamble` then `GET path` over plain HTTP to nginx's port 80, and returns what
/// came back (empty when nginx closed the connection without an answer).
async fn raw_get(lab: &Lab, preamble: &str, path: &str) -> Result<String> {
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| LabError::Io { context, source }
    };
    let port = lab.edge().expect("nginx").http_port();
    let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(io("connecting to nginx's port 80"))?;
    let request =
        format!("{preamble}GET {path} HTTP/1.1\r\nHost: app.lab.test\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(io("sending to nginx"))?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    match read.await {
        Ok(Ok(_)) => {}
        // nginx may reset a connection it refuses: that is an answer too.
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(error)) => return Err(io("reading nginx's answer")(error)),
        Err(_) => {
            return Err(LabError::Unexpected {
                url: format!("http://127.0.0.1:{port}{path}"),
                detail: "nginx did not answer within 10 s".into(),
            });
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The client the app saw, from `/me`'s JSON in a raw HTTP answer.
fn client_in(answer: &str) -> Option<IpAddr> {
    let (_, body) = answer.split_once("\r\n\r\n")?;
    let json = &body[body.find('{')?..=body.rfind('}')?];
    client_ip_in(json)
}

/// `client_ip` out of `/me`'s JSON, without a JSON dependency: `"client_ip":"..."`.
fn client_ip_in(json: &str) -> Option<IpAddr> {
    let rest = &json[json.find("\"client_ip\":\"")? + "\"client_ip\":\"".len()..];
    rest[..rest.find('"')?].parse().ok()
}

/// From the balancer (trusted), the PROXY header's address becomes `$remote_addr`: nginx
/// logs it and passes it on, and the app sees the client the balancer named.
#[tokio::test]
async fn proxy_protocol_from_the_trusted_balancer_names_the_client() -> Result<()> {
    let network = lab_network().await?;
    let balancer = where_the_client_connects_from(network.as_deref());
    let lab = behind_a_proxy_protocol_balancer(balancer).await?;
    let path = "/me?proxy-protocol=trusted";
    let answer = raw_get(&lab, PROXY_LINE, path).await?;
    let logged = logged_remote_addr(lab.edge().expect("nginx"), path).await;
    assert_eq!(
        client_in(&answer).map(|ip| ip.to_string()).as_deref(),
        Some("198.51.100.7"),
        "from the trusted balancer ({balancer}), the app should see the client its PROXY header names (198.51.100.7); nginx answered:\n{answer}{}",
        lab.report()
    );
    assert_eq!(
        logged.as_deref(),
        Some("198.51.100.7"),
        "nginx should log the PROXY header's client as $remote_addr, but logged {logged:?}{}",
        lab.report()
    );
    Ok(())
}

/// Anyone who reaches nginx can send a PROXY header. From a peer `set_real_ip_from` does not
/// name, it does not replace `$remote_addr`: the app sees the peer, not the claim.
#[tokio::test]
async fn proxy_protocol_from_an_untrusted_peer_does_not_name_the_client() -> Result<()> {
    let network = lab_network().await?;
    let peer = where_the_client_connects_from(network.as_deref());
    // A balancer that is not the one connecting (a documentation address).
    let lab = behind_a_proxy_protocol_balancer("192.0.2.1".parse().expect("an address")).await?;
    let answer = raw_get(&lab, PROXY_LINE, "/me?proxy-protocol=untrusted").await?;
    assert_eq!(
        client_in(&answer),
        Some(peer),
        "a PROXY header from a peer nginx does not trust should count for nothing: the app should see that peer ({peer}), not 198.51.100.7; nginx answered:\n{answer}{}",
        lab.report()
    );
    Ok(())
}

/// A listener with `proxy_protocol` refuses a connection that does not begin with the header:
/// a health check or a client that skips the balancer gets no answer from the app.
#[tokio::test]
async fn without_a_proxy_header_nginx_refuses_the_connection() -> Result<()> {
    let lab = behind_a_proxy_protocol_balancer(IpAddr::V4(Ipv4Addr::LOCALHOST)).await?;
    let answer = raw_get(&lab, "", "/me?proxy-protocol=missing").await?;
    assert!(
        client_in(&answer).is_none() && !answer.starts_with("HTTP/1.1 200"),
        "a connection without a PROXY header should reach no app, but nginx answered:\n{answer}{}",
        lab.report()
    );
    Ok(())
}

/// `peer` forwarded a request with `headers`: what `config` concludes.
fn resolve(config: &ProxyConfig, peer: &str, headers: &[(&'static str, &str)]) -> Resolved {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, value.parse().expect("a header value"));
    }
    let peer: SocketAddr = peer.parse().expect("an ip:port");
    config.resolve(Peer::from(peer), &map)
}

/// What reaches the app behind a load balancer that appends and an nginx that appends
/// (`$proxy_add_x_forwarded_for`): the client's forgery, the client (here with the port an
/// ALB adds when asked to), the load balancer's node; and the load balancer's scheme.
const THROUGH_A_LOAD_BALANCER_AND_NGINX: [(&str, &str); 2] = [
    (
        "x-forwarded-for",
        "203.0.113.66, 198.51.100.7:50312, 10.0.1.23",
    ),
    ("x-forwarded-proto", "https"),
];

/// Behind a load balancer and nginx, both appending, trusting both finds the client.
#[test]
fn behind_a_load_balancer_and_nginx_trusting_both_finds_the_client()
-> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: load_balancer_policy
    // The load balancer's subnets and nginx's address: the deployment's configuration (an
    // environment variable, say), not the code.
    let trusted = "10.0.1.0/24, 10.0.2.0/24, 10.0.3.15";
    let config = ProxyConfig::new(TrustPolicy::parse(trusted)?);
    // ANCHOR_END: load_balancer_policy
    let resolved = resolve(
        &config,
        "10.0.3.15:40000",
        &THROUGH_A_LOAD_BALANCER_AND_NGINX,
    );
    assert_eq!(
        resolved.client(),
        ClientAddr::Ip("198.51.100.7".parse()?),
        "{resolved:?}"
    );
    assert_eq!(resolved.scheme(), Scheme::Https, "{resolved:?}");
    Ok(())
}

/// Trusting nginx alone behind a load balancer, the walk stops at the load balancer: every
/// client is one address, the load balancer's node.
#[test]
fn trusting_nginx_alone_behind_a_load_balancer_sees_the_load_balancer()
-> Result<(), Box<dyn std::error::Error>> {
    let config = ProxyConfig::new(TrustPolicy::parse("10.0.3.15")?);
    let resolved = resolve(
        &config,
        "10.0.3.15:40000",
        &THROUGH_A_LOAD_BALANCER_AND_NGINX,
    );
    assert_eq!(
        resolved.client(),
        ClientAddr::Ip("10.0.1.23".parse()?),
        "{resolved:?}"
    );
    Ok(())
}

/// HAProxy's `option forwardfor` adds its own `X-Forwarded-For` line after the client's:
/// the lines are read in order, so HAProxy's entry is the rightmost.
#[test]
fn behind_haproxy_its_own_x_forwarded_for_line_is_read_last()
-> Result<(), Box<dyn std::error::Error>> {
    let config = ProxyConfig::new(TrustPolicy::parse("10.0.3.20")?);
    let resolved = resolve(
        &config,
        "10.0.3.20:40000",
        &[
            ("x-forwarded-for", "203.0.113.66"),
            ("x-forwarded-for", "198.51.100.7"),
        ],
    );
    assert_eq!(
        resolved.client(),
        ClientAddr::Ip("198.51.100.7".parse()?),
        "{resolved:?}"
    );
    Ok(())
}

/// Behind Cloudflare and nginx: Cloudflare appends the visitor, nginx appends Cloudflare's
/// edge. Trusting Cloudflare's published ranges and nginx finds the visitor.
#[test]
fn behind_cloudflare_and_nginx_trusting_its_ranges_finds_the_visitor()
-> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: cloudflare_policy
    // Three of Cloudflare's published ranges (cloudflare.com/ips): deploy the whole current
    // list, refreshed, and your nginx.
    let cloudflare = "173.245.48.0/20, 103.21.244.0/22, 172.64.0.0/13";
    let config = ProxyConfig::new(TrustPolicy::parse(&format!("{cloudflare}, 10.0.3.15"))?);
    // ANCHOR_END: cloudflare_policy
    let resolved = resolve(
        &config,
        "10.0.3.15:40000",
        &[
            (
                "x-forwarded-for",
                "203.0.113.66, 198.51.100.7, 172.70.12.34",
            ),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert_eq!(
        resolved.client(),
        ClientAddr::Ip("198.51.100.7".parse()?),
        "{resolved:?}"
    );
    Ok(())
}

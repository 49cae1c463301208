//! One row: the child process that serves its lab (`lab-bench --serve ROW`), and the parent's
//! handle on that process.
//!
//! The child starts the lab as the tests do ([`Lab::start_with`]), logs in once, and tells the
//! parent in one line ([`Ready`]) where wrk should connect and what to send. With Docker that
//! is nginx's container at its own address on the lab's network, port 443, not the port
//! Docker publishes on 127.0.0.1: see the crate's documentation for why.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use labkit::{Backend, Edge, Lab, LabCerts, LabOptions, Stage};

use crate::cli::{BackendArg, Row};
use crate::processes;

/// The ceiling's site: nginx answering by itself, with stage 4's TLS.
const CEILING_SITE: &str = include_str!("../../../nginx/bench-ceiling.conf");

/// The port nginx listens on inside its container (every site's `listen 443`).
pub const NGINX_CONTAINER_PORT: u16 = 443;

/// Redis's port inside its container.
pub const REDIS_CONTAINER_PORT: u16 = 6379;

/// How long a container's own address may take to accept a connection before the row falls
/// back to the published port.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Row {
    pub fn label(self) -> &'static str {
        match self {
            Row::Ceiling => "nginx alone (ceiling)",
            Row::ProxyHop => "nginx to a bare app (the hop alone)",
            Row::Stage3 => "stage 3, memory store",
            Row::Stage4Sqlite => "stage 4, SQLite",
            Row::Stage4Redis => "stage 4, Redis",
            Row::Stage5Sqlite => "stage 5, SQLite, mutual TLS",
            Row::Stage5SqliteNoKeepalive => "stage 5, no upstream keep-alive",
        }
    }

    pub fn has_app(self) -> bool {
        self != Row::Ceiling
    }

    /// Whether the row's app keeps sessions: it is logged in to before the load, and its
    /// memory is measured with many sessions live.
    pub fn has_sessions(self) -> bool {
        !matches!(self, Row::Ceiling | Row::ProxyHop)
    }
}

/// The proxy hop's app: `GET /me` answered with the ceiling's own bytes, and nothing else (no
/// trust layer, no sessions, no store). Behind stage 3's nginx config, the row measures what
/// the hop from nginx to an axum app costs by itself: no app behind this nginx can do better,
/// which is what a stage's share of the ceiling is to be read against.
fn bare_app(_: &lab_app::AppEnv) -> axum::Router {
    use axum::http::header::CONTENT_TYPE;
    axum::Router::new().route(
        "/me",
        axum::routing::get(|| async { ([(CONTENT_TYPE, "application/json")], ceiling_body()) }),
    )
}

/// The body the ceiling's nginx returns for `GET /me` (`return 200 '...'` in its site).
fn ceiling_body() -> &'static str {
    static BODY: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
        CEILING_SITE
            .split_once("return 200 '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(body, _)| body)
            .expect("nginx/bench-ceiling.conf returns `/me`'s body with `return 200 '...'`")
    });
    &BODY
}

/// What a row's child tells the parent once its lab is up: one line on standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// nginx's HTTPS port on 127.0.0.1 (published by Docker, or the native nginx's own): how
    /// the parent finds nginx's container and any docker-proxy.
    pub https_port: u16,
    /// Where wrk connects: nginx's container on the lab's network (`IP:443`), or 127.0.0.1
    /// with the native backend (or when the container's address did not answer).
    pub nginx: SocketAddr,
    /// The `Host` wrk sends: the public host the app allows (`app.lab.test:PORT`).
    pub host: String,
    /// Redis's published port on 127.0.0.1, if the row has Redis: how the parent finds its
    /// container and any docker-proxy.
    pub redis_port: Option<u16>,
    /// Where the app reaches Redis, if the row has it.
    pub redis: Option<SocketAddr>,
    /// The logged-in user's session cookie, `name=value`.
    pub cookie: String,
}

impl Ready {
    fn line(&self) -> String {
        let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
        format!(
            "ready {} {} {} {} {} {}",
            self.https_port,
            self.nginx,
            self.host,
            or_dash(self.redis_port.map(|p| p.to_string())),
            or_dash(self.redis.map(|a| a.to_string())),
            self.cookie
        )
    }

    fn parse(line: &str) -> Option<Ready> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["ready", https_port, nginx, host, redis_port, redis, cookie] = words[..] else {
            return None;
        };
        let optional = |word: &str| (word != "-").then_some(word.to_owned());
        Some(Ready {
            https_port: https_port.parse().ok()?,
            nginx: nginx.parse().ok()?,
            host: host.to_owned(),
            redis_port: match optional(redis_port) {
                Some(port) => Some(port.parse().ok()?),
                None => None,
            },
            redis: match optional(redis) {
                Some(addr) => Some(addr.parse().ok()?),
                None => None,
            },
            cookie: cookie.to_owned(),
        })
    }
}

// ----- The child: one row's lab -----

/// Starts one row's lab, logs in, says [`Ready`] on standard output, and serves until
/// standard input closes.
pub async fn serve(row: Row, backend: BackendArg) -> anyhow::Result<ExitCode> {
    let (certs, _) = LabCerts::persistent(&crate::target_dir().join("lab-ca"))
        .context("preparing the lab's certificates")?;
    let scratch = tempfile::tempdir().context("making a directory for the SQLite file")?;
    let mut redis = None;
    let mut redis_addr = None;
    let (stage, session_store) = match row {
        Row::Ceiling => (
            Stage {
                number: 0,
                title: "the benchmark's ceiling",
                lesson: "nginx answers by itself; the app is never asked.",
                site: Some(CEILING_SITE),
                app: stage3_trust_proxy::app,
            },
            None,
        ),
        Row::ProxyHop => (
            Stage {
                number: 0,
                title: "the proxy hop alone",
                lesson: "stage 3's nginx in front of an app that only answers `/me`.",
                site: stage3_trust_proxy::NGINX_SITE,
                app: bare_app,
            },
            None,
        ),
        Row::Stage3 => (labkit::stage!(stage3_trust_proxy), None),
        Row::Stage4Sqlite => {
            // A fresh file, not the lab's own target/lab-sessions.db.
            let file = scratch.path().join("sessions.db");
            let url = format!("sqlite://{}", file.display());
            (labkit::stage!(stage4_secure_store), Some(url))
        }
        Row::Stage4Redis => {
            let started = labkit::Redis::start()
                .await
                .context("starting Redis for the session store")?;
            let published = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port_of(&started.url())?);
            let addr = redis_address(published).await;
            redis_addr = Some(addr);
            redis = Some((started, published.port()));
            (
                labkit::stage!(stage4_secure_store),
                Some(format!("redis://{addr}")),
            )
        }
        Row::Stage5Sqlite | Row::Stage5SqliteNoKeepalive => {
            let file = scratch.path().join("sessions.db");
            let url = format!("sqlite://{}", file.display());
            let mut stage = labkit::stage!(stage5_mutual_tls);
            if row == Row::Stage5SqliteNoKeepalive {
                let site = without_upstream_keepalive(stage.site.unwrap_or_default());
                stage.site = Some(Box::leak(site.into_boxed_str()));
            }
            (stage, Some(url))
        }
    };
    // The harness's frame sends nginx's access log to this process, which keeps all of it in
    // memory: at thousands of requests a second that would count megabytes against the app's
    // memory and cost CPU per request. `access_log off;` at http level (where the site is
    // included) turns it off, in every row alike; error logs still reach the lab.
    let site = stage
        .site
        .map(|site| &*Box::leak(format!("access_log off;\n{site}").into_boxed_str()));
    let stage = Stage { site, ..stage };
    let backend = match backend {
        BackendArg::Docker => Backend::Docker,
        BackendArg::Native => Backend::Native,
    };
    let lab = Lab::start_with(
        &stage,
        LabOptions {
            backend,
            port: None,
            certs,
            outer_site: None,
            replicas: 1,
            session_store,
            observe_inner_hop: false,
        },
    )
    .await
    .with_context(|| format!("starting the {} row", row.arg()))?;
    let cookie = if row.has_sessions() {
        let login = lab.client().log_in("bench").await?;
        ensure!(
            login.status.is_success(),
            "logging in answered {}{}",
            login.status,
            lab.report()
        );
        let me = lab.client().me().await?;
        ensure!(
            me.user.as_deref() == Some("bench"),
            "after logging in, /me says {:?}{}",
            me.user,
            lab.report()
        );
        login
            .set_cookies()
            .into_iter()
            .rfind(|cookie| !cookie.value().is_empty())
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .context("logging in set no session cookie")?
    } else {
        // The same length as stage 4's cookie, so that every row sends the same bytes.
        "__Host-id=AAAAAAAAAAAAAAAAAAAAAA".to_owned()
    };
    let front = lab.front().context("every row has nginx")?;
    let host = lab
        .env()
        .public_hosts
        .first()
        .context("the lab allows no public host")?
        .clone();
    let ready = Ready {
        https_port: front.https_port(),
        nginx: nginx_address(front).await,
        host,
        redis_port: redis.as_ref().map(|(_, port)| *port),
        redis: redis_addr,
        cookie,
    };
    // Ctrl-C reaches the whole process group: let the parent decide. When it stops (or
    // dies), our standard input closes and we stop the lab properly below; dying on the
    // signal would leave nginx's and Redis's containers running.
    tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
    println!("{}", ready.line());
    // Serve until the parent closes our standard input (or dies).
    tokio::task::spawn_blocking(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    })
    .await
    .context("waiting for the bench to finish")?;
    drop(lab);
    drop(redis);
    Ok(ExitCode::SUCCESS)
}

/// Where wrk reaches nginx. In Docker, the container's own address on the lab's network, port
/// 443: the address the app sees nginx connect from is the container's one address on that
/// network, where it also listens. The published port on 127.0.0.1 would put docker-proxy
/// between wrk and nginx. Natively, the host's nginx listens on 127.0.0.1.
async fn nginx_address(front: &Edge) -> SocketAddr {
    match front.backend() {
        Backend::Docker => {
            let own = SocketAddr::new(front.address_seen_by_app(), NGINX_CONTAINER_PORT);
            reachable_or(own, front.https_addr(), "nginx").await
        }
        Backend::Native => front.https_addr(),
    }
}

/// Where the app reaches Redis: its container's address (Redis runs on Docker's default
/// bridge), not the port published on 127.0.0.1 through docker-proxy.
async fn redis_address(published: SocketAddr) -> SocketAddr {
    match processes::container_ip(published.port(), REDIS_CONTAINER_PORT) {
        Some(ip) => {
            let own = SocketAddr::new(ip, REDIS_CONTAINER_PORT);
            reachable_or(own, published, "Redis").await
        }
        None => {
            eprintln!(
                "warning: Redis's container address was not found; the app reaches it through \
                 the published port {published} (docker-proxy)"
            );
            published
        }
    }
}

/// `own` if it accepts a TCP connection, else `published`, saying so. Where containers run in a
/// VM (Docker Desktop), their addresses are not reachable from the host.
async fn reachable_or(own: SocketAddr, published: SocketAddr, what: &str) -> SocketAddr {
    let probe = tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(own)).await;
    match probe {
        Ok(Ok(_)) => own,
        Ok(Err(error)) => {
            eprintln!(
                "warning: {what}'s container address {own} refused a connection ({error}); \
                 using the published port {published} (docker-proxy) instead"
            );
            published
        }
        Err(_) => {
            eprintln!(
                "warning: {what}'s container address {own} did not answer; using the published \
                 port {published} (docker-proxy) instead"
            );
            published
        }
    }
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .with_context(|| format!("no port in {url}"))
}

/// `site` with nginx's default toward the upstream (HTTP/1.0, `Connection: close`): what the
/// inner hop costs with a TLS handshake per request.
fn without_upstream_keepalive(site: &str) -> String {
    site.replace(
        "        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n",
        "",
    )
}

// ----- The parent's handle -----

/// A row's lab, in its child process.
pub struct Running {
    pub row: Row,
    child: Child,
    stdin: Option<ChildStdin>,
    pub ready: Ready,
    /// VmRSS right after start and one login (KiB).
    pub idle_rss_kib: u64,
}

impl Running {
    pub fn start(row: Row, backend: BackendArg) -> anyhow::Result<Running> {
        let exe = std::env::current_exe().context("finding the lab-bench binary")?;
        let mut child = Command::new(exe)
            .args(["--serve", row.arg(), "--backend", backend.arg()])
            // Warnings only: a line per request would be measured too.
            .env(
                "RUST_LOG",
                "warn,testcontainers=warn,bollard=warn,hyper=warn,tower_sessions=error",
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a row's process")?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("the row's standard output")?)
            .read_line(&mut line)
            .context("reading the row's first line")?;
        let Some(ready) = Ready::parse(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the {} row did not start (it said {line:?}; its errors are above)",
                row.arg()
            );
        };
        let idle_rss_kib = processes::proc_status(child.id(), "VmRSS")?;
        Ok(Running {
            row,
            ready,
            stdin,
            child,
            idle_rss_kib,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's standard input, so that it stops its lab, and waits for it.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_keepalive_row_drops_exactly_the_keepalive_lines() {
        let site = stage5_mutual_tls::NGINX_SITE.expect("stage 5 has a site");
        let without = without_upstream_keepalive(site);
        assert!(site.contains("proxy_http_version 1.1;"));
        assert!(!without.contains("proxy_http_version") && !without.contains("Connection \"\""));
        assert_eq!(site.lines().count(), without.lines().count() + 2);
    }

    #[test]
    fn the_ready_line_says_everything_the_parent_needs() {
        let with_redis = Ready {
            https_port: 40123,
            nginx: "10.12.34.2:443".parse().unwrap(),
            host: "app.lab.test:40123".into(),
            redis_port: Some(40200),
            redis: Some("172.17.0.3:6379".parse().unwrap()),
            cookie: "__Host-id=abc".into(),
        };
        assert_eq!(Ready::parse(&with_redis.line()), Some(with_redis.clone()));
        let without = Ready {
            redis_port: None,
            redis: None,
            ..with_redis
        };
        assert_eq!(
            Ready::parse(&format!("{}\n", without.line())),
            Some(without)
        );
        assert_eq!(Ready::parse("error: no Docker"), None);
    }

    /// wrk connects to port 443 of nginx's container: every row's site must listen there.
    #[test]
    fn every_row_listens_where_wrk_connects() {
        let listen = format!("listen {NGINX_CONTAINER_PORT} ssl;");
        for site in [
            CEILING_SITE,
            stage3_trust_proxy::NGINX_SITE.expect("stage 3 has a site"),
            stage4_secure_store::NGINX_SITE.expect("stage 4 has a site"),
            stage5_mutual_tls::NGINX_SITE.expect("stage 5 has a site"),
        ] {
            assert!(site.contains(&listen), "no `{listen}` in:\n{site}");
        }
    }
}

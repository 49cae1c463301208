//! A stage's whole environment: certificates, nginx, the app and a client, started together
//! and stopped on drop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
pub use lab_app::AppEnv;

use crate::app::{self, RunningApp};
use crate::certs::{LAB_HOST, LOOPBACK, LabCerts};
use crate::client::LabClient;
use crate::edge::{Backend, Edge, EdgeSpec, InternalFiles, LabNetwork, Upstream};
use crate::error::{LabError, Result};
use crate::internal::{InternalCa, PROXY_IDENTITY, Role};
use crate::transcript::Transcript;

/// A step of the lab's story, as the harness runs it. The harness knows no stage: build one
/// from a stage crate with [`stage!`](crate::stage).
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// 1, 2, 3, 4.
    pub number: u8,
    /// A few words.
    pub title: &'static str,
    /// What the stage teaches, in a sentence or two.
    pub lesson: &'static str,
    /// nginx's site config (`server` blocks); `None` serves the app directly over HTTP.
    pub site: Option<&'static str>,
    /// Builds the app, knowing where it runs.
    pub app: fn(&AppEnv) -> Router,
}

/// Options for [`Lab::start_with`].
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Where nginx runs.
    pub backend: Backend,
    /// The loopback port for the public origin; `None` picks a free one (what tests do).
    pub port: Option<u16>,
    /// The certificates (tests: made per process; the xtask: kept under `target/`).
    pub certs: LabCerts,
    /// Another nginx in front of the stage's, standing in for a CDN or load balancer: its
    /// site config, whose `lab_app` upstream is the stage's nginx over HTTPS.
    pub outer_site: Option<&'static str>,
    /// How many instances of the app nginx balances between (round-robin).
    pub replicas: usize,
    /// Where the app should keep sessions ([`AppEnv::session_store`]).
    pub session_store: Option<String>,
    /// Put an [`Observer`](crate::Observer) between nginx and the (first) app: what someone on
    /// the inner network would read. The relay reaches the app on loopback, so the app sees
    /// 127.0.0.1 as its peer, which the lab adds to `proxy_addresses` (it carries nginx's
    /// connections). Docker only: natively, clients come from loopback too.
    pub observe_inner_hop: bool,
}

/// A session store for stages 4 and 5 that no other run shares: a SQLite file in a fresh
/// temporary directory, as the URL for [`LabOptions::session_store`], and the directory
/// (keep it alive as long as the lab; dropping it removes the file).
///
/// # Panics
///
/// When no temporary directory can be made.
pub fn temporary_sqlite_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory for the session store");
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    (dir, url)
}

impl LabOptions {
    /// What tests use: the backend from `LAB_BACKEND` (Docker by default, and an error
    /// without it), free ports, a per-process CA, one app, no outer proxy, the stage's own
    /// session store.
    pub fn from_env() -> Result<LabOptions> {
        Ok(LabOptions {
            backend: Backend::from_env()?,
            port: None,
            certs: LabCerts::shared()?.clone(),
            outer_site: None,
            replicas: 1,
            session_store: None,
            observe_inner_hop: false,
        })
    }
}

/// A running stage.
pub struct Lab {
    stage: Stage,
    certs: LabCerts,
    transcript: Transcript,
    env: AppEnv,
    // Field order is drop order: the client's connections close before the app and nginx stop.
    client: LabClient,
    apps: Vec<RunningApp>,
    /// The proxies, nearest the app first; the client talks to the last.
    edges: Vec<Edge>,
    /// Stage 5: the internal CA, and the app's TLS (kept for restarts).
    internal: Option<Arc<InternalCa>>,
    app_tls: Option<Arc<rustls::ServerConfig>>,
    /// What crossed between nginx and the app (`LabOptions::observe_inner_hop`).
    observer: Option<crate::Observer>,
}

impl Lab {
    /// Starts `stage` the way tests do: see [`LabOptions::from_env`].
    pub async fn start(stage: &Stage) -> Result<Lab> {
        crate::init_test_tracing();
        Lab::start_with(stage, LabOptions::from_env()?).await
    }

    /// Starts `stage` with `options`.
    pub async fn start_with(stage: &Stage, options: LabOptions) -> Result<Lab> {
        let LabOptions {
            backend,
            port,
            certs,
            outer_site,
            replicas,
            session_store,
            observe_inner_hop,
        } = options;
        let transcript = Transcript::default();
        let mut env = AppEnv {
            proxy_addresses: Vec::new(),
            proxy_identities: Vec::new(),
            public_hosts: Vec::new(),
            session_store,
        };
        let Some(site) = stage.site else {
            let listener = app::bind(SocketAddr::new(LOOPBACK, port.unwrap_or(0))).await?;
            let addr = listener
                .local_addr()
                .map_err(LabError::io("reading the app's address"))?;
            env.public_hosts = vec![public_host(addr.port())];
            let app = RunningApp::serve(vec![listener], build_app(stage, &env)?)?;
            let client = LabClient::new("http", addr, &certs.ca_pem, transcript.clone())?;
            let apps = vec![app];
            return Ok(Lab {
                stage: *stage,
                certs,
                transcript,
                env,
                client,
                apps,
                edges: Vec::new(),
                internal: None,
                app_tls: None,
                observer: None,
            });
        };
        // A site that proxies to `https://lab_app` gets an app that serves mutual TLS, with
        // certificates from an internal CA of its own (stage 5).
        let internal = if site.contains("proxy_pass https://lab_app") {
            Some(Arc::new(InternalCa::generate()?))
        } else {
            None
        };
        let app_tls = internal
            .as_deref()
            .map(crate::mtls::server_config)
            .transpose()?;
        let internal_files = internal
            .as_deref()
            .map(|ca| -> Result<InternalFiles> {
                Ok(InternalFiles {
                    ca_pem: ca.ca_pem().to_owned(),
                    proxy: ca.issue(PROXY_IDENTITY, Role::Client)?,
                })
            })
            .transpose()?;
        if internal.is_some() {
            env.proxy_identities = vec![PROXY_IDENTITY.to_owned()];
        }
        // In Docker, nginx reaches the host at the gateway of the lab's own network; the app
        // listens there and on loopback, and nowhere else.
        let network = match backend {
            Backend::Docker => Some(LabNetwork::shared().await?),
            Backend::Native => None,
        };
        let host = network
            .as_ref()
            .map_or(LOOPBACK, |network| network.gateway());
        let mut listeners = Vec::new();
        for _ in 0..replicas.max(1) {
            listeners.push(app::bind_where_the_proxy_reaches(host, 0).await?);
        }
        let mut app_ports = listeners
            .iter()
            .map(|listeners| listeners[0].local_addr().map(|addr| addr.port()))
            .collect::<std::io::Result<Vec<u16>>>()
            .map_err(LabError::io("reading the app's address"))?;
        let observer = if observe_inner_hop {
            // nginx reaches the relay where it would reach the app; the relay reaches the app
            // on loopback, an address no client of the lab has (they arrive from the gateway).
            let observer =
                crate::Observer::start_on(host, SocketAddr::new(LOOPBACK, app_ports[0])).await?;
            app_ports[0] = observer.addr().port();
            env.proxy_addresses.push(LOOPBACK);
            Some(observer)
        } else {
            None
        };
        let inner = EdgeSpec {
            site,
            certs: &certs,
            upstream: Upstream::App(app_ports),
            https_port: if outer_site.is_none() { port } else { None },
            network: network.clone(),
            internal: internal_files,
        };
        let mut edges = vec![Edge::start(backend, inner).await?];
        if let Some(outer_site) = outer_site {
            let next = &edges[0];
            let outer = EdgeSpec {
                site: outer_site,
                certs: &certs,
                upstream: Upstream::Edge {
                    address: next.address_seen_by_app(),
                    container_port: 443,
                    host_port: next.https_port(),
                },
                https_port: port,
                network: network.clone(),
                internal: None,
            };
            edges.push(Edge::start(backend, outer).await?);
        }
        env.proxy_addresses
            .extend(edges.iter().map(Edge::address_seen_by_app));
        let front = edges.last().expect("at least the stage's nginx");
        env.public_hosts = vec![public_host(front.https_port())];
        let apps = listeners
            .into_iter()
            .map(|listeners| serve(listeners, build_app(stage, &env)?, app_tls.as_ref(), &env))
            .collect::<Result<Vec<_>>>()?;
        let client = LabClient::new(
            "https",
            front.https_addr(),
            &certs.ca_pem,
            transcript.clone(),
        )?;
        Ok(Lab {
            stage: *stage,
            certs,
            transcript,
            env,
            client,
            apps,
            edges,
            internal,
            app_tls,
            observer,
        })
    }

    /// Stops every app instance and starts new ones on the same ports, as a deploy or a crash
    /// and restart would: what lived only in the app's memory is gone.
    pub async fn restart_app(&mut self) -> Result<()> {
        let addrs: Vec<Vec<SocketAddr>> =
            self.apps.iter().map(|app| app.addrs().to_vec()).collect();
        for app in self.apps.drain(..) {
            app.stop().await;
        }
        for addrs in addrs {
            let mut listeners = Vec::new();
            for addr in addrs {
                listeners.push(app::bind(addr).await?);
            }
            self.apps.push(serve(
                listeners,
                build_app(&self.stage, &self.env)?,
                self.app_tls.as_ref(),
                &self.env,
            )?);
        }
        Ok(())
    }

    /// The stage this lab runs.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The lab's client: one browser with one cookie jar.
    pub fn client(&self) -> &LabClient {
        &self.client
    }

    /// Another browser: same origin, empty cookie jar, same transcript.
    pub fn new_client(&self) -> Result<LabClient> {
        let (scheme, addr) = match self.front() {
            Some(front) => ("https", front.https_addr()),
            None => ("http", self.app_addr()),
        };
        LabClient::new(scheme, addr, &self.certs.ca_pem, self.transcript.clone())
    }

    /// A client that reaches the app *directly*, bypassing nginx, as an attacker on the app's
    /// network would.
    pub fn direct_client(&self) -> Result<LabClient> {
        LabClient::new(
            "http",
            self.app_addr(),
            &self.certs.ca_pem,
            self.transcript.clone(),
        )
    }

    /// A plain-HTTP client whose connections go to `addr` (for example an [`Observer`](crate::Observer)).
    pub fn client_via(&self, addr: SocketAddr) -> Result<LabClient> {
        LabClient::new("http", addr, &self.certs.ca_pem, self.transcript.clone())
    }

    /// The public origin, e.g. `https://app.lab.test:8443`.
    pub fn origin(&self) -> &str {
        self.client.origin()
    }

    /// Where this machine reaches the app itself, bypassing nginx (the first instance, on
    /// loopback).
    pub fn app_addr(&self) -> SocketAddr {
        SocketAddr::new(LOOPBACK, self.apps[0].port())
    }

    /// Every address the app listens on (the first instance): loopback, and with Docker the
    /// gateway of the lab's network, where nginx connects.
    pub fn app_listen_addrs(&self) -> &[SocketAddr] {
        self.apps[0].addrs()
    }

    /// The relay between nginx and the app, when `LabOptions::observe_inner_hop` asked for one.
    pub fn inner_hop(&self) -> Option<&crate::Observer> {
        self.observer.as_ref()
    }

    /// Stage 5's internal CA (the hop between nginx and the app), to issue more certificates.
    pub fn internal_ca(&self) -> Option<&InternalCa> {
        self.internal.as_deref()
    }

    /// What the app was told about where it runs.
    pub fn env(&self) -> &AppEnv {
        &self.env
    }

    /// The stage's nginx (the proxy next to the app), if the stage has one.
    pub fn edge(&self) -> Option<&Edge> {
        self.edges.first()
    }

    /// The proxy the client talks to: the outer one in a chain, else the stage's nginx.
    pub fn front(&self) -> Option<&Edge> {
        self.edges.last()
    }

    /// Every proxy, nearest the app first.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The client's address as the front proxy sees it (127.0.0.1 without a proxy): what
    /// a correct trust policy lets the app see.
    pub fn client_address(&self) -> IpAddr {
        self.front().map_or(LOOPBACK, Edge::client_address)
    }

    /// The lab's certificates.
    pub fn certs(&self) -> &LabCerts {
        &self.certs
    }

    /// Everything the lab's clients did so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// What a failing test shows: the transcript, then what nginx logged.
    pub fn report(&self) -> String {
        let mut report = format!(
            "\n--- what the lab's clients did (stage {}: {}) ---\n{}",
            self.stage.number, self.stage.title, self.transcript
        );
        for (i, edge) in self.edges.iter().enumerate() {
            let which = if i == 0 {
                "the stage's nginx"
            } else {
                "the outer nginx"
            };
            report.push_str(&format!("--- what {which} logged ---\n{}", edge.logs()));
        }
        report.push_str(&format!(
            "--- stuck on the workshop's lab {0}? `cargo xtask hint {0}` ---\n",
            self.stage.number
        ));
        report
    }
}

/// The [`Stage`] of a stage crate (or a workshop exercise crate) that exports `NUMBER`, `TITLE`,
/// `LESSON`, `NGINX_SITE` and `fn app(&AppEnv) -> Router`.
///
/// ```
/// mod my_stage {
///     pub const NUMBER: u8 = 9;
///     pub const TITLE: &str = "an example";
///     pub const LESSON: &str = "Stages are plain crates.";
///     pub const NGINX_SITE: Option<&str> = None;
///     pub fn app(_env: &labkit::AppEnv) -> axum::Router {
///         lab_app::router()
///     }
/// }
/// let stage = labkit::stage!(my_stage);
/// assert_eq!(stage.number, 9);
/// ```
#[macro_export]
macro_rules! stage {
    ($krate:ident) => {
        $crate::Stage {
            number: $krate::NUMBER,
            title: $krate::TITLE,
            lesson: $krate::LESSON,
            site: $krate::NGINX_SITE,
            app: $krate::app,
        }
    };
}

/// Serves an app instance: plain HTTP, or mutual TLS when the stage's site asks for it.
fn serve(
    listeners: Vec<tokio::net::TcpListener>,
    router: Router,
    tls: Option<&Arc<rustls::ServerConfig>>,
    env: &AppEnv,
) -> Result<RunningApp> {
    match tls {
        Some(tls) => crate::mtls::serve(
            listeners,
            router,
            Arc::clone(tls),
            env.proxy_identities.clone(),
        ),
        None => RunningApp::serve(listeners, router),
    }
}

/// The public host with its port (`app.lab.test:8443`): an allow-list entry names the port
/// too, so that no header can choose another one.
fn public_host(port: u16) -> String {
    format!("{LAB_HOST}:{port}")
}

/// Builds the stage's app, turning a panic in the stage's code (a bad setting, say) into an
/// error that says so instead of tearing down the harness. The pages' "what the app saw"
/// panel learns which stage this is, and the session cookie's fate, from the outermost layer.
fn build_app(stage: &Stage, env: &AppEnv) -> Result<Router> {
    let app = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (stage.app)(env)));
    app.map(|router| lab_app::with_panel(router, stage_info(stage)))
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "it panicked".to_owned());
            LabError::App(format!(
                "stage {}'s app could not be built: {message}",
                stage.number
            ))
        })
}

/// What the panel says about `stage`: its chapter in the built book, and its workshop lab.
fn stage_info(stage: &Stage) -> lab_app::StageInfo {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let book = root.canonicalize().unwrap_or(root).join("book/build");
    lab_app::StageInfo {
        number: stage.number,
        title: stage.title,
        lesson: stage.lesson,
        chapter: format!(
            "{} (`cargo xtask book` builds it)",
            book.join(format!("stage-{}.html", stage.number)).display()
        ),
        lab: (1..=4)
            .contains(&stage.number)
            .then(|| format!("cargo xtask lab {} --mine", stage.number)),
    }
}

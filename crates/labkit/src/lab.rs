//! A stage's whole environment: certificates, nginx, the app and a client, started together
//! and stopped on drop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
pub use lab_app::AppEnv;

use crate::app::{self, RunningApp};
use crate::certs::{LOOPBACK, LabCerts};
use crate::client::LabClient;
use crate::edge::{Backend, Edge, EdgeSpec};
use crate::error::{LabError, Result};
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
}

/// A running stage.
pub struct Lab {
    stage: Stage,
    certs: LabCerts,
    transcript: Transcript,
    // Field order is drop order: the client's connections close before the app and nginx stop.
    client: LabClient,
    app: RunningApp,
    edge: Option<Edge>,
}

impl Lab {
    /// Starts `stage` the way tests do: the backend from `LAB_BACKEND` (Docker by default, and
    /// an error without it), free ports, a per-process CA.
    pub async fn start(stage: &Stage) -> Result<Lab> {
        crate::init_test_tracing();
        let options = LabOptions {
            backend: Backend::from_env()?,
            port: None,
            certs: LabCerts::shared()?.clone(),
        };
        Lab::start_with(stage, options).await
    }

    /// Starts `stage` with `options`.
    pub async fn start_with(stage: &Stage, options: LabOptions) -> Result<Lab> {
        let LabOptions {
            backend,
            port,
            certs,
        } = options;
        let transcript = Transcript::default();
        let (edge, app, client) = match stage.site {
            None => {
                let listener = app::bind(SocketAddr::new(LOOPBACK, port.unwrap_or(0))).await?;
                let app = RunningApp::serve(listener, (stage.app)(&AppEnv::default()))?;
                let client = LabClient::new("http", app.addr(), &certs.ca_pem, transcript.clone())?;
                (None, app, client)
            }
            Some(site) => {
                // In Docker, nginx reaches the host through the bridge, not through 127.0.0.1.
                let host = match backend {
                    Backend::Docker => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Backend::Native => LOOPBACK,
                };
                let listener = app::bind(SocketAddr::new(host, 0)).await?;
                let app_port = listener
                    .local_addr()
                    .map_err(LabError::io("reading the app's address"))?
                    .port();
                let spec = EdgeSpec {
                    site,
                    certs: &certs,
                    app_ports: &[app_port],
                    https_port: port,
                };
                let edge = Edge::start(backend, spec).await?;
                let env = AppEnv {
                    proxy_addresses: vec![edge.address_seen_by_app()],
                };
                let app = RunningApp::serve(listener, (stage.app)(&env))?;
                let client = LabClient::new(
                    "https",
                    edge.https_addr(),
                    &certs.ca_pem,
                    transcript.clone(),
                )?;
                (Some(edge), app, client)
            }
        };
        Ok(Lab {
            stage: *stage,
            certs,
            transcript,
            client,
            app,
            edge,
        })
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
        let (scheme, addr) = match &self.edge {
            Some(edge) => ("https", edge.https_addr()),
            None => ("http", self.app.addr()),
        };
        LabClient::new(scheme, addr, &self.certs.ca_pem, self.transcript.clone())
    }

    /// A client that reaches the app *directly*, bypassing nginx, as an attacker on the app's
    /// network would.
    pub fn direct_client(&self) -> Result<LabClient> {
        let addr = SocketAddr::new(LOOPBACK, self.app.addr().port());
        LabClient::new("http", addr, &self.certs.ca_pem, self.transcript.clone())
    }

    /// A plain-HTTP client whose connections go to `addr` (for example an [`Observer`](crate::Observer)).
    pub fn client_via(&self, addr: SocketAddr) -> Result<LabClient> {
        LabClient::new("http", addr, &self.certs.ca_pem, self.transcript.clone())
    }

    /// The public origin, e.g. `https://app.lab.test:8443`.
    pub fn origin(&self) -> &str {
        self.client.origin()
    }

    /// Where the app itself listens.
    pub fn app_addr(&self) -> SocketAddr {
        SocketAddr::new(LOOPBACK, self.app.addr().port())
    }

    /// nginx, if the stage has it.
    pub fn edge(&self) -> Option<&Edge> {
        self.edge.as_ref()
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
        if let Some(edge) = &self.edge {
            report.push_str(&format!("--- what nginx logged ---\n{}", edge.logs()));
        }
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

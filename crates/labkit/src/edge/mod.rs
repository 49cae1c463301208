//! The edge: nginx in front of the app, terminating TLS, in a container or as a host process.

mod config;
mod docker;
pub mod lint;
mod native;
mod network;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

pub use network::{LabNetwork, NETWORK_LABEL};

pub use config::{native_site, render_main};
pub use native::{check_config, nginx_binary as native_nginx_binary, write_config};

use crate::certs::LabCerts;
use crate::error::{LabError, Result};

/// Where nginx runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// In a Docker container started by testcontainers: the default, and what CI tests.
    Docker,
    /// The host's nginx binary in a temporary prefix: for machines without Docker.
    Native,
}

impl Backend {
    /// The backend named by `LAB_BACKEND` (`docker` or `native`), Docker when unset.
    ///
    /// Tests use this: a test that needs Docker fails without it rather than silently
    /// switching backends.
    pub fn from_env() -> Result<Backend> {
        match std::env::var("LAB_BACKEND").as_deref() {
            Err(_) | Ok("") | Ok("docker") => Ok(Backend::Docker),
            Ok("native") => Ok(Backend::Native),
            Ok(other) => Err(LabError::Unexpected {
                url: "LAB_BACKEND".into(),
                detail: format!("{other:?} is not a backend: use `docker` or `native`"),
            }),
        }
    }

    /// Docker when its engine answers, else the host's nginx when there is one.
    pub async fn detect() -> Result<Backend> {
        match crate::doctor::docker_version().await {
            Ok(_) => Ok(Backend::Docker),
            Err(docker) if native::nginx_binary().exists() => {
                tracing::warn!("{docker}\nUsing the host's nginx instead (LAB_BACKEND=native).");
                Ok(Backend::Native)
            }
            Err(docker) => Err(docker),
        }
    }
}

/// Everything nginx logged so far, shared with the process or container that writes it.
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<Mutex<String>>);

impl Logs {
    pub(crate) fn push(&self, text: &str) {
        self.0.lock().expect("log buffer poisoned").push_str(text);
    }

    /// A copy of everything logged so far.
    pub fn text(&self) -> String {
        self.0.lock().expect("log buffer poisoned").clone()
    }

    pub(crate) fn contains(&self, needle: &str) -> bool {
        self.0.lock().expect("log buffer poisoned").contains(needle)
    }
}

/// What an edge needs to start.
#[derive(Clone, Debug)]
pub struct EdgeSpec<'a> {
    /// The stage's `server { ... }` blocks (an http-context snippet, see `nginx/`).
    pub site: &'a str,
    /// Certificates for `ssl_certificate lab/cert.pem` and `ssl_certificate_key lab/key.pem`.
    pub certs: &'a LabCerts,
    /// What `upstream lab_app` points at: the app, or the next proxy in a chain.
    pub upstream: Upstream,
    /// The loopback port for HTTPS; `None` picks a free one.
    pub https_port: Option<u16>,
    /// The Docker network to join (shared by the proxies of a chain); `None` makes one for
    /// this edge. The native backend ignores it.
    pub network: Option<Arc<LabNetwork>>,
    /// For an app served over mutual TLS (stage 5): the internal CA's certificate and nginx's
    /// client certificate and key, written as `lab/internal-ca.pem`, `lab/proxy-cert.pem` and
    /// `lab/proxy-key.pem`.
    pub internal: Option<InternalFiles>,
}

/// What nginx needs to speak mutual TLS to the app.
#[derive(Clone, Debug)]
pub struct InternalFiles {
    /// The internal CA, to verify the app's certificate.
    pub ca_pem: String,
    /// nginx's own client certificate and key.
    pub proxy: crate::internal::Issued,
}

impl EdgeSpec<'_> {
    /// The files beside `nginx.conf`, by relative path: the site (as given), the snippet that
    /// clears forwarding headers (sites `include` it), and the certificates its `ssl_*`
    /// directives name (`ca.pem` verifies the next hop in a chain).
    fn lab_files(&self, site: String) -> Vec<(&'static str, String)> {
        let mut files = vec![
            ("lab/site.conf", site),
            (
                "lab/clear-forwarding-headers.conf",
                CLEAR_FORWARDING_HEADERS.to_owned(),
            ),
            ("lab/cert.pem", self.certs.server_cert_pem.clone()),
            ("lab/key.pem", self.certs.server_key_pem.clone()),
            ("lab/ca.pem", self.certs.ca_pem.clone()),
        ];
        if let Some(internal) = &self.internal {
            files.push(("lab/internal-ca.pem", internal.ca_pem.clone()));
            files.push(("lab/proxy-cert.pem", internal.proxy.cert_pem.clone()));
            files.push(("lab/proxy-key.pem", internal.proxy.key_pem.clone()));
        }
        files
    }
}

/// `nginx/clear-forwarding-headers.conf`: what an edge clears of the client's headers.
pub const CLEAR_FORWARDING_HEADERS: &str =
    include_str!("../../../../nginx/clear-forwarding-headers.conf");

/// What an edge proxies to.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// The app, listening on these host ports (several: replicas).
    App(Vec<u16>),
    /// Another nginx (the next hop of a chain), on its HTTPS port.
    Edge {
        /// Where a container reaches it.
        address: IpAddr,
        /// Its port inside its container (443).
        container_port: u16,
        /// Its port on the host (for a native nginx).
        host_port: u16,
    },
}

/// A running nginx.
pub struct Edge {
    // Field order is drop order: the container goes before its network.
    running: Running,
    #[expect(dead_code, reason = "held so that the network outlives the container")]
    network: Option<Arc<LabNetwork>>,
    https_port: u16,
    http_port: u16,
    app_sees: IpAddr,
    sees_clients_as: IpAddr,
    logs: Logs,
}

/// Held for its `Drop`, which stops nginx.
enum Running {
    Docker(#[expect(dead_code, reason = "held for its Drop")] Box<docker::Container>),
    Native(#[expect(dead_code, reason = "held for its Drop")] native::Process),
}

impl Edge {
    /// Starts nginx with `spec` on `backend` and waits until it accepts connections.
    pub async fn start(backend: Backend, spec: EdgeSpec<'_>) -> Result<Edge> {
        let started = std::time::Instant::now();
        let edge = match backend {
            Backend::Docker => docker::start(spec).await?,
            Backend::Native => native::start(spec).await?,
        };
        let elapsed_ms = started.elapsed().as_millis();
        tracing::info!(
            ?backend,
            elapsed_ms,
            port = edge.https_port,
            "nginx is ready"
        );
        Ok(edge)
    }

    /// The 127.0.0.1 port where nginx serves HTTPS (its `listen 443`).
    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    /// The 127.0.0.1 port where nginx serves plain HTTP (its `listen 80`, if the site has one).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The address the app sees nginx connect from: what a trust policy has to name.
    pub fn address_seen_by_app(&self) -> IpAddr {
        self.app_sees
    }

    /// The address a client on this machine has when it reaches nginx: in Docker, the
    /// bridge's gateway (published ports are relayed from there); natively, 127.0.0.1.
    /// It is the "real client" a correct trust policy lets the app see.
    pub fn client_address(&self) -> IpAddr {
        self.sees_clients_as
    }

    /// Everything nginx logged so far (errors and the access log).
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Waits up to `within` for nginx to log `needle` (its log reaches the lab a moment after
    /// the answer reaches the client), and says whether it did.
    pub async fn logged(&self, needle: &str, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.logs.contains(needle) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    /// Which backend runs this edge.
    pub fn backend(&self) -> Backend {
        match self.running {
            Running::Docker(_) => Backend::Docker,
            Running::Native(_) => Backend::Native,
        }
    }

    /// Where clients connect for HTTPS.
    pub fn https_addr(&self) -> SocketAddr {
        SocketAddr::new(crate::certs::LOOPBACK, self.https_port)
    }
}

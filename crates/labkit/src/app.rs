//! The stage's app, served in-process on an ephemeral port.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::certs::LOOPBACK;
use crate::error::{LabError, Result};

/// How often to look for a port free on both addresses before giving up.
const PORT_ATTEMPTS: usize = 20;

/// Binds the app's listener before anything else starts, so that nginx's config can name
/// its port and the app can be built afterwards knowing where nginx connects from.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| LabError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Binds one port on `host` (where the proxy connects) and on loopback (where this machine's
/// own tests and tools connect), and nowhere else: never `0.0.0.0`, which would let anyone
/// on the network reach the app around the proxy. `port` 0 picks one free on both.
pub async fn bind_where_the_proxy_reaches(host: IpAddr, port: u16) -> Result<Vec<TcpListener>> {
    if host == LOOPBACK {
        return Ok(vec![bind(SocketAddr::new(host, port)).await?]);
    }
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        let first = bind(SocketAddr::new(host, port)).await?;
        let chosen = first
            .local_addr()
            .map_err(LabError::io("reading the app's address"))?
            .port();
        match bind(SocketAddr::new(LOOPBACK, chosen)).await {
            Ok(second) => return Ok(vec![first, second]),
            // Taken on loopback only: another port may be free on both.
            Err(error) if port == 0 => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.expect("at least one attempt"))
}

/// The app, serving until dropped.
pub struct RunningApp {
    addrs: Vec<SocketAddr>,
    servers: Vec<(Option<oneshot::Sender<()>>, JoinHandle<()>)>,
}

impl RunningApp {
    /// Serves `router` on every listener, giving handlers the peer address (`ConnectInfo`),
    /// which is what every trust decision starts from.
    pub fn serve(listeners: Vec<TcpListener>, router: Router) -> Result<RunningApp> {
        let mut addrs = Vec::new();
        let mut servers = Vec::new();
        for listener in listeners {
            addrs.push(
                listener
                    .local_addr()
                    .map_err(LabError::io("reading the app's address"))?,
            );
            let (stop, stopped) = oneshot::channel::<()>();
            let service = router
                .clone()
                .into_make_service_with_connect_info::<SocketAddr>();
            let task = tokio::spawn(async move {
                let server = axum::serve(listener, service).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(error) = server.await {
                    tracing::error!(%error, "the app stopped serving");
                }
            });
            servers.push((Some(stop), task));
        }
        Ok(RunningApp { addrs, servers })
    }

    /// A running app from its listeners' addresses and their serving tasks.
    pub(crate) fn from_parts(
        addrs: Vec<SocketAddr>,
        servers: Vec<(Option<oneshot::Sender<()>>, JoinHandle<()>)>,
    ) -> RunningApp {
        RunningApp { addrs, servers }
    }

    /// Stops serving and waits until the ports are free again.
    pub async fn stop(mut self) {
        for (stop, task) in &mut self.servers {
            if let Some(stop) = stop.take() {
                let _ = stop.send(());
            }
            task.abort();
            let _ = task.await;
        }
    }

    /// Where the app listens (bypassing nginx): the proxy's side first, then loopback.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The port the app listens on (the same on every address).
    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        for (stop, task) in &mut self.servers {
            if let Some(stop) = stop.take() {
                let _ = stop.send(());
            }
            // Keep-alive connections would hold a graceful shutdown open past the test.
            task.abort();
        }
    }
}

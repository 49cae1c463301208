//! The stage's app, served in-process on an ephemeral port.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{LabError, Result};

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

/// The app, serving until dropped.
pub struct RunningApp {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningApp {
    /// Serves `router` on `listener`, giving handlers the peer address (`ConnectInfo`), which is
    /// what every trust decision starts from.
    pub fn serve(listener: TcpListener, router: Router) -> Result<RunningApp> {
        let addr = listener
            .local_addr()
            .map_err(LabError::io("reading the app's address"))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, service).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "the app stopped serving");
            }
        });
        Ok(RunningApp {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// Stops serving and waits until the port is free again.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
        let _ = (&mut self.task).await;
    }

    /// Where the app listens (bypassing nginx).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Keep-alive connections would hold a graceful shutdown open past the test.
        self.task.abort();
    }
}

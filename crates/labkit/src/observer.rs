//! A relay that stands where a network observer would: on the wire between client and app.
//! It forwards every byte both ways and keeps a copy, which is what anyone on the same Wi-Fi,
//! a hotel network or a compromised router can read when the app speaks plain HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::{LabError, Result};

/// The relay; stops on drop.
pub struct Observer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Observer {
    /// Relays connections made to [`addr`](Self::addr) (on loopback) on to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Observer> {
        Observer::start_on(std::net::Ipv4Addr::LOCALHOST.into(), upstream).await
    }

    /// Relays connections made to [`addr`](Self::addr), on `ip`, on to `upstream`: where the
    /// harness puts one between nginx and the app (`LabOptions::observe_inner_hop`).
    pub async fn start_on(ip: std::net::IpAddr, upstream: SocketAddr) -> Result<Observer> {
        let at = SocketAddr::new(ip, 0);
        let listener = TcpListener::bind(at)
            .await
            .map_err(|source| LabError::Bind {
                addr: at.to_string(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(LabError::io("reading the relay's address"))?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tap = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let tap = tap.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        copy_and_keep(client_read, server_write, tap.clone()),
                        copy_and_keep(server_read, client_write, tap),
                    );
                });
            }
        });
        Ok(Observer { addr, seen, task })
    }

    /// Where clients connect to be observed.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything that crossed the relay, both directions, as text.
    pub fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().expect("relay buffer poisoned")).into_owned()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn copy_and_keep(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    tap: Arc<Mutex<Vec<u8>>>,
) {
    let mut buffer = vec![0; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buffer).await {
        tap.lock()
            .expect("relay buffer poisoned")
            .extend_from_slice(&buffer[..n]);
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

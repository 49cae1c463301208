//! A real Redis in a container, for stage 4's shared session store.

use std::time::Duration;

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::error::{LabError, Result};
use crate::images;

/// A running Redis, published on a loopback port; removed on drop.
pub struct Redis {
    container: ContainerAsync<GenericImage>,
    port: u16,
}

impl Redis {
    /// Starts Redis with persistence off (the lab's sessions are disposable) and waits until it
    /// accepts connections.
    pub async fn start() -> Result<Redis> {
        let image = images::redis().await?;
        let container = GenericImage::new(&image.name, &image.tag)
            .with_exposed_port(6379.tcp())
            .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
            .with_cmd([
                "redis-server",
                "--protected-mode",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .with_label("org.secure-sessions-lab.role", "store")
            .with_startup_timeout(Duration::from_secs(30))
            .with_host_config_modifier(|config| {
                images::publish_on_loopback(config, &[(6379, None)])
            })
            .start()
            .await
            .map_err(|error| images::REDIS.start_error(&image, error, LabError::Docker))?;
        let port = container.get_host_port_ipv4(6379.tcp()).await?;
        Ok(Redis { container, port })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes Redis: connections stay open and nothing answers, the nastiest outage.
    pub async fn pause(&self) -> Result<()> {
        Ok(self.container.pause().await?)
    }

    /// Lets a paused Redis answer again.
    pub async fn unpause(&self) -> Result<()> {
        Ok(self.container.unpause().await?)
    }

    /// Whether a key exists, asked of Redis itself (`redis-cli` inside the container is not
    /// needed: the image may have only the server), through a raw RESP exchange.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(LabError::io("connecting to Redis"))?;
        let command = format!("*2\r\n$6\r\nEXISTS\r\n${}\r\n{key}\r\n", key.len());
        stream
            .write_all(command.as_bytes())
            .await
            .map_err(LabError::io("asking Redis"))?;
        let mut reply = [0u8; 16];
        let n = stream
            .read(&mut reply)
            .await
            .map_err(LabError::io("reading Redis's answer"))?;
        match &reply[..n] {
            b":1\r\n" => Ok(true),
            b":0\r\n" => Ok(false),
            other => Err(LabError::Unexpected {
                url: self.url(),
                detail: format!("EXISTS answered {:?}", String::from_utf8_lossy(other)),
            }),
        }
    }
}

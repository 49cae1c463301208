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

    /// Whether a key exists, asked of Redis itself.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.command(&["EXISTS", key]).await?.as_str() {
            ":1" => Ok(true),
            ":0" => Ok(false),
            other => Err(self.unexpected(format!("EXISTS answered {other:?}"))),
        }
    }

    /// How many writes Redis has executed since it started, by its own count (`INFO
    /// commandstats`): the commands a session store writes with (SET and its kin, EXPIRE and
    /// its kin, DEL, UNLINK, GETEX).
    pub async fn writes(&self) -> Result<u64> {
        const WRITES: &[&str] = &[
            "set",
            "setex",
            "psetex",
            "getex",
            "getset",
            "expire",
            "pexpire",
            "expireat",
            "pexpireat",
            "persist",
            "del",
            "unlink",
        ];
        let stats = self.command(&["INFO", "commandstats"]).await?;
        let mut writes = 0;
        for line in stats.lines() {
            // cmdstat_set:calls=3,usec=21,...
            let Some((name, fields)) = line.trim().split_once(':') else {
                continue;
            };
            let Some(command) = name.strip_prefix("cmdstat_") else {
                continue;
            };
            if !WRITES.contains(&command) {
                continue;
            }
            let calls = fields
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))
                .and_then(|calls| calls.parse::<u64>().ok())
                .ok_or_else(|| self.unexpected(format!("INFO commandstats line {line:?}")))?;
            writes += calls;
        }
        Ok(writes)
    }

    /// Sends one command and returns its answer: a simple answer or integer as its line
    /// (`+OK`, `:1`), a bulk string as its text. `redis-cli` is not needed (the image may have
    /// only the server): RESP is short enough to speak by hand.
    async fn command(&self, args: &[&str]) -> Result<String> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(LabError::io("connecting to Redis"))?;
        let mut stream = BufReader::new(stream);
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(LabError::io("asking Redis"))?;
        let mut line = String::new();
        stream
            .read_line(&mut line)
            .await
            .map_err(LabError::io("reading Redis's answer"))?;
        let line = line.trim_end().to_owned();
        let Some(length) = line.strip_prefix('$') else {
            return Ok(line);
        };
        let length: usize = length
            .parse()
            .map_err(|_| self.unexpected(format!("a bulk answer of length {length:?}")))?;
        let mut body = vec![0; length + 2];
        stream
            .read_exact(&mut body)
            .await
            .map_err(LabError::io("reading Redis's answer"))?;
        body.truncate(length);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn unexpected(&self, detail: String) -> LabError {
        LabError::Unexpected {
            url: self.url(),
            detail,
        }
    }
}

//! nginx in a container, started by testcontainers.

use std::time::Duration;

use testcontainers::core::logs::LogFrame;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use std::net::IpAddr;
use std::sync::Arc;

use testcontainers::core::client::docker_client_instance;

use super::network::LabNetwork;
use super::{Edge, EdgeSpec, Logs, Running, Upstream, render_main};
use crate::error::{LabError, Result};
use crate::images;

pub(super) type Container = ContainerAsync<GenericImage>;

/// nginx prints this once it accepts connections (FIELD-NOTES).
const READY: &str = "start worker process";

/// How often to pick another HTTPS port when Docker finds the one picked already taken.
const PORT_ATTEMPTS: usize = 5;

pub(super) async fn start(spec: EdgeSpec<'_>) -> Result<Edge> {
    if let Some(port) = spec.https_port {
        return start_on(spec, port).await;
    }
    // The port is picked free, then bound by Docker a moment later: a parallel lab may take it
    // in between ("port is already allocated"). Pick another.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = super::native::free_port()?;
        match start_on(spec.clone(), port).await {
            Err(error)
                if attempt < PORT_ATTEMPTS
                    && error.to_string().contains("port is already allocated") =>
            {
                tracing::info!(port, "the HTTPS port was taken meanwhile: picking another");
            }
            started => return started,
        }
    }
}

/// A label unique to one start, so that a container Docker created but could not start (its
/// port taken) can be found and removed: testcontainers leaves such a one behind.
const EDGE_ID: &str = "org.secure-sessions-lab.edge-id";

async fn start_on(spec: EdgeSpec<'_>, https_port: u16) -> Result<Edge> {
    let edge_id = format!("{:016x}", fastrand::u64(..));
    let started = start_labelled(spec, https_port, &edge_id).await;
    if started.is_err() {
        remove_labelled(&edge_id).await;
    }
    started
}

/// Removes every container, running or not, that carries this start's label.
async fn remove_labelled(edge_id: &str) {
    use std::collections::HashMap;
    use testcontainers::bollard::query_parameters::{
        ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    let Ok(docker) = docker_client_instance().await else {
        return;
    };
    let filters = HashMap::from([("label", vec![format!("{EDGE_ID}={edge_id}")])]);
    let listed = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await;
    for container in listed.unwrap_or_default() {
        if let Some(id) = container.id {
            let _ = docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                )
                .await;
        }
    }
}

async fn start_labelled(spec: EdgeSpec<'_>, https_port: u16, edge_id: &str) -> Result<Edge> {
    let edge_id = edge_id.to_owned();
    let image = images::nginx().await?;
    let network = match &spec.network {
        Some(network) => Arc::clone(network),
        None => Arc::new(LabNetwork::create().await?),
    };
    let upstreams: Vec<String> = match &spec.upstream {
        // The app listens on the network's gateway: the host's address on the lab's network.
        Upstream::App(ports) => ports
            .iter()
            .map(|port| format!("{}:{port}", network.gateway()))
            .collect(),
        Upstream::Edge {
            address,
            container_port,
            ..
        } => vec![format!("{address}:{container_port}")],
    };
    // Picked before the container starts, not left to Docker: the site's redirects name it
    // (`$lab_https_port`), and the config is written before Docker could say which it chose.
    let main = render_main("user nobody nogroup;", "/tmp", &upstreams, https_port);
    let files = config_dir(&main, spec.lab_files(spec.site.to_owned()))?;
    let logs = Logs::default();
    let sink = logs.clone();
    let request = GenericImage::new(&image.name, &image.tag)
        .with_exposed_port(443.tcp())
        .with_exposed_port(80.tcp())
        .with_wait_for(WaitFor::message_on_stderr(READY))
        .with_cmd(["nginx", "-e", "stderr", "-c", "/etc/nginx/nginx.conf"])
        .with_network(network.name())
        // One archive for every file: Docker extracts each copy separately, ~0.1 s apiece.
        .with_copy_to("/etc/nginx", files.path().to_owned())
        .with_label("org.secure-sessions-lab.role", "edge")
        .with_label(EDGE_ID, edge_id.as_str())
        .with_startup_timeout(Duration::from_secs(30))
        .with_log_consumer(move |frame: &LogFrame| {
            let bytes = match frame {
                LogFrame::StdOut(bytes) | LogFrame::StdErr(bytes) => bytes,
            };
            sink.push(&String::from_utf8_lossy(bytes));
        })
        .with_host_config_modifier(move |config| {
            images::publish_on_loopback(config, &[(443, Some(https_port)), (80, None)]);
        });
    let container = request.start().await.map_err(|error| {
        images::NGINX.start_error(&image, error, |error| LabError::NginxFailed {
            reason: error.to_string(),
            logs: logs.text(),
        })
    })?;
    let https_port = container.get_host_port_ipv4(443.tcp()).await?;
    let http_port = container.get_host_port_ipv4(80.tcp()).await?;
    let app_sees = address_on(container.id(), network.name()).await?;
    // Published ports are relayed from the gateway of the container's network.
    let sees_clients_as = network.gateway();
    Ok(Edge {
        running: Running::Docker(Box::new(container)),
        network: Some(network),
        https_port,
        http_port,
        app_sees,
        sees_clients_as,
        logs,
    })
}

/// nginx.conf and the lab's files, laid out as under `/etc/nginx`, in a directory to copy
/// into the container in one go (kept until the container has started).
fn config_dir(main: &str, files: Vec<(&'static str, String)>) -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let io = |what: &'static str| LabError::io(what);
    let dir = tempfile::tempdir().map_err(io("making a directory for nginx's files"))?;
    // The archive carries the directory's own mode onto /etc/nginx: keep the image's 0755.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(io("setting the mode of nginx's files"))?;
    for (path, contents) in std::iter::once(("nginx.conf", main.to_owned())).chain(files) {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("writing nginx's files"))?;
        }
        std::fs::write(&path, contents).map_err(io("writing nginx's files"))?;
    }
    Ok(dir)
}

/// The container's address on `network`: where nginx connects to the app from.
async fn address_on(id: &str, network: &str) -> Result<IpAddr> {
    let missing = |what: &str| LabError::Unexpected {
        url: format!("container {id}"),
        detail: format!("no {what} on network {network}"),
    };
    let docker = docker_client_instance()
        .await
        .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
    let inspected = docker
        .inspect_container(id, None)
        .await
        .map_err(|e| LabError::Unexpected {
            url: format!("container {id}"),
            detail: e.to_string(),
        })?;
    let address = inspected
        .network_settings
        .and_then(|settings| settings.networks)
        .and_then(|mut networks| networks.remove(network))
        .and_then(|endpoint| endpoint.ip_address)
        .ok_or_else(|| missing("address"))?;
    address.parse().map_err(|_| missing("parseable address"))
}

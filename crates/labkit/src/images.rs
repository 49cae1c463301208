//! Which nginx and Redis images the lab runs, and how it gets them without a registry.
//!
//! In order: an image named by an environment variable; the pinned official image if Docker
//! already has it; an image built here from the host's own binaries (no registry needed, see
//! FIELD-NOTES "Docker, images"); and last the official image, which Docker pulls. An offline
//! image is tagged by a hash of everything in it, so a changed binary never reuses a stale image.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use testcontainers::bollard::models::{HostConfig, PortBinding};
use testcontainers::core::BuildImageOptions;
use testcontainers::core::client::docker_client_instance;
use testcontainers::core::error::ClientError;
use testcontainers::runners::AsyncBuilder;
use testcontainers::{GenericBuildableImage, TestcontainersError};
use tokio::sync::OnceCell;

use crate::error::{LabError, Result};

/// How to get one kind of image.
#[derive(Debug)]
pub struct ImageSpec {
    /// What it is, for messages: `nginx`.
    pub what: &'static str,
    /// The pinned official image, `name:tag`.
    pub official: &'static str,
    /// The environment variable that overrides the choice.
    pub env_var: &'static str,
    /// The Debian package whose binaries an offline image is built from.
    pub package: &'static str,
    /// Binaries copied with their shared-library closure (symlinks followed).
    pub binaries: &'static [&'static str],
    /// Other host files the program needs at run time (copied when present).
    pub files: &'static [&'static str],
    /// Empty directories the program writes to.
    pub dirs: &'static [&'static str],
    /// The offline image's name (its tag is a content hash).
    pub offline_name: &'static str,
}

/// nginx: Debian's binary needs its libraries, `mime.types`, the `nobody` user and a few
/// writable directories (FIELD-NOTES).
pub const NGINX: ImageSpec = ImageSpec {
    what: "nginx",
    official: "nginx:1.28.0",
    env_var: "LAB_NGINX_IMAGE",
    package: "nginx",
    binaries: &["/usr/sbin/nginx"],
    files: &["/etc/nginx/mime.types"],
    dirs: &[
        "/var/lib/nginx",
        "/var/log/nginx",
        "/run",
        "/tmp",
        "/etc/nginx/lab",
    ],
    offline_name: "secure-sessions-lab/nginx",
};

/// Redis, for stage 4's shared session store.
pub const REDIS: ImageSpec = ImageSpec {
    what: "redis",
    official: "redis:7.4.2",
    env_var: "LAB_REDIS_IMAGE",
    package: "redis-server",
    binaries: &["/usr/bin/redis-server"],
    files: &[],
    dirs: &["/data", "/tmp"],
    offline_name: "secure-sessions-lab/redis",
};

impl ImageSpec {
    /// The error for "no image of this kind can be had", with `detail` saying why and the
    /// message saying how to get one.
    pub fn unavailable(&self, detail: String) -> LabError {
        LabError::NoImage {
            what: self.what,
            official: self.official,
            package: self.package,
            env_var: self.env_var,
            detail,
        }
    }

    /// Maps a container start failure: a failed pull is this image's absence; anything
    /// else is left to `other`.
    pub(crate) fn start_error(
        &self,
        image: &Image,
        error: TestcontainersError,
        other: impl FnOnce(TestcontainersError) -> LabError,
    ) -> LabError {
        match error {
            TestcontainersError::Client(ClientError::PullImage { .. }) => self.unavailable(
                format!("{image} is not here and could not be pulled: {error}"),
            ),
            error => other(error),
        }
    }
}

/// Publishes each `(container port, host port)` on 127.0.0.1 only (host port `None`: any free
/// one): what the lab runs is nobody else's business.
pub(crate) fn publish_on_loopback(config: &mut HostConfig, ports: &[(u16, Option<u16>)]) {
    let binding = |port: Option<u16>| {
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(port.map(|p| p.to_string()).unwrap_or_default()),
        }])
    };
    config.publish_all_ports = Some(false);
    config.port_bindings = Some(
        ports
            .iter()
            .map(|&(container, host)| (format!("{container}/tcp"), binding(host)))
            .collect(),
    );
}

/// Where a chosen image comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Named by the image's environment variable.
    Override,
    /// The pinned official image, already present.
    Official,
    /// Built here from the host's binaries.
    Offline,
    /// The pinned official image, which Docker will pull.
    Pull,
}

/// A chosen image.
#[derive(Clone, Debug)]
pub struct Image {
    /// Image name without tag.
    pub name: String,
    /// Image tag.
    pub tag: String,
    /// Where it comes from.
    pub origin: Origin,
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} ({:?})", self.name, self.tag, self.origin)
    }
}

/// The nginx image, chosen once per process.
pub async fn nginx() -> Result<Image> {
    static CHOSEN: OnceCell<Image> = OnceCell::const_new();
    CHOSEN.get_or_try_init(|| choose(&NGINX)).await.cloned()
}

/// The Redis image, chosen once per process.
pub async fn redis() -> Result<Image> {
    static CHOSEN: OnceCell<Image> = OnceCell::const_new();
    CHOSEN.get_or_try_init(|| choose(&REDIS)).await.cloned()
}

/// Picks an image for `spec` (see the module docs for the order).
pub async fn choose(spec: &ImageSpec) -> Result<Image> {
    if let Ok(named) = std::env::var(spec.env_var) {
        let (name, tag) = split_reference(&named);
        return Ok(Image {
            name,
            tag,
            origin: Origin::Override,
        });
    }
    let docker = docker_client_instance()
        .await
        .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
    let (name, tag) = split_reference(spec.official);
    if docker.inspect_image(spec.official).await.is_ok() {
        return Ok(Image {
            name,
            tag,
            origin: Origin::Official,
        });
    }
    if Path::new(spec.binaries[0]).exists() {
        return build_offline(spec).await;
    }
    Ok(Image {
        name,
        tag,
        origin: Origin::Pull,
    })
}

/// Builds (or finds, by content hash) the offline image for `spec`.
pub async fn build_offline(spec: &ImageSpec) -> Result<Image> {
    let rootfs = offline_rootfs(spec)?;
    let tag = format!("offline-{}", rootfs.hash());
    let mut image =
        GenericBuildableImage::new(spec.offline_name, &tag).with_dockerfile_string(DOCKERFILE);
    for (host, target) in &rootfs.files {
        image = image.with_file(host, format!("rootfs{target}"));
    }
    for (data, target) in &rootfs.data {
        image = image.with_data(data.clone(), format!("rootfs{target}"));
    }
    let _built = image
        .build_image_with(BuildImageOptions::new().with_skip_if_exists(true))
        .await
        .map_err(|e| {
            spec.unavailable(format!("building {}:{tag} failed: {e}", spec.offline_name))
        })?;
    Ok(Image {
        name: spec.offline_name.to_owned(),
        tag,
        origin: Origin::Offline,
    })
}

/// No `# syntax=` line: BuildKit would try to pull a frontend image (FIELD-NOTES).
const DOCKERFILE: &str = "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\n";

/// Minimal user and name-service files: nginx drops its workers to `nobody`, and glibc needs
/// to be told to read files rather than look for an NSS module the image does not have.
const PASSWD: &str =
    "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";
const NSSWITCH: &str = "passwd: files\ngroup: files\nhosts: files dns\n";

/// What goes into an offline image: host files (copied, symlinks followed) and generated data.
#[derive(Debug, Default)]
pub struct Rootfs {
    files: Vec<(PathBuf, String)>,
    data: Vec<(Vec<u8>, String)>,
}

impl Rootfs {
    /// A hash of every path and byte the image will hold, for its tag.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(DOCKERFILE);
        for (host, target) in &self.files {
            hasher.update(target);
            hasher.update(std::fs::read(host).unwrap_or_default());
        }
        for (data, target) in &self.data {
            hasher.update(target);
            hasher.update(data);
        }
        let digest = hasher.finalize();
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Collects the binaries of `spec`, their `ldd` closure and the files they need.
pub fn offline_rootfs(spec: &ImageSpec) -> Result<Rootfs> {
    let mut rootfs = Rootfs::default();
    for binary in spec.binaries {
        let binary = Path::new(binary);
        if !binary.exists() {
            return Err(spec.unavailable(format!(
                "{} is not installed on this machine",
                binary.display()
            )));
        }
        rootfs
            .files
            .push((binary.to_owned(), binary.display().to_string()));
        for library in shared_libraries(binary)? {
            let target = library.display().to_string();
            if !rootfs.files.iter().any(|(_, t)| *t == target) {
                rootfs.files.push((library, target));
            }
        }
    }
    for file in spec.files.iter().filter(|f| Path::new(f).exists()) {
        rootfs.files.push((PathBuf::from(file), (*file).to_owned()));
    }
    for (text, target) in [
        (PASSWD, "/etc/passwd"),
        (GROUP, "/etc/group"),
        (NSSWITCH, "/etc/nsswitch.conf"),
    ] {
        rootfs
            .data
            .push((text.as_bytes().to_vec(), target.to_owned()));
    }
    for dir in spec.dirs {
        // A tar entry needs a file; the empty marker makes the directory exist.
        rootfs.data.push((Vec::new(), format!("{dir}/.keep")));
    }
    Ok(rootfs)
}

/// The shared libraries `binary` loads, as absolute host paths, from `ldd`.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(LabError::io("running ldd (needed to build offline images)"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or, for the
    // loader, `/lib64/ld-linux-x86-64.so.2 (0x...)`; the vDSO has no path.
    Ok(text
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

fn split_reference(reference: &str) -> (String, String) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (reference.to_owned(), "latest".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_name_and_tag() {
        assert_eq!(
            split_reference("nginx:1.28.0"),
            ("nginx".into(), "1.28.0".into())
        );
        assert_eq!(split_reference("nginx"), ("nginx".into(), "latest".into()));
        assert_eq!(
            split_reference("registry.local:5000/nginx"),
            ("registry.local:5000/nginx".into(), "latest".into())
        );
    }
}

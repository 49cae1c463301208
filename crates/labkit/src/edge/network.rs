//! The lab's own Docker network: where nginx and the app meet, and nowhere else.
//!
//! Each run gets a bridge network with a /24 drawn at random from four private pools (labs a
//! process runs at the same time share it: [`LabNetwork::shared`]). Two lessons depend on it:
//! - the app listens on this network's gateway (and loopback), not on `0.0.0.0`, so nobody
//!   on the participant's Wi-Fi reaches it around nginx;
//! - nginx's address changes from one run to the next, so a trust policy that hard-codes an
//!   address or a Docker network fails the grade on every machine: the only right answer is
//!   the address the deployment says its proxy has (`env.proxy_addresses`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};

use testcontainers::bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use testcontainers::core::client::docker_client_instance;

use tokio::sync::Mutex;

use crate::error::{LabError, Result};

/// Pools a lab's /24 is drawn from: `(first address, prefix length)`. Not only RFC 1918: a
/// policy of "every private network" (`uniquelocal`) must not pass by luck either.
const POOLS: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
];

/// How many subnets to try before giving up (Docker refuses one that overlaps another network).
const ATTEMPTS: usize = 12;

/// The label that marks the lab's networks, so that leftovers can be found and removed.
pub const NETWORK_LABEL: &str = "org.secure-sessions-lab.network";

/// A Docker bridge network made for one lab, removed when the last holder drops it.
#[derive(Debug)]
pub struct LabNetwork {
    name: String,
    gateway: Ipv4Addr,
}

impl LabNetwork {
    /// The network of the labs this process runs at the moment, or a new one when none runs.
    /// Labs alive at the same time share it (each creation and removal costs Docker a few
    /// hundred milliseconds, a visible part of a grade); its /24 is still drawn anew for each
    /// run, so an address hard-coded from an earlier run still fails.
    pub async fn shared() -> Result<Arc<LabNetwork>> {
        static CURRENT: Mutex<Weak<LabNetwork>> = Mutex::const_new(Weak::new());
        let mut current = CURRENT.lock().await;
        if let Some(network) = current.upgrade() {
            return Ok(network);
        }
        let network = Arc::new(LabNetwork::create().await?);
        *current = Arc::downgrade(&network);
        Ok(network)
    }

    /// Creates a network on a free random /24.
    pub async fn create() -> Result<LabNetwork> {
        let docker = docker_client_instance()
            .await
            .map_err(|e| LabError::DockerUnavailable(e.to_string()))?;
        let routes = host_routes();
        let mut last_error = String::new();
        for _ in 0..ATTEMPTS {
            let subnet = random_subnet();
            if routes
                .iter()
                .any(|&(net, mask)| overlaps(subnet, 24, net, mask))
            {
                continue; // the machine already routes it: a real LAN, a VPN
            }
            let gateway = Ipv4Addr::from(u32::from(subnet) + 1);
            let name = format!("secure-sessions-lab-{subnet}");
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("{subnet}/24")),
                        gateway: Some(gateway.to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                labels: Some(HashMap::from([(NETWORK_LABEL.into(), "lab".into())])),
                ..Default::default()
            };
            match docker.create_network(request).await {
                Ok(_) => {
                    tracing::debug!(%name, %gateway, "created the lab's network");
                    return Ok(LabNetwork { name, gateway });
                }
                // Overlap with another network, or the same name from a parallel lab: try another.
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(LabError::Unexpected {
            url: "docker network create".into(),
            detail: format!(
                "no free /24 for the lab's network after {ATTEMPTS} tries (last: {last_error}).\n  \
                 Remove networks left behind: `docker network prune --filter label={NETWORK_LABEL}`"
            ),
        })
    }

    /// The network's name, for `docker run --network`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's address on this network: where containers reach the host, and so where the
    /// app listens.
    pub fn gateway(&self) -> IpAddr {
        IpAddr::V4(self.gateway)
    }
}

impl Drop for LabNetwork {
    /// Removes the network. Its containers are gone by now (testcontainers removes them before
    /// their `Drop` returns); a thread of its own keeps this working inside or outside a runtime.
    fn drop(&mut self) {
        let name = self.name.clone();
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let docker = docker_client_instance().await.ok()?;
                docker.remove_network(&name).await.ok()
            })
        })
        .join();
        if !matches!(removed, Ok(Some(()))) {
            tracing::warn!(network = %self.name, "could not remove the lab's network");
        }
    }
}

/// A random /24 from one of the [`POOLS`].
fn random_subnet() -> Ipv4Addr {
    let (base, prefix) = POOLS[fastrand::usize(..POOLS.len())];
    let choices = 1u32 << (24 - prefix);
    Ipv4Addr::from(u32::from(base) + (fastrand::u32(..choices) << 8))
}

/// Whether two IPv4 networks share an address.
fn overlaps(a: Ipv4Addr, a_len: u8, b: Ipv4Addr, b_len: u8) -> bool {
    let len = a_len.min(b_len);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(a) & mask == u32::from(b) & mask
}

/// The host's IPv4 routes (`/proc/net/route`), other than the default route; empty where the
/// file does not exist (Docker Desktop runs containers in a VM, away from the host's routes).
fn host_routes() -> Vec<(Ipv4Addr, u8)> {
    std::fs::read_to_string("/proc/net/route")
        .map(|table| parse_routes(&table))
        .unwrap_or_default()
}

fn parse_routes(table: &str) -> Vec<(Ipv4Addr, u8)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // The kernel prints the address's bytes as a native-endian number.
            let addr = |field: &str| {
                u32::from_str_radix(field, 16)
                    .ok()
                    .map(|n| Ipv4Addr::from(n.to_ne_bytes()))
            };
            let destination = addr(fields.get(1)?)?;
            let len = u8::try_from(u32::from(addr(fields.get(7)?)?).count_ones()).ok()?;
            (len > 0).then_some((destination, len))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_come_from_the_pools() {
        for _ in 0..1000 {
            let subnet = random_subnet();
            assert_eq!(u32::from(subnet) & 0xff, 0, "{subnet} is not a /24");
            assert!(
                POOLS
                    .iter()
                    .any(|&(base, len)| overlaps(subnet, 24, base, len)),
                "{subnet} is outside every pool"
            );
        }
    }

    #[test]
    fn routes_are_read_in_the_kernels_byte_order() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
        if cfg!(target_endian = "little") {
            assert_eq!(
                parse_routes(table),
                [
                    (Ipv4Addr::new(172, 17, 0, 0), 16),
                    (Ipv4Addr::new(192, 0, 2, 0), 24)
                ]
            );
        }
    }

    #[test]
    fn overlap_compares_the_shorter_prefix() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert!(overlaps(ip("10.1.2.0"), 24, ip("10.0.0.0"), 8));
        assert!(!overlaps(ip("10.1.2.0"), 24, ip("10.1.3.0"), 24));
        assert!(overlaps(ip("192.168.1.0"), 24, ip("192.168.1.128"), 25));
    }
}

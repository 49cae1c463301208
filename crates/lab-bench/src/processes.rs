//! Where the CPU and memory went, read from `/proc`; and which processes are a row's: its own
//! (the app and the harness), nginx's (its container's, or the native nginx under the row),
//! Redis's, and any docker-proxy relaying one of their published ports.
//!
//! docker-proxy is still looked for although wrk no longer goes through it (nor the app to
//! Redis): Docker still publishes the ports, and a docker-proxy column near 0% is what shows
//! that no userland relay is on the measured path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;

use crate::row::{NGINX_CONTAINER_PORT, REDIS_CONTAINER_PORT, Running};

/// Where the CPU went during one measured run, in CPU seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub wall: f64,
    pub busy: f64,
    pub app: f64,
    pub nginx: f64,
    pub proxy: f64,
    pub redis: f64,
    pub wrk: f64,
}

impl Cpu {
    pub fn add(&mut self, other: &Cpu) {
        self.wall += other.wall;
        self.busy += other.busy;
        self.app += other.app;
        self.nginx += other.nginx;
        self.proxy += other.proxy;
        self.redis += other.redis;
        self.wrk += other.wrk;
    }

    /// What the machine was busy with beyond the processes named.
    pub fn other(&self) -> f64 {
        (self.busy - self.app - self.nginx - self.proxy - self.redis - self.wrk).max(0.0)
    }

    /// CPU seconds per second, as a percentage of one core.
    pub fn pct(&self, seconds: f64) -> f64 {
        if self.wall > 0.0 {
            100.0 * seconds / self.wall
        } else {
            0.0
        }
    }
}

/// The processes of one row: its app (the child), nginx, docker-proxy and Redis.
pub struct Pids {
    app: u32,
    nginx: Vec<u32>,
    proxy: Vec<u32>,
    redis: Vec<u32>,
}

impl Pids {
    pub fn find(lab: &Running) -> Pids {
        let https_port = lab.ready.https_port;
        let mut nginx = container_pids(https_port, NGINX_CONTAINER_PORT);
        if nginx.is_empty() {
            // The native backend: nginx is a child of the row's process.
            nginx = descendants(lab.pid())
                .into_iter()
                .filter(|pid| comm(*pid).is_some_and(|c| c.starts_with("nginx")))
                .collect();
        }
        let mut proxy = docker_proxy_pids(https_port);
        let redis = match lab.ready.redis_port {
            None => Vec::new(),
            Some(port) => {
                proxy.extend(docker_proxy_pids(port));
                container_pids(port, REDIS_CONTAINER_PORT)
            }
        };
        Pids {
            app: lab.pid(),
            nginx,
            proxy,
            redis,
        }
    }
}

/// CPU counters at one moment, in clock ticks (USER_HZ, 100 a second on Linux).
pub struct Sample {
    at: Instant,
    busy: u64,
    app: u64,
    nginx: u64,
    proxy: u64,
    redis: u64,
    /// This process's waited-for children: the wrk runs.
    children: u64,
}

const TICKS_PER_SECOND: f64 = 100.0;

impl Sample {
    pub fn take(pids: &Pids) -> Sample {
        let sum = |pids: &[u32]| pids.iter().map(|pid| cpu_ticks(*pid).0).sum();
        Sample {
            at: Instant::now(),
            busy: machine_busy_ticks(),
            app: cpu_ticks(pids.app).0,
            nginx: sum(&pids.nginx),
            proxy: sum(&pids.proxy),
            redis: sum(&pids.redis),
            children: cpu_ticks(std::process::id()).1,
        }
    }

    pub fn since(&self, before: &Sample) -> Cpu {
        let s = |now: u64, then: u64| now.saturating_sub(then) as f64 / TICKS_PER_SECOND;
        Cpu {
            wall: self.at.duration_since(before.at).as_secs_f64(),
            busy: s(self.busy, before.busy),
            app: s(self.app, before.app),
            nginx: s(self.nginx, before.nginx),
            proxy: s(self.proxy, before.proxy),
            redis: s(self.redis, before.redis),
            wrk: s(self.children, before.children),
        }
    }
}

/// A process's own CPU ticks (utime + stime) and its waited-for children's (cutime + cstime).
fn cpu_ticks(pid: u32) -> (u64, u64) {
    stat_fields(pid).map_or((0, 0), |fields| ticks_of(&fields))
}

/// [`cpu_ticks`] from the fields of `/proc/PID/stat` after the command name.
fn ticks_of(fields: &[String]) -> (u64, u64) {
    // After the command name: state is field 3, so utime (14) is at index 11.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(11) + field(12), field(13) + field(14))
}

/// The fields of `/proc/PID/stat` after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    fields_after_comm(&stat)
}

/// The command name is in parentheses and may hold spaces and parentheses itself: the fields
/// start after the last `)`.
fn fields_after_comm(stat: &str) -> Option<Vec<String>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_owned())
}

/// All CPUs' non-idle time (`/proc/stat`'s `cpu` line less idle and iowait).
fn machine_busy_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| busy_ticks(&stat))
        .unwrap_or(0)
}

/// [`machine_busy_ticks`] from the text of `/proc/stat`.
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let all: u64 = values.iter().take(8).sum();
    Some(all - values.get(3).unwrap_or(&0) - values.get(4).unwrap_or(&0))
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `pid` and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in all_pids() {
        if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1)?.parse().ok()) {
            children.entry(ppid).or_default().push(p);
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        found.extend(children.get(&found[i]).into_iter().flatten());
        i += 1;
    }
    found
}

/// What the docker CLI printed, if it ran and succeeded.
fn docker(args: &[&str]) -> Option<String> {
    Command::new("docker")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The id of the running container that publishes `container_port` on 127.0.0.1:`host_port`.
fn container_id(host_port: u16, container_port: u16) -> Option<String> {
    let needle = format!("127.0.0.1:{host_port}->{container_port}/tcp");
    docker(&["ps", "--format", "{{.ID}} {{.Ports}}"])?
        .lines()
        .find(|line| line.contains(&needle))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_owned)
}

/// The processes of the container that publishes `container_port` on 127.0.0.1:`host_port`
/// (its main process first), found through the docker CLI; empty without Docker.
fn container_pids(host_port: u16, container_port: u16) -> Vec<u32> {
    container_id(host_port, container_port)
        .and_then(|id| docker(&["inspect", "--format", "{{.State.Pid}}", &id]))
        .and_then(|pid| pid.trim().parse().ok())
        .filter(|pid| *pid != 0)
        .map(descendants)
        .unwrap_or_default()
}

/// The main process of the container that publishes `container_port` on 127.0.0.1:`host_port`.
pub fn container_main_pid(host_port: u16, container_port: u16) -> Option<u32> {
    container_pids(host_port, container_port).first().copied()
}

/// The address, on its (first) Docker network, of the container that publishes
/// `container_port` on 127.0.0.1:`host_port`.
pub fn container_ip(host_port: u16, container_port: u16) -> Option<IpAddr> {
    let id = container_id(host_port, container_port)?;
    let format = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}";
    docker(&["inspect", "--format", format, &id])?
        .split_whitespace()
        .find_map(|ip| ip.parse().ok())
}

/// Docker's userland relay for a published port, if the engine runs one: every byte between
/// a client of that port and the container goes through it.
fn docker_proxy_pids(host_port: u16) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|pid| comm(*pid).as_deref() == Some("docker-proxy"))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| relays_host_port(&cmdline, host_port))
        })
        .collect()
}

/// Whether a docker-proxy's `/proc/PID/cmdline` (NUL-separated) relays `host_port`.
fn relays_host_port(cmdline: &[u8], host_port: u16) -> bool {
    let port = host_port.to_string();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"-host-port" && w[1] == port.as_bytes())
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn proc_status(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The CPU's model name, from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_whose_command_name_has_spaces_and_parentheses() {
        let stat = "4242 (nginx: (worker) x) S 4200 4242 4242 0 -1 4194560 1 0 0 0 \
                    150 30 7 3 20 0 1 0 100 1000 200";
        let fields = fields_after_comm(stat).unwrap();
        assert_eq!(fields[0], "S");
        assert_eq!(fields[1], "4200", "the parent pid");
        assert_eq!(ticks_of(&fields), (180, 10));
    }

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 40 3 2 1 9 0\ncpu0 50 2 25 500 20 1 1 0 0 0\n";
        // user + nice + system + irq + softirq + steal; guest (9) is inside user already.
        assert_eq!(busy_ticks(stat), Some(161));
        assert_eq!(busy_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn finds_the_docker_proxy_of_a_port_by_its_arguments() {
        let args = [
            "/usr/sbin/docker-proxy",
            "-proto",
            "tcp",
            "-host-ip",
            "127.0.0.1",
            "-host-port",
            "40123",
            "-container-ip",
            "172.17.0.2",
            "-container-port",
            "443",
        ];
        let cmdline: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
        let cmdline = &cmdline[..];
        assert!(relays_host_port(cmdline, 40123));
        assert!(
            !relays_host_port(cmdline, 443),
            "the container's port is not the host's"
        );
        assert!(!relays_host_port(cmdline, 4012));
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(proc_status(me, "VmRSS").unwrap() > 0);
        assert!(proc_status(me, "NoSuchKey").is_err());
        assert!(descendants(me).starts_with(&[me]));
        assert!(stat_fields(me).is_some_and(|f| f.len() > 14));
    }

    #[test]
    fn cpu_shares_are_of_one_core() {
        let cpu = Cpu {
            wall: 2.0,
            busy: 3.0,
            app: 1.0,
            nginx: 0.5,
            wrk: 0.5,
            ..Cpu::default()
        };
        assert_eq!(cpu.pct(cpu.busy), 150.0);
        assert_eq!(cpu.other(), 1.0);
        assert_eq!(Cpu::default().pct(1.0), 0.0);
    }
}

//! The 3-hop resolve and the naive rightmost parse in instructions, counted by callgrind: a
//! figure that does not move with whatever else the machine runs, beside criterion's times,
//! which do.
//!
//! `lab-bench --count-resolve WHICH --calls N` (hidden) runs one of the two `N` times, in
//! criterion's loop (`black_box(routine())`), with the bench's own inputs and code:
//! `crates/trusted-proxies/benches/inputs/` (`headers`, `naive_rightmost`, the policy and the
//! peer), compiled here through `#[path]` because a bench target cannot be a dependency; a test
//! checks that the bench calls them as this does. valgrind counts the whole process's instructions for two `N`; the
//! difference over the extra calls is one call's, the process's start and exit cancelling out.

use std::hint::black_box;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail, ensure};
use trusted_proxies::{Peer, ProxyConfig, TrustPolicy};

#[path = "../../trusted-proxies/benches/inputs/mod.rs"]
mod bench_inputs;
use bench_inputs::{PEER, POLICY, headers, naive_rightmost};

/// The bench's chain length that the target is about.
const HOPS: usize = 3;
/// The two runs: the difference is `MORE - FEWER` calls.
const FEWER: u64 = 1_000;
const MORE: u64 = 21_000;

/// How to get valgrind, where the report says it is missing.
pub const INSTALL: &str = "apt-get install valgrind";

/// Which function a counting run calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Counted {
    Resolve,
    Naive,
}

impl Counted {
    fn arg(self) -> &'static str {
        match self {
            Counted::Resolve => "resolve",
            Counted::Naive => "naive",
        }
    }
}

/// One call's instructions, each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counts {
    pub resolve: f64,
    pub naive: f64,
}

/// The child's side: `calls` calls of `which`, as criterion's loop makes them.
pub fn count(which: Counted, calls: u64) {
    let config = ProxyConfig::new(TrustPolicy::parse(POLICY).expect("the bench's policy parses"));
    let peer = Peer::from(PEER.parse::<SocketAddr>().expect("the bench's peer parses"));
    let h = headers(HOPS);
    match which {
        Counted::Resolve => {
            for _ in 0..calls {
                black_box(config.resolve(black_box(peer), black_box(&h)));
            }
        }
        Counted::Naive => {
            for _ in 0..calls {
                black_box(naive_rightmost(black_box(&h)));
            }
        }
    }
}

/// Counts both functions' instructions per call under callgrind, or says why it cannot.
pub fn run() -> anyhow::Result<Counts> {
    eprintln!("Counting the 3-hop resolve's and the naive parse's instructions (callgrind)...");
    let per_call = |which| -> anyhow::Result<f64> {
        let fewer = total(which, FEWER)?;
        let more = total(which, MORE)?;
        ensure!(
            more > fewer,
            "callgrind counted {more} instructions for {MORE} calls and {fewer} for {FEWER}"
        );
        Ok((more - fewer) as f64 / (MORE - FEWER) as f64)
    };
    Ok(Counts {
        resolve: per_call(Counted::Resolve)?,
        naive: per_call(Counted::Naive)?,
    })
}

/// The instructions of a whole `lab-bench --count-resolve WHICH --calls CALLS` process.
fn total(which: Counted, calls: u64) -> anyhow::Result<u64> {
    let exe = std::env::current_exe().context("finding the lab-bench binary")?;
    let output = match Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args([
            "--count-resolve",
            which.arg(),
            "--calls",
            &calls.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!("valgrind is not installed: {INSTALL}")
        }
        Err(error) => return Err(error).context("running valgrind"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "valgrind failed ({}): {}",
        output.status,
        stderr.trim()
    );
    collected(&stderr).with_context(|| format!("no `Collected :` line from callgrind:\n{stderr}"))
}

/// callgrind's `==PID== Collected : N` line, on standard error.
fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        line.split_once("Collected :")?
            .1
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: &str = include_str!("../../trusted-proxies/benches/resolve.rs");

    /// What is counted is what criterion times: the inputs and the naive parse are one source
    /// (`benches/inputs/`); the bench must also use its policy and peer and call both as
    /// `count` does.
    #[test]
    fn the_counted_code_is_the_bench_s() {
        for piece in [
            "use inputs::{PEER, POLICY, headers, naive_rightmost};".to_owned(),
            "TrustPolicy::parse(POLICY)".to_owned(),
            "PEER.parse::<SocketAddr>()".to_owned(),
            "config.resolve(black_box(peer), black_box(h))".to_owned(),
            "naive_rightmost(black_box(h))".to_owned(),
            format!("for hops in [1usize, {HOPS}, 10]"),
        ] {
            assert!(BENCH.contains(&piece), "the bench has no {piece:?}");
        }
    }

    #[test]
    fn the_counted_code_answers_what_the_bench_asserts() {
        let config = ProxyConfig::new(TrustPolicy::parse(POLICY).unwrap());
        let peer = Peer::from(PEER.parse::<SocketAddr>().unwrap());
        let h = headers(HOPS);
        assert_eq!(
            config.resolve(peer, &h).client_ip(),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(naive_rightmost(&h), Some("10.0.0.3".parse().unwrap()));
        count(Counted::Resolve, 3);
        count(Counted::Naive, 3);
    }

    #[test]
    fn reads_callgrind_s_total() {
        let stderr = "==4242== Callgrind, a call-graph generating cache profiler\n\
                      ==4242== Events    : Ir\n\
                      ==4242== Collected : 12345678\n\
                      ==4242== I   refs:      12,345,678\n";
        assert_eq!(collected(stderr), Some(12_345_678));
        assert_eq!(collected("==1== nothing\n"), None);
    }
}

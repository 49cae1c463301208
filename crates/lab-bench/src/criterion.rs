//! The trust-proxy crate's criterion benchmark, run in the same command before the rows start,
//! and its medians read from criterion's `estimates.json` (with serde_json, already in the
//! lab's tree); then the 3-hop pair that the target compares, a few times more.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, ensure};
use serde::Deserialize;

use crate::instructions::Counts;

/// One criterion figure: a name and its median time per call, in nanoseconds.
pub struct Figure {
    pub name: &'static str,
    pub median_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
}

/// The benchmarks reported, by name, and where criterion keeps each one's results (under
/// `target/criterion/`: `bench_function("a/b/c")` is saved as `a_b_c`).
const BENCHES: [(&str, &str); 7] = [
    ("resolve, 1 hop", "xff/resolve/1"),
    ("resolve, 3 hops", "xff/resolve/3"),
    ("resolve, 10 hops", "xff/resolve/10"),
    ("naive rightmost, 1 hop", "xff/naive_rightmost/1"),
    ("naive rightmost, 3 hops", "xff/naive_rightmost/3"),
    ("naive rightmost, 10 hops", "xff/naive_rightmost/10"),
    ("Forwarded, 3 hops", "forwarded_resolve_3"),
];

/// The full run's times (criterion's defaults are 3 s and 5 s; the recorded runs used 1 and 3).
const WARM_UP_S: &str = "2";
const MEASUREMENT_S: &str = "5";

/// The 3-hop pair, measured again this many times: the target is a ratio of two benchmarks
/// measured one after the other, and a burst of other work on a shared machine during one of
/// them moves it (1.34x in one recorded run, 1.01-1.14x in quiet ones). The median of several
/// pairs is what the target reads: one burst no longer decides it.
pub const PAIRS: usize = 5;
const PAIR_WARM_UP_S: &str = "1";
const PAIR_MEASUREMENT_S: &str = "3";
/// criterion's filter (a regular expression) for the pair: the resolve first, then the naive
/// parse, in the bench's order.
pub const PAIR_FILTER: &str = "^xff/(resolve|naive_rightmost)/3$";

/// What the criterion part measured.
pub struct Criterion {
    /// The full run, every benchmark.
    pub figures: Vec<Figure>,
    /// Each pair run's (resolve, naive) medians, in ns.
    pub pairs: Vec<(f64, f64)>,
    /// The same two in instructions per call (callgrind), or why they were not counted.
    pub instructions: Option<Result<Counts, String>>,
}

impl Criterion {
    /// The full run's figure called `name`.
    pub fn find(&self, name: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.name == name)
    }

    /// The 3-hop resolve over the naive parse, for each pair run.
    pub fn pair_ratios(&self) -> Vec<f64> {
        self.pairs
            .iter()
            .map(|(resolve, naive)| resolve / naive)
            .collect()
    }
}

/// The full run's command line, as the report shows it.
pub fn full_command() -> String {
    format!(
        "cargo bench -p trusted-proxies --bench resolve -- --warm-up-time {WARM_UP_S} \
         --measurement-time {MEASUREMENT_S}"
    )
}

/// A pair run's command line, as the report shows it.
pub fn pair_command() -> String {
    format!(
        "cargo bench -p trusted-proxies --bench resolve -- --warm-up-time {PAIR_WARM_UP_S} \
         --measurement-time {PAIR_MEASUREMENT_S} '{PAIR_FILTER}'"
    )
}

/// Runs `trusted-proxies`' criterion benchmark, then its 3-hop pair [`PAIRS`] times, and reads
/// their medians.
pub fn run() -> anyhow::Result<Criterion> {
    eprintln!("Running the trusted-proxies criterion benchmark...");
    bench(
        &[
            "--warm-up-time",
            WARM_UP_S,
            "--measurement-time",
            MEASUREMENT_S,
        ],
        true,
    )?;
    let dir = crate::target_dir().join("criterion");
    let figures = BENCHES
        .into_iter()
        .map(|(name, path)| read(name, &dir.join(path).join("new/estimates.json")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut pairs = Vec::new();
    for k in 1..=PAIRS {
        eprintln!("The 3-hop resolve and naive parse again ({k}/{PAIRS})...");
        bench(
            &[
                "--warm-up-time",
                PAIR_WARM_UP_S,
                "--measurement-time",
                PAIR_MEASUREMENT_S,
                PAIR_FILTER,
            ],
            false,
        )?;
        let median = |path: &str| {
            read("pair", &dir.join(path).join("new/estimates.json")).map(|f| f.median_ns)
        };
        pairs.push((median("xff/resolve/3")?, median("xff/naive_rightmost/3")?));
    }
    Ok(Criterion {
        figures,
        pairs,
        instructions: None,
    })
}

/// `cargo bench -p trusted-proxies --bench resolve -- ARGS`; criterion's output is shown if
/// `show`.
fn bench(args: &[&str], show: bool) -> anyhow::Result<()> {
    let status = crate::cargo()
        .current_dir(crate::workspace_root())
        .args(["bench", "-p", "trusted-proxies", "--bench", "resolve", "--"])
        .args(args)
        .stdout(if show {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .status()
        .context("running `cargo bench -p trusted-proxies`")?;
    ensure!(status.success(), "the criterion benchmark failed");
    Ok(())
}

fn read(name: &'static str, file: &Path) -> anyhow::Result<Figure> {
    let json =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    figure(name, &json).with_context(|| format!("reading the median in {}", file.display()))
}

/// The part of criterion's `estimates.json` the report uses (it also holds the mean, the
/// slope and the standard deviation, which serde skips).
#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

fn figure(name: &'static str, json: &str) -> serde_json::Result<Figure> {
    let Estimates { median } = serde_json::from_str(json)?;
    Ok(Figure {
        name,
        median_ns: median.point_estimate,
        low_ns: median.confidence_interval.lower_bound,
        high_ns: median.confidence_interval.upper_bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mean comes first and has its own bounds: only the median's may be read.
    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":50.0,"upper_bound":52.0},"point_estimate":51.0,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":40.5,"upper_bound":41.5},"point_estimate":41.0,"standard_error":0.2},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.3},"point_estimate":0.2,"standard_error":0.05},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.2}}"#;

    #[test]
    fn reads_criterion_medians() {
        let f = figure("resolve, 3 hops", ESTIMATES).unwrap();
        assert_eq!(f.name, "resolve, 3 hops");
        assert_eq!(
            (f.median_ns, f.low_ns, f.high_ns),
            (41.0, 40.5, 41.5),
            "the median's estimate and interval, not the mean's"
        );
    }

    #[test]
    fn a_file_without_a_median_is_an_error() {
        let mean_only = r#"{"mean":{"confidence_interval":{"lower_bound":50.0,"upper_bound":52.0},"point_estimate":51.0}}"#;
        assert!(figure("x", mean_only).is_err());
        assert!(figure("x", "").is_err());
    }
}

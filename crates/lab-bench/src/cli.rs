//! The bench's flags, and the check that wrk is there.
//!
//! This one file is compiled twice: here, and by the xtask (`#[path]` in xtask/src/bench.rs).
//! So `cargo xtask bench --help` and a mistyped flag are answered at once, before cargo builds
//! this crate in release (a cold build takes minutes), and the book's check of the
//! `cargo xtask bench ...` lines it prints builds nothing. The xtask passes the parsed flags on
//! with [`Args::to_args`]. Keep it to clap, anyhow and std: the xtask has nothing else for it.

use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};

#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// Seconds of each measured wrk run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of the unmeasured wrk run before each measured one.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// How many times every row is measured (rows alternate; the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// wrk's threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// wrk's keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Live sessions to create in each app before reading its memory.
    #[arg(long, default_value_t = 10_000)]
    pub sessions: u32,
    /// The rows to run; the ceiling always runs, since every ratio is to it.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Row::ALL)]
    pub rows: Vec<Row>,
    /// Where nginx runs (Docker by default, as in the tests).
    #[arg(long, value_enum, default_value_t = BackendArg::Docker)]
    pub backend: BackendArg,
    /// Skip the trust-proxy crate's criterion benchmark.
    #[arg(long)]
    pub skip_criterion: bool,
    /// Print the report only; leave book/src/perf/ as it is.
    #[arg(long)]
    pub no_book: bool,
    /// Which rows get a CPU profile (perf, during one more run): those that miss their
    /// throughput target, every row with an app, or none.
    #[arg(long, value_enum, default_value_t = ProfileRows::Missed)]
    pub profile: ProfileRows,
}

impl Args {
    /// Flags that parse back into these very values: how the xtask hands them to lab-bench.
    pub fn to_args(&self) -> Vec<String> {
        let rows: Vec<&str> = self.rows.iter().map(|row| row.arg()).collect();
        let mut args = vec![
            format!("--duration={}", self.duration),
            format!("--warmup={}", self.warmup),
            format!("--rounds={}", self.rounds),
            format!("--threads={}", self.threads),
            format!("--connections={}", self.connections),
            format!("--sessions={}", self.sessions),
            format!("--rows={}", rows.join(",")),
            format!("--backend={}", self.backend.arg()),
            format!("--profile={}", self.profile.arg()),
        ];
        if self.skip_criterion {
            args.push("--skip-criterion".into());
        }
        if self.no_book {
            args.push("--no-book".into());
        }
        args
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Row {
    Ceiling,
    ProxyHop,
    Stage3,
    Stage4Sqlite,
    Stage4Redis,
    Stage5Sqlite,
    Stage5SqliteNoKeepalive,
}

impl Row {
    pub const ALL: [Row; 7] = [
        Row::Ceiling,
        Row::ProxyHop,
        Row::Stage3,
        Row::Stage4Sqlite,
        Row::Stage4Redis,
        Row::Stage5Sqlite,
        Row::Stage5SqliteNoKeepalive,
    ];

    /// The row's name on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            Row::Ceiling => "ceiling",
            Row::ProxyHop => "proxy-hop",
            Row::Stage3 => "stage3",
            Row::Stage4Sqlite => "stage4-sqlite",
            Row::Stage4Redis => "stage4-redis",
            Row::Stage5Sqlite => "stage5-sqlite",
            Row::Stage5SqliteNoKeepalive => "stage5-sqlite-no-keepalive",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Docker,
    Native,
}

impl BackendArg {
    /// The backend's name on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            BackendArg::Docker => "docker",
            BackendArg::Native => "native",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileRows {
    /// The rows that miss their throughput target.
    Missed,
    /// Every row with an app.
    All,
    /// No row.
    None,
}

impl ProfileRows {
    /// The value's name on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            ProfileRows::Missed => "missed",
            ProfileRows::All => "all",
            ProfileRows::None => "none",
        }
    }
}

/// wrk is the load generator: say how to get it rather than fall back to something weaker.
pub fn check_wrk() -> anyhow::Result<()> {
    match Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "wrk is not installed; `cargo xtask bench` drives its load with it: apt-get install wrk"
        ),
        Err(error) => Err(error).context("running wrk"),
    }
}

/// Runs lab-bench with `args` as a release build (cargo builds it on the first run) and
/// answers with its exit code: what `cargo xtask bench` does, and what a debug lab-bench does
/// rather than measure a debug build. Uses the including crate's `cargo()` (without the
/// package variables) and `workspace_root()`.
pub fn run_in_release(args: &Args) -> anyhow::Result<ExitCode> {
    let status = crate::cargo()
        .current_dir(crate::workspace_root())
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "lab-bench",
            "--",
        ])
        .args(args.to_args())
        .status()
        .context("running `cargo run --release --package lab-bench`")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

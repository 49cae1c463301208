//! `cargo xtask bench` (this crate, `lab-bench`): what each stage costs, measured side by side
//! in one run.
//!
//! Rows go through the same nginx TLS setup (each started by [`labkit::Lab::start_with`], Docker
//! by default): nginx answering `GET /me` by itself (`nginx/bench-ceiling.conf`, the ceiling),
//! stage 3 (memory store), stage 4 on SQLite and on Redis, stage 5 with and without upstream
//! keep-alive. wrk, a separate process from Debian's packages, drives an authenticated
//! `GET /me` over keep-alive connections.
//!
//! # The path measured: no userland proxy
//!
//! With Docker, wrk connects to each row's nginx container at its own address on the lab's
//! Docker network, port 443 (`labkit::Edge::address_seen_by_app`: the container has one address
//! there, where nginx both listens and connects to the app from), not to the port Docker
//! publishes on 127.0.0.1. A published port goes through docker-proxy, Docker's userland relay,
//! which reads and writes every byte in user space: measured so, the ceiling was
//! docker-proxy's (75% of a core in issue 16's run, nginx below it), not nginx's, and every
//! ratio to it looked better than it is. The container's address is what a production host
//! that does not publish ports through Docker has between its client and nginx: the kernel's
//! bridge, no relay. On the 2-core machine of issue 16, the old and the new path run in turn
//! gave a ceiling of 9,000-10,400 requests/s with docker-proxy at 62% of a core, then
//! 15,400-17,000 with docker-proxy at 0%. wrk still sends the public host the app allows
//! (`Host: app.lab.test:PORT`, [`labkit::AppEnv::public_hosts`]), and nginx sees wrk come from
//! the network's gateway, as it saw docker-proxy before, so every header the app reads is
//! unchanged.
//!
//! Redis (the `stage4-redis` row) is published on 127.0.0.1 as well, and the app would reach
//! it through a second docker-proxy for each of its round trips (in issue 16's first run,
//! docker-proxy took 64% of a core in that row, nginx's relay and Redis's together). The row's
//! child finds Redis's container address on Docker's default bridge (`docker inspect`) and
//! gives the app `redis://ADDRESS:6379` instead.
//!
//! If a container's address does not accept a connection from the host (Docker Desktop runs
//! containers in a VM), the row falls back to the published port, says so on standard error,
//! and the report names those rows: docker-proxy is then on their path and its CPU column
//! shows it. docker-proxy is still measured in every row (Docker still publishes the ports),
//! which is how the table shows that it is off the path.
//!
//! # How the numbers are kept honest on a small, shared machine
//!
//! - Every row runs in its own child process (this binary, `lab-bench --serve ROW`), started
//!   together and kept running, so rows can be measured in turn, round after round, and each
//!   row's memory is its own process's (`/proc/PID/status`), not a sum over the run.
//! - Rows alternate (the order rotates every round) and each round's ratio to the ceiling is
//!   taken within that round; the table shows the median over rounds.
//! - Where the CPU went during each measured run is read from `/proc` (the app's process,
//!   nginx's container, docker-proxy, Redis, wrk and everything else), which is what says
//!   what limited a row; and a row that misses its throughput target gets a CPU profile
//!   ([`profile`]: perf, during one more run) that says which functions spent it.
//! - The criterion part runs first, before any row's process exists, and the resolve's target
//!   reads the median of a few more runs of the pair it compares; callgrind counts the
//!   pair's instructions too ([`instructions`]), a figure no other load moves.
//! - The whole thing runs as a release build: `cargo xtask bench` runs this crate with
//!   `cargo run --release`, and a debug build of it re-runs itself that way.
//!
//! The report is printed, and written into the book (`book/src/perf/results.md` and
//! `book/src/perf/bench.svg`) unless `--no-book`.
//!
//! Modules: [`cli`] (the flags, shared with the xtask), [`row`] (a row's child process),
//! [`load`] (wrk), [`processes`] (`/proc`), [`profile`] (perf), [`criterion`],
//! [`instructions`] (callgrind), [`report`], [`plot`].
//!
//! This crate is not a default member of the workspace, like `book/builder`: the lab's own
//! build (`cargo xtask lab 1`, `cargo test`) never compiles it.

#[path = "../../../xtask/src/child_cargo.rs"]
mod child_cargo;
mod cli;
mod criterion;
mod instructions;
mod load;
mod plot;
mod processes;
mod profile;
mod report;
mod row;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, ensure};
use clap::Parser;

use child_cargo::cargo;
use cli::{Args, BackendArg, ProfileRows, Row};
use processes::{Pids, Sample, load_average, proc_status};
use report::{Measured, Profiled, Report};
use row::Running;

#[derive(Parser)]
#[command(
    name = "lab-bench",
    about = "Measure what each stage costs beside nginx alone (wrk; writes book/src/perf/). \
             `cargo xtask bench` runs this."
)]
struct Cli {
    #[command(flatten)]
    args: Args,
    /// Internal: serve one row's lab until standard input closes (the bench's child process).
    #[arg(long, value_enum, hide = true)]
    serve: Option<Row>,
    /// Internal: call the 3-hop resolve or the naive parse `--calls` times (under callgrind).
    #[arg(long, value_enum, hide = true)]
    count_resolve: Option<instructions::Counted>,
    #[arg(long, hide = true, default_value_t = 0)]
    calls: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(which) = cli.count_resolve {
        instructions::count(which, cli.calls);
        return ExitCode::SUCCESS;
    }
    init_tracing();
    let result = match cli.serve {
        Some(row) => serve(row, cli.args.backend),
        None => run(cli.args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The child: one row's lab, on its own tokio runtime.
fn serve(row: Row, backend: BackendArg) -> anyhow::Result<ExitCode> {
    tokio::runtime::Runtime::new()
        .context("starting tokio")?
        .block_on(row::serve(row, backend))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    cli::check_wrk()?;
    if cfg!(debug_assertions) {
        return rerun_in_release(&args);
    }
    measure(args)
}

/// The rows' warnings (the secure-cookie guard's, a lab that fails to start) reach the
/// terminal; their info logs would be a line per request, measured too.
fn init_tracing() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        "warn,testcontainers=warn,bollard=warn,hyper=warn,tower_sessions=error".into()
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
}

/// A benchmark of a debug build measures the debug build: run the same command from a
/// release build instead (cargo builds it on the first run).
fn rerun_in_release(args: &Args) -> anyhow::Result<ExitCode> {
    eprintln!(
        "Building lab-bench in release to measure release code (the first time takes a while)..."
    );
    cli::run_in_release(args)
}

fn measure(args: Args) -> anyhow::Result<ExitCode> {
    let mut rows = vec![Row::Ceiling];
    rows.extend(
        Row::ALL
            .into_iter()
            .filter(|r| *r != Row::Ceiling && args.rows.contains(r)),
    );
    // The criterion part first, before any row's process and containers exist: it times
    // nanoseconds, and idle labs (and the Docker daemon stopping them afterwards) share the CPU.
    let criterion = if args.skip_criterion {
        None
    } else {
        let mut measured = criterion::run()?;
        measured.instructions = Some(instructions::run().map_err(|error| format!("{error:#}")));
        Some(measured)
    };

    let load_before = load_average();
    let scratch = tempfile::tempdir().context("making a directory for wrk's script")?;
    let login_script = scratch.path().join("login.lua");
    std::fs::write(&login_script, load::LOGIN_SCRIPT).context("writing wrk's login script")?;

    eprintln!(
        "Starting {} rows (load average {load_before})...",
        rows.len()
    );
    let mut running = Vec::new();
    for row in &rows {
        match Running::start(*row, args.backend) {
            Ok(started) => running.push(started),
            Err(error) => {
                running.into_iter().for_each(Running::stop);
                return Err(error);
            }
        }
    }
    let result = measure_rows(&args, &running, &login_script);
    running.into_iter().for_each(Running::stop);
    let measured = result?;
    let load_after = load_average();

    let report = Report {
        args: &args,
        rows: &rows,
        measured: &measured,
        criterion: criterion.as_ref(),
        load: (load_before, load_after),
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    if !args.no_book {
        let dir = workspace_root().join("book/src/perf");
        std::fs::create_dir_all(&dir).context("creating book/src/perf")?;
        std::fs::write(dir.join("results.md"), &markdown).context("writing results.md")?;
        std::fs::write(dir.join("bench.svg"), plot::svg(&report)).context("writing bench.svg")?;
        println!(
            "Wrote {} and bench.svg beside it.",
            dir.join("results.md").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn measure_rows(
    args: &Args,
    running: &[Running],
    login_script: &Path,
) -> anyhow::Result<Vec<Measured>> {
    let mut measured: Vec<Measured> = running
        .iter()
        .map(|r| Measured::new(r.ready.nginx, r.ready.redis, r.idle_rss_kib))
        .collect();
    for round in 0..args.rounds {
        // Rotate the order, so that no row is always first (or always after the ceiling).
        let mut ceiling_rps = None;
        let mut this_round = vec![None; running.len()];
        for k in 0..running.len() {
            let i = (k + round) % running.len();
            let lab = &running[i];
            eprintln!(
                "round {}/{}: {} ({} s warm-up, {} s measured)",
                round + 1,
                args.rounds,
                lab.row.label(),
                args.warmup,
                args.duration
            );
            if args.warmup > 0 {
                load::wrk_me(args, lab, args.warmup)?;
            }
            let pids = Pids::find(lab);
            let before = Sample::take(&pids);
            let run = load::wrk_me(args, lab, args.duration)?;
            let cpu = Sample::take(&pids).since(&before);
            ensure!(
                run.non_2xx_3xx == 0 && run.requests > 0,
                "{}: {} of {} answers were not 2xx/3xx: the row is not serving /me",
                lab.row.label(),
                run.non_2xx_3xx,
                run.requests
            );
            if lab.row == Row::Ceiling {
                ceiling_rps = Some(run.rps);
            }
            measured[i].cpu.add(&cpu);
            this_round[i] = Some(run);
        }
        let ceiling_rps = ceiling_rps.context("the ceiling ran")?;
        for (m, run) in measured.iter_mut().zip(this_round) {
            let run = run.context("every row ran")?;
            m.ratios.push(run.rps / ceiling_rps);
            m.runs.push(run);
        }
    }
    profile_rows(
        args,
        running,
        &mut measured,
        login_script.parent().unwrap_or(Path::new(".")),
    )?;
    for (lab, m) in running.iter().zip(&mut measured) {
        m.load_hwm_kib = proc_status(lab.pid(), "VmHWM")?;
        if !lab.row.has_sessions() || args.sessions == 0 {
            continue;
        }
        eprintln!("{}: {} logins...", lab.row.label(), args.sessions);
        let (logins, failed) = load::wrk_logins(lab, login_script, args.sessions)?;
        ensure!(
            failed == 0,
            "{}: {failed} of {logins} logins failed",
            lab.row.label()
        );
        m.with_sessions = Some((
            logins,
            proc_status(lab.pid(), "VmRSS")?,
            proc_status(lab.pid(), "VmHWM")?,
        ));
        m.with_sessions_split = Some((
            proc_status(lab.pid(), "RssAnon")?,
            proc_status(lab.pid(), "RssFile")?,
        ));
        if let Some(port) = lab.ready.redis_port {
            m.redis_rss_kib = processes::container_main_pid(port, row::REDIS_CONTAINER_PORT)
                .and_then(|pid| proc_status(pid, "VmRSS").ok());
        }
    }
    Ok(measured)
}

/// A CPU profile of each row that `--profile` asks for (by default, those whose median share
/// of the ceiling missed their target): perf samples the row's process during one more run of
/// the same load, which the medians leave out. Without perf, each such row's report says why
/// it has no profile.
fn profile_rows(
    args: &Args,
    running: &[Running],
    measured: &mut [Measured],
    dir: &Path,
) -> anyhow::Result<()> {
    let wanted: Vec<usize> = (0..running.len())
        .filter(|&i| {
            let row = running[i].row;
            match args.profile {
                ProfileRows::None => false,
                ProfileRows::All => row.has_app(),
                ProfileRows::Missed => report::throughput_target(row).is_some_and(|target| {
                    report::median(measured[i].ratios.iter().copied()) < target
                }),
            }
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let perf = profile::check_perf();
    for i in wanted {
        let lab = &running[i];
        measured[i].profile = Some(match &perf {
            Err(why) => {
                eprintln!("{}: no profile: {why}", lab.row.label());
                Profiled::NotTaken(why.clone())
            }
            Ok(()) => {
                eprintln!(
                    "{}: profiling one more run with perf ({} s)...",
                    lab.row.label(),
                    args.duration
                );
                profile_run(args, lab, dir).unwrap_or_else(|error| {
                    eprintln!("{}: no profile: {error:#}", lab.row.label());
                    Profiled::NotTaken(format!("{error:#}"))
                })
            }
        });
    }
    Ok(())
}

/// One warm-up and one load run like the measured ones, with perf sampling the row's process.
fn profile_run(args: &Args, lab: &Running, dir: &Path) -> anyhow::Result<Profiled> {
    if args.warmup > 0 {
        load::wrk_me(args, lab, args.warmup)?;
    }
    let recording = profile::Recording::start(lab.pid(), args.duration, dir, lab.row.arg())?;
    let run = load::wrk_me(args, lab, args.duration);
    // perf's own `sleep` ends it: wait for it even when wrk failed.
    let summary = recording.finish();
    let run = run?;
    Ok(Profiled::Taken {
        summary: summary?,
        rps: run.rps,
    })
}

/// The workspace root: two levels above this crate.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_owned()
}

/// cargo's target directory: criterion's results and the lab's CA are kept there.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    fn parse(args: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("lab-bench").chain(args.iter().copied()))
            .unwrap_or_else(|error| panic!("{args:?}: {error}"))
            .args
    }

    /// The xtask parses the flags itself (same file, `cli.rs`) and hands them on with
    /// `to_args`: whatever it parsed must reach lab-bench unchanged.
    #[test]
    fn the_flags_the_xtask_passes_on_parse_back_to_the_same_values() {
        let defaults = parse(&[]);
        assert_eq!(defaults.rows, Row::ALL);
        let changed = Args {
            duration: 5,
            warmup: 0,
            rounds: 1,
            threads: 4,
            connections: 64,
            sessions: 0,
            rows: vec![Row::Stage3, Row::Stage4Redis],
            backend: BackendArg::Native,
            skip_criterion: true,
            no_book: true,
            profile: ProfileRows::All,
        };
        for args in [defaults, changed] {
            let flags = args.to_args();
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            assert_eq!(parse(&flags), args, "{flags:?}");
        }
    }

    #[test]
    fn the_command_in_the_brief_parses() {
        let args = parse(&[
            "--rows",
            "stage3",
            "--no-book",
            "--skip-criterion",
            "--duration",
            "5",
            "--rounds",
            "1",
        ]);
        assert_eq!(
            (args.rows, args.duration, args.rounds),
            (vec![Row::Stage3], 5, 1)
        );
        assert!(args.no_book && args.skip_criterion);
    }

    #[test]
    fn row_names_are_clap_s() {
        for row in Row::ALL {
            let name = row.to_possible_value().expect("no row is skipped");
            assert_eq!(row.arg(), name.get_name());
        }
        for backend in BackendArg::value_variants() {
            let name = backend.to_possible_value().expect("no backend is skipped");
            assert_eq!(backend.arg(), name.get_name());
        }
        for when in ProfileRows::value_variants() {
            let name = when.to_possible_value().expect("no value is skipped");
            assert_eq!(when.arg(), name.get_name());
        }
    }

    #[test]
    fn the_child_s_command_line_parses() {
        let cli = Cli::try_parse_from([
            "lab-bench",
            "--serve",
            "stage4-redis",
            "--backend",
            "docker",
        ])
        .unwrap();
        assert_eq!(cli.serve, Some(Row::Stage4Redis));
        assert_eq!(cli.args.backend, BackendArg::Docker);
    }

    #[test]
    fn the_workspace_root_holds_the_nginx_sites_and_the_book() {
        let root = workspace_root();
        assert!(root.join("nginx/bench-ceiling.conf").is_file());
        assert!(root.join("book/src").is_dir());
    }
}

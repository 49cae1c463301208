//! `cargo xtask bench`: what each stage costs, measured side by side in one run.
//!
//! Four rows go through the same nginx TLS setup (each started by [`Lab::start_with`], Docker
//! by default): nginx answering `GET /me` by itself (`nginx/bench-ceiling.conf`, the ceiling),
//! stage 3 (memory store), stage 4 on SQLite and stage 4 on Redis. wrk, a separate process
//! from Debian's packages, drives an authenticated `GET /me` over keep-alive connections.
//!
//! How the numbers are kept honest on a small, shared machine:
//! - Every row runs in its own child process (this binary, `bench --serve ROW`), started
//!   together and kept running, so rows can be measured in turn, round after round, and each
//!   row's memory is its own process's (`/proc/PID/status`), not a sum over the run.
//! - Rows alternate (the order rotates every round) and each round's ratio to the ceiling is
//!   taken within that round; the table shows the median over rounds.
//! - Where the CPU went during each measured run is read from `/proc` (the app's process,
//!   nginx's container, docker-proxy, Redis, wrk and everything else), which is what says
//!   what limited a row.
//! - The whole thing runs as a release build: `cargo xtask` builds the xtask in debug, so the
//!   command re-runs itself with `cargo run --release` (the xtask's normal build stays lean).
//!
//! The report is printed, and written into the book (`book/src/perf/results.md`, and
//! `book/src/perf/bench.svg` drawn here by hand: no plotting dependency).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use labkit::{Backend, Lab, LabCerts, LabOptions, Stage};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds of each measured wrk run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of the unmeasured wrk run before each measured one.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// How many times every row is measured (rows alternate; the median is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// wrk's threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// wrk's keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Live sessions to create in each app before reading its memory.
    #[arg(long, default_value_t = 10_000)]
    sessions: u32,
    /// The rows to run; the ceiling always runs, since every ratio is to it.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Row::ALL)]
    rows: Vec<Row>,
    /// Where nginx runs (Docker by default, as in the tests).
    #[arg(long, value_enum, default_value_t = BackendArg::Docker)]
    backend: BackendArg,
    /// Skip the trust-proxy crate's criterion benchmark.
    #[arg(long)]
    skip_criterion: bool,
    /// Print the report only; leave book/src/perf/ as it is.
    #[arg(long)]
    no_book: bool,
    /// Internal: serve one row's lab until standard input closes (the bench's child process).
    #[arg(long, value_enum, hide = true)]
    serve: Option<Row>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Row {
    Ceiling,
    Stage3,
    Stage4Sqlite,
    Stage4Redis,
    Stage5Sqlite,
    Stage5SqliteNoKeepalive,
}

impl Row {
    const ALL: [Row; 6] = [
        Row::Ceiling,
        Row::Stage3,
        Row::Stage4Sqlite,
        Row::Stage4Redis,
        Row::Stage5Sqlite,
        Row::Stage5SqliteNoKeepalive,
    ];

    fn label(self) -> &'static str {
        match self {
            Row::Ceiling => "nginx alone (ceiling)",
            Row::Stage3 => "stage 3, memory store",
            Row::Stage4Sqlite => "stage 4, SQLite",
            Row::Stage4Redis => "stage 4, Redis",
            Row::Stage5Sqlite => "stage 5, SQLite, mutual TLS",
            Row::Stage5SqliteNoKeepalive => "stage 5, no upstream keep-alive",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Row::Ceiling => "ceiling",
            Row::Stage3 => "stage3",
            Row::Stage4Sqlite => "stage4-sqlite",
            Row::Stage4Redis => "stage4-redis",
            Row::Stage5Sqlite => "stage5-sqlite",
            Row::Stage5SqliteNoKeepalive => "stage5-sqlite-no-keepalive",
        }
    }

    fn has_app(self) -> bool {
        self != Row::Ceiling
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum BackendArg {
    Docker,
    Native,
}

/// The ceiling's site: nginx answering by itself, with stage 4's TLS.
const CEILING_SITE: &str = include_str!("../../nginx/bench-ceiling.conf");

/// `POST /login` with no cookie, so that every answer starts a new session. After the
/// number of answers given as the script's first argument it writes what it counted to the
/// file named by the second, and ends wrk: `wrk.thread:stop()` would stop the requests but
/// leave wrk asleep until its `-d` is over.
const LOGIN_SCRIPT: &str = r#"-- Written by `cargo xtask bench`: every POST /login without a cookie starts a session.
wrk.method = "POST"
wrk.body = "username=bench"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local target, out = 10000, "/dev/stdout"
local done, failed = 0, 0
function init(args)
  target = tonumber(args[1]) or target
  out = args[2] or out
end
function response(status, headers, body)
  done = done + 1
  if status >= 400 then failed = failed + 1 end
  if done >= target then
    local f = io.open(out, "w")
    f:write(string.format("logins %d failed %d\n", done, failed))
    f:close()
    os.exit(0)
  end
end
"#;

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(row) = args.serve {
        return serve_row(row, args.backend).await;
    }
    check_wrk()?;
    if cfg!(debug_assertions) {
        return rerun_in_release();
    }
    measure(args)
}

/// wrk is the load generator: say how to get it rather than fall back to something weaker.
fn check_wrk() -> anyhow::Result<()> {
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

/// A benchmark of a debug build measures the debug build: run the same command from a
/// release build instead (cargo builds it on the first run; the xtask's own build is not
/// touched).
fn rerun_in_release() -> anyhow::Result<ExitCode> {
    eprintln!(
        "Building the xtask in release to measure release code (the first time takes a while)..."
    );
    let status = crate::cargo()
        .current_dir(crate::workspace_root())
        .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .status()
        .context("running `cargo run --release -p xtask`")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

// ----- The child: one row's lab -----

/// Starts one row's lab, logs in, says `ready <https port> <redis port or 0> <cookie>` on
/// standard output, and serves until standard input closes.
async fn serve_row(row: Row, backend: BackendArg) -> anyhow::Result<ExitCode> {
    let (certs, _) = LabCerts::persistent(&target_dir().join("lab-ca"))
        .context("preparing the lab's certificates")?;
    let scratch = tempfile::tempdir().context("making a directory for the SQLite file")?;
    let mut redis = None;
    let (stage, session_store) = match row {
        Row::Ceiling => (
            Stage {
                number: 0,
                title: "the benchmark's ceiling",
                lesson: "nginx answers by itself; the app is never asked.",
                site: Some(CEILING_SITE),
                app: stage3_trust_proxy::app,
            },
            None,
        ),
        Row::Stage3 => (labkit::stage!(stage3_trust_proxy), None),
        Row::Stage4Sqlite => {
            // A fresh file, not the lab's own target/lab-sessions.db.
            let file = scratch.path().join("sessions.db");
            let url = format!("sqlite://{}", file.display());
            (labkit::stage!(stage4_secure_store), Some(url))
        }
        Row::Stage4Redis => {
            let started = labkit::Redis::start()
                .await
                .context("starting Redis for the session store")?;
            let url = started.url();
            redis = Some(started);
            (labkit::stage!(stage4_secure_store), Some(url))
        }
        Row::Stage5Sqlite | Row::Stage5SqliteNoKeepalive => {
            let file = scratch.path().join("sessions.db");
            let url = format!("sqlite://{}", file.display());
            let mut stage = labkit::stage!(stage5_mutual_tls);
            if row == Row::Stage5SqliteNoKeepalive {
                let site = without_upstream_keepalive(stage.site.unwrap_or_default());
                stage.site = Some(Box::leak(site.into_boxed_str()));
            }
            (stage, Some(url))
        }
    };
    // The harness's frame sends nginx's access log to this process, which keeps all of it in
    // memory: at thousands of requests a second that would count megabytes against the app's
    // memory and cost CPU per request. `access_log off;` at http level (where the site is
    // included) turns it off, in every row alike; error logs still reach the lab.
    let site = stage
        .site
        .map(|site| &*Box::leak(format!("access_log off;\n{site}").into_boxed_str()));
    let stage = Stage { site, ..stage };
    let backend = match backend {
        BackendArg::Docker => Backend::Docker,
        BackendArg::Native => Backend::Native,
    };
    let lab = Lab::start_with(
        &stage,
        LabOptions {
            backend,
            port: None,
            certs,
            outer_site: None,
            replicas: 1,
            session_store,
            observe_inner_hop: false,
        },
    )
    .await
    .with_context(|| format!("starting the {} row", row.arg()))?;
    let cookie = if row.has_app() {
        let login = lab.client().log_in("bench").await?;
        ensure!(
            login.status.is_success(),
            "logging in answered {}{}",
            login.status,
            lab.report()
        );
        let me = lab.client().me().await?;
        ensure!(
            me.user.as_deref() == Some("bench"),
            "after logging in, /me says {:?}{}",
            me.user,
            lab.report()
        );
        login
            .set_cookies()
            .into_iter()
            .rfind(|cookie| !cookie.value().is_empty())
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .context("logging in set no session cookie")?
    } else {
        // The same length as stage 4's cookie, so that every row sends the same bytes.
        "__Host-id=AAAAAAAAAAAAAAAAAAAAAA".to_owned()
    };
    let https_port = lab.front().context("every row has nginx")?.https_port();
    let redis_port = redis.as_ref().map_or(Ok(0), |r| port_of(&r.url()))?;
    // Ctrl-C reaches the whole process group: let the parent decide. When it stops (or
    // dies), our standard input closes and we stop the lab properly below; dying on the
    // signal would leave nginx's and Redis's containers running.
    tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
    println!("ready {https_port} {redis_port} {cookie}");
    // Serve until the parent closes our standard input (or dies).
    tokio::task::spawn_blocking(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    })
    .await
    .context("waiting for the bench to finish")?;
    drop(lab);
    drop(redis);
    Ok(ExitCode::SUCCESS)
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .with_context(|| format!("no port in {url}"))
}

// ----- The parent: load, measurements, report -----

/// A row's lab, in its child process.
struct Running {
    row: Row,
    child: Child,
    stdin: Option<ChildStdin>,
    https_port: u16,
    redis_port: u16,
    cookie: String,
    /// VmRSS right after start and one login (KiB).
    idle_rss_kib: u64,
}

impl Running {
    fn start(row: Row, backend: BackendArg) -> anyhow::Result<Running> {
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let backend = match backend {
            BackendArg::Docker => "docker",
            BackendArg::Native => "native",
        };
        let mut child = Command::new(exe)
            .args(["bench", "--serve", row.arg(), "--backend", backend])
            // Warnings only: a line per request would be measured too.
            .env(
                "RUST_LOG",
                "warn,testcontainers=warn,bollard=warn,hyper=warn,tower_sessions=error",
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a row's process")?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("the row's standard output")?)
            .read_line(&mut line)
            .context("reading the row's first line")?;
        let mut words = line.split_whitespace();
        let (Some("ready"), Some(https), Some(redis), Some(cookie)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the {} row did not start (it said {line:?}; its errors are above)",
                row.arg()
            );
        };
        let idle_rss_kib = proc_status(child.id(), "VmRSS")?;
        Ok(Running {
            row,
            https_port: https.parse()?,
            redis_port: redis.parse()?,
            cookie: cookie.to_owned(),
            stdin,
            child,
            idle_rss_kib,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's standard input, so that it stops its lab, and waits for it.
    fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One wrk run, as wrk reported it.
#[derive(Clone, Debug, Default)]
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx_3xx: u64,
    socket_errors: u64,
}

/// Where the CPU went during one measured run, in CPU seconds.
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    wall: f64,
    busy: f64,
    app: f64,
    nginx: f64,
    proxy: f64,
    redis: f64,
    wrk: f64,
}

impl Cpu {
    fn add(&mut self, other: &Cpu) {
        self.wall += other.wall;
        self.busy += other.busy;
        self.app += other.app;
        self.nginx += other.nginx;
        self.proxy += other.proxy;
        self.redis += other.redis;
        self.wrk += other.wrk;
    }

    fn other(&self) -> f64 {
        (self.busy - self.app - self.nginx - self.proxy - self.redis - self.wrk).max(0.0)
    }

    /// CPU seconds per second, as a percentage of one core.
    fn pct(&self, seconds: f64) -> f64 {
        if self.wall > 0.0 {
            100.0 * seconds / self.wall
        } else {
            0.0
        }
    }
}

/// Everything measured for a row.
#[derive(Default)]
struct Measured {
    runs: Vec<Wrk>,
    /// This row's rps over the ceiling's, in the same round.
    ratios: Vec<f64>,
    cpu: Cpu,
    idle_rss_kib: u64,
    /// VmHWM after the load runs, before the sessions are made.
    load_hwm_kib: u64,
    /// After `sessions` logins: (sessions wrk counted, VmRSS, VmHWM).
    with_sessions: Option<(u64, u64, u64)>,
    /// Redis's own resident memory after the sessions (KiB).
    redis_rss_kib: Option<u64>,
}

fn measure(args: Args) -> anyhow::Result<ExitCode> {
    let mut rows = vec![Row::Ceiling];
    rows.extend(
        Row::ALL
            .into_iter()
            .filter(|r| *r != Row::Ceiling && args.rows.contains(r)),
    );
    let load_before = load_average();
    let scratch = tempfile::tempdir().context("making a directory for wrk's script")?;
    let login_script = scratch.path().join("login.lua");
    std::fs::write(&login_script, LOGIN_SCRIPT).context("writing wrk's login script")?;

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

    let criterion = if args.skip_criterion {
        None
    } else {
        Some(run_criterion()?)
    };

    let report = Report {
        args: &args,
        rows: &rows,
        measured: &measured,
        criterion: criterion.as_deref(),
        load: (load_before, load_after),
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    if !args.no_book {
        let dir = crate::workspace_root().join("book/src/perf");
        std::fs::create_dir_all(&dir).context("creating book/src/perf")?;
        std::fs::write(dir.join("results.md"), &markdown).context("writing results.md")?;
        std::fs::write(dir.join("bench.svg"), report.svg()).context("writing bench.svg")?;
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
        .map(|r| Measured {
            idle_rss_kib: r.idle_rss_kib,
            ..Measured::default()
        })
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
                wrk_me(args, lab, args.warmup)?;
            }
            let pids = Pids::find(lab);
            let before = Sample::take(&pids);
            let run = wrk_me(args, lab, args.duration)?;
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
    for (lab, m) in running.iter().zip(&mut measured) {
        m.load_hwm_kib = proc_status(lab.pid(), "VmHWM")?;
        if !lab.row.has_app() || args.sessions == 0 {
            continue;
        }
        eprintln!("{}: {} logins...", lab.row.label(), args.sessions);
        let (logins, failed) = wrk_logins(lab, login_script, args.sessions)?;
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
        if lab.redis_port != 0 {
            m.redis_rss_kib = container_pids(lab.redis_port, 6379)
                .first()
                .and_then(|pid| proc_status(*pid, "VmRSS").ok());
        }
    }
    Ok(measured)
}

/// The authenticated `GET /me`, for `seconds`. wrk does not resolve `app.lab.test`: it
/// connects to 127.0.0.1 (an IP SAN of the lab's certificate; wrk verifies nothing anyway) and
/// names the host in `Host`, as a browser would.
fn wrk_me(args: &Args, lab: &Running, seconds: u64) -> anyhow::Result<Wrk> {
    let output = Command::new("wrk")
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{seconds}s"))
        .args(["--latency", "--timeout", "5s"])
        .arg("-H")
        .arg(format!("Host: {}:{}", labkit::LAB_HOST, lab.https_port))
        .arg("-H")
        .arg(format!("Cookie: {}", lab.cookie))
        .arg(format!("https://127.0.0.1:{}/me", lab.https_port))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "wrk failed: {}{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_wrk(&text)
}

/// `sessions` logins over 8 connections, each starting a new session (wrk sends no cookie
/// back): returns (answered, failed). The script ends wrk at the `sessions`-th answer; up to
/// 7 more may have been in flight. `-d` only bounds a run that stalls.
fn wrk_logins(lab: &Running, script: &Path, sessions: u32) -> anyhow::Result<(u64, u64)> {
    let counted = script.with_file_name(format!("logins-{}.txt", lab.row.arg()));
    let output = Command::new("wrk")
        .args(["-t1", "-c8", "-d300s", "--timeout", "5s", "-s"])
        .arg(script)
        .arg("-H")
        .arg(format!("Host: {}:{}", labkit::LAB_HOST, lab.https_port))
        .arg(format!("https://127.0.0.1:{}/login", lab.https_port))
        .arg("--")
        .arg(sessions.to_string())
        .arg(&counted)
        .output()
        .context("running wrk")?;
    let text = std::fs::read_to_string(&counted).with_context(|| {
        format!(
            "wrk did not finish {sessions} logins: {}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let numbers: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [done, failed] => Ok((done, failed)),
        _ => bail!("wrk's login script wrote {text:?}"),
    }
}

/// Reads what wrk printed: `Requests/sec:`, the `--latency` distribution, the totals.
fn parse_wrk(text: &str) -> anyhow::Result<Wrk> {
    let mut wrk = Wrk::default();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("Requests/sec:") => wrk.rps = words.next().unwrap_or("").parse()?,
            Some("50%") => wrk.p50_ms = duration_ms(words.next().unwrap_or(""))?,
            Some("99%") => wrk.p99_ms = duration_ms(words.next().unwrap_or(""))?,
            Some("Non-2xx") => {
                wrk.non_2xx_3xx = line.rsplit(' ').next().unwrap_or("").parse()?;
            }
            Some("Socket") => {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                wrk.socket_errors = line
                    .split([' ', ','])
                    .filter_map(|w| w.parse::<u64>().ok())
                    .sum();
            }
            Some(n) if line.contains(" requests in ") => wrk.requests = n.parse()?,
            _ => {}
        }
    }
    ensure!(
        wrk.requests > 0,
        "wrk reported no completed request:\n{text}"
    );
    Ok(wrk)
}

/// wrk's durations: `812.00us`, `4.98ms`, `1.02s`, `2.00m`.
fn duration_ms(text: &str) -> anyhow::Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("{text:?} is not a wrk duration"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    Ok(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => bail!("{text:?}: unknown unit {unit:?}"),
    })
}

// ----- Where the CPU went, from /proc -----

/// The processes of one row: its app (the child), nginx, docker-proxy and Redis.
struct Pids {
    app: u32,
    nginx: Vec<u32>,
    proxy: Vec<u32>,
    redis: Vec<u32>,
}

impl Pids {
    fn find(lab: &Running) -> Pids {
        let mut nginx = container_pids(lab.https_port, 443);
        if nginx.is_empty() {
            // The native backend: nginx is a child of the row's process.
            nginx = descendants(lab.pid())
                .into_iter()
                .filter(|pid| comm(*pid).is_some_and(|c| c.starts_with("nginx")))
                .collect();
        }
        let mut proxy = docker_proxy_pids(lab.https_port);
        let redis = if lab.redis_port == 0 {
            Vec::new()
        } else {
            proxy.extend(docker_proxy_pids(lab.redis_port));
            container_pids(lab.redis_port, 6379)
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
struct Sample {
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
    fn take(pids: &Pids) -> Sample {
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

    fn since(&self, before: &Sample) -> Cpu {
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
    let Some(fields) = stat_fields(pid) else {
        return (0, 0);
    };
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
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    values.iter().take(8).sum::<u64>() - values.get(3).unwrap_or(&0) - values.get(4).unwrap_or(&0)
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

/// The processes of the container that publishes `container_port` on 127.0.0.1:`host_port`
/// (its main process first), found through the docker CLI; empty without Docker.
fn container_pids(host_port: u16, container_port: u16) -> Vec<u32> {
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let needle = format!("127.0.0.1:{host_port}->{container_port}/tcp");
    let Some(list) = docker(&["ps", "--format", "{{.ID}} {{.Ports}}"]) else {
        return Vec::new();
    };
    let Some(id) = list
        .lines()
        .find(|line| line.contains(&needle))
        .and_then(|line| line.split_whitespace().next())
    else {
        return Vec::new();
    };
    docker(&["inspect", "--format", "{{.State.Pid}}", id])
        .and_then(|pid| pid.trim().parse().ok())
        .filter(|pid| *pid != 0)
        .map(descendants)
        .unwrap_or_default()
}

/// Docker's userland relay for a published port, if the engine uses one: every byte between
/// wrk and the container goes through it.
fn docker_proxy_pids(host_port: u16) -> Vec<u32> {
    let port = host_port.to_string();
    all_pids()
        .into_iter()
        .filter(|pid| comm(*pid).as_deref() == Some("docker-proxy"))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                args.windows(2)
                    .any(|w| w[0] == b"-host-port" && w[1] == port.as_bytes())
            })
        })
        .collect()
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
fn proc_status(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ----- The trust-proxy crate's criterion benchmark -----

/// One criterion figure: a name and its median time per call, in nanoseconds.
struct Figure {
    name: &'static str,
    median_ns: f64,
    low_ns: f64,
    high_ns: f64,
}

/// Runs `trusted-proxies`' criterion benchmark (short: 1 s warm-up, 3 s measured each) and
/// reads its medians from criterion's `estimates.json`.
fn run_criterion() -> anyhow::Result<Vec<Figure>> {
    eprintln!("Running the trusted-proxies criterion benchmark...");
    let status = crate::cargo()
        .current_dir(crate::workspace_root())
        .args(["bench", "-p", "trusted-proxies", "--bench", "resolve", "--"])
        .args(["--warm-up-time", "1", "--measurement-time", "3"])
        .stdout(Stdio::inherit())
        .status()
        .context("running `cargo bench -p trusted-proxies`")?;
    ensure!(status.success(), "the criterion benchmark failed");
    let dir = target_dir().join("criterion");
    let benches: [(&str, &str); 7] = [
        ("resolve, 1 hop", "xff/resolve/1"),
        ("resolve, 3 hops", "xff/resolve/3"),
        ("resolve, 10 hops", "xff/resolve/10"),
        ("naive rightmost, 1 hop", "xff/naive_rightmost/1"),
        ("naive rightmost, 3 hops", "xff/naive_rightmost/3"),
        ("naive rightmost, 10 hops", "xff/naive_rightmost/10"),
        ("Forwarded, 3 hops", "forwarded_resolve_3"),
    ];
    benches
        .into_iter()
        .map(|(name, path)| {
            let file = dir.join(path).join("new/estimates.json");
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let number = |key: &str| -> anyhow::Result<f64> {
                json_number(&json, &["\"median\"", key])
                    .with_context(|| format!("no median {key} in {}", file.display()))
            };
            Ok(Figure {
                name,
                median_ns: number("\"point_estimate\"")?,
                low_ns: number("\"lower_bound\"")?,
                high_ns: number("\"upper_bound\"")?,
            })
        })
        .collect()
}

/// The number after the last of `keys`, each found after the one before it: enough for
/// criterion's flat estimates.json without a JSON parser in the xtask.
fn json_number(json: &str, keys: &[&str]) -> Option<f64> {
    let mut at = 0;
    for key in keys {
        at += json[at..].find(key)? + key.len();
    }
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

// ----- The report -----

struct Report<'a> {
    args: &'a Args,
    rows: &'a [Row],
    measured: &'a [Measured],
    criterion: Option<&'a [Figure]>,
    load: (String, String),
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Targets from the issue that asked for this benchmark.
const REDIS_TARGET: f64 = 0.40;
const RSS_TARGET_KIB: u64 = 30 * 1000 * 1000 / 1024; // 30 MB
const RESOLVE_TARGET_NS: f64 = 100.0;

impl Report<'_> {
    fn rps(&self, i: usize) -> f64 {
        median(self.measured[i].runs.iter().map(|r| r.rps))
    }
    fn ratio(&self, i: usize) -> f64 {
        median(self.measured[i].ratios.iter().copied())
    }
    fn p50(&self, i: usize) -> f64 {
        median(self.measured[i].runs.iter().map(|r| r.p50_ms))
    }
    fn p99(&self, i: usize) -> f64 {
        median(self.measured[i].runs.iter().map(|r| r.p99_ms))
    }

    /// What limited a row, read off where the CPU went.
    fn limit(&self, i: usize) -> String {
        let cpu = &self.measured[i].cpu;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let busy = cpu.pct(cpu.busy);
        let mut parts = [
            ("app", cpu.app),
            ("nginx", cpu.nginx),
            ("docker-proxy", cpu.proxy),
            ("Redis", cpu.redis),
            ("wrk", cpu.wrk),
            ("other processes", cpu.other()),
        ];
        parts.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top = parts
            .iter()
            .take(2)
            .map(|(name, s)| format!("{name} {:.0}%", cpu.pct(*s)))
            .collect::<Vec<_>>()
            .join(", ");
        // Two cores are never quite all busy while processes hand requests to each other, so
        // 80% counts as saturated.
        if busy >= 80.0 * cores {
            format!(
                "CPU: {busy:.0}% of {:.0}% busy; most to {top}",
                100.0 * cores
            )
        } else {
            format!(
                "waiting, not CPU: {busy:.0}% of {:.0}% busy; most to {top}",
                100.0 * cores
            )
        }
    }

    fn markdown(&self) -> String {
        let a = self.args;
        let mut md = String::new();
        let _ = writeln!(
            md,
            "<!-- Written by `cargo xtask bench`; run it again to replace this file. -->\n"
        );
        let _ = writeln!(
            md,
            "Authenticated `GET /me` through nginx (TLS, keep-alive): wrk `-t{} -c{} -d{}s`, \
             {} s warm-up, {} rounds with the rows alternating; medians over rounds. \
             nginx: {} backend. Machine: {} cores, {}. Load average (1, 5, 15 min) {} before, \
             {} after.\n",
            a.threads,
            a.connections,
            a.duration,
            a.warmup,
            a.rounds,
            match a.backend {
                BackendArg::Docker => "Docker",
                BackendArg::Native => "native",
            },
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model(),
            self.load.0,
            self.load.1
        );
        let _ = writeln!(
            md,
            "| Row | Requests/s | vs ceiling | p50 | p99 | RSS at start | Peak RSS under load | RSS with {} sessions |",
            a.sessions
        );
        let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|");
        for (i, row) in self.rows.iter().enumerate() {
            let m = &self.measured[i];
            let with_sessions = match (row.has_app(), m.with_sessions) {
                (true, Some((_, rss, _))) => mib(rss),
                _ => "—".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0}% | {:.2} ms | {:.2} ms | {} | {}{} | {} |",
                row.label(),
                self.rps(i),
                100.0 * self.ratio(i),
                self.p50(i),
                self.p99(i),
                mib(m.idle_rss_kib),
                mib(m.load_hwm_kib),
                if row.has_app() { "" } else { " (harness only)" },
                with_sessions
            );
        }
        let _ = writeln!(
            md,
            "\nMemory is the row's own process (`/proc/PID/status`): the app and the lab's \
             harness around it (Docker client, tokio, the login client), never wrk, which is \
             a separate process; the ceiling's row is the harness alone. \"At start\" is `VmRSS` once \
             the lab is up and one user logged in; \"peak\" is `VmHWM` after the load runs; the sessions column is `VmRSS` after that many \
             `POST /login`s (wrk, 8 connections, no cookie sent back, so each one starts a \
             session), with the sessions still live.\n"
        );

        let _ = writeln!(md, "### What limited each row\n");
        let _ = writeln!(
            md,
            "CPU used during the measured runs, in % of one core (the machine has {}%), read \
             from `/proc`.\n",
            100 * std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let _ = writeln!(
            md,
            "| Row | app | nginx | docker-proxy | Redis | wrk | other | Limit |"
        );
        let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|---|");
        for (i, row) in self.rows.iter().enumerate() {
            let c = &self.measured[i].cpu;
            let _ = writeln!(
                md,
                "| {} | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {} |",
                row.label(),
                c.pct(c.app),
                c.pct(c.nginx),
                c.pct(c.proxy),
                c.pct(c.redis),
                c.pct(c.wrk),
                c.pct(c.other()),
                self.limit(i)
            );
        }
        let _ = writeln!(
            md,
            "\n\"app\" is the row's whole process (the app, idle harness included); \"other\" \
             is everything else the machine ran meanwhile (the kernel's network work not \
             charged to a process, and any other load).\n"
        );
        let _ = writeln!(md, "Every round, requests/s:\n");
        let _ = writeln!(md, "| Row | {} |", {
            (1..=a.rounds)
                .map(|r| format!("round {r}"))
                .collect::<Vec<_>>()
                .join(" | ")
        });
        let _ = writeln!(md, "|---|{}", "--:|".repeat(a.rounds));
        for (i, row) in self.rows.iter().enumerate() {
            let runs = self.measured[i]
                .runs
                .iter()
                .zip(&self.measured[i].ratios)
                .map(|(r, ratio)| {
                    let errors = match r.socket_errors {
                        0 => String::new(),
                        n => format!(", {n} socket errors"),
                    };
                    format!("{:.0} ({:.0}%{errors})", r.rps, 100.0 * ratio)
                })
                .collect::<Vec<_>>()
                .join(" | ");
            let _ = writeln!(md, "| {} | {runs} |", row.label());
        }

        if let Some(figures) = self.criterion {
            let _ = writeln!(
                md,
                "\n### `trusted-proxies`: one resolve (criterion)\n\n\
                 `cargo bench -p trusted-proxies --bench resolve -- --warm-up-time 1 \
                 --measurement-time 3`, in the same run; median time per call, with \
                 criterion's 95% interval.\n"
            );
            let _ = writeln!(md, "| Benchmark | Median | 95% interval |");
            let _ = writeln!(md, "|---|--:|--:|");
            for f in figures {
                let _ = writeln!(
                    md,
                    "| {} | {:.1} ns | {:.1} to {:.1} ns |",
                    f.name, f.median_ns, f.low_ns, f.high_ns
                );
            }
        }

        let _ = writeln!(md, "\n### Targets\n");
        let _ = writeln!(md, "| Target | Measured | Met |");
        let _ = writeln!(md, "|---|---|---|");
        let met = |ok: bool| if ok { "yes" } else { "**no**" };
        if let Some(i) = self.rows.iter().position(|r| *r == Row::Stage4Redis) {
            let ratio = self.ratio(i);
            let _ = writeln!(
                md,
                "| Stage 4 with Redis at 40% or more of the ceiling | {:.0}% | {} |",
                100.0 * ratio,
                met(ratio >= REDIS_TARGET)
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            if let (true, Some((count, rss, _))) = (row.has_app(), self.measured[i].with_sessions) {
                let _ = writeln!(
                    md,
                    "| {}: under 30 MB resident with {} live sessions | {} ({:.1} MB) after {count} logins | {} |",
                    row.label(),
                    a.sessions,
                    mib(rss),
                    rss as f64 * 1024.0 / 1e6,
                    met(rss < RSS_TARGET_KIB)
                );
            }
        }
        if let Some(f) = self
            .criterion
            .and_then(|f| f.iter().find(|f| f.name == "resolve, 3 hops"))
        {
            let _ = writeln!(
                md,
                "| A 3-hop trust resolve under 100 ns | {:.1} ns | {} |",
                f.median_ns,
                met(f.median_ns < RESOLVE_TARGET_NS)
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            if let Some(kib) = self.measured[i].redis_rss_kib {
                let _ = writeln!(
                    md,
                    "\nRedis itself (its own process, not the app's) was {} resident with the {} row's sessions.",
                    mib(kib),
                    row.label()
                );
            }
        }
        md
    }

    /// A bar chart, by hand: each row's requests/s as a share of the ceiling (with the 40%
    /// target for Redis marked), and its p50/p99 latency.
    fn svg(&self) -> String {
        const W: f64 = 760.0;
        const LABEL: f64 = 190.0;
        const BAR_W: f64 = 400.0;
        const ROW_H: f64 = 34.0;
        let n = self.rows.len() as f64;
        let top1 = 58.0;
        let top2 = top1 + n * ROW_H + 64.0;
        let h = top2 + n * ROW_H + 40.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(
            s,
            "<!-- Written by `cargo xtask bench`: authenticated GET /me through nginx, one run. -->"
        );
        let _ = writeln!(s, r##"<rect width="{W}" height="{h}" fill="#ffffff"/>"##);
        let _ = writeln!(
            s,
            r#"<text x="10" y="24" font-size="15" font-weight="bold">Requests per second, as a share of nginx alone (the ceiling)</text>"#
        );
        let _ = writeln!(
            s,
            r##"<text x="10" y="44" fill="#555">wrk -t{} -c{} -d{}s, median of {} alternating rounds; dashed line: the 40% target for stage 4 with Redis</text>"##,
            self.args.threads, self.args.connections, self.args.duration, self.args.rounds
        );
        let colour = |row: Row| match row {
            Row::Ceiling => "#7f8c8d",
            Row::Stage3 => "#2e86c1",
            Row::Stage4Sqlite => "#28b463",
            Row::Stage4Redis => "#c0392b",
            Row::Stage5Sqlite => "#8e44ad",
            Row::Stage5SqliteNoKeepalive => "#d2b4de",
        };
        for (i, row) in self.rows.iter().enumerate() {
            let y = top1 + i as f64 * ROW_H;
            let ratio = self.ratio(i).clamp(0.0, 1.5);
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                LABEL - 8.0,
                y + 17.0,
                row.label()
            );
            let _ = writeln!(
                s,
                r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}"/>"#,
                y + 2.0,
                BAR_W * ratio.min(1.0),
                colour(*row)
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}">{:.0}% · {:.0} req/s</text>"#,
                LABEL + BAR_W * ratio.min(1.0) + 6.0,
                y + 17.0,
                100.0 * self.ratio(i),
                self.rps(i)
            );
        }
        let x40 = LABEL + BAR_W * REDIS_TARGET;
        let _ = writeln!(
            s,
            r##"<line x1="{x40}" y1="{}" x2="{x40}" y2="{}" stroke="#000" stroke-dasharray="4 3"/>"##,
            top1 - 4.0,
            top1 + n * ROW_H
        );

        let max_p99 = (0..self.rows.len())
            .map(|i| self.p99(i))
            .fold(0.0_f64, f64::max)
            .max(0.001);
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-size="15" font-weight="bold">Latency: p50 (dark) and p99 (light), ms</text>"#,
            top2 - 20.0
        );
        for (i, row) in self.rows.iter().enumerate() {
            let y = top2 + i as f64 * ROW_H;
            let (p50, p99) = (self.p50(i), self.p99(i));
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                LABEL - 8.0,
                y + 17.0,
                row.label()
            );
            let _ = writeln!(
                s,
                r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}" fill-opacity="0.35"/>"#,
                y + 2.0,
                BAR_W * p99 / max_p99,
                colour(*row)
            );
            let _ = writeln!(
                s,
                r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}"/>"#,
                y + 2.0,
                BAR_W * p50 / max_p99,
                colour(*row)
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}">p50 {p50:.2} · p99 {p99:.2}</text>"#,
                LABEL + BAR_W * p99 / max_p99 + 6.0,
                y + 17.0
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// `site` with nginx's default toward the upstream (HTTP/1.0, `Connection: close`): what the
/// inner hop costs with a TLS handshake per request.
fn without_upstream_keepalive(site: &str) -> String {
    site.replace(
        "        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n",
        "",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_no_keepalive_row_drops_exactly_the_keepalive_lines() {
        let site = stage5_mutual_tls::NGINX_SITE.expect("stage 5 has a site");
        let without = super::without_upstream_keepalive(site);
        assert!(site.contains("proxy_http_version 1.1;"));
        assert!(!without.contains("proxy_http_version") && !without.contains("Connection \"\""));
        assert_eq!(site.lines().count(), without.lines().count() + 2);
    }

    use super::*;

    const WRK: &str = "Running 10s test @ https://127.0.0.1:4443/me
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    1.23ms  30.00ms   80.00%
    Req/Sec     3.12k   200.00     3.50k    70.00%
  Latency Distribution
     50%  812.00us
     75%    5.50ms
     90%    6.20ms
     99%    1.02s
  62345 requests in 10.00s, 20.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   6234.50
Transfer/sec:      2.00MB
";

    #[test]
    fn reads_what_wrk_prints() {
        let wrk = parse_wrk(WRK).unwrap();
        assert_eq!(wrk.rps, 6234.5);
        assert_eq!(wrk.p50_ms, 0.812);
        assert_eq!(wrk.p99_ms, 1020.0);
        assert_eq!(wrk.requests, 62345);
        assert_eq!(wrk.non_2xx_3xx, 5);
        assert_eq!(wrk.socket_errors, 3);
    }

    #[test]
    fn reads_criterion_medians() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":50.0,"upper_bound":52.0},"point_estimate":51.0,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":40.5,"upper_bound":41.5},"point_estimate":41.0,"standard_error":0.2}}"#;
        assert_eq!(
            json_number(json, &["\"median\"", "\"point_estimate\""]),
            Some(41.0)
        );
        assert_eq!(
            json_number(json, &["\"median\"", "\"lower_bound\""]),
            Some(40.5)
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}

//! `cargo xtask lab N`: start a stage, walk through its story, serve it for a browser.

use std::process::ExitCode;

use anstyle::Style;
use anyhow::Context;
use labkit::transcript::paint;
use labkit::{Backend, Lab, LabCerts, LabOptions, walkthrough};

use crate::stages;

#[derive(clap::Args)]
pub struct Args {
    /// The stage: 1 (plain HTTP), 2 (broken proxy), 3 (trust-proxy fix), 4 (secure store),
    /// 5 (trust by identity: mutual TLS to the app).
    /// Runs the finished stage (`crates/stageN-*`), unless `--mine`.
    stage: u8,
    /// Run your workshop code for this stage (`labs/labN-*`) instead of the finished stage.
    #[arg(long)]
    mine: bool,
    /// Exit after the walk-through instead of serving until Ctrl-C (on any free port, unless
    /// `--port` names one).
    #[arg(long)]
    once: bool,
    /// Where nginx runs: `docker`, `native` (the host's nginx), or `auto` (Docker if it answers).
    #[arg(long, default_value = "auto")]
    backend: BackendArg,
    /// The loopback port to serve on (0: any free port) [default: 8443, or 8080 for stage 1,
    /// which has no TLS].
    #[arg(long)]
    port: Option<u16>,
    /// Where stage 4 keeps sessions: `sqlite://FILE`, `redis://HOST:PORT`, or `redis` to start
    /// a Redis container for this run [default: $LAB_SESSION_STORE, else
    /// sqlite://<target dir>/lab-sessions.db].
    #[arg(long)]
    store: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BackendArg {
    Auto,
    Docker,
    Native,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stage = if args.mine {
        let lab = crate::labs::find(args.stage)?;
        println!(
            "Running YOUR code for lab {0} ({1}/); without `--mine`, the finished stage {0} runs.\n",
            args.stage, lab.dir
        );
        stages::exercise(args.stage)?
    } else {
        if crate::labs::find(args.stage).is_ok() {
            println!(
                "Running the finished stage {0} (crates/); your workshop code runs with `cargo xtask lab {0} --mine`.\n",
                args.stage
            );
        } else {
            println!(
                "Running the finished stage {} (crates/); it has no workshop lab yet.\n",
                args.stage
            );
        }
        stages::reference(args.stage)?
    };
    let backend = match args.backend {
        BackendArg::Auto => Backend::detect().await?,
        BackendArg::Docker => Backend::Docker,
        BackendArg::Native => Backend::Native,
    };
    let ca_dir = crate::target_dir().join("lab-ca");
    let (certs, new_ca) =
        LabCerts::persistent(&ca_dir).context("preparing the lab's certificates")?;
    if new_ca {
        println!(
            "A new lab CA was made ({}): valid 90 days, for *.lab.test and loopback only. \
             If your browser trusted an earlier one, trust this one instead.\n",
            ca_dir.join("ca.pem").display()
        );
    }
    let port = match args.port {
        Some(0) => None,
        Some(port) => Some(port),
        // A walk-through that exits serves no browser: it needs no well-known port.
        None if args.once => None,
        None if stage.site.is_none() => Some(8080),
        None => Some(8443),
    };
    let colour = crate::colour();
    // Kept alive until the lab stops.
    let (redis, session_store) = match args
        .store
        .or_else(|| std::env::var("LAB_SESSION_STORE").ok())
    {
        Some(store) if store == "redis" => {
            let redis = labkit::Redis::start()
                .await
                .context("starting Redis for the session store")?;
            let url = redis.url();
            (Some(redis), Some(url))
        }
        Some(other) => (None, Some(other)),
        // Stage 4's default: a file in the real target dir, wherever the command runs from.
        None => (None, Some(default_store())),
    };
    if stage.number >= 4
        && let Some(url) = &session_store
    {
        check_store(url).await?;
    }

    println!(
        "{}",
        paint(
            TITLE,
            &format!("Stage {}: {}", stage.number, stage.title),
            colour
        )
    );
    println!("{}\n", stage.lesson);
    let lab = Lab::start_with(
        &stage,
        LabOptions {
            backend,
            port,
            certs,
            outer_site: None,
            replicas: 1,
            session_store,
            observe_inner_hop: false,
        },
    )
    .await
    .with_context(|| format!("starting stage {}", stage.number))?;
    match lab.edge() {
        Some(edge) => println!(
            "nginx ({:?}) terminates TLS on {}; the app listens only on {}\n",
            edge.backend(),
            lab.origin(),
            lab.app_listen_addrs()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        None => println!("the app answers directly on {}\n", lab.origin()),
    }

    let transcript = lab.transcript().clone();
    let mut show = |step: &walkthrough::Step| {
        print!("{}", walkthrough::render_step(&transcript, step, colour));
    };
    let steps = walkthrough::walk(&lab, &mut show)
        .await
        .context("walking through the story")?;
    println!(
        "{}",
        walkthrough::render_verdict(&steps, stage.number, colour)
    );
    if steps.iter().any(|step| !step.met) {
        print_nginx_tail(&lab);
    }

    let ca = ca_dir.join("ca.pem");
    let port = lab
        .client()
        .origin()
        .rsplit(':')
        .next()
        .unwrap_or("?")
        .to_owned();
    // Plain HTTP (stage 1) has no certificate to trust.
    let trust = if lab.edge().is_some() {
        format!("--cacert {} ", ca.display())
    } else {
        String::new()
    };
    let browser_trust = if lab.edge().is_some() {
        format!(" and trust {} as an authority", ca.display())
    } else {
        String::new()
    };
    println!(
        "\nTry it yourself: {origin}/\n  curl {trust}--resolve {host}:{port}:127.0.0.1 {origin}/me\n  \
         In a browser: map {host} to 127.0.0.1 (/etc/hosts){browser_trust}\n  \
         (not `localhost`: browsers treat it as secure and would hide the lesson)",
        origin = lab.origin(),
        host = labkit::LAB_HOST,
    );
    if args.mine {
        println!(
            "\nThis is your code for lab {0}: `cargo xtask grade {0}` grades it, `cargo xtask hint {0}` helps.",
            stage.number
        );
    }
    if let Some(edge) = lab.front()
        && stage.site.is_some_and(|site| site.contains("listen 80"))
    {
        println!(
            "  Plain HTTP (answered with a redirect to https://) is on port {}",
            edge.http_port()
        );
    }
    if let Some(store) = lab
        .env()
        .session_store
        .as_ref()
        .filter(|_| stage.number >= 4)
    {
        println!("  Sessions are kept in {store}");
    }
    if !args.once {
        println!("\nServing until Ctrl-C.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }
    drop(redis);
    Ok(ExitCode::SUCCESS)
}

/// How many of nginx's last lines to show when the story falls short.
const NGINX_TAIL: usize = 15;

/// The end of what each nginx logged: a TLS refusal or an upstream error is often only there.
fn print_nginx_tail(lab: &Lab) {
    for (i, edge) in lab.edges().iter().enumerate() {
        let logs = edge.logs();
        let lines: Vec<&str> = logs.lines().collect();
        let tail = &lines[lines.len().saturating_sub(NGINX_TAIL)..];
        let which = if i == 0 { "nginx" } else { "the outer nginx" };
        println!("\n--- the last {} lines {which} logged ---", tail.len());
        for line in tail {
            println!("  {line}");
        }
    }
}

const TITLE: Style = Style::new().bold();

/// Stage 4's sessions when nothing names a store: a SQLite file in the target dir.
fn default_store() -> String {
    format!(
        "sqlite://{}",
        crate::target_dir().join("lab-sessions.db").display()
    )
}

/// Reaches the session store once before serving: a store that cannot be used stops the lab
/// here, with what to do, instead of answering every request with 503.
async fn check_store(url: &str) -> anyhow::Result<()> {
    let store = stage4_secure_store::Store::open(url)?;
    store.check().await.map_err(|error| {
        anyhow::anyhow!(
            "the session store {url} cannot be used: {error}\n  \
             Name another with `--store sqlite://PATH` or `--store redis://HOST:PORT` (or \
             LAB_SESSION_STORE), or start a Redis container for this run with `--store redis`."
        )
    })
}

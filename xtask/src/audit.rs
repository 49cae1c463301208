//! `cargo xtask audit https://host[:port]`: the lab's attacks against a deployment you name
//! (the checks live in `crates/lab-audit`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use lab_audit::{Login, Options};

#[derive(clap::Args)]
pub struct Args {
    /// The deployment: https://host[:port]. Only this host is contacted.
    target: String,
    /// Also trust this CA (PEM), beside the system's roots (the lab's: target/lab-ca/ca.pem).
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Connect to this address instead of resolving the host (like curl's --resolve).
    #[arg(long)]
    resolve: Option<std::net::IpAddr>,
    /// The plain-HTTP port to try.
    #[arg(long, default_value_t = 80)]
    http_port: u16,
    /// The session cookie's name (else the first cookie the login or home page sets).
    #[arg(long)]
    cookie: Option<String>,
    /// A login form: its path, then its fields: `--login-form /login username=alice`.
    #[arg(long, num_args = 1.., value_name = "PATH FIELD=VALUE")]
    login_form: Vec<String>,
    /// A page that redirects with an absolute URL (e.g. a members-only page).
    #[arg(long, default_value = "/")]
    redirect: String,
    /// A page that shows the client's address, or who is logged in.
    #[arg(long)]
    echo: Option<String>,
    /// An endpoint whose POST changes state, for the cross-origin check (default: the login).
    #[arg(long)]
    csrf_path: Option<String>,
    /// Text the echo page shows only to a logged-in visitor (default: the login's username).
    #[arg(long)]
    logged_in_text: Option<String>,
    /// Each request's timeout, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print the requests the audit would send, and send none.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON (for CI pipelines).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = args
        .target
        .parse()
        .with_context(|| format!("{} is not a URL", args.target))?;
    let mut options = Options::new(target);
    options.ca = args.cacert;
    options.resolve = args.resolve;
    options.http_port = args.http_port;
    options.cookie = args.cookie;
    options.redirect_path = args.redirect;
    options.echo_path = args.echo;
    options.csrf_path = args.csrf_path;
    options.logged_in_text = args.logged_in_text;
    options.timeout = Duration::from_secs(args.timeout);
    if let Some((path, fields)) = args.login_form.split_first() {
        let fields = fields
            .iter()
            .map(|field| {
                field
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .with_context(|| format!("--login-form: `{field}` is not FIELD=VALUE"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if fields.is_empty() {
            bail!("--login-form needs the form's path and at least one FIELD=VALUE");
        }
        options.login = Some(Login {
            path: path.clone(),
            fields,
        });
    }
    let plan = lab_audit::plan(&options);
    if !args.json {
        println!(
            "The audit sends these requests to {} and nowhere else:",
            options.target
        );
        for line in &plan {
            println!("  {line}");
        }
        println!();
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let report = lab_audit::audit(&options).await?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render(crate::colour()));
    }
    let told_nothing = report
        .findings
        .iter()
        .all(|f| f.verdict == lab_audit::Verdict::CannotTell);
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else if told_nothing {
        // Nothing was checked (an unreachable target, say): not a pass for a pipeline.
        eprintln!("no check could tell anything about {}", options.target);
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

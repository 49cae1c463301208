//! The load: wrk runs against a row's nginx, and what wrk printed, read back.
//!
//! wrk connects to the address the row's child gave ([`Ready::nginx`]: with Docker, nginx's
//! container on the lab's network) and names the app's public host in `Host`, as a browser
//! would. It never resolves `app.lab.test`, and it verifies no certificate.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

use crate::cli::Args;
use crate::row::{Ready, Running};

/// `POST /login` with no cookie, so that every answer starts a new session. After the
/// number of answers given as the script's first argument it writes what it counted to the
/// file named by the second, and ends wrk: `wrk.thread:stop()` would stop the requests but
/// leave wrk asleep until its `-d` is over.
pub const LOGIN_SCRIPT: &str = r#"-- Written by `cargo xtask bench`: every POST /login without a cookie starts a session.
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

/// One wrk run, as wrk reported it.
#[derive(Clone, Debug, Default)]
pub struct Wrk {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub non_2xx_3xx: u64,
    pub socket_errors: u64,
}

/// `https://ADDRESS/path` for wrk: nginx where the row said to reach it.
fn url(ready: &Ready, path: &str) -> String {
    format!("https://{}{path}", ready.nginx)
}

/// The authenticated `GET /me`, for `seconds`.
pub fn wrk_me(args: &Args, lab: &Running, seconds: u64) -> anyhow::Result<Wrk> {
    let output = Command::new("wrk")
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{seconds}s"))
        .args(["--latency", "--timeout", "5s"])
        .arg("-H")
        .arg(format!("Host: {}", lab.ready.host))
        .arg("-H")
        .arg(format!("Cookie: {}", lab.ready.cookie))
        .arg(url(&lab.ready, "/me"))
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
pub fn wrk_logins(lab: &Running, script: &Path, sessions: u32) -> anyhow::Result<(u64, u64)> {
    let counted = script.with_file_name(format!("logins-{}.txt", lab.row.arg()));
    let output = Command::new("wrk")
        .args(["-t1", "-c8", "-d300s", "--timeout", "5s", "-s"])
        .arg(script)
        .arg("-H")
        .arg(format!("Host: {}", lab.ready.host))
        .arg(url(&lab.ready, "/login"))
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
    parse_logins(&text)
}

/// What the login script wrote: `logins DONE failed FAILED`.
fn parse_logins(text: &str) -> anyhow::Result<(u64, u64)> {
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
pub fn parse_wrk(text: &str) -> anyhow::Result<Wrk> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 10s test @ https://10.12.34.2:443/me
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
    fn a_run_with_no_answer_is_an_error() {
        let refused = "Running 5s test @ https://10.12.34.2:443/me\n  0 requests in 5.00s, 0.00B read\n  Socket errors: connect 32, read 0, write 0, timeout 0\nRequests/sec:      0.00\n";
        assert!(parse_wrk(refused).is_err());
    }

    #[test]
    fn reads_wrk_durations() {
        assert_eq!(duration_ms("4.98ms").unwrap(), 4.98);
        assert_eq!(duration_ms("2.00m").unwrap(), 120_000.0);
        assert!(duration_ms("12").is_err());
        assert!(duration_ms("3.00h").is_err());
    }

    #[test]
    fn reads_what_the_login_script_wrote() {
        assert_eq!(parse_logins("logins 10003 failed 0\n").unwrap(), (10003, 0));
        assert!(parse_logins("").is_err());
    }

    #[test]
    fn wrk_connects_where_the_row_said() {
        let ready = Ready {
            https_port: 40123,
            nginx: "10.12.34.2:443".parse().unwrap(),
            host: "app.lab.test:40123".into(),
            redis_port: None,
            redis: None,
            cookie: "__Host-id=abc".into(),
        };
        assert_eq!(url(&ready, "/me"), "https://10.12.34.2:443/me");
    }
}

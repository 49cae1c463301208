//! The checks, in the order the report shows them. Each returns a [`Finding`]; none passes
//! without having seen what it needs to.

use reqwest::Method;

use crate::Options;
use crate::client::{Answer, Http};
use crate::openssl;
use crate::report::{Finding, Verdict};

const TLS_CHAPTER: &str = "book/src/stage-4-hardening.md (the edge), book/src/recipe-nginx.md";
const TRUST_CHAPTER: &str = "book/src/stage-3.md, book/src/trust-proxy.md";
const COOKIE_CHAPTER: &str = "book/src/stage-4-hardening.md";

/// Values only this run sends, so that an echo is unmistakably ours.
struct Canaries {
    host: String,
    port: String,
    forwarded_host: String,
    forwarded_for: String,
    xff: String,
    real_ip: String,
    origin: String,
}

impl Canaries {
    fn new() -> Canaries {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let octet = |k: u32| 1 + (n / 7 + k * 37) % 250;
        Canaries {
            host: format!("xfh-{n}.audit.invalid"),
            // Below the ephemeral range, so that no real port of the lab is mistaken for it.
            port: format!("{}", 10_000 + n % 10_000),
            forwarded_host: format!("fwd-{n}.audit.invalid"),
            forwarded_for: format!("203.0.113.{}", octet(1)),
            xff: format!("198.51.100.{}", octet(2)),
            real_ip: format!("192.0.2.{}", octet(3)),
            origin: format!("https://csrf-{n}.audit.invalid"),
        }
    }

    fn forged(&self) -> Vec<Forged> {
        vec![
            Forged::new(
                "forged-x-forwarded-host",
                "a forged X-Forwarded-Host never reaches an absolute URL",
                "X-Forwarded-Host",
                self.host.clone(),
                vec![self.host.clone()],
                false,
            ),
            Forged::new(
                "forged-x-forwarded-port",
                "a forged X-Forwarded-Port never reaches an absolute URL",
                "X-Forwarded-Port",
                self.port.clone(),
                vec![self.port.clone()],
                false,
            ),
            Forged::new(
                "forged-forwarded",
                "a forged Forwarded (RFC 7239) header is not believed",
                "Forwarded",
                format!(
                    "for={};proto=http;host={}",
                    self.forwarded_for, self.forwarded_host
                ),
                vec![self.forwarded_for.clone(), self.forwarded_host.clone()],
                false,
            ),
            Forged::new(
                "forged-x-forwarded-for",
                "a forged X-Forwarded-For does not become the client's address",
                "X-Forwarded-For",
                self.xff.clone(),
                vec![self.xff.clone()],
                true,
            ),
            Forged::new(
                "forged-x-real-ip",
                "a forged X-Real-IP does not become the client's address",
                "X-Real-IP",
                self.real_ip.clone(),
                vec![self.real_ip.clone()],
                true,
            ),
        ]
    }
}

/// A forged header and where its canary would show.
struct Forged {
    id: &'static str,
    title: &'static str,
    header: &'static str,
    value: String,
    needles: Vec<String>,
    /// Only an echo of the client's address can show this one.
    needs_echo: bool,
}

impl Forged {
    fn new(
        id: &'static str,
        title: &'static str,
        header: &'static str,
        value: String,
        needles: Vec<String>,
        needs_echo: bool,
    ) -> Forged {
        Forged {
            id,
            title,
            header,
            value,
            needles,
            needs_echo,
        }
    }
}

fn finding(
    check: &'static str,
    title: &'static str,
    verdict: Verdict,
    sent: Vec<String>,
    got: String,
    fix: &'static str,
    chapter: &'static str,
) -> Finding {
    Finding {
        check,
        title,
        verdict,
        sent,
        got,
        fix,
        chapter,
    }
}

/// Every request the audit sends, for `--dry-run`.
pub(crate) fn plan(o: &Options) -> Vec<String> {
    let c = Canaries::new();
    let mut lines = vec![
        format!(
            "TLS: `openssl s_client -tls1` and `-tls1_1` to {} (SNI {})",
            o.connect_to(),
            o.host()
        ),
        format!("GET {}", o.url("/")),
        format!(
            "GET {} (a page that does not exist)",
            o.url("/audit-missing-page")
        ),
        format!("GET http://{}:{}/ (plain HTTP)", o.host(), o.http_port),
    ];
    match &o.login {
        Some(login) => lines.push(format!(
            "POST {} with {} (the login form)",
            o.url(&login.path),
            login
                .fields
                .iter()
                .map(|(k, _)| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join("&")
        )),
        None => lines.push(format!("(the session cookie from GET {})", o.url("/"))),
    }
    lines.push(format!("GET {} (baseline)", o.url(&o.redirect_path)));
    if let Some(echo) = &o.echo_path {
        lines.push(format!("GET {} (baseline)", o.url(echo)));
    }
    lines.push(format!(
        "GET {} with X-Forwarded-Proto: (the opposite of the baseline's scheme)",
        o.url(&o.redirect_path)
    ));
    for Forged { header, value, .. } in c.forged() {
        lines.push(format!(
            "GET {} with {header}: {value}",
            o.url(&o.redirect_path)
        ));
        if let Some(echo) = &o.echo_path {
            lines.push(format!("GET {} with {header}: {value}", o.url(echo)));
        }
    }
    match o.csrf_path.as_ref().or(o.login.as_ref().map(|l| &l.path)) {
        Some(path) => lines.push(format!(
            "POST {} with Origin: {} and Sec-Fetch-Site: cross-site",
            o.url(path),
            c.origin
        )),
        None => lines.push("(no cross-origin POST: name an endpoint with --csrf-path)".into()),
    }
    let who = o.echo_path.clone().unwrap_or_else(|| "/".into());
    lines.push("(the canary values above are drawn anew for each run)".into());
    lines.push(format!(
        "GET {} three times: with the session cookie, with its name's first byte percent-encoded, and with its name after a U+00A0",
        o.url(&who)
    ));
    lines
}

pub(crate) async fn run_all(o: &Options, http: &Http) -> Vec<Finding> {
    let c = Canaries::new();
    let mut findings = vec![
        tls_versions(o).await,
        hsts(o, http).await,
        plain_http(o, http).await,
    ];
    let session = session(o, http).await;
    findings.push(cookie_flags(&session));
    let baseline = get(http, o, &o.redirect_path, &[]).await;
    findings.push(absolute_urls(o, &baseline));
    findings.push(forged_proto(o, http, &baseline).await);
    let echo_baseline = match &o.echo_path {
        Some(path) => Some(get(http, o, path, &[]).await),
        None => None,
    };
    for forged in c.forged() {
        findings.push(forged_header(o, http, &baseline, echo_baseline.as_ref(), forged).await);
    }
    findings.push(cross_origin_post(o, http, &c).await);
    findings.push(cookie_name_exact(o, http, &session).await);
    findings
}

async fn get(
    http: &Http,
    o: &Options,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    http.send(Method::GET, &o.url(path), headers, None).await
}

async fn tls_versions(o: &Options) -> Finding {
    const ID: &str = "tls-versions";
    const TITLE: &str = "TLS 1.0 and 1.1 are refused";
    const FIX: &str = "enable only `ssl_protocols TLSv1.2 TLSv1.3;` (RFC 8996)";
    let mut sent = Vec::new();
    let mut spoke = Vec::new();
    for (flag, version) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
        sent.push(format!(
            "openssl s_client {flag} -connect {}",
            o.connect_to()
        ));
        let run = openssl::s_client(
            &o.connect_to(),
            o.host(),
            None,
            &[flag, "-cipher", "DEFAULT@SECLEVEL=0"],
        )
        .await;
        match run {
            Err(missing) => {
                return finding(
                    ID,
                    TITLE,
                    Verdict::CannotTell,
                    sent,
                    missing,
                    FIX,
                    TLS_CHAPTER,
                );
            }
            Ok(run) if !run.offered(version) => {
                return finding(
                    ID,
                    TITLE,
                    Verdict::CannotTell,
                    sent,
                    format!("this openssl did not offer {version}, so the server was not asked"),
                    FIX,
                    TLS_CHAPTER,
                );
            }
            Ok(run) => {
                if let Some((protocol, suite)) = run.negotiated() {
                    spoke.push(format!("{protocol} with {suite}"));
                }
            }
        }
    }
    if spoke.is_empty() {
        finding(
            ID,
            TITLE,
            Verdict::Pass,
            sent,
            "both handshakes were refused".into(),
            FIX,
            TLS_CHAPTER,
        )
    } else {
        finding(
            ID,
            TITLE,
            Verdict::Fail,
            sent,
            format!("the server agreed to {}", spoke.join(" and ")),
            FIX,
            TLS_CHAPTER,
        )
    }
}

/// HSTS with at least six months (Mozilla's minimum), on a page and on an error.
async fn hsts(o: &Options, http: &Http) -> Finding {
    const ID: &str = "hsts";
    const TITLE: &str = "Strict-Transport-Security is sent, on error pages too";
    const FIX: &str = "`add_header Strict-Transport-Security \"max-age=63072000\" always;` (the `always` covers errors)";
    let mut sent = Vec::new();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for path in ["/", "/audit-missing-page"] {
        sent.push(format!("GET {}", o.url(path)));
        match get(http, o, path, &[]).await {
            Err(e) => {
                return finding(ID, TITLE, Verdict::CannotTell, sent, e, FIX, TLS_CHAPTER);
            }
            Ok(answer) => match answer.header("strict-transport-security") {
                None => problems.push(format!("{path} ({}) has none", answer.status)),
                Some(value) => {
                    let max_age = value
                        .split(';')
                        .filter_map(|d| d.trim().strip_prefix("max-age="))
                        .find_map(|v| v.trim_matches('"').parse::<u64>().ok());
                    if max_age.is_none_or(|age| age < 15_768_000) {
                        problems.push(format!("{path}: `{value}` (under six months)"));
                    }
                    seen.push(format!("{path}: `{value}`"));
                }
            },
        }
    }
    if problems.is_empty() {
        finding(
            ID,
            TITLE,
            Verdict::Pass,
            sent,
            seen.join("; "),
            FIX,
            TLS_CHAPTER,
        )
    } else {
        finding(
            ID,
            TITLE,
            Verdict::Fail,
            sent,
            problems.join("; "),
            FIX,
            TLS_CHAPTER,
        )
    }
}

async fn plain_http(o: &Options, http: &Http) -> Finding {
    const ID: &str = "plain-http";
    const TITLE: &str =
        "plain HTTP answers only with a permanent redirect to https://, and no cookie";
    const FIX: &str =
        "`return 308 https://$host$request_uri;` in the port-80 server, and nothing else";
    let url = format!("http://{}:{}/", o.host(), o.http_port);
    let sent = vec![format!("GET {url}")];
    let answer = match http.send(Method::GET, &url, &[], None).await {
        Ok(answer) => answer,
        Err(e) => {
            return finding(
                ID,
                TITLE,
                Verdict::CannotTell,
                sent,
                format!("nothing answered plain HTTP on port {} ({e})", o.http_port),
                FIX,
                TLS_CHAPTER,
            );
        }
    };
    let permanent = matches!(answer.status.as_u16(), 301 | 308);
    let to_https = answer.location().is_some_and(|l| l.starts_with("https://"));
    let verdict = if permanent && to_https && answer.set_cookies().is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    finding(ID, TITLE, verdict, sent, answer.summary(), FIX, TLS_CHAPTER)
}

/// The session cookie the audit will use: name, value, and its `Set-Cookie` line.
struct Session {
    from: String,
    cookie: Option<(String, String, String)>,
}

async fn session(o: &Options, http: &Http) -> Session {
    let (from, answer) = match &o.login {
        Some(login) => (
            format!("POST {}", o.url(&login.path)),
            http.send(Method::POST, &o.url(&login.path), &[], Some(&login.fields))
                .await,
        ),
        None => (format!("GET {}", o.url("/")), get(http, o, "/", &[]).await),
    };
    let cookie = answer.ok().and_then(|answer| {
        answer.set_cookies().into_iter().find_map(|line| {
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            let wanted = o.cookie.as_deref().is_none_or(|w| w == name);
            wanted.then(|| (name.to_owned(), value.trim().to_owned(), line.clone()))
        })
    });
    Session { from, cookie }
}

fn cookie_flags(session: &Session) -> Finding {
    const ID: &str = "cookie-flags";
    const TITLE: &str =
        "the session cookie is __Host- (or __Secure-), Secure, HttpOnly, with SameSite";
    const FIX: &str =
        "name it `__Host-…` with Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain";
    let sent = vec![session.from.clone()];
    let Some((name, _, line)) = &session.cookie else {
        return finding(
            ID,
            TITLE,
            Verdict::CannotTell,
            sent,
            "no session cookie was set: name it with --cookie, or describe the login with --login-form".into(),
            FIX,
            COOKIE_CHAPTER,
        );
    };
    let attributes: Vec<String> = line
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let has = |attr: &str| {
        attributes
            .iter()
            .any(|a| a == attr || a.starts_with(&format!("{attr}=")))
    };
    let mut missing = Vec::new();
    if !(name.starts_with("__Host-") || name.starts_with("__Secure-")) {
        missing.push("a __Host- or __Secure- prefix");
    }
    for (attr, said) in [
        ("secure", "Secure"),
        ("httponly", "HttpOnly"),
        ("samesite", "SameSite"),
    ] {
        if !has(attr) {
            missing.push(said);
        }
    }
    let shown = format!("{name}=…;{}", line.split_once(';').map_or("", |(_, a)| a));
    if missing.is_empty() {
        finding(ID, TITLE, Verdict::Pass, sent, shown, FIX, COOKIE_CHAPTER)
    } else {
        finding(
            ID,
            TITLE,
            Verdict::Fail,
            sent,
            format!("{shown}: lacks {}", missing.join(", ")),
            FIX,
            COOKIE_CHAPTER,
        )
    }
}

/// The absolute URL in `answer`'s `Location`, parsed.
fn absolute_location(answer: &Answer) -> Option<url::Url> {
    answer.location().and_then(|l| url::Url::parse(l).ok())
}

fn absolute_urls(o: &Options, baseline: &Result<Answer, String>) -> Finding {
    const ID: &str = "absolute-urls";
    const TITLE: &str = "absolute URLs say https:// with the public host and port";
    const FIX: &str = "trust exactly the proxy that terminates TLS, so that its X-Forwarded-Proto and -Host count";
    let sent = vec![format!("GET {}", o.url(&o.redirect_path))];
    let answer = match baseline {
        Err(e) => {
            return finding(
                ID,
                TITLE,
                Verdict::CannotTell,
                sent,
                e.clone(),
                FIX,
                TRUST_CHAPTER,
            );
        }
        Ok(answer) => answer,
    };
    let Some(location) = absolute_location(answer) else {
        return finding(
            ID,
            TITLE,
            Verdict::CannotTell,
            sent,
            format!(
                "{}: no absolute Location; name a page that redirects with --redirect",
                answer.summary()
            ),
            FIX,
            TRUST_CHAPTER,
        );
    };
    let right = location.scheme() == "https"
        && location.host_str() == o.target.host_str()
        && location.port_or_known_default() == o.target.port_or_known_default();
    let verdict = if right { Verdict::Pass } else { Verdict::Fail };
    finding(
        ID,
        TITLE,
        verdict,
        sent,
        format!("Location: {location}"),
        FIX,
        TRUST_CHAPTER,
    )
}

async fn forged_proto(o: &Options, http: &Http, baseline: &Result<Answer, String>) -> Finding {
    const ID: &str = "forged-x-forwarded-proto";
    const TITLE: &str = "a forged X-Forwarded-Proto does not change the scheme of absolute URLs";
    const FIX: &str = "the edge sets X-Forwarded-Proto itself (`proxy_set_header X-Forwarded-Proto $scheme;`), and the app trusts only the edge";
    let before = baseline.as_ref().ok().and_then(absolute_location);
    let Some(before) = before else {
        return finding(
            ID,
            TITLE,
            Verdict::CannotTell,
            vec![format!("GET {}", o.url(&o.redirect_path))],
            "the baseline has no absolute Location to compare; name a page that redirects with --redirect".into(),
            FIX,
            TRUST_CHAPTER,
        );
    };
    let forged = if before.scheme() == "https" {
        "http"
    } else {
        "https"
    };
    let sent = vec![format!(
        "GET {} with X-Forwarded-Proto: {forged}",
        o.url(&o.redirect_path)
    )];
    match get(http, o, &o.redirect_path, &[("X-Forwarded-Proto", forged)]).await {
        Err(e) => finding(ID, TITLE, Verdict::CannotTell, sent, e, FIX, TRUST_CHAPTER),
        Ok(answer) => {
            let after = absolute_location(&answer);
            let changed = after
                .as_ref()
                .is_some_and(|a| a.scheme() != before.scheme());
            let got = format!(
                "Location before: {before}; with the forged header: {}",
                after.map_or_else(|| answer.summary(), |a| a.to_string())
            );
            let verdict = if changed {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            finding(ID, TITLE, verdict, sent, got, FIX, TRUST_CHAPTER)
        }
    }
}

async fn forged_header(
    o: &Options,
    http: &Http,
    baseline: &Result<Answer, String>,
    echo_baseline: Option<&Result<Answer, String>>,
    forged: Forged,
) -> Finding {
    let Forged {
        id,
        title,
        header,
        value,
        needles,
        needs_echo,
    } = forged;
    const FIX: &str = "the edge sets or clears every forwarding header (see nginx/clear-forwarding-headers.conf), and the app trusts only the edge and checks hosts against an allow-list";
    let mut sent = vec![format!(
        "GET {} with {header}: {value}",
        o.url(&o.redirect_path)
    )];
    let mut looked = Vec::new();
    let mut found = Vec::new();
    let contains = |text: &str| needles.iter().any(|n| text.contains(n.as_str()));
    let baseline_absolute = baseline.as_ref().ok().and_then(absolute_location).is_some();
    match get(http, o, &o.redirect_path, &[(header, value.as_str())]).await {
        Err(e) => return finding(id, title, Verdict::CannotTell, sent, e, FIX, TRUST_CHAPTER),
        Ok(answer) => {
            if let Some(location) = answer.location() {
                if contains(location) {
                    found.push(format!("Location: {location}"));
                }
                if baseline_absolute {
                    looked.push("Location");
                }
            }
            // Absolute URLs in the body: the canary right after a scheme, or as a host.
            if needles.iter().any(|n| {
                answer.body.contains(&format!("://{n}")) || answer.body.contains(&format!("{n}/"))
            }) {
                found.push(format!(
                    "an absolute URL in the body of {}",
                    o.redirect_path
                ));
            }
        }
    }
    if let (Some(echo), Some(Ok(echo_before))) = (&o.echo_path, echo_baseline) {
        sent.push(format!("GET {} with {header}: {value}", o.url(echo)));
        if let Ok(answer) = get(http, o, echo, &[(header, value.as_str())]).await
            && answer.status.is_success()
        {
            looked.push("the echo page");
            // Only what is new since the baseline counts (a page may echo other things).
            if contains(&answer.body) && !contains(&echo_before.body) {
                found.push(format!("the echo page {echo}"));
            }
        }
    }
    if !found.is_empty() {
        return finding(
            id,
            title,
            Verdict::Fail,
            sent,
            format!("the canary came back in {}", found.join(", ")),
            FIX,
            TRUST_CHAPTER,
        );
    }
    let enough = if needs_echo {
        looked.contains(&"the echo page")
    } else {
        !looked.is_empty()
    };
    if enough {
        finding(
            id,
            title,
            Verdict::Pass,
            sent,
            format!("the canary is nowhere in {}", looked.join(" or ")),
            FIX,
            TRUST_CHAPTER,
        )
    } else {
        finding(
            id,
            title,
            Verdict::CannotTell,
            sent,
            if needs_echo {
                "no page showed the client's address: name one with --echo".into()
            } else {
                "no absolute Location and no echo page to look in: use --redirect and --echo".into()
            },
            FIX,
            TRUST_CHAPTER,
        )
    }
}

async fn cross_origin_post(o: &Options, http: &Http, c: &Canaries) -> Finding {
    const ID: &str = "cross-origin-post";
    const TITLE: &str = "a POST from another origin is refused";
    const FIX: &str = "refuse state-changing requests whose Sec-Fetch-Site is cross-site or whose Origin is not yours, before any session is touched (SameSite is not enough: a sibling subdomain is same-site)";
    let path = o.csrf_path.as_ref().or(o.login.as_ref().map(|l| &l.path));
    let Some(path) = path else {
        return finding(
            ID,
            TITLE,
            Verdict::CannotTell,
            vec![],
            "no endpoint to try: name one with --csrf-path (or describe the login)".into(),
            FIX,
            COOKIE_CHAPTER,
        );
    };
    let fields = o
        .login
        .as_ref()
        .filter(|l| &l.path == path)
        .map(|l| l.fields.clone())
        .unwrap_or_default();
    let sent = vec![format!(
        "POST {} with Origin: {} and Sec-Fetch-Site: cross-site",
        o.url(path),
        c.origin
    )];
    let headers = [
        ("Origin", c.origin.as_str()),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    match http
        .send(Method::POST, &o.url(path), &headers, Some(&fields))
        .await
    {
        Err(e) => finding(ID, TITLE, Verdict::CannotTell, sent, e, FIX, COOKIE_CHAPTER),
        Ok(answer) => {
            let verdict = match answer.status.as_u16() {
                400..=499 => Verdict::Pass,
                500..=599 => Verdict::CannotTell,
                _ => Verdict::Fail,
            };
            finding(
                ID,
                TITLE,
                verdict,
                sent,
                answer.summary(),
                FIX,
                COOKIE_CHAPTER,
            )
        }
    }
}

async fn cookie_name_exact(o: &Options, http: &Http, session: &Session) -> Finding {
    const ID: &str = "cookie-name-exact";
    const TITLE: &str = "only a cookie whose name matches byte for byte is the session";
    const FIX: &str = "find the session cookie by an exact byte match of its name, never a percent-decoded or trimmed one (a sibling subdomain can set `%5F_Host-id`)";
    let who = o.echo_path.clone().unwrap_or_else(|| "/".into());
    let (Some((name, value, _)), Some(marker)) = (&session.cookie, o.marker()) else {
        return finding(
            ID,
            TITLE,
            Verdict::CannotTell,
            vec![],
            "needs a login (--login-form) that sets the session cookie, and text that shows a logged-in visitor".into(),
            FIX,
            COOKIE_CHAPTER,
        );
    };
    let first = name.as_bytes()[0];
    let encoded = format!("%{first:02X}{}", &name[1..]);
    let spaced = format!("\u{a0}{name}");
    let variants = [
        ("the real name", name.clone()),
        ("its first byte percent-encoded", encoded),
        ("a U+00A0 before it", spaced),
    ];
    let mut sent = Vec::new();
    let mut accepted = Vec::new();
    for (i, (what, cookie_name)) in variants.iter().enumerate() {
        sent.push(format!(
            "GET {} with Cookie: {cookie_name}=… ({what})",
            o.url(&who)
        ));
        let cookie = format!("{cookie_name}={value}");
        let answer = match get(http, o, &who, &[("Cookie", &cookie)]).await {
            Ok(answer) => answer,
            Err(e) => return finding(ID, TITLE, Verdict::CannotTell, sent, e, FIX, COOKIE_CHAPTER),
        };
        let logged_in = answer.body.contains(&marker);
        if i == 0 && !logged_in {
            return finding(
                ID,
                TITLE,
                Verdict::CannotTell,
                sent,
                format!(
                    "even with the real cookie, {who} does not show {marker:?}: name a page that does with --echo"
                ),
                FIX,
                COOKIE_CHAPTER,
            );
        }
        if i > 0 && logged_in {
            accepted.push(*what);
        }
    }
    if accepted.is_empty() {
        finding(
            ID,
            TITLE,
            Verdict::Pass,
            sent,
            "only the real name logged in".into(),
            FIX,
            COOKIE_CHAPTER,
        )
    } else {
        finding(
            ID,
            TITLE,
            Verdict::Fail,
            sent,
            format!("logged in with {}", accepted.join(" and ")),
            FIX,
            COOKIE_CHAPTER,
        )
    }
}

//! The lab's story, told the same way for every stage: what a user does, and what this stage
//! is meant to do in return. Stage 2 is meant to lose the session (that is its lesson), so its
//! expectations say so; a ✘ always means "not what this stage should do". `cargo xtask lab N`
//! runs it; every finished stage meets all of its expectations. Stage 4's story adds the
//! attacks its hardening stops.

use anstyle::{AnsiColor, Style};
use lab_app::Me;
use reqwest::Method;

use crate::client::{Exchange, LabClient};
use crate::error::Result;
use crate::lab::Lab;
use crate::transcript::{Transcript, paint};

/// One expectation, checked.
#[derive(Clone, Debug)]
pub struct Step {
    /// What a correct deployment does.
    pub expectation: &'static str,
    /// Whether this stage does it.
    pub met: bool,
    /// What was observed instead, or as proof.
    pub observed: String,
    /// The transcript entries this step produced: `start..end`.
    pub transcript: std::ops::Range<usize>,
}

/// Walks through the story on `lab`, calling `on_step` as each expectation is checked (so
/// that what the app logs meanwhile shows up in order), and returns them all.
///
/// A step whose request fails (an app that answers 500, say: a workshop lab half done) ends
/// the story there, as one more unmet expectation saying what went wrong.
pub async fn walk(lab: &Lab, on_step: &mut dyn FnMut(&Step)) -> Result<Vec<Step>> {
    let mut story = Story {
        lab,
        steps: Vec::new(),
        on_step,
    };
    if let Err(error) = tell(&mut story).await {
        let mark = story.mark();
        story.check(
            Expect {
                does: "the app answers every step of the story",
                does_not: "",
                stages: ALL,
            },
            false,
            crate::client::error_chain(&error),
            mark,
        );
    }
    Ok(story.steps)
}

async fn tell(story: &mut Story<'_>) -> Result<()> {
    let lab = story.lab;
    let client = lab.client();
    let proxies: Vec<_> = lab
        .edges()
        .iter()
        .map(|edge| edge.address_seen_by_app())
        .collect();
    let you = lab.client_address();

    let mark = story.mark();
    let login = client.log_in("alice").await?;
    // Whatever its name: `id` in stages 1-3, `__Host-id` in stage 4.
    let cookie = login.set_cookies().into_iter().next();
    story.check(
        Expect {
            does: "logging in sets a session cookie",
            does_not: "logging in sets no session cookie: the app believes it is on plain HTTP and withholds its Secure cookie",
            stages: ALL_BUT_2,
        },
        cookie.is_some(),
        match &cookie {
            Some(c) => format!("Set-Cookie: {c}"),
            None => format!("{} with no session cookie", login.status),
        },
        mark,
    );

    let mark = story.mark();
    let me = client.me().await?;
    story.check(
        Expect {
            does: "the next request knows who you are",
            does_not: "the next request does not know you: the session is lost, as the recipe's setup loses it",
            stages: ALL_BUT_2,
        },
        me.user.as_deref() == Some("alice"),
        format!("/me says user = {:?}", me.user),
        mark,
    );

    let mark = story.mark();
    client.count().await?;
    let second = client.count().await?;
    story.check(
        Expect {
            does: "the session keeps counting (1, 2, ...)",
            does_not: "the count starts again at 1: every request gets a new session",
            stages: ALL_BUT_2,
        },
        second == 2,
        format!("the second count answered {second}"),
        mark,
    );

    let mark = story.mark();
    let secure = cookie.as_ref().and_then(|c| c.secure()).unwrap_or(false);
    story.check(
        Expect {
            does: "the session cookie is marked Secure (never sent over plain HTTP)",
            does_not: "no Secure session cookie reaches the browser (stage 1: there is no HTTPS \
                       for it; stage 2: the app withholds it)",
            stages: FROM_3,
        },
        secure,
        match &cookie {
            Some(c) if secure => format!("{} has Secure", c.name()),
            Some(c) => format!(
                "{} lacks Secure: it travels in cleartext over http://",
                c.name()
            ),
            None => "there was no cookie at all".into(),
        },
        mark,
    );
    story.check(
        Expect {
            does: "the app sees the request as HTTPS",
            does_not: "the app sees the request as plain HTTP (stage 1: it is; stage 2: it does \
                       not believe nginx's X-Forwarded-Proto)",
            stages: FROM_3,
        },
        me.scheme == "https",
        format!("/me says scheme = {}", me.scheme),
        mark,
    );
    story.check(
        Expect {
            does: "the app sees your address, not a proxy's",
            does_not: "the app sees nginx's address, not yours",
            stages: ALL_BUT_2,
        },
        me.client_ip == Some(you),
        match me.client_ip {
            Some(ip) if proxies.contains(&ip) => {
                format!("/me says {ip}: that is nginx, not you ({you})")
            }
            Some(ip) => format!("/me says {ip}; nginx sees you as {you}"),
            None => "/me says the client is unknown".to_owned(),
        },
        mark,
    );

    let mark = story.mark();
    let (answered, observed) = match follow_redirects(client, "/account", 5).await {
        Ok(hops) => {
            let last = hops.last().expect("at least one exchange");
            let observed = if last.status.is_redirection() {
                let to = last.location().unwrap_or("?");
                format!("still redirecting after {} requests: {to}", hops.len())
            } else {
                format!("{} after {} request(s)", last.status, hops.len())
            };
            (last.status.is_success(), observed)
        }
        // Stage 1 redirects to https:// on a port that only speaks HTTP.
        Err(error) => (
            false,
            format!("the redirect could not be followed: {error}"),
        ),
    };
    story.check(
        Expect {
            does: "the HTTPS-only page answers, without a redirect loop",
            does_not: "the HTTPS-only page cannot be reached (stage 1: there is no HTTPS; \
                       stage 2: it redirects to itself, in a loop)",
            stages: FROM_3,
        },
        answered,
        observed,
        mark,
    );

    let mark = story.mark();
    let anonymous = lab.new_client()?;
    let private = anonymous.get("/private").await?;
    let location = private.location().unwrap_or("");
    story.check(
        Expect {
            does: "absolute URLs point back where you are",
            does_not: "absolute URLs point to http://, not where you are",
            stages: ALL_BUT_2,
        },
        location.starts_with(&format!("{}/", lab.origin())),
        format!("Location: {location} (you are on {})", lab.origin()),
        mark,
    );

    let mark = story.mark();
    let before = client.me().await?;
    client.log_out().await?;
    let after = client.me().await?;
    story.check(
        Expect {
            does: "logging out ends the session",
            does_not: "there is no session for logging out to end",
            stages: ALL_BUT_2,
        },
        before.user.is_some() && after.user.is_none(),
        match before.user {
            None => "there was no session to end: you were never logged in".to_owned(),
            Some(_) => format!("/me after logout says user = {:?}", after.user),
        },
        mark,
    );

    // Forgery: what an attacker sends must not be believed.
    let mark = story.mark();
    let forged = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", FORGED_IP),
    ];
    let direct = lab.direct_client()?;
    let (believed, observed) = match me_with(&direct, &forged).await {
        Ok(seen) => (
            seen.scheme != "http" || seen.client_ip == FORGED_IP.parse().ok(),
            format!(
                "/me says scheme = {}, client_ip = {:?}",
                seen.scheme, seen.client_ip
            ),
        ),
        // Stage 5's app speaks only mutual TLS: a plain request never gets an answer.
        Err(error) if lab.internal_ca().is_some() => (
            false,
            format!(
                "the app refused the plain connection: {}",
                crate::client::error_chain(&error)
            ),
        ),
        Err(error) => return Err(error),
    };
    story.check(
        Expect {
            does: "a forged X-Forwarded-Proto/-For sent straight to the app is not believed",
            does_not: "",
            stages: ALL,
        },
        !believed,
        observed,
        mark,
    );

    let mark = story.mark();
    let seen = me_with(client, &forged[1..]).await?;
    story.check(
        Expect {
            does: "a forged X-Forwarded-For sent through the proxy is not believed",
            does_not: "",
            stages: ALL,
        },
        seen.client_ip != FORGED_IP.parse().ok(),
        format!(
            "/me says client_ip = {:?} (forged: {FORGED_IP})",
            seen.client_ip
        ),
        mark,
    );

    if story.stage() >= 4 {
        harden(story).await?;
    }
    Ok(())
}

/// Stage 4's hardening, probed the way an attacker would.
async fn harden(story: &mut Story<'_>) -> Result<()> {
    let lab = story.lab;
    const FROM_4: &[u8] = &[4];

    let mark = story.mark();
    let visitor = lab.new_client()?;
    let counted = visitor.post_form("/count", &[]).await?;
    let before = counted.set_cookies().first().map(|c| c.value().to_owned());
    let login = visitor.log_in("alice").await?;
    let cookie = login.set_cookies().into_iter().next();
    let attributes = cookie.as_ref().map(|c| {
        (
            c.name().to_owned(),
            c.http_only() == Some(true),
            c.same_site() == Some(cookie::SameSite::Lax),
            c.path() == Some("/") && c.domain().is_none(),
        )
    });
    story.check(
        Expect {
            does: "the session cookie is `__Host-id`: HttpOnly, SameSite=Lax, no Domain, Path=/",
            does_not: "",
            stages: FROM_4,
        },
        attributes
            .as_ref()
            .is_some_and(|(name, http_only, lax, host)| {
                name == "__Host-id" && *http_only && *lax && *host
            }),
        match &cookie {
            Some(c) => format!("Set-Cookie: {c}"),
            None => "logging in set no cookie".into(),
        },
        mark,
    );
    let after = cookie.as_ref().map(|c| c.value().to_owned());
    story.check(
        Expect {
            does: "logging in gives a new session id (a planted id stays anonymous)",
            does_not: "",
            stages: FROM_4,
        },
        before.is_some() && after.is_some() && before != after,
        match (&before, &after) {
            (None, _) => "counting before login set no cookie to compare".to_owned(),
            (Some(_), None) => "logging in set no new cookie: the id was kept".to_owned(),
            (Some(b), Some(a)) if a == b => "the id is the same before and after login".to_owned(),
            _ => "the id changed at login".to_owned(),
        },
        mark,
    );

    let mark = story.mark();
    let mallory = lab.new_client()?;
    let request = mallory
        .request(Method::POST, "/login")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "mallory")]);
    let forged_login = mallory.send(request).await?;
    story.check(
        Expect {
            does: "a login form posted from another site is refused (login CSRF)",
            does_not: "",
            stages: FROM_4,
        },
        forged_login.status.as_u16() == 403,
        format!(
            "{} ({} session cookie)",
            forged_login.status,
            if forged_login.set_cookies().is_empty() {
                "no"
            } else {
                "a"
            }
        ),
        mark,
    );

    let mark = story.mark();
    let alice = story.lab.new_client()?;
    let logged_in = alice.log_in("alice").await?;
    let stolen = logged_in
        .set_cookies()
        .first()
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let sibling = lab.new_client()?;
    let request = sibling
        .request(Method::GET, "/me")
        .header("cookie", format!("%5F_Host-id={stolen}"));
    let seen: Me = sibling.send(request).await?.json()?;
    story.check(
        Expect {
            does: "a cookie named `%5F_Host-id` (which a sibling subdomain can set) is not taken for the session",
            does_not: "",
            stages: FROM_4,
        },
        seen.user.is_none(),
        format!("/me with `Cookie: %5F_Host-id=<alice's id>` says user = {:?}", seen.user),
        mark,
    );
    Ok(())
}

/// What a step checks, worded for the stages meant to do it and for those that, by design,
/// do not: stage 2 loses the session because that is its lesson, so a ✘ there would say
/// "broken" about a stage that works as intended.
struct Expect {
    does: &'static str,
    does_not: &'static str,
    /// The stages meant to do it (stages after 4 count as 4).
    stages: &'static [u8],
}

const ALL: &[u8] = &[1, 2, 3, 4];
const ALL_BUT_2: &[u8] = &[1, 3, 4];
const FROM_3: &[u8] = &[3, 4];

const TITLE: Style = Style::new().bold();
const MET: Style = AnsiColor::Green.on_default().bold();
const UNMET: Style = AnsiColor::Red.on_default().bold();

/// One checked step as `cargo xtask lab` prints it: the exchanges it made, ✔ or ✘ with the
/// expectation, and what was observed.
pub fn render_step(transcript: &Transcript, step: &Step, colour: bool) -> String {
    let (mark, style) = if step.met {
        ("✔", MET)
    } else {
        ("✘", UNMET)
    };
    format!(
        "{}{} {}\n    {}\n\n",
        transcript.render_from_range(step.transcript.clone(), colour),
        paint(style, mark, colour),
        paint(style, step.expectation, colour),
        step.observed
    )
}

/// The story's last line: how many of `stage`'s expectations were met.
pub fn render_verdict(steps: &[Step], stage: u8, colour: bool) -> String {
    let met = steps.iter().filter(|step| step.met).count();
    paint(
        TITLE,
        &format!(
            "{met} of {} expectations of stage {stage} met.",
            steps.len()
        ),
        colour,
    )
}

/// The whole story as `cargo xtask lab N` prints it (without colour): every step, then the
/// verdict. The book shows this, made by the stages' walk-through tests.
pub fn render(lab: &Lab, steps: &[Step]) -> String {
    let mut out: String = steps
        .iter()
        .map(|step| render_step(lab.transcript(), step, false))
        .collect();
    out.push_str(&render_verdict(steps, lab.stage().number, false));
    out.push('\n');
    out
}

/// The walk-through on `lab` as the book shows it, or `None` where the book's copy cannot be
/// compared (see [`crate::redact::for_the_book`]). Each stage's `tests/book.rs` compares it
/// with `book/src/generated/walkthroughs/`.
pub async fn for_the_book(lab: &Lab) -> Result<Option<String>> {
    let steps = walk(lab, &mut |_| {}).await?;
    Ok(crate::redact::for_the_book(lab, &render(lab, &steps)))
}

/// Walks through the story on `lab` quietly and returns each unmet expectation with what was
/// observed instead: what a stage's "meets every expectation" claim asserts is empty.
pub async fn unmet(lab: &Lab) -> Result<Vec<String>> {
    Ok(walk(lab, &mut |_| {})
        .await?
        .into_iter()
        .filter(|s| !s.met)
        .map(|s| format!("{} ({})", s.expectation, s.observed))
        .collect())
}

/// An address from the documentation range (RFC 5737): what a forger claims to be.
pub const FORGED_IP: &str = "203.0.113.66";

/// `GET /me` with extra request headers.
pub async fn me_with(client: &LabClient, headers: &[(&str, &str)]) -> Result<Me> {
    let mut request = client.request(Method::GET, "/me");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    client.send(request).await?.json()
}

/// Requests `path` and follows up to `max` redirects by hand, like a browser, stopping early
/// when a redirect points at a URL already visited (a loop).
pub async fn follow_redirects(client: &LabClient, path: &str, max: usize) -> Result<Vec<Exchange>> {
    let mut hops = vec![client.get(path).await?];
    while hops.len() <= max {
        let last = hops.last().expect("not empty");
        let Some(next) = last.location().filter(|_| last.status.is_redirection()) else {
            break;
        };
        let next = client.url(next);
        let looped = hops.iter().any(|hop| hop.url == next);
        hops.push(client.get(&next).await?);
        if looped {
            break;
        }
    }
    Ok(hops)
}

struct Story<'a> {
    lab: &'a Lab,
    steps: Vec<Step>,
    on_step: &'a mut dyn FnMut(&Step),
}

impl Story<'_> {
    fn mark(&self) -> usize {
        self.lab.transcript().len()
    }

    /// The stage, as the story knows it: stages after 4 keep 4's hardening.
    fn stage(&self) -> u8 {
        self.lab.stage().number.min(4)
    }

    fn check(&mut self, expect: Expect, does: bool, observed: String, start: usize) {
        let transcript = start..self.lab.transcript().len();
        let intended = expect.stages.contains(&self.stage());
        let step = Step {
            expectation: if intended {
                expect.does
            } else {
                expect.does_not
            },
            met: does == intended,
            observed,
            transcript,
        };
        (self.on_step)(&step);
        self.steps.push(step);
    }
}

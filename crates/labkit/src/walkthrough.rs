//! The lab's story, told the same way for every stage: what a user does, and what a correctly
//! deployed app should do in return. `cargo xtask lab N` runs it and marks each expectation as
//! met or not; stage 2 fails most of them, stage 3 meets them all.

use lab_app::Me;
use reqwest::Method;

use crate::client::{Exchange, LabClient};
use crate::error::Result;
use crate::lab::Lab;

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
            "the app answers every step of the story",
            false,
            error.to_string(),
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
        "logging in sets a session cookie",
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
        "the next request knows who you are",
        me.user.as_deref() == Some("alice"),
        format!("/me says user = {:?}", me.user),
        mark,
    );

    let mark = story.mark();
    client.count().await?;
    let second = client.count().await?;
    story.check(
        "the session keeps counting (1, 2, ...)",
        second == 2,
        format!("the second count answered {second}"),
        mark,
    );

    let mark = story.mark();
    let secure = cookie.as_ref().and_then(|c| c.secure()).unwrap_or(false);
    story.check(
        "the session cookie is marked Secure (never sent over plain HTTP)",
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
        "the app sees the request as HTTPS",
        me.scheme == "https",
        format!("/me says scheme = {}", me.scheme),
        mark,
    );
    story.check(
        "the app sees your address, not a proxy's",
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
    let (met, observed) = match follow_redirects(client, "/account", 5).await {
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
        "the HTTPS-only page answers, without a redirect loop",
        met,
        observed,
        mark,
    );

    let mark = story.mark();
    let anonymous = lab.new_client()?;
    let private = anonymous.get("/private").await?;
    let location = private.location().unwrap_or("");
    story.check(
        "absolute URLs point back where you are",
        location.starts_with(&format!("{}/", lab.origin())),
        format!("Location: {location} (you are on {})", lab.origin()),
        mark,
    );

    let mark = story.mark();
    let before = client.me().await?;
    client.log_out().await?;
    let after = client.me().await?;
    story.check(
        "logging out ends the session",
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
    let seen = me_with(&direct, &forged).await?;
    story.check(
        "a forged X-Forwarded-Proto/-For sent straight to the app is not believed",
        seen.scheme == "http" && seen.client_ip != FORGED_IP.parse().ok(),
        format!(
            "/me says scheme = {}, client_ip = {:?}",
            seen.scheme, seen.client_ip
        ),
        mark,
    );

    let mark = story.mark();
    let seen = me_with(client, &forged[1..]).await?;
    story.check(
        "a forged X-Forwarded-For sent through the proxy is not believed",
        seen.client_ip != FORGED_IP.parse().ok(),
        format!(
            "/me says client_ip = {:?} (forged: {FORGED_IP})",
            seen.client_ip
        ),
        mark,
    );
    Ok(())
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

    fn check(&mut self, expectation: &'static str, met: bool, observed: String, start: usize) {
        let transcript = start..self.lab.transcript().len();
        let step = Step {
            expectation,
            met,
            observed,
            transcript,
        };
        (self.on_step)(&step);
        self.steps.push(step);
    }
}

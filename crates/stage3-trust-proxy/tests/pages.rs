//! What stage 3's pages do in a browser, through the real nginx: the panel shows nginx trusted
//! and the cookie set without its value; Count and Log out come back to a page (post/redirect/
//! get) while API clients keep JSON; and `?next=` never leads off the site.

use labkit::reqwest::Method;
use labkit::reqwest::Url;
use labkit::{Lab, Result};

async fn start() -> Result<Lab> {
    Lab::start(&labkit::stage!(stage3_trust_proxy)).await
}

#[tokio::test]
async fn the_panel_shows_nginx_trusted_and_the_cookie_set_without_its_value() -> Result<()> {
    let lab = start().await?;
    let welcome = lab
        .client()
        .post_page("/login", &[("username", "alice")])
        .await?;
    let id = welcome
        .set_cookies()
        .into_iter()
        .find(|c| c.name() == "id")
        .unwrap_or_else(|| panic!("stage 3 sets its session cookie{}", lab.report()));
    let page = &welcome.body;
    for (needle, why) in [
        ("Stage 3: ", "the stage"),
        ("<strong>trusted</strong>", "that the app trusts nginx"),
        ("scheme <code>https</code>", "what the app concluded"),
        (
            "<strong>set</strong> by this answer: <code>id=…;",
            "the cookie, set",
        ),
    ] {
        assert!(
            page.contains(needle),
            "the welcome page should show {why} ({needle:?}); it says:\n{page}{}",
            lab.report()
        );
    }
    assert!(
        !page.contains(id.value()),
        "the panel must never show the session id{}",
        lab.report()
    );
    assert!(
        !page.contains(r#"class="alert""#),
        "nothing was withheld: no warning{}",
        lab.report()
    );
    Ok(())
}

#[tokio::test]
async fn count_and_logout_come_back_to_the_home_page_in_a_browser() -> Result<()> {
    let lab = start().await?;
    let browser = lab.client();
    browser.log_in("alice").await?;
    for path in ["/count", "/logout"] {
        let answer = browser.post_page(path, &[]).await?;
        assert_eq!(
            (answer.status.as_u16(), answer.location()),
            (303, Some("/")),
            "a browser's POST {path} should be answered with 303 See Other to the home page{}",
            lab.report()
        );
    }
    // An API client keeps the JSON.
    let counted = browser.post_form("/count", &[]).await?;
    assert!(
        counted.body.contains("\"counter\""),
        "without Accept: text/html, /count answers JSON{}",
        lab.report()
    );
    Ok(())
}

/// Login's `next`, as an attacker would write it (raw form bodies, so that the encoded
/// variants reach the app exactly as sent), and where each one ends.
#[tokio::test]
async fn login_follows_next_only_to_a_path_on_this_site() -> Result<()> {
    let lab = start().await?;
    let origin = Url::parse(lab.origin()).expect("the lab's origin");
    let attempts = [
        ("next=%2Fprivate", Some("/private")),
        ("next=%2F%2Fevil.example", None),
        ("next=https%3A%2F%2Fevil.example", None),
        ("next=%2F%5Cevil.example", None),
        ("next=%2F%09%2Fevil.example", None),
        ("next=%252F%252Fevil.example", None),
        ("next=%5C%5Cevil.example", None),
        ("next=https%3Aevil.example", None),
        ("next=%2F%2F%2Fevil.example", None),
        ("next=javascript%3Aalert(1)", None),
    ];
    let mut seen = Vec::new();
    for (next, expected) in attempts {
        let client = lab.new_client()?;
        let request = client
            .request(Method::POST, "/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username=alice&{next}"));
        let answer = client.send(request).await?;
        let location = answer.location().map(str::to_owned);
        if let Some(location) = &location {
            let resolved = origin.join(location).expect("a URL a browser would follow");
            assert_eq!(
                (resolved.host_str(), resolved.port()),
                (origin.host_str(), origin.port()),
                "{next} sent the browser off the site, to {resolved}{}",
                lab.report()
            );
        }
        assert_eq!(
            location.as_deref(),
            expected,
            "after login with {next}, Location should be {expected:?}{}",
            lab.report()
        );
        seen.push(format!("{next:<36} -> {} {location:?}", answer.status));
    }
    println!("{}", seen.join("\n"));
    Ok(())
}

/// The panel writes what a client chose (a forwarded header, a `next` path) into the page:
/// Mallory's markup must come out as text, never as markup.
#[tokio::test]
async fn what_a_client_chose_is_shown_as_text_never_as_markup() -> Result<()> {
    let lab = start().await?;
    let script = "<script>alert(1)</script>";
    // Around nginx, where nothing clears the header.
    let direct = lab.direct_client()?;
    let request = direct
        .request(Method::GET, "/")
        .header("accept", "text/html")
        .header("x-forwarded-prefix", script);
    let home = direct.send(request).await?;
    assert!(
        home.body
            .contains("x-forwarded-prefix: &lt;script&gt;alert(1)&lt;/script&gt;")
            && !home.body.contains(script),
        "the forged header should be shown, escaped; the page says:\n{}{}",
        home.body,
        lab.report()
    );
    let login = lab
        .client()
        .get_page("/login?next=/%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
        .await?;
    assert!(
        !login.body.contains(script) && login.body.contains("&quot;&gt;&lt;script&gt;"),
        "the next path should be kept, escaped, in the form; the page says:\n{}{}",
        login.body,
        lab.report()
    );
    Ok(())
}

//! The book's "Try the attack" part for stage 2: the real `curl` through the real nginx, with
//! forged forwarding headers, first through stage 2's nginx (the recipe's), then through stage
//! 3's, in front of the same app. What curl printed is compared with the copy the book includes
//! (`book/src/generated/attacks/`); after a deliberate change, regenerate the copies with
//! `UPDATE_EXPECT=1 cargo test -p stage2-broken-proxy try_the_attack`.

use expect_test::{ExpectFile, expect_file};
use labkit::curl::{Curl, CurlRun, Target};
use labkit::walkthrough::FORGED_IP;
use labkit::{Lab, Me, Result, Stage};

use crate::stage_under_test;

fn stage() -> Stage {
    labkit::stage!(stage_under_test)
}

/// Compares `run` with the book's copy. The copies are made with nginx in Docker; with the
/// native backend only the claims are checked.
fn matches_the_book(lab: &Lab, run: &CurlRun, copy: ExpectFile) {
    if labkit::redact::comparable_with_the_book(lab) {
        copy.assert_eq(&run.transcript());
    } else {
        eprintln!("native nginx: the book's copy (Docker addresses) is not compared");
    }
}

fn forged_headers() -> Curl {
    Curl::new(Target::Nginx, "/me")
        .header(&format!("X-Forwarded-For: {FORGED_IP}"))
        .header("X-Forwarded-Host: evil.example")
        .header("X-Forwarded-Port: 6666")
}

/// The recipe's nginx appends the client's X-Forwarded-For and passes on the X-Forwarded-Host
/// and -Port it does not set: all three forgeries reach the app. Stage 2's app believes no
/// proxy, so nothing comes of them yet; an app that starts trusting this nginx would read
/// them. Stage 3's nginx, in front of the same app, overwrites or clears each one.
#[tokio::test]
async fn the_recipes_nginx_passes_forged_forwarding_headers_on_to_the_app() -> Result<()> {
    let recipe = Lab::start(&stage()).await?;
    let run = forged_headers().run(&recipe).await;
    let seen: Me = run.json();
    let you = recipe.client_address();
    let received = |name: &str| seen.forwarding_headers.get(name).cloned();
    let expected_xff = format!("{FORGED_IP}, {you}");
    assert!(
        received("x-forwarded-for").as_deref() == Some(expected_xff.as_str())
            && received("x-forwarded-host").as_deref() == Some("evil.example")
            && received("x-forwarded-port").as_deref() == Some("6666"),
        "the recipe's nginx should pass all three forgeries on (X-Forwarded-For \
         `{expected_xff}`, X-Forwarded-Host `evil.example`, X-Forwarded-Port `6666`); the app \
         received {:?}:\n{}{}",
        seen.forwarding_headers,
        run.transcript(),
        recipe.report()
    );
    matches_the_book(
        &recipe,
        &run,
        expect_file!["../../../book/src/generated/attacks/recipe-edge-forwards-forgeries.txt"],
    );
    drop(recipe);

    let overwriting = Lab::start(&Stage {
        site: Some(include_str!("../../../nginx/stage3.conf")),
        ..stage()
    })
    .await?;
    let run = forged_headers().run(&overwriting).await;
    let seen: Me = run.json();
    let leaked: Vec<String> = seen
        .forwarding_headers
        .iter()
        .filter(|(_, value)| {
            value.contains(FORGED_IP) || value.contains("evil.example") || value.contains("6666")
        })
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    assert!(
        leaked.is_empty(),
        "stage 3's nginx should overwrite or clear every forged header; these reached the app: \
         {leaked:?}\n{}{}",
        run.transcript(),
        overwriting.report()
    );
    matches_the_book(
        &overwriting,
        &run,
        expect_file![
            "../../../book/src/generated/attacks/recipe-edge-forwards-forgeries-fixed.txt"
        ],
    );
    Ok(())
}

//! The book's opening demos for stage 4: what goes wrong without a chapter's lesson, shown with
//! the real `curl` through the real nginx, then the same with stage 4. Each test checks the claim
//! itself and compares what curl printed with the copy the book includes
//! (`book/src/generated/demos/`). After a deliberate change, regenerate the copies with
//! `UPDATE_EXPECT=1 cargo test -p stage4-secure-store demos`.

use expect_test::expect_file;
use labkit::curl::{Curl, Target};
use labkit::{Lab, Me, Result};

use crate::common::{COOKIE, session_id, sqlite_url, start_on};
use crate::try_the_attack::transcript_matches_the_book;

/// What the transcript shows between the two runs of the same command.
const RESTART: &str = "# The app stops and starts again; nginx keeps running.";

/// The same `GET /me`, before and after the app restarts.
struct AcrossARestart {
    /// Both runs, as the book shows them.
    transcript: String,
    before: Me,
    after: Me,
    /// The cookies the answer after the restart set.
    after_cookies: Vec<String>,
}

/// Alice logs in and counts once. `GET /me` with her cookie, the app restarts (nginx does
/// not), and the same `GET /me` again.
async fn me_across_a_restart(lab: &mut Lab) -> Result<AcrossARestart> {
    let login = lab.client().log_in("alice").await?;
    let alice =
        session_id(&login).unwrap_or_else(|| panic!("alice should get a session{}", lab.report()));
    lab.client().count().await?;
    let me = || {
        Curl::new(Target::Nginx, "/me")
            .header(&format!("Cookie: {COOKIE}={alice}"))
            .redact(&alice, "<alice-id>")
    };
    let before = me().run(lab).await;
    lab.restart_app().await?;
    let after = me().run(lab).await;
    let transcript = format!(
        "{}\n{RESTART}\n\n{}",
        before.transcript(),
        after.transcript()
    );
    Ok(AcrossARestart {
        transcript,
        before: before.json(),
        after: after.json(),
        after_cookies: after.headers("set-cookie"),
    })
}

/// Whether one of `cookies` deletes the session cookie.
fn deletes_the_cookie(cookies: &[String]) -> bool {
    cookies
        .iter()
        .any(|cookie| cookie.starts_with(&format!("{COOKIE}=;")) && cookie.contains("Max-Age=0"))
}

/// The memory store, the one stages 1 to 3 use, lives in the app's process: a restart (a
/// deploy, a crash) forgets every session, and the same cookie is anonymous. Stage 4's SQLite
/// file keeps it. Both runs are stage 4's app; only the store URL differs.
#[tokio::test]
async fn a_restart_logs_everyone_out_with_the_memory_store_not_with_sqlite() -> Result<()> {
    let mut memory = start_on("memory://", 1).await?;
    let AcrossARestart {
        transcript,
        before,
        after,
        after_cookies,
    } = me_across_a_restart(&mut memory).await?;
    assert_eq!(
        (before.user.as_deref(), before.counter),
        (Some("alice"), 1),
        "before the restart, alice's cookie should be her session:\n{transcript}{}",
        memory.report()
    );
    assert_eq!(
        (after.user.as_deref(), after.counter),
        (None, 0),
        "after the restart, the memory store should have forgotten alice: the same cookie \
         should be anonymous with a count of 0:\n{transcript}{}",
        memory.report()
    );
    assert!(
        deletes_the_cookie(&after_cookies),
        "after the restart, the answer should delete alice's cookie (`{COOKIE}=` with \
         `Max-Age=0`), since its id names no session; it set {after_cookies:?}:\n{transcript}{}",
        memory.report()
    );
    transcript_matches_the_book(
        &memory,
        &transcript,
        expect_file!["../../../book/src/generated/demos/app-restart.txt"],
    );
    drop(memory);

    let (_dir, url) = sqlite_url();
    let mut sqlite = start_on(&url, 1).await?;
    let AcrossARestart {
        transcript,
        before,
        after,
        ..
    } = me_across_a_restart(&mut sqlite).await?;
    for (when, me) in [("before", &before), ("after", &after)] {
        assert_eq!(
            (me.user.as_deref(), me.counter),
            (Some("alice"), 1),
            "{when} the restart, stage 4's SQLite store should hold alice's session and her \
             count:\n{transcript}{}",
            sqlite.report()
        );
    }
    transcript_matches_the_book(
        &sqlite,
        &transcript,
        expect_file!["../../../book/src/generated/demos/app-restart-fixed.txt"],
    );
    Ok(())
}

//! Each check fails on a planted fault in a tiny book, passes on a clean one, and the lab's
//! own book passes them all.
//!
//! The `cargo xtask` check asks the real xtask: by default through `cargo run -p xtask`
//! (compiled on first use), or the binary named by `BOOK_BUILDER_XTASK`.

use std::path::{Path, PathBuf};

use book_builder::{Finding, Rule, Xtask};

fn xtask() -> Xtask {
    match std::env::var_os("BOOK_BUILDER_XTASK") {
        Some(path) => Xtask::Binary(PathBuf::from(path)),
        None => Xtask::Cargo {
            workspace: book_builder::workspace_root(),
        },
    }
}

const CODE: &str = "fn outside() {}\n// ANCHOR: app\nfn app() {}\n// ANCHOR_END: app\n";

/// A clean two-chapter book with an include, a diff, a link with a fragment and an xtask
/// command; `intro` is the introduction's text, to plant a fault in.
fn book(intro: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "book.toml",
        "[book]\ntitle = \"t\"\nsrc = \"src\"\n\n[build]\nbuild-dir = \"build\"\ncreate-missing = false\n",
    );
    write(
        "src/SUMMARY.md",
        "# Summary\n\n[Intro](intro.md)\n\n- [Other](other.md)\n",
    );
    write("src/intro.md", intro);
    write("src/other.md", "# Other\n\n## A heading\n\nText.\n");
    write("code.rs", CODE);
    write(
        "code2.rs",
        &CODE.replace("fn app() {}", "fn app() { changed() }"),
    );
    dir
}

const CLEAN: &str = "# Intro

```rust
{{#include ../code.rs:app}}
```

{{#lab_diff ../code.rs:app ../code2.rs:app}}

See [the heading](other.md#a-heading) and [the top](#intro). Run `cargo xtask doctor`.
";

/// Where a tiny book's browser suite keeps its tests (none, unless a test plants some).
const SUITE: &str = "suite-tests";

fn check(root: &Path) -> Vec<Finding> {
    let build = root.join("out");
    let suite = root.join(SUITE);
    let report =
        book_builder::check(root, Some(&build), &xtask(), Some(&suite)).expect("the check runs");
    for finding in &report.findings {
        eprintln!("{finding}");
    }
    assert_eq!(report.build_error, None, "mdBook's build should succeed");
    report.findings
}

/// The findings as (rule, file name, line), for short assertions.
fn summary(findings: &[Finding]) -> Vec<(Rule, String, usize)> {
    findings
        .iter()
        .map(|f| {
            let name = f.file.file_name().expect("a file").to_string_lossy();
            (f.rule, name.into_owned(), f.line)
        })
        .collect()
}

#[test]
fn a_clean_book_passes_every_check() {
    let dir = book(CLEAN);
    assert_eq!(summary(&check(dir.path())), []);
    let html = std::fs::read_to_string(dir.path().join("out/intro.html")).expect("built");
    assert!(html.contains("fn app() {}"), "the include is expanded");
    assert!(html.contains("language-diff"), "the diff is generated");
    assert!(
        html.contains("+fn app() { changed() }"),
        "the diff shows the change"
    );
}

#[test]
fn a_missing_include_file_fails_although_mdbook_succeeds() {
    let dir = book(&CLEAN.replace("../code.rs:app}}\n```", "../gone.rs:app}}\n```"));
    // mdBook alone: the build succeeds and leaves the directive in the page.
    let out = book_builder::build(dir.path(), Some(&dir.path().join("plain"))).expect("builds");
    let html = std::fs::read_to_string(out.join("intro.html")).expect("built");
    assert!(html.contains("{{#include ../gone.rs:app}}"));
    let findings = check(dir.path());
    assert_eq!(
        summary(&findings),
        [
            (Rule::IncludeFile, "intro.md".into(), 4),
            (Rule::LeftoverDirective, "intro.md".into(), 4),
        ]
    );
    assert!(findings[0].message.contains("gone.rs"), "{}", findings[0]);
}

#[test]
fn a_missing_anchor_fails_although_mdbook_renders_nothing() {
    let dir = book(&CLEAN.replace("../code.rs:app}}\n```", "../code.rs:ap}}\n```"));
    let out = book_builder::build(dir.path(), Some(&dir.path().join("plain"))).expect("builds");
    let html = std::fs::read_to_string(out.join("intro.html")).expect("built");
    let listing = html
        .split("<code class=\"language-rust")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("a Rust listing");
    assert!(
        !listing.contains("fn app"),
        "mdBook renders a missing anchor as an empty listing; got {listing:?}"
    );
    let findings = check(dir.path());
    assert_eq!(
        summary(&findings),
        [(Rule::IncludeAnchor, "intro.md".into(), 4)]
    );
    assert!(
        findings[0].fix.contains("its anchors: app"),
        "{}",
        findings[0]
    );
}

#[test]
fn a_diff_of_a_missing_anchor_fails() {
    let dir = book(&CLEAN.replace("../code2.rs:app", "../code2.rs:nope"));
    let report = book_builder::check(dir.path(), Some(&dir.path().join("out")), &xtask(), None)
        .expect("the check runs");
    assert_eq!(
        summary(&report.findings),
        [(Rule::IncludeAnchor, "intro.md".into(), 7)]
    );
    let error = report
        .build_error
        .expect("the diff cannot be generated: the build fails");
    assert!(error.contains("ANCHOR: nope"), "{error}");
}

#[test]
fn a_leftover_directive_fails() {
    let dir = book(&format!("{CLEAN}\n{{{{#inclde ../code.rs}}}}\n"));
    assert_eq!(
        summary(&check(dir.path())),
        [(Rule::LeftoverDirective, "intro.md".into(), 11)]
    );
}

#[test]
fn broken_internal_links_fail() {
    let dir = book(&format!(
        "{CLEAN}\n[gone](gone.md) [bad fragment](other.md#no-such-heading) [outside](../code.rs) [here](#nowhere)\n"
    ));
    let findings = check(dir.path());
    assert_eq!(
        summary(&findings),
        [
            (Rule::InternalLink, "intro.md".into(), 11),
            (Rule::InternalLink, "intro.md".into(), 11),
            (Rule::InternalLink, "intro.md".into(), 11),
            (Rule::InternalLink, "intro.md".into(), 11),
        ]
    );
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages[0].contains("gone.md"), "{messages:?}");
    assert!(messages[1].contains("#no-such-heading"), "{messages:?}");
    assert!(messages[2].contains("leaves the book"), "{messages:?}");
    assert!(messages[3].contains("#nowhere"), "{messages:?}");
}

#[test]
fn xtask_commands_that_do_not_exist_fail() {
    let dir = book(&format!(
        "{CLEAN}\nThen `cargo xtask serve-book`, and `cargo xtask lab 2 --onse`.\n"
    ));
    let findings = check(dir.path());
    assert_eq!(
        summary(&findings),
        [
            (Rule::XtaskCommand, "intro.md".into(), 11),
            (Rule::XtaskCommand, "intro.md".into(), 11),
        ]
    );
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cargo xtask lab 2 --onse")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cargo xtask serve-book")),
        "{messages:?}"
    );
}

#[test]
fn a_link_in_a_mermaid_label_fails_although_the_diagram_renders() {
    let label = "B[\"Browser<br/>https://app.lab.test\"] --> N[\"nginx\"]";
    let dir = book(&format!(
        "{CLEAN}\n```mermaid\nflowchart LR\n    {label}\n```\n"
    ));
    let findings = check(dir.path());
    assert_eq!(
        summary(&findings),
        [(Rule::MermaidMarkdown, "intro.md".into(), 13)]
    );
    assert!(
        findings[0].message.contains("Unsupported markdown"),
        "{}",
        findings[0]
    );
    let fixed = book(&format!(
        "{CLEAN}\n```mermaid\nflowchart LR\n    {}\n```\n",
        label.replace("https://", "")
    ));
    assert_eq!(summary(&check(fixed.path())), []);
}

/// A tiny book whose browser suite takes `stage9-home`, and which shows it; `shots` are the
/// screenshots in its folder, listed as `cargo xtask browser --book` lists them.
fn book_with_shots(shots: &[&str]) -> tempfile::TempDir {
    let dir = book(&format!(
        "{CLEAN}\n![home](generated/screenshots/stage9-home.png)\n"
    ));
    let write = |path: &str, bytes: &[u8]| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    };
    write(
        &format!("{SUITE}/claims/stage9.rs"),
        b"async fn stage9_a_claim() { browser.screenshot(\"stage9-home\").await; }\n",
    );
    let mut list = String::from("| Screenshot | Taken by the test |\n|---|---|\n");
    for shot in shots {
        write(&format!("src/generated/screenshots/{shot}.png"), b"\x89PNG");
        list.push_str(&format!("| `{shot}.png` | `stage9::stage9_a_claim` |\n"));
    }
    write("src/generated/screenshots/README.md", list.as_bytes());
    dir
}

#[test]
fn a_screenshot_no_test_takes_fails() {
    let clean = book_with_shots(&["stage9-home"]);
    assert_eq!(summary(&check(clean.path())), []);
    let html = std::fs::read_to_string(clean.path().join("out/intro.html")).expect("built");
    assert!(
        html.contains("generated/screenshots/stage9-home.png"),
        "the shot is shown"
    );
    // A shot renamed in the suite (or its test removed), and the book not regenerated.
    let orphan = book_with_shots(&["stage9-home", "stage9-home-renamed-since"]);
    let findings = check(orphan.path());
    assert_eq!(
        summary(&findings),
        [(Rule::Screenshot, "stage9-home-renamed-since.png".into(), 1)]
    );
    assert!(
        findings[0]
            .message
            .contains("no test in the browser suite takes")
            && findings[0].fix.contains("cargo xtask browser --book"),
        "{}",
        findings[0]
    );
}

#[test]
fn the_lab_book_passes_every_check() {
    let build = tempfile::tempdir().expect("a temp dir");
    let report = book_builder::check(
        &book_builder::lab_book(),
        Some(build.path()),
        &xtask(),
        Some(&book_builder::lab_browser_tests()),
    )
    .expect("the check runs");
    let shown: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "the book has problems:\n{}",
        shown.join("\n")
    );
    assert_eq!(report.build_error, None);
}

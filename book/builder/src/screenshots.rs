//! The browser suite's screenshots in the book: taken by a real run, never stale, never
//! orphaned.
//!
//! `cargo xtask browser --book` runs the whole browser suite and, when every test passed,
//! makes `src/generated/screenshots/` exactly the shots that run took (`<name>.png`, the
//! name given to `Browser::screenshot`), with a list of them, [`MANIFEST`]. Pixels are not
//! compared: each run's pages show its own ports, addresses and session ids. Names are, with
//! the `screenshot("<name>")` calls in the suite's test sources. The check fails when:
//!
//! - a chapter shows `generated/screenshots/<name>.png` and there is no such file;
//! - a shot in the folder is taken by no test (renamed or removed without regenerating: it
//!   shows a page no run produces any more);
//! - a test takes a shot the folder lacks;
//! - the folder and its list disagree (a shot put there, or removed, by hand);
//! - a test names its shot with anything but a string literal, which this check cannot read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Finding, Rule, files_with_extension, line_of, markdown_files};

/// Where the screenshots are, in the book's `src`.
pub const FOLDER: &str = "generated/screenshots";
/// The list of the folder's shots, written with them.
pub const MANIFEST: &str = "README.md";
/// What makes the folder right again.
const REGENERATE: &str = "run `cargo xtask browser --book`: it runs the whole browser suite and, when every test passes, replaces the folder with the shots that run took, and their list";

/// A chapter showing a shot: `generated/screenshots/<name>.png`, by any relative path.
static SHOWN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"generated/screenshots/([A-Za-z0-9_.-]+?)\.png").expect("a valid regex")
});
/// A test taking a shot: `.screenshot(` and, if it is a literal, its name.
static TAKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\.screenshot\(\s*(?:"([^"\\]*)")?"#).expect("a valid regex"));
/// A row of the list: ``| `<name>.png` | ...``.
static LISTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\|\s*`([^`/]+)\.png`").expect("a valid regex"));

/// Where something is: a file and a 1-based line.
type At = (PathBuf, usize);

/// The shots the suite's tests take, by name, each where it is taken; and the calls whose
/// name this check cannot read.
fn taken(tests: &Path) -> std::io::Result<(BTreeMap<String, At>, Vec<At>)> {
    let mut names = BTreeMap::new();
    let mut unreadable = Vec::new();
    if !tests.is_dir() {
        return Ok((names, unreadable));
    }
    for file in files_with_extension(tests, "rs")? {
        let text = std::fs::read_to_string(&file)?;
        for call in TAKEN.captures_iter(&text) {
            let start = call.get(0).map_or(0, |m| m.start());
            let line = line_of(&text, start);
            let in_comment = text
                .lines()
                .nth(line - 1)
                .is_some_and(|l| l.trim_start().starts_with("//"));
            if in_comment {
                continue;
            }
            match call.get(1) {
                Some(name) => {
                    names
                        .entry(name.as_str().to_owned())
                        .or_insert((file.clone(), line));
                }
                None => unreadable.push((file.clone(), line)),
            }
        }
    }
    Ok((names, unreadable))
}

/// The shots in the folder, by name.
fn committed(folder: &Path) -> std::io::Result<BTreeMap<String, PathBuf>> {
    if !folder.is_dir() {
        return Ok(BTreeMap::new());
    }
    Ok(files_with_extension(folder, "png")?
        .into_iter()
        .filter_map(|path| Some((path.file_stem()?.to_str()?.to_owned(), path)))
        .collect())
}

/// The shots the folder's list names, each with its line.
fn listed(folder: &Path) -> std::io::Result<BTreeMap<String, usize>> {
    let text = match std::fs::read_to_string(folder.join(MANIFEST)) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    Ok(LISTED
        .captures_iter(&text)
        .map(|row| {
            (
                row[1].to_owned(),
                line_of(&text, row.get(0).map_or(0, |m| m.start())),
            )
        })
        .collect())
}

/// `names` as a short list for a fix hint.
fn known(names: &BTreeSet<&str>) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

/// Checks the book's screenshots (`src`/[`FOLDER`]) against the chapters that show them and
/// the browser suite's test sources (`tests`: every `.rs` under it). `tests: None`, or a
/// folder that does not exist, is a suite that takes no shot.
pub fn check(src: &Path, tests: Option<&Path>) -> std::io::Result<Vec<Finding>> {
    let folder = src.join(FOLDER);
    let (taken, unreadable) = match tests {
        Some(tests) => taken(tests)?,
        None => Default::default(),
    };
    let committed = committed(&folder)?;
    let listed = listed(&folder)?;
    let taken_names: BTreeSet<&str> = taken.keys().map(String::as_str).collect();
    let mut findings = Vec::new();
    let mut finding = |(file, line): (&Path, usize), message: String, fix: String| {
        findings.push(Finding::new(file, line, Rule::Screenshot, message, fix));
    };

    for chapter in markdown_files(src)? {
        let text = std::fs::read_to_string(&chapter)?;
        for shown in SHOWN.captures_iter(&text) {
            let name = &shown[1];
            if committed.contains_key(name) {
                continue;
            }
            let at = line_of(&text, shown.get(0).map_or(0, |m| m.start()));
            let fix = if taken.contains_key(name) {
                REGENERATE.to_owned()
            } else {
                format!(
                    "no test in the browser suite takes `screenshot(\"{name}\")`: show one it takes ({}), or take this one in a test and {REGENERATE}",
                    known(&taken_names)
                )
            };
            finding(
                (&chapter, at),
                format!("`{FOLDER}/{name}.png` is shown here but does not exist"),
                fix,
            );
        }
    }
    for (name, path) in &committed {
        if !taken.contains_key(name) {
            finding(
                (path, 1),
                format!(
                    "`{name}.png` is in the book, but no test in the browser suite takes `screenshot(\"{name}\")` any more: it shows a page no run produces"
                ),
                format!(
                    "{REGENERATE} (it removes shots no test takes); then show the new name in the chapters that showed this one (the suite takes: {})",
                    known(&taken_names)
                ),
            );
        }
        if !listed.contains_key(name) {
            finding(
                (path, 1),
                format!(
                    "`{name}.png` is not in {FOLDER}/{MANIFEST}: it was not put there by `cargo xtask browser --book`"
                ),
                REGENERATE.to_owned(),
            );
        }
    }
    for (name, line) in &listed {
        if !committed.contains_key(name) {
            finding(
                (&folder.join(MANIFEST), *line),
                format!("the list names `{name}.png`, which is not in the folder"),
                REGENERATE.to_owned(),
            );
        }
    }
    for (name, (file, line)) in &taken {
        if !committed.contains_key(name) {
            finding(
                (file, *line),
                format!(
                    "this test takes `screenshot(\"{name}\")`, but the book has no `{FOLDER}/{name}.png`"
                ),
                REGENERATE.to_owned(),
            );
        }
    }
    for (file, line) in &unreadable {
        finding(
            (file, *line),
            "a screenshot's name is not a string literal: the book's check cannot tell which shot this is".to_owned(),
            "write the name as a literal, `browser.screenshot(\"stageN-what-it-shows\")`".to_owned(),
        );
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book's `src` and a suite's `tests`, side by side in a temporary folder.
    struct Planted {
        dir: tempfile::TempDir,
    }

    impl Planted {
        fn new() -> Planted {
            Planted {
                dir: tempfile::tempdir().expect("a temp dir"),
            }
        }

        fn write(&self, path: &str, text: &[u8]) -> &Planted {
            let path = self.dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
            self
        }

        /// A folder made by `cargo xtask browser --book`: the shots, and their list.
        fn shots(&self, names: &[&str]) -> &Planted {
            let mut list = String::from("| Screenshot | Taken by the test |\n|---|---|\n");
            for name in names {
                self.write(&format!("src/{FOLDER}/{name}.png"), b"\x89PNG");
                list.push_str(&format!("| `{name}.png` | `stage9::a_test` |\n"));
            }
            self.write(&format!("src/{FOLDER}/{MANIFEST}"), list.as_bytes())
        }

        fn check(&self) -> Vec<Finding> {
            let root = self.dir.path();
            check(&root.join("src"), Some(&root.join("tests"))).expect("the check runs")
        }
    }

    const TEST: &str = r#"async fn stage9_a_claim() -> Result {
    browser.screenshot("stage9-home").await?;
    browser
        .screenshot("stage9-after")
        .await?;
    // browser.screenshot("in-a-comment") is not a shot
    Ok(())
}
"#;

    const CHAPTER: &str = "# Stage 9\n\n![home](generated/screenshots/stage9-home.png)\n";

    /// (file name, line, message) of each finding.
    fn summary(findings: &[Finding]) -> Vec<(String, usize, String)> {
        findings
            .iter()
            .map(|f| {
                let name = f.file.file_name().expect("a file").to_string_lossy();
                (name.into_owned(), f.line, f.message.clone())
            })
            .collect()
    }

    #[test]
    fn the_suites_shots_shown_and_listed_pass() {
        let book = Planted::new();
        book.write("tests/claims/stage9.rs", TEST.as_bytes())
            .write("src/stage-9.md", CHAPTER.as_bytes())
            .shots(&["stage9-home", "stage9-after"]);
        assert_eq!(summary(&book.check()), []);
    }

    #[test]
    fn a_planted_orphan_fails_and_says_what_to_run() {
        let book = Planted::new();
        book.write("tests/claims/stage9.rs", TEST.as_bytes())
            .write("src/stage-9.md", CHAPTER.as_bytes())
            // A shot renamed in the test, and the book not regenerated.
            .shots(&["stage9-home", "stage9-after", "stage9-before-the-rename"]);
        let findings = book.check();
        assert_eq!(
            summary(&findings),
            [(
                "stage9-before-the-rename.png".to_owned(),
                1,
                "`stage9-before-the-rename.png` is in the book, but no test in the browser suite takes `screenshot(\"stage9-before-the-rename\")` any more: it shows a page no run produces".to_owned()
            )]
        );
        assert_eq!(findings[0].rule, Rule::Screenshot);
        assert!(
            findings[0].fix.contains("cargo xtask browser --book")
                && findings[0].fix.contains("stage9-after, stage9-home"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn a_shot_the_book_lacks_fails_where_the_test_takes_it() {
        let book = Planted::new();
        book.write("tests/claims/stage9.rs", TEST.as_bytes())
            .write("src/stage-9.md", CHAPTER.as_bytes())
            .shots(&["stage9-home"]);
        let findings = book.check();
        assert_eq!(
            summary(&findings),
            [(
                "stage9.rs".to_owned(),
                4,
                format!(
                    "this test takes `screenshot(\"stage9-after\")`, but the book has no `{FOLDER}/stage9-after.png`"
                )
            )]
        );
        assert!(findings[0].fix.contains("cargo xtask browser --book"));
    }

    #[test]
    fn a_chapter_showing_a_missing_shot_fails() {
        let book = Planted::new();
        book.write("tests/claims/stage9.rs", TEST.as_bytes())
            .write(
                "src/stage-9.md",
                format!("{CHAPTER}\n<img src=\"generated/screenshots/stage9-gone.png\">\n")
                    .as_bytes(),
            )
            .shots(&["stage9-home", "stage9-after"]);
        let findings = book.check();
        assert_eq!(
            summary(&findings),
            [(
                "stage-9.md".to_owned(),
                5,
                format!("`{FOLDER}/stage9-gone.png` is shown here but does not exist")
            )]
        );
        assert!(
            findings[0]
                .fix
                .contains("show one it takes (stage9-after, stage9-home)"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn a_shot_added_by_hand_fails() {
        let book = Planted::new();
        book.write("tests/claims/stage9.rs", TEST.as_bytes())
            .shots(&["stage9-home"])
            .write(&format!("src/{FOLDER}/stage9-after.png"), b"\x89PNG");
        let findings = book.check();
        assert_eq!(
            summary(&findings),
            [(
                "stage9-after.png".to_owned(),
                1,
                format!(
                    "`stage9-after.png` is not in {FOLDER}/{MANIFEST}: it was not put there by `cargo xtask browser --book`"
                )
            )]
        );
    }

    #[test]
    fn a_name_that_is_not_a_literal_fails() {
        let book = Planted::new();
        book.write(
            "tests/claims/stage9.rs",
            b"fn f() { browser.screenshot(&format!(\"stage9-{n}\")); }\n",
        )
        .write("src/stage-9.md", b"# Stage 9\n");
        let findings = book.check();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("not a string literal"));
    }

    #[test]
    fn a_book_with_no_suite_and_no_shots_passes() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        std::fs::write(dir.path().join("src/a.md"), "# A\n").expect("write");
        assert_eq!(check(&dir.path().join("src"), None).expect("runs"), []);
    }

    #[test]
    fn the_books_screenshots_are_the_suites() {
        let src = crate::lab_book().join("src");
        let findings = check(&src, Some(&crate::lab_browser_tests()))
            .expect("the book's sources are readable");
        let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert!(shown.is_empty(), "{}", shown.join("\n"));
    }
}

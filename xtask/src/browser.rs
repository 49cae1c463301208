//! `cargo xtask browser`: the lab's claims about browsers, in the system's Chromium.
//!
//! The suite is its own crate (`crates/browser-suite`), outside the default members, so that
//! plain `cargo test` needs no browser; this runs it, with the same clean environment as a
//! grade (no rebuild of ring and friends).
//!
//! `--book` runs the whole suite and, only if every test passed, makes
//! `book/src/generated/screenshots/` exactly this run's shots, with a list of them (`README.md`:
//! each shot, the test that took it, the page). The book never shows a failing run's pages,
//! or a hand-made one: `cargo xtask book --check` compares that folder with the
//! `screenshot("...")` calls in the suite's sources.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// Where the book keeps the suite's screenshots, from the workspace root.
const BOOK_SHOTS: &str = "book/src/generated/screenshots";

/// The variable that tells the suite where to save its shots (`browser_suite::SHOTS_VAR`).
const SHOTS_VAR: &str = "LAB_BROWSER_SHOTS";

#[derive(clap::Args)]
pub struct Args {
    /// Only the tests whose name contains this (e.g. `stage4`).
    #[arg(conflicts_with = "book")]
    filter: Option<String>,
    /// Run the whole suite and, if every test passes, replace the book's screenshots
    /// (book/src/generated/screenshots/) with the ones this run took.
    #[arg(long)]
    book: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let shots = shots_dir();
    if args.book {
        // Only this run's shots may reach the book: none left over from an earlier run.
        remove_dir_if_there(&shots)?;
    }
    println!(
        "The browser suite: headless Chromium against the real nginx. Screenshots go to {}.\n",
        shown(&shots)
    );
    let mut command = crate::cargo();
    command
        .current_dir(crate::workspace_root())
        .args(["test", "--package", "browser-suite"]);
    if let Some(filter) = &args.filter {
        command.args(["--", filter]);
    }
    let status = command
        .env("RUST_BACKTRACE", "0")
        .env(SHOTS_VAR, &shots)
        .status()
        .context("running `cargo test --package browser-suite`")?;
    if !status.success() {
        if args.book {
            eprintln!(
                "\nA test failed: the book's screenshots ({BOOK_SHOTS}/) are left as they were."
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    if args.book {
        to_book(&shots, &crate::workspace_root().join(BOOK_SHOTS))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `<target>/browser-shots`, in the target dir this very binary was built into.
fn shots_dir() -> PathBuf {
    crate::target_dir().join("browser-shots")
}

fn remove_dir_if_there(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("emptying {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// `path` relative to the workspace root when it is under it.
fn shown(path: &Path) -> String {
    let root = crate::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One screenshot a run took.
#[derive(Debug, PartialEq)]
struct Shot {
    /// The name given to `Browser::screenshot`.
    name: String,
    /// The test that took it (`stage1::stage1_...`).
    test: String,
    /// The path of the page it shows.
    page: String,
    /// Width and height in pixels, if the PNG says.
    size: Option<(u32, u32)>,
    /// Bytes.
    bytes: u64,
}

/// The shots in `dir`, by name: each `<name>.png` with the `<name>.txt` the suite wrote
/// beside it.
fn shots_in(dir: &Path) -> anyhow::Result<Vec<Shot>> {
    let mut shots = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "png") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let record = std::fs::read_to_string(path.with_extension("txt")).unwrap_or_default();
        let field = |key: &str| {
            record
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .map_or_else(|| "(not recorded)".to_owned(), |v| v.trim().to_owned())
        };
        let png = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        shots.push(Shot {
            name: name.to_owned(),
            test: field("test:"),
            page: field("page:"),
            size: png_size(&png),
            bytes: png.len() as u64,
        });
    }
    shots.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(shots)
}

/// A PNG's width and height, from its header (`IHDR` is always the first chunk).
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

/// Makes `book` hold exactly the shots in `shots`, and the list of them.
fn to_book(shots: &Path, book: &Path) -> anyhow::Result<()> {
    let taken = shots_in(shots)?;
    anyhow::ensure!(
        !taken.is_empty(),
        "the suite passed but saved no screenshot in {}: nothing to put in the book",
        shots.display()
    );
    std::fs::create_dir_all(book).with_context(|| format!("creating {}", book.display()))?;
    // A shot no test takes any more (renamed, or its test removed) leaves the book.
    for entry in std::fs::read_dir(book).with_context(|| format!("reading {}", book.display()))? {
        let path = entry?.path();
        let stale = path.extension().is_some_and(|ext| ext == "png")
            && !taken.iter().any(|shot| {
                path.file_stem()
                    .is_some_and(|stem| stem == shot.name.as_str())
            });
        if stale {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            println!("removed {} (this run did not take it)", shown(&path));
        }
    }
    for shot in &taken {
        let file = format!("{}.png", shot.name);
        std::fs::copy(shots.join(&file), book.join(&file))
            .with_context(|| format!("copying {file} into {}", book.display()))?;
    }
    let manifest = book.join("README.md");
    std::fs::write(&manifest, manifest_text(&taken))
        .with_context(|| format!("writing {}", manifest.display()))?;
    let total: u64 = taken.iter().map(|shot| shot.bytes).sum();
    println!(
        "\n{} screenshots ({} KB in all) are in {}, listed in its README.md. Commit the folder \
         with the chapters that show them; `cargo xtask book --check` checks that they match.",
        taken.len(),
        total.div_ceil(1024),
        shown(book)
    );
    Ok(())
}

/// The folder's README.md: what made it, and each shot with its test.
fn manifest_text(shots: &[Shot]) -> String {
    let mut text = String::from(
        "# Screenshots from the browser suite\n\n\
         Generated by `cargo xtask browser --book` after a run of the whole browser suite in \
         which every test passed.\nDo not edit, add or rename files here by hand: run that \
         command again. Each `<name>.png` was saved by\n`Browser::screenshot(\"<name>\")` in \
         the test named beside it (`crates/browser-suite/tests/claims/`), and shows that\n\
         run's page: ports, addresses and session ids differ from run to run. \
         `cargo xtask book --check` fails\nwhen a chapter shows a shot missing here, a shot \
         here is taken by no test, or a test takes one missing here.\n\n\
         | Screenshot | Taken by the test | Page | Pixels | Size |\n\
         |---|---|---|---|---|\n",
    );
    for shot in shots {
        let pixels = shot
            .size
            .map_or_else(|| "?".to_owned(), |(w, h)| format!("{w}×{h}"));
        text.push_str(&format!(
            "| `{}.png` | `{}` | `{}` | {pixels} | {} KB |\n",
            shot.name,
            shot.test,
            shot.page,
            shot.bytes.div_ceil(1024)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG's first 24 bytes, with its size changed to 1000×700.
    const HEADER: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x03\xe8\0\0\x02\xbc";

    #[test]
    fn a_pngs_size_is_read_from_its_header() {
        assert_eq!(png_size(HEADER), Some((1000, 700)));
        assert_eq!(png_size(b"GIF89a"), None);
    }

    #[test]
    fn the_book_gets_exactly_the_runs_shots_and_their_list() {
        let run = tempfile::tempdir().expect("a temp dir");
        let book = tempfile::tempdir().expect("a temp dir");
        std::fs::write(run.path().join("stage9-home.png"), HEADER).expect("write");
        std::fs::write(
            run.path().join("stage9-home.txt"),
            "test: stage9::stage9_it_works\npage: /\n",
        )
        .expect("write");
        std::fs::write(book.path().join("stage9-renamed.png"), HEADER).expect("write");
        to_book(run.path(), book.path()).expect("copied");
        let mut files: Vec<String> = std::fs::read_dir(book.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["README.md", "stage9-home.png"]);
        let manifest = std::fs::read_to_string(book.path().join("README.md")).expect("read");
        assert!(
            manifest.contains(
                "| `stage9-home.png` | `stage9::stage9_it_works` | `/` | 1000×700 | 1 KB |"
            ),
            "{manifest}"
        );
    }
}

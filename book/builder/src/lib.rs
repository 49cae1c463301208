//! The lab's book: built with mdBook as a library, and checked for what mdBook lets slip.
//!
//! mdBook fails silently on a missing include anchor (it renders nothing) and on an unreadable
//! include file (it leaves the directive as text), so this crate checks, and fails on:
//!
//! - [`Rule::IncludeFile`], [`Rule::IncludeAnchor`]: every file and anchor an include names
//!   exists ([`includes`], before the build);
//! - [`Rule::XtaskCommand`]: every `cargo xtask ...` the book writes is accepted by the xtask
//!   ([`commands`], before the build);
//! - [`Rule::MermaidMarkdown`]: no flowchart label holds a link, which mermaid 11 draws as
//!   "Unsupported markdown: link" ([`mermaid`], before the build);
//! - [`Rule::Screenshot`]: the book's screenshots are exactly the ones the browser suite's
//!   tests take, and the chapters show only those ([`screenshots`], before the build);
//! - [`Rule::LeftoverDirective`]: no `{{#` survives into the rendered pages ([`output`]);
//! - [`Rule::InternalLink`]: every relative link and `#fragment` resolves in the built book
//!   ([`output`]).
//!
//! The build adds two preprocessors to mdBook's own: [`diff::LabDiff`] (the diff between two
//! stages' listings, generated, never pasted) and mdbook-mermaid's (sequence diagrams; its
//! mermaid.js is vendored under `book/assets/`, so they render offline).

pub mod commands;
pub mod diff;
pub mod findings;
pub mod includes;
pub mod mermaid;
pub mod output;
pub mod screenshots;

use std::path::{Path, PathBuf};

use anyhow::Context;
use mdbook_driver::MDBook;

pub use commands::Xtask;
pub use findings::{Finding, Rule};

/// Builds the book at `root` into `build_dir` (default: `build.build-dir` of its book.toml)
/// and returns where the HTML is.
pub fn build(root: &Path, build_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut book =
        MDBook::load(root).with_context(|| format!("loading the book at {}", root.display()))?;
    if let Some(dir) = build_dir {
        book.config.build.build_dir = dir.to_owned();
    }
    // After mdBook's `links` and `index`, in this order: the diff reads listings itself, and
    // the diagrams are code blocks in the chapters.
    book.with_preprocessor(diff::LabDiff);
    book.with_preprocessor(mdbook_mermaid::Mermaid);
    book.build().context("mdBook's build failed")?;
    // With only the HTML renderer configured, mdBook writes straight into the build directory.
    Ok(book.root.join(&book.config.build.build_dir))
}

/// What a checked build found.
#[derive(Debug)]
pub struct Report {
    /// Where the HTML is (if the build failed, what it holds is stale or partial).
    pub build_dir: PathBuf,
    /// Why mdBook's build failed, if it did (a finding usually says where).
    pub build_error: Option<String>,
    /// Every problem, by file and line.
    pub findings: Vec<Finding>,
}

impl Report {
    /// No finding, and the build succeeded.
    pub fn passed(&self) -> bool {
        self.findings.is_empty() && self.build_error.is_none()
    }
}

/// Checks the sources, builds, then checks the built pages (if the build succeeded). A
/// failing check does not stop the others, so one run reports everything. `Err` only if the
/// book cannot be read, or the xtask cannot be built to ask it about commands.
///
/// `browser_tests` is the browser suite's test sources, whose `screenshot("...")` calls the
/// book's screenshots must match ([`lab_browser_tests`] for this workspace's book); `None`
/// for a book with no suite, which then may hold no screenshot.
pub fn check(
    root: &Path,
    build_dir: Option<&Path>,
    xtask: &Xtask,
    browser_tests: Option<&Path>,
) -> anyhow::Result<Report> {
    let src = source_dir(root)?;
    let mut findings = includes::check(&src).context("reading the book's sources")?;
    findings.extend(commands::check(&src, xtask).context("reading the book's sources")?);
    findings.extend(mermaid::check(&src).context("reading the book's sources")?);
    findings.extend(
        screenshots::check(&src, browser_tests)
            .context("reading the book's screenshots and the browser suite's tests")?,
    );
    let (built, build_error) = match build(root, build_dir) {
        Ok(built) => (built, None),
        Err(error) => (
            root.join(build_dir.unwrap_or(Path::new("build"))),
            Some(format!("{error:#}")),
        ),
    };
    if build_error.is_none() {
        findings.extend(output::check_leftovers(&src, &built).context("reading the built book")?);
        findings.extend(output::check_links(&src, &built).context("reading the built book")?);
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    Ok(Report {
        build_dir: built,
        build_error,
        findings,
    })
}

/// The book's `src` directory, from its book.toml.
fn source_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let book =
        MDBook::load(root).with_context(|| format!("loading the book at {}", root.display()))?;
    Ok(root.join(&book.config.book.src))
}

/// This workspace's book: `book/`, the builder's parent.
pub fn lab_book() -> PathBuf {
    let builder = Path::new(env!("CARGO_MANIFEST_DIR"));
    builder.parent().unwrap_or(builder).to_owned()
}

/// This workspace's root: the book's parent.
pub fn workspace_root() -> PathBuf {
    let book = lab_book();
    book.parent().unwrap_or(&book).to_owned()
}

/// This workspace's browser suite's test sources, whose screenshots the book shows.
pub fn lab_browser_tests() -> PathBuf {
    workspace_root().join("crates/browser-suite/tests")
}

//! What a check found: where, which rule, and how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// The rules the builder enforces on top of mdBook's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// Every `include`/`rustdoc_include`/`lab_diff` directive names a file that exists.
    IncludeFile,
    /// Every anchor an include names exists, with its end, and holds lines.
    IncludeAnchor,
    /// No `{{#` directive survives into the rendered HTML.
    LeftoverDirective,
    /// Every relative link and `#fragment` resolves in the built book.
    InternalLink,
    /// Every `cargo xtask ...` written in the book is a command the xtask accepts.
    XtaskCommand,
    /// No flowchart label holds what mermaid draws as "Unsupported markdown: link".
    MermaidMarkdown,
    /// The book's screenshots are the ones the browser suite takes, and the chapters show
    /// only those.
    Screenshot,
}

impl Rule {
    /// The rule's name, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Rule::IncludeFile => "include-file",
            Rule::IncludeAnchor => "include-anchor",
            Rule::LeftoverDirective => "leftover-directive",
            Rule::InternalLink => "internal-link",
            Rule::XtaskCommand => "xtask-command",
            Rule::MermaidMarkdown => "mermaid-markdown",
            Rule::Screenshot => "screenshot",
        }
    }
}

/// One problem, in a file at a line, with the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file the problem is in (a book source where possible).
    pub file: PathBuf,
    /// The 1-based line.
    pub line: usize,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(
        file: &Path,
        line: usize,
        rule: Rule,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            file: file.to_owned(),
            line,
            rule,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}\n    fix: {}",
            display_path(&self.file),
            self.line,
            self.rule.name(),
            self.message,
            self.fix
        )
    }
}

/// `path` relative to the current directory when it is under it, else as given.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_owned));
    relative
        .unwrap_or_else(|| path.to_owned())
        .display()
        .to_string()
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Every `.md` file under `dir`, sorted, so findings come out in a stable order.
pub(crate) fn markdown_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_with_extension(dir, "md")
}

/// Every file under `dir` whose extension is `extension`, sorted.
pub(crate) fn files_with_extension(dir: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

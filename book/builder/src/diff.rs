//! The diff between two stages' listings, generated at build time.
//!
//! Why generated, not pasted: a pasted diff is a third copy of the code, and it would drift
//! the first time a stage changed. Why not just the two listings side by side: the lesson of a
//! stage *is* its diff from the previous one, and readers should not have to find it by eye.
//! So a chapter includes both listings by anchor (mdBook's own `include`) and asks for the
//! diff with `lab_diff`, which takes two targets relative to the chapter, like `include`:
//! `path:anchor`, or `path` for a whole file (line ranges would drift):
//!
//! ```text
//! {{#lab_diff ../../crates/stage1-plain-http/src/lib.rs:app ../../crates/stage2-broken-proxy/src/lib.rs:app}}
//! ```
//!
//! It becomes a fenced `diff` block. Its targets are checked like includes before the build,
//! and a marker that is not replaced fails the leftover-directive check after it.

use std::path::Path;

use anyhow::{Context, bail};
use mdbook_driver::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::includes::{Part, anchored_lines, directives, split_target};

/// The directive's name.
pub const DIRECTIVE: &str = "lab_diff";

/// A line of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// In both.
    Same(&'a str),
    /// Only in the old listing.
    Removed(&'a str),
    /// Only in the new listing.
    Added(&'a str),
}

/// A line diff (longest common subsequence): the whole of both listings, each line once.
pub fn diff<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<Line<'a>> {
    let (n, m) = (old.len(), new.len());
    // lcs[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::with_capacity(n.max(m));
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            lines.push(Line::Same(old[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as diff(1) shows them.
            lines.push(Line::Removed(old[i]));
            i += 1;
        } else {
            lines.push(Line::Added(new[j]));
            j += 1;
        }
    }
    lines
}

/// The diff as a fenced Markdown `diff` block.
pub fn render(lines: &[Line<'_>]) -> String {
    let mut out = String::from("```diff\n");
    for line in lines {
        let (mark, text) = match line {
            Line::Same(text) => (' ', text),
            Line::Removed(text) => ('-', text),
            Line::Added(text) => ('+', text),
        };
        out.push(mark);
        out.push_str(text);
        out.push('\n');
    }
    out.push_str("```");
    out
}

/// The lines of one `path:anchor` target, relative to `base`.
fn listing(base: &Path, target: &str) -> anyhow::Result<String> {
    let (path, part) = split_target(target);
    let file = base.join(path);
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    match part {
        Part::Anchor(anchor) => {
            let lines = anchored_lines(&text, &anchor)
                .map_err(|problem| anyhow::anyhow!("{} {problem}", file.display()))?;
            Ok(lines.join("\n"))
        }
        Part::Lines(0) if !target.contains(':') => Ok(text),
        Part::Lines(_) => {
            bail!("`{target}`: name an anchor (`path:anchor`) or a whole file, not line numbers")
        }
    }
}

/// Replaces every `lab_diff` directive in `content`; `base` is the chapter's directory.
pub fn expand(content: &str, base: &Path) -> anyhow::Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut last = 0;
    for directive in directives(content) {
        if directive.kind != DIRECTIVE {
            continue;
        }
        let [old, new] = directive.args.as_slice() else {
            bail!(
                "`{DIRECTIVE}` takes two `path:anchor` targets, got {:?}",
                directive.args
            );
        };
        let (old, new) = (listing(base, old)?, listing(base, new)?);
        let old: Vec<&str> = old.lines().collect();
        let new: Vec<&str> = new.lines().collect();
        out.push_str(&content[last..directive.range.start]);
        out.push_str(&render(&diff(&old, &new)));
        last = directive.range.end;
    }
    out.push_str(&content[last..]);
    Ok(out)
}

/// The mdBook preprocessor for `lab_diff`. It runs after mdBook's `links` (which leaves
/// directives it does not know alone).
pub struct LabDiff;

impl Preprocessor for LabDiff {
    fn name(&self) -> &str {
        DIRECTIVE
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        let src = ctx.root.join(&ctx.config.book.src);
        let mut result = Ok(());
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let (Some(path), true) = (&chapter.source_path, result.is_ok()) else {
                return;
            };
            let base = src
                .join(path)
                .parent()
                .map(Path::to_owned)
                .unwrap_or_default();
            match expand(&chapter.content, &base) {
                Ok(content) => chapter.content = content,
                Err(error) => {
                    result = Err(error.context(format!("in {}", path.display())));
                }
            }
        });
        result.map(|()| book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_every_line_once_in_order() {
        let old = ["a", "b", "c", "d"];
        let new = ["a", "x", "c", "d", "e"];
        assert_eq!(
            diff(&old, &new),
            [
                Line::Same("a"),
                Line::Removed("b"),
                Line::Added("x"),
                Line::Same("c"),
                Line::Same("d"),
                Line::Added("e"),
            ]
        );
        assert_eq!(render(&diff(&["a"], &[])), "```diff\n-a\n```");
    }

    #[test]
    fn expand_replaces_the_marker_with_the_diff() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(
            dir.path().join("a.rs"),
            "// ANCHOR: app\nkeep\nold\n// ANCHOR_END: app\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("b.rs"),
            "// ANCHOR: app\nkeep\nnew\n// ANCHOR_END: app\n",
        )
        .expect("write");
        let out =
            expand("before\n{{#lab_diff a.rs:app b.rs:app}}\nafter", dir.path()).expect("expands");
        assert_eq!(out, "before\n```diff\n keep\n-old\n+new\n```\nafter");
        let err = expand("{{#lab_diff a.rs:nope b.rs:app}}", dir.path()).expect_err("no anchor");
        assert!(err.to_string().contains("ANCHOR: nope"), "{err}");
    }
}

//! Include directives: every file they name exists, and so does every anchor.
//!
//! mdBook renders a missing anchor as nothing and an unreadable file as the raw directive,
//! and the build still succeeds (FIELD-NOTES, "mdBook 0.5"). This check reads the same
//! directives mdBook does, with the same syntax, before the build.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Finding, Rule, line_of, markdown_files};

/// mdBook's own pattern for `{{#type args}}`, escaped `\{{#...}}` included so it can be skipped.
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\\\{\{\#.*\}\}|\{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}").expect("a valid regex")
});
static ANCHOR_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"ANCHOR:\s*([\w_-]+)").expect("a valid regex"));
static ANCHOR_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"ANCHOR_END:\s*([\w_-]+)").expect("a valid regex"));

/// One directive found in a chapter's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// `include`, `rustdoc_include`, `playground`, `lab_diff`, ...
    pub kind: String,
    /// Its arguments, split on whitespace.
    pub args: Vec<String>,
    /// Byte range of the whole directive in the chapter.
    pub range: std::ops::Range<usize>,
}

/// Every unescaped directive in `text`.
pub fn directives(text: &str) -> Vec<Directive> {
    DIRECTIVE
        .captures_iter(text)
        .filter_map(|cap| {
            let (kind, args) = (cap.get(1)?, cap.get(2)?);
            Some(Directive {
                kind: kind.as_str().to_owned(),
                args: args
                    .as_str()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                range: cap.get(0)?.range(),
            })
        })
        .collect()
}

/// What part of a file a directive takes: all of it, lines, or an anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The whole file, or a line range starting at this 1-based line (0: from the start).
    Lines(usize),
    /// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(String),
}

/// Splits `path[:range|:anchor]` the way mdBook does.
pub fn split_target(target: &str) -> (&str, Part) {
    let (path, rest) = match target.split_once(':') {
        Some((path, rest)) => (path, rest),
        None => return (target, Part::Lines(0)),
    };
    let first = rest.split(':').next().unwrap_or("");
    if first.is_empty() {
        (path, Part::Lines(0))
    } else if let Ok(start) = first.parse::<usize>() {
        (path, Part::Lines(start))
    } else {
        (path, Part::Anchor(first.to_owned()))
    }
}

/// The lines of anchor `name` in `text`, without any anchor comment lines (as mdBook shows
/// them), or why there are none.
pub fn anchored_lines<'a>(text: &'a str, name: &str) -> Result<Vec<&'a str>, String> {
    let is = |re: &Regex, line: &str| re.captures(line).is_some_and(|cap| &cap[1] == name);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| is(&ANCHOR_START, line));
    let Some(start) = start else {
        return Err(format!("has no `ANCHOR: {name}`"));
    };
    let end = lines[start..].iter().position(|line| is(&ANCHOR_END, line));
    let Some(end) = end else {
        return Err(format!(
            "has `ANCHOR: {name}` but no `ANCHOR_END: {name}` after it"
        ));
    };
    let body: Vec<&str> = lines[start + 1..start + end]
        .iter()
        .copied()
        .filter(|line| !ANCHOR_START.is_match(line) && !ANCHOR_END.is_match(line))
        .collect();
    if body.iter().all(|line| line.trim().is_empty()) {
        return Err(format!("has an empty anchor `{name}`"));
    }
    Ok(body)
}

/// The anchors `text` defines, for the fix hint.
fn anchors_in(text: &str) -> Vec<String> {
    let mut names: Vec<String> = ANCHOR_START
        .captures_iter(text)
        .map(|cap| cap[1].to_owned())
        .collect();
    names.dedup();
    names
}

/// The kinds of directive whose arguments name files, and how many.
fn file_arguments(directive: &Directive) -> &[String] {
    match directive.kind.as_str() {
        "include" | "rustdoc_include" | "playground" => {
            &directive.args[..1.min(directive.args.len())]
        }
        crate::diff::DIRECTIVE => &directive.args,
        _ => &[],
    }
}

/// Checks one file target (`path[:part]`) named on `line` of `chapter`.
fn check_target(chapter: &Path, line: usize, target: &str, findings: &mut Vec<Finding>) {
    let (path, part) = split_target(target);
    let base = chapter.parent().unwrap_or(Path::new("."));
    let file: PathBuf = base.join(path);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) => {
            findings.push(Finding::new(
                chapter,
                line,
                Rule::IncludeFile,
                format!("`{path}` cannot be read ({error}); mdBook would leave the directive in the page"),
                format!(
                    "the path is relative to {}: correct it, or restore the file",
                    crate::findings::display_path(base)
                ),
            ));
            return;
        }
    };
    match part {
        Part::Lines(start) if start > text.lines().count() => findings.push(Finding::new(
            chapter,
            line,
            Rule::IncludeAnchor,
            format!(
                "`{path}` has {} lines; the range starts at {start}",
                text.lines().count()
            ),
            "include by anchor instead of line numbers: line numbers drift as the code changes",
        )),
        Part::Lines(_) => {}
        Part::Anchor(name) => {
            if let Err(problem) = anchored_lines(&text, &name) {
                let known = anchors_in(&text);
                let hint = if known.is_empty() {
                    "it has no anchors".to_owned()
                } else {
                    format!("its anchors: {}", known.join(", "))
                };
                findings.push(Finding::new(
                    chapter,
                    line,
                    Rule::IncludeAnchor,
                    format!("`{path}` {problem}; mdBook would render nothing"),
                    format!(
                        "wrap the lines in `// ANCHOR: {name}` ... `// ANCHOR_END: {name}` in that file, or name an existing anchor ({hint})"
                    ),
                ));
            }
        }
    }
}

/// Checks every include-like directive in the book's sources (`src`).
pub fn check(src: &Path) -> std::io::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for chapter in markdown_files(src)? {
        let text = std::fs::read_to_string(&chapter)?;
        for directive in directives(&text) {
            let line = line_of(&text, directive.range.start);
            for target in file_arguments(&directive) {
                check_target(&chapter, line, target, &mut findings);
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_like_mdbook() {
        assert_eq!(split_target("a.rs"), ("a.rs", Part::Lines(0)));
        assert_eq!(
            split_target("a.rs:app"),
            ("a.rs", Part::Anchor("app".into()))
        );
        assert_eq!(split_target("a.rs:3:7"), ("a.rs", Part::Lines(3)));
        assert_eq!(split_target("a.rs::7"), ("a.rs", Part::Lines(0)));
    }

    #[test]
    fn escaped_directives_are_not_directives() {
        // Like mdBook, an escaped directive hides the rest of its line (its regex is greedy).
        let found = directives(
            "a \\{{#include x.rs}} b {{#include z.rs}}\n{{#include y.rs:app}} {{#lab_diff p:a q:b}}",
        );
        let kinds: Vec<_> = found
            .iter()
            .map(|d| (d.kind.as_str(), d.args.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("include", vec!["y.rs:app".to_owned()]),
                ("lab_diff", vec!["p:a".to_owned(), "q:b".to_owned()]),
            ]
        );
    }

    #[test]
    fn anchored_lines_drop_nested_anchor_comments() {
        let text = "x\n// ANCHOR: outer\na\n// ANCHOR: inner\nb\n// ANCHOR_END: inner\n// ANCHOR_END: outer\n";
        assert_eq!(anchored_lines(text, "outer"), Ok(vec!["a", "b"]));
        assert_eq!(anchored_lines(text, "inner"), Ok(vec!["b"]));
        assert!(
            anchored_lines(text, "out").is_err(),
            "a prefix is not an anchor"
        );
        assert!(anchored_lines("// ANCHOR: x\na\n", "x").is_err(), "no end");
        assert!(
            anchored_lines("// ANCHOR: x\n\n// ANCHOR_END: x\n", "x").is_err(),
            "empty"
        );
    }
}

//! Flowchart labels that mermaid 11 cannot draw, read from the diagrams' sources.
//!
//! Mermaid 11 passes every flowchart label (node and edge, quoted or not) through a markdown
//! renderer that knows plain text, `**strong**`, `*em*`, escapes and inline HTML (`<br/>`), and
//! nothing else. Any other markdown is drawn as the words "Unsupported markdown: link" (or
//! `list`, `heading`, `codespan`, `del`) in place of the whole label, and an autolink `<...>`
//! is taken for an HTML tag and vanishes. The page still builds and the diagram still renders,
//! so only a person reading it would notice. The markdown is marked's, with GitHub's
//! extensions, so a bare `https://...`, `www.` address or e-mail address is a link too.
//!
//! Sequence diagrams draw their text as written and are not read. A `click` line, which names
//! a URL on purpose, holds no label.

use std::path::Path;
use std::sync::LazyLock;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use regex::Regex;

use crate::findings::{Finding, Rule, line_of, markdown_files};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// Markdown that becomes a link wherever it is on a line: (pattern, what it is), the autolink
/// first, since an e-mail address or URL inside one is the same problem.
static LINKS: LazyLock<[(Regex, &str); 4]> = LazyLock::new(|| {
    [
        (
            regex(r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>"),
            "an autolink `<...>`",
        ),
        (
            regex(r"\[[^\[\]]*\]\([^()]*\)"),
            "a markdown link `[text](url)`",
        ),
        (
            regex(r"(?i)\b(?:https?|ftp)://|\bwww\.[a-z0-9-]"),
            "a bare URL, which GitHub-flavoured markdown links",
        ),
        (
            regex(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z0-9]"),
            "an e-mail address, which GitHub-flavoured markdown links",
        ),
    ]
});

/// Markdown that mermaid cannot draw inside a label's text: (pattern, markdown kind, what).
static INSIDE: LazyLock<[(Regex, &str, &str); 4]> = LazyLock::new(|| {
    [
        (regex(r"`[^`]+`"), "codespan", "code in backticks"),
        (regex(r"~~[^~]+~~"), "del", "a strikethrough `~~...~~`"),
        (
            regex(r"^(?:[-*+]|\d{1,9}[.)])(?:\s|$)"),
            "list",
            "a list marker at the label's start",
        ),
        (
            regex(r"^#{1,6}(?:\s|$)"),
            "heading",
            "a heading marker at the label's start",
        ),
    ]
});

/// Quoted labels: `A["text"]`, `-- "text" -->`.
static QUOTED: LazyLock<Regex> = LazyLock::new(|| regex(r#""([^"]*)""#));
/// Edge labels between pipes: `-->|text|`.
static PIPED: LazyLock<Regex> = LazyLock::new(|| regex(r"\|([^|]*)\|"));
/// Unquoted node labels: `A[text]`, `B(text)`, `C{text}`, `D[(text)]`, ...
static BRACKETED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[A-Za-z0-9_]+[\[({>]+([^\[\](){}]*)[\])}]+"));
/// Unquoted edge labels: `-- text -->`, `== text ==>`, `-. text .->`.
static ON_EDGE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:--|==|-\.)\s+([^\s\-=.>][^>]*?)\s+(?:--|==|\.-)[->ox]"));

/// A problem in one diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The line, counted from the diagram's first line (the one after the opening fence).
    pub line: usize,
    /// What the label holds.
    pub what: &'static str,
    /// What mermaid draws instead.
    pub effect: String,
    /// The text at fault.
    pub text: String,
}

/// The texts of the labels on one flowchart line.
fn labels(line: &str) -> Vec<String> {
    let mut found: Vec<String> = QUOTED
        .captures_iter(line)
        .map(|c| c[1].to_owned())
        .collect();
    let unquoted = QUOTED.replace_all(line, "\"\"");
    for pattern in [&*PIPED, &*BRACKETED, &*ON_EDGE] {
        found.extend(pattern.captures_iter(&unquoted).map(|c| c[1].to_owned()));
    }
    found
        .into_iter()
        .map(|label| {
            let label = label.trim();
            // A markdown string, "`...`": mermaid takes the backticks off.
            let label = label
                .strip_prefix('`')
                .and_then(|l| l.strip_suffix('`'))
                .unwrap_or(label);
            label.trim().to_owned()
        })
        .filter(|label| !label.is_empty())
        .collect()
}

/// The problems in one diagram's source (the text between its fences).
pub fn lint(diagram: &str) -> Vec<Problem> {
    let is_flowchart =
        diagram_type(diagram).is_some_and(|kind| kind == "flowchart" || kind == "graph");
    if !is_flowchart {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (index, line) in diagram.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("%%") || trimmed.starts_with("click ") {
            continue;
        }
        for (pattern, what) in LINKS.iter() {
            if let Some(found) = pattern.find(line) {
                let effect = if found.as_str().starts_with('<') {
                    "nothing: the label's text vanishes, taken for an HTML tag".to_owned()
                } else {
                    "\"Unsupported markdown: link\"".to_owned()
                };
                problems.push(Problem {
                    line: index,
                    what,
                    effect,
                    text: found.as_str().to_owned(),
                });
                break;
            }
        }
        for label in labels(line) {
            for (pattern, kind, what) in INSIDE.iter() {
                if let Some(found) = pattern.find(&label) {
                    problems.push(Problem {
                        line: index,
                        what,
                        effect: format!("\"Unsupported markdown: {kind}\""),
                        text: found.as_str().trim().to_owned(),
                    });
                }
            }
        }
    }
    problems
}

/// The diagram's type: the first word after any front matter (`---` ... `---`) and comments.
fn diagram_type(diagram: &str) -> Option<&str> {
    let mut lines = diagram
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("%%"));
    let mut first = lines.next()?;
    if first == "---" {
        lines.by_ref().find(|line| *line == "---")?;
        first = lines.next()?;
    }
    first.split_whitespace().next()
}

/// Every mermaid diagram in `markdown`: the 1-based line of its first source line, and its
/// source.
fn diagrams(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang)))
                if lang.split_whitespace().next() == Some("mermaid") =>
            {
                open = Some((line_of(markdown, range.start) + 1, String::new()));
            }
            Event::Text(text) => {
                if let Some((_, source)) = open.as_mut() {
                    source.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(diagram) = open.take() {
                    found.push(diagram);
                }
            }
            _ => {}
        }
    }
    found
}

/// Checks every mermaid diagram in the book's sources (`src`).
pub fn check(src: &Path) -> std::io::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for chapter in markdown_files(src)? {
        let text = std::fs::read_to_string(&chapter)?;
        for (first_line, source) in diagrams(&text) {
            for problem in lint(&source) {
                findings.push(Finding::new(
                    &chapter,
                    first_line + problem.line,
                    Rule::MermaidMarkdown,
                    format!(
                        "mermaid draws {} in place of this label: `{}` is {}",
                        problem.effect, problem.text, problem.what
                    ),
                    "say it in plain words: a host name without a scheme (`app.lab.test`), no brackets, backticks or tildes, and no number or dash to open a label",
                ));
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The introduction's diagram as it was: its Browser box read "Unsupported markdown: link".
    const OLD_INTRODUCTION: &str = r#"flowchart LR
    B["Browser<br/>https://app.lab.test"] -- "HTTPS<br/>cookie: id=…" --> N["nginx<br/>TLS ends here"]
    N -- "plain HTTP<br/>X-Forwarded-For / -Proto / -Host" --> A["App (axum)<br/>TrustedProxiesLayer"]
    A -- "session id → record" --> S[("Session store<br/>memory (stages 1–3)")]
"#;

    #[test]
    fn the_introductions_old_label_is_caught() {
        let problems = lint(OLD_INTRODUCTION);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 1);
        assert_eq!(problems[0].text, "https://");
        assert_eq!(problems[0].effect, "\"Unsupported markdown: link\"");
    }

    #[test]
    fn the_introductions_fixed_label_passes() {
        let fixed = OLD_INTRODUCTION.replace("https://app.lab.test", "app.lab.test");
        assert_eq!(lint(&fixed), []);
    }

    /// Each of these was drawn wrong by the vendored mermaid 11.6 in headless Chromium.
    #[test]
    fn what_mermaid_cannot_draw_is_caught() {
        for (label, effect) in [
            (r#"A["see [the RFC](rfc7239.html)"]"#, "link"),
            (r#"A["<https://example.com>"]"#, "vanishes"),
            (r#"A["<alice@example.com>"]"#, "vanishes"),
            (r#"A["http://app.lab.test:8080"]"#, "link"),
            (r#"A["www.example.com"]"#, "link"),
            (r#"A["mail alice@example.com"]"#, "link"),
            (r#"A -- "via http://edge.test" --> B"#, "link"),
            (r#"A["9 `code`"]"#, "codespan"),
            (r#"A["f ~~del~~"]"#, "del"),
            (r#"A["1. first step"]"#, "list"),
            (r#"A["- dash item"]"#, "list"),
            (r##"A["# heading"]"##, "heading"),
            ("A[1. unquoted]", "list"),
            ("A(see `x`)", "codespan"),
            ("A -->|~~d~~| B", "del"),
            ("A{# h}", "heading"),
        ] {
            let diagram = format!("flowchart TD\n    {label}\n");
            let problems = lint(&diagram);
            assert_eq!(problems.len(), 1, "{label}: {problems:?}");
            assert!(problems[0].effect.contains(effect), "{label}: {problems:?}");
        }
    }

    /// Each of these was drawn as written.
    #[test]
    fn what_mermaid_draws_passes() {
        let diagram = "graph TD\n    %% https://mermaid.js.org is a comment\n    \
            A[\"**nginx**<br/>TLS ends, *here*\"] <--> B[(\"store\")]\n    \
            B -- \"X-Forwarded-For: a, b\" --> C{\"peer 203.0.113.66:443?\"}\n    \
            C -- \"q ~~~ r\" --> D[\"`b **md** string`\"]\n    \
            D ~~~ E[\"id=…; Secure\"]\n    \
            E -- yes --> F[App (axum)]\n    \
            click A \"https://nginx.org\"\n";
        assert_eq!(lint(diagram), []);
    }

    #[test]
    fn a_flowchart_after_front_matter_is_read() {
        let diagram = "---\ntitle: the path\n---\nflowchart LR\n    A[\"https://x\"]\n";
        assert_eq!(lint(diagram).len(), 1);
    }

    #[test]
    fn sequence_diagrams_are_not_read() {
        let diagram = "sequenceDiagram\n    B->>N: GET https://app.lab.test/me `code` 1. x\n";
        assert_eq!(lint(diagram), []);
    }

    #[test]
    fn diagrams_are_found_with_their_lines() {
        let markdown =
            "# T\n\n```mermaid\nflowchart LR\n  A[\"https://x\"]\n```\n\n```text\nhttps://y\n```\n";
        let found = diagrams(markdown);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 4, "the diagram's first line is the file's 4th");
        assert_eq!(lint(&found[0].1)[0].line + found[0].0, 5);
    }

    #[test]
    fn the_books_flowcharts_pass() {
        let src = crate::lab_book().join("src");
        let findings = check(&src).expect("the book's sources are readable");
        let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert!(shown.is_empty(), "{}", shown.join("\n"));
    }
}

//! Checks on the built book: no directive left unexpanded, and every internal link resolves.

use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag};

use crate::findings::{Finding, Rule, line_of, markdown_files};

/// The HTML page mdBook renders for the source `chapter` (a path relative to `src`).
fn page_for(chapter: &Path) -> PathBuf {
    chapter.with_extension("html")
}

/// No `{{#` in any rendered page. mdBook leaves a directive it cannot expand (an unknown
/// kind, or an include it could not read) as text and still succeeds.
///
/// `print.html` repeats every chapter, so it is skipped: each leftover is reported once, at
/// its chapter's source line when that line can be found.
pub fn check_leftovers(src: &Path, build: &Path) -> std::io::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for chapter in markdown_files(src)? {
        let relative = chapter.strip_prefix(src).unwrap_or(&chapter);
        let page = build.join(page_for(relative));
        let Ok(html) = std::fs::read_to_string(&page) else {
            continue; // Not in SUMMARY.md: not rendered (the link check reports links to it).
        };
        let source = std::fs::read_to_string(&chapter)?;
        for (offset, _) in html.match_indices("{{#") {
            let end = html[offset..]
                .find("}}")
                .map_or(html.len().min(offset + 60), |end| offset + end + 2);
            let left = &html[offset..end];
            // Point at the source line that wrote it, if it is there verbatim.
            let (file, line) = match source.find(left) {
                Some(at) => (chapter.clone(), line_of(&source, at)),
                None => (page.clone(), line_of(&html, offset)),
            };
            findings.push(Finding::new(
                &file,
                line,
                Rule::LeftoverDirective,
                format!("`{left}` was not expanded: it is in the rendered page as text"),
                "check the directive's name (`include`, `rustdoc_include`, `lab_diff`) and its file; the book cannot show directive syntax literally",
            ));
        }
    }
    Ok(findings)
}

/// Whether `url` leaves the book (a scheme, or protocol-relative).
fn is_external(url: &str) -> bool {
    url.starts_with("//")
        || url.split_once(':').is_some_and(|(scheme, _)| {
            scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        })
}

/// `base.join(relative)` with `.` and `..` folded; `None` if it climbs above `base`'s root.
fn resolve(dir: &Path, relative: &str) -> Option<PathBuf> {
    let joined = dir.join(relative);
    let mut parts: Vec<Component<'_>> = Vec::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.iter().collect())
}

/// The `id`s in a rendered page.
fn ids_in(html: &str) -> Vec<&str> {
    html.match_indices(" id=\"")
        .filter_map(|(at, found)| {
            let rest = &html[at + found.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// The `id`s of a rendered page's headings, for the fix hint.
fn heading_ids(html: &str) -> Vec<&str> {
    (1..=6)
        .flat_map(|level| {
            html.match_indices(&format!("<h{level} id=\""))
                .collect::<Vec<_>>()
        })
        .filter_map(|(at, found)| {
            let rest = &html[at + found.len()..];
            rest.find('"').map(|end| (at, &rest[..end]))
        })
        .collect::<std::collections::BTreeMap<usize, &str>>()
        .into_values()
        .collect()
}

/// Every relative link in the sources (Markdown links and images, not code) resolves in the
/// built book: the page (a chapter that is in `SUMMARY.md`, or a file copied from `src`), and
/// its `#fragment` (a heading's or an element's `id`) on that page.
pub fn check_links(src: &Path, build: &Path) -> std::io::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    for chapter in markdown_files(src)? {
        let text = std::fs::read_to_string(&chapter)?;
        let relative = chapter.strip_prefix(src).unwrap_or(&chapter).to_owned();
        let dir = relative.parent().unwrap_or(Path::new("")).to_owned();
        for (event, range) in Parser::new_ext(&text, options).into_offset_iter() {
            let (url, kind) = match event {
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    ..
                }) if !matches!(link_type, LinkType::Email) => (dest_url, "link"),
                Event::Start(Tag::Image { dest_url, .. }) => (dest_url, "image"),
                _ => continue,
            };
            if url.is_empty() || is_external(&url) {
                continue;
            }
            let line = line_of(&text, range.start);
            let (path, fragment) = match url.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (url.as_ref(), None),
            };
            let broken = |message: String, fix: &str| {
                Finding::new(&chapter, line, Rule::InternalLink, message, fix)
            };
            // The page the link lands on, relative to the build directory.
            let target = if path.is_empty() {
                Some(page_for(&relative))
            } else {
                resolve(&dir, path).map(|target| {
                    if target.extension().is_some_and(|ext| ext == "md") {
                        page_for(&target)
                    } else {
                        target
                    }
                })
            };
            let Some(target) = target else {
                findings.push(broken(
                    format!("{kind} `{url}` leaves the book: it will not exist where the book is served"),
                    "link to a chapter of the book, or name a repository file as `code` (or by its full URL)",
                ));
                continue;
            };
            let on_disk = build.join(&target);
            if !on_disk.is_file() {
                findings.push(broken(
                    format!("{kind} `{url}` points at `{}`, which is not in the built book", target.display()),
                    "link to a chapter listed in SUMMARY.md (by its .md path, relative to this file) or to a file under book/src",
                ));
                continue;
            }
            let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
                continue;
            };
            let html = std::fs::read_to_string(&on_disk)?;
            let ids = ids_in(&html);
            if !ids.contains(&fragment) {
                let headings = heading_ids(&html);
                findings.push(broken(
                    format!("{kind} `{url}`: `{}` has no `#{fragment}`", target.display()),
                    &format!(
                        "use a heading's id (its text, lower-cased, spaces to dashes); that page has: {}",
                        headings.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_book_only() {
        assert_eq!(
            resolve(Path::new("a"), "../b.md"),
            Some(PathBuf::from("b.md"))
        );
        assert_eq!(
            resolve(Path::new(""), "./x/y.md"),
            Some(PathBuf::from("x/y.md"))
        );
        assert_eq!(resolve(Path::new(""), "../../crates/x.rs"), None);
    }

    #[test]
    fn external_links_are_recognised() {
        assert!(is_external("https://owasp.org/"));
        assert!(is_external("mailto:a@b"));
        assert!(is_external("//cdn.example/x.js"));
        assert!(!is_external("stage-2.md#why"));
        assert!(!is_external("#why"));
    }
}

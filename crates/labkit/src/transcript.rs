//! A readable record of every exchange the lab's clients make, for people: the xtask prints
//! it as the story unfolds, and a failing test prints it to show what happened.

use std::fmt;
use std::sync::{Arc, Mutex};

use anstyle::{AnsiColor, Style};

/// One thing that happened.
#[derive(Clone, Debug)]
pub enum Entry {
    /// A request and its answer.
    Exchange {
        /// `POST https://app.lab.test:8443/login`, and what was sent.
        request: Vec<String>,
        /// `200 OK`, and the headers worth seeing.
        response: Vec<String>,
    },
    /// A request that got no answer.
    Failed {
        /// What was sent.
        request: String,
        /// Why nothing came back.
        error: String,
    },
    /// A remark from the story.
    Note(String),
}

/// The shared record. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct Transcript(Arc<Mutex<Vec<Entry>>>);

impl Transcript {
    /// Adds an entry.
    pub fn push(&self, entry: Entry) {
        self.0.lock().expect("transcript poisoned").push(entry);
    }

    /// Adds a remark.
    pub fn note(&self, text: impl Into<String>) {
        self.push(Entry::Note(text.into()));
    }

    /// How many entries there are so far.
    pub fn len(&self) -> usize {
        self.0.lock().expect("transcript poisoned").len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in `range`, rendered (in colour if `colour`).
    pub fn render_from_range(&self, range: std::ops::Range<usize>, colour: bool) -> String {
        let entries = self.0.lock().expect("transcript poisoned");
        let mut out = String::new();
        for entry in entries.get(range).unwrap_or_default() {
            render(entry, colour, &mut out);
        }
        out
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_from_range(0..self.len(), false))
    }
}

const SENT: Style = AnsiColor::Cyan.on_default().bold();
const ANSWER: Style = AnsiColor::Magenta.on_default().bold();
const DETAIL: Style = Style::new().dimmed();
const ERROR: Style = AnsiColor::Red.on_default().bold();

/// `text` in `style` when `colour` is on, plain otherwise.
pub fn paint(style: Style, text: &str, colour: bool) -> String {
    if colour {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

fn render(entry: &Entry, colour: bool, out: &mut String) {
    match entry {
        Entry::Exchange { request, response } => {
            for (i, line) in request.iter().enumerate() {
                let line = if i == 0 {
                    paint(SENT, &format!("→ {line}"), colour)
                } else {
                    paint(DETAIL, &format!("    {line}"), colour)
                };
                out.push_str(&format!("  {line}\n"));
            }
            for (i, line) in response.iter().enumerate() {
                let line = if i == 0 {
                    paint(ANSWER, &format!("← {line}"), colour)
                } else {
                    format!("    {line}")
                };
                out.push_str(&format!("  {line}\n"));
            }
        }
        Entry::Failed { request, error } => {
            out.push_str(&format!(
                "  {}\n",
                paint(SENT, &format!("→ {request}"), colour)
            ));
            out.push_str(&format!(
                "  {}\n",
                paint(ERROR, &format!("✗ no answer: {error}"), colour)
            ));
        }
        Entry::Note(text) => out.push_str(&format!(
            "  {}\n",
            paint(DETAIL, &format!("# {text}"), colour)
        )),
    }
}

//! The audit's report: for people (coloured on a terminal) and as JSON for pipelines.

use anstyle::{AnsiColor, Style};
use serde::Serialize;

/// What a check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The deployment does what the check asks.
    Pass,
    /// It does not: the finding says what to fix.
    Fail,
    /// The check could not see enough to decide (never counted as a pass).
    CannotTell,
}

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// A stable id (`hsts`, `forged-x-forwarded-host`).
    pub check: &'static str,
    /// What a good deployment does.
    pub title: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was sent, one request per line.
    pub sent: Vec<String>,
    /// What came back, and why that gives the verdict.
    pub got: String,
    /// How to fix a failure.
    pub fix: &'static str,
    /// The book chapter that explains it.
    pub chapter: &'static str,
}

/// Every finding of one audit.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The audited origin.
    pub target: String,
    /// One per check, in order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The verdict of check `id`.
    pub fn verdict(&self, id: &str) -> Option<Verdict> {
        self.findings
            .iter()
            .find(|f| f.check == id)
            .map(|f| f.verdict)
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Fail)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for a person; `colour` adds ANSI colours.
    pub fn render(&self, colour: bool) -> String {
        let paint = |style: Style, text: &str| {
            if colour {
                format!("{}{text}{}", style.render(), style.render_reset())
            } else {
                text.to_owned()
            }
        };
        let mut out = format!("Audit of {}\n\n", self.target);
        for f in &self.findings {
            let (mark, style) = match f.verdict {
                Verdict::Pass => ("PASS", AnsiColor::Green.on_default().bold()),
                Verdict::Fail => ("FAIL", AnsiColor::Red.on_default().bold()),
                Verdict::CannotTell => ("????", AnsiColor::Yellow.on_default().bold()),
            };
            out.push_str(&format!(
                "{} {} ({})\n",
                paint(style, mark),
                f.title,
                f.check
            ));
            for line in &f.sent {
                out.push_str(&format!("     sent: {line}\n"));
            }
            out.push_str(&format!("     got:  {}\n", f.got));
            if f.verdict != Verdict::Pass {
                out.push_str(&format!("     fix:  {} (book: {})\n", f.fix, f.chapter));
            }
            out.push('\n');
        }
        let count = |v: Verdict| self.findings.iter().filter(|f| f.verdict == v).count();
        out.push_str(&format!(
            "{} passed, {} failed, {} could not tell\n",
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::CannotTell)
        ));
        out
    }
}

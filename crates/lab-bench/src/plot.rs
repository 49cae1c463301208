//! The figure in the book (`book/src/perf/bench.svg`): each row's requests/s as a share of the
//! ceiling, and its p50/p99 latency.
//!
//! Drawn by hand, about a hundred lines of `format!`: two sets of horizontal bars with their
//! labels need nothing a plotting crate does better. plotters, the usual choice, would add
//! dozens of crates (font handling among them) to compile on this 2-core machine, for a chart
//! this file draws with rectangles and text.

use std::fmt::Write as _;

use crate::cli::Row;
use crate::report::{REDIS_TARGET, Report};

/// A bar chart: each row's requests/s as a share of the ceiling (with the 40% target for Redis
/// marked), and its p50/p99 latency.
pub fn svg(report: &Report) -> String {
    const W: f64 = 760.0;
    const LABEL: f64 = 190.0;
    const BAR_W: f64 = 400.0;
    const ROW_H: f64 = 34.0;
    let n = report.rows.len() as f64;
    let top1 = 58.0;
    let top2 = top1 + n * ROW_H + 64.0;
    let h = top2 + n * ROW_H + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        "<!-- Written by `cargo xtask bench`: authenticated GET /me through nginx, one run. -->"
    );
    let _ = writeln!(s, r##"<rect width="{W}" height="{h}" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="10" y="24" font-size="15" font-weight="bold">Requests per second, as a share of nginx alone (the ceiling)</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="44" fill="#555">wrk -t{} -c{} -d{}s, median of {} alternating rounds; dashed line: the 40% target for stage 4 with Redis</text>"##,
        report.args.threads, report.args.connections, report.args.duration, report.args.rounds
    );
    let colour = |row: Row| match row {
        Row::Ceiling => "#7f8c8d",
        Row::ProxyHop => "#b2babb",
        Row::Stage3 => "#2e86c1",
        Row::Stage4Sqlite => "#28b463",
        Row::Stage4Redis => "#c0392b",
        Row::Stage5Sqlite => "#8e44ad",
        Row::Stage5SqliteNoKeepalive => "#d2b4de",
    };
    for (i, row) in report.rows.iter().enumerate() {
        let y = top1 + i as f64 * ROW_H;
        let ratio = report.ratio(i).clamp(0.0, 1.5);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            y + 17.0,
            row.label()
        );
        let _ = writeln!(
            s,
            r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}"/>"#,
            y + 2.0,
            BAR_W * ratio.min(1.0),
            colour(*row)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}">{:.0}% · {:.0} req/s</text>"#,
            LABEL + BAR_W * ratio.min(1.0) + 6.0,
            y + 17.0,
            100.0 * report.ratio(i),
            report.rps(i)
        );
    }
    let x40 = LABEL + BAR_W * REDIS_TARGET;
    let _ = writeln!(
        s,
        r##"<line x1="{x40}" y1="{}" x2="{x40}" y2="{}" stroke="#000" stroke-dasharray="4 3"/>"##,
        top1 - 4.0,
        top1 + n * ROW_H
    );

    let max_p99 = (0..report.rows.len())
        .map(|i| report.p99(i))
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}" font-size="15" font-weight="bold">Latency: p50 (dark) and p99 (light), ms</text>"#,
        top2 - 20.0
    );
    for (i, row) in report.rows.iter().enumerate() {
        let y = top2 + i as f64 * ROW_H;
        let (p50, p99) = (report.p50(i), report.p99(i));
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            y + 17.0,
            row.label()
        );
        let _ = writeln!(
            s,
            r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}" fill-opacity="0.35"/>"#,
            y + 2.0,
            BAR_W * p99 / max_p99,
            colour(*row)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{LABEL}" y="{}" width="{:.1}" height="22" fill="{}"/>"#,
            y + 2.0,
            BAR_W * p50 / max_p99,
            colour(*row)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}">p50 {p50:.2} · p99 {p99:.2}</text>"#,
            LABEL + BAR_W * p99 / max_p99 + 6.0,
            y + 17.0
        );
    }
    s.push_str("</svg>\n");
    s
}

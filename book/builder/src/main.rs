//! `book-builder [--check] [--xtask PATH]`: build the lab's book into `book/build`; with
//! `--check`, check it too and exit non-zero on any finding. `cargo xtask book` runs this.

use std::path::PathBuf;
use std::process::ExitCode;

use book_builder::{Xtask, findings::display_path};

const USAGE: &str = "usage: book-builder [--check] [--xtask PATH]

Builds the lab's book (book/) into book/build with mdBook.
  --check        also check includes, anchors, leftover directives, internal links,
                 `cargo xtask` commands, mermaid labels and the browser suite's
                 screenshots, and fail on any finding
  --xtask PATH   the xtask binary to ask about commands (default: `cargo run -p xtask`)";

fn main() -> ExitCode {
    let mut check = false;
    let mut xtask = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--xtask" => match args.next() {
                Some(path) => xtask = Some(Xtask::Binary(PathBuf::from(path))),
                None => return usage("--xtask needs a path"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let root = book_builder::lab_book();
    let result = if check {
        let xtask = xtask.unwrap_or_else(|| Xtask::Cargo {
            workspace: book_builder::workspace_root(),
        });
        book_builder::check(
            &root,
            None,
            &xtask,
            Some(&book_builder::lab_browser_tests()),
        )
    } else {
        book_builder::build(&root, None).map(|build_dir| book_builder::Report {
            build_dir,
            build_error: None,
            findings: Vec::new(),
        })
    };
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    for finding in &report.findings {
        eprintln!("{finding}");
    }
    let index = report.build_dir.join("index.html");
    if let Some(error) = &report.build_error {
        eprintln!("error: {error}");
    }
    if !report.passed() {
        let built = match report.build_error {
            Some(_) => "mdBook's build failed".to_owned(),
            None => format!(
                "it was built anyway, into {}",
                display_path(&report.build_dir)
            ),
        };
        eprintln!(
            "\nthe book has {} problem(s); {built}",
            report.findings.len() + usize::from(report.build_error.is_some()),
        );
        return ExitCode::FAILURE;
    }
    if check {
        println!(
            "checks passed: include files, anchors, xtask commands, mermaid labels, screenshots, leftover directives, internal links"
        );
    }
    println!(
        "The book is built: open {} in a browser (file://{})",
        display_path(&index),
        index.display()
    );
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\n\n{USAGE}");
    ExitCode::from(2)
}

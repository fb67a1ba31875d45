//! The committed stall report is what the committed runs give: `stall --report` on a copy
//! of `results/stall/runs` (with the reproduction's runs as the baseline) writes the same
//! `STALL.md`, and every growth row and phase line README quotes is one of its lines.

mod common;

use common::copy_dir;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn the_committed_stall_report_is_what_the_committed_runs_give_and_readme_quotes_it() {
    let committed = repo().join("results/stall");
    let tmp = tempfile::tempdir().unwrap();
    if committed.join("runs").exists() {
        copy_dir(&committed.join("runs"), &tmp.path().join("runs"));
    }
    let baseline = repo().join("results/reproduction");
    let o = common::run(&[
        "stall",
        "--report",
        "--out",
        tmp.path().to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = std::fs::read_to_string(tmp.path().join("STALL.md")).unwrap();
    let kept = std::fs::read_to_string(committed.join("STALL.md")).unwrap();
    assert_eq!(
        fresh, kept,
        "results/stall/STALL.md is stale: rerun `experiments stall --report`"
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    // The drift section's rows are DRIFT.md's (tests/readme_drift.rs checks those).
    let (before_drift, _) = readme
        .split_once("### What moves while the net is at chance")
        .expect("README's drift section");
    let quoted: Vec<&str> = before_drift
        .lines()
        .filter(|l| l.starts_with("| `d30-") || l.starts_with("- `d30-"))
        .collect();
    assert!(
        quoted.len() >= 8,
        "README quotes the growth table and its phases"
    );
    let predictions = table_rows(&readme, PREDICTIONS_HEADER);
    assert!(
        predictions.len() >= 3,
        "README quotes STALL.md's prediction table"
    );
    for row in quoted.into_iter().chain(predictions) {
        assert!(
            kept.lines().any(|l| l == row),
            "README's `{row}` is not a line of STALL.md"
        );
    }
}

/// The header of `STALL.md`'s "Predictions against the runs" table.
const PREDICTIONS_HEADER: &str =
    "| factor | level | predicted | left chance at, per seed | measured | verdict |";

/// The body rows (after the header and its rule) of every table in `text` whose header
/// is `header`.
fn table_rows<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l == header {
            rows.extend(
                lines
                    .iter()
                    .skip(i + 2)
                    .take_while(|l| l.starts_with('|'))
                    .copied(),
            );
        }
    }
    rows
}

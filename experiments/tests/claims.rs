//! The claims report is generated, never typed: `reproduce --report` on the committed runs
//! of `results/reproduction/` (and `--protocol paper-like` on those of
//! `results/reproduction-paperlike/`, `--protocol strong-decay` on those of
//! `results/reproduction-strongdecay/`) writes `CLAIMS.md` and `claims.json` identical to the
//! committed ones (regenerate and commit them whenever a run is added).

mod common;

use common::run;
use std::path::Path;

#[test]
fn the_committed_claims_report_is_what_the_committed_runs_give() {
    regenerates("reproduction", "spec");
}

/// The same for the paper-like protocol's folder.
#[test]
fn the_committed_paper_like_claims_report_is_what_its_runs_give() {
    regenerates("reproduction-paperlike", "paper-like");
}

/// The same for the strong-decay protocol's folder.
#[test]
fn the_committed_strong_decay_claims_report_is_what_its_runs_give() {
    regenerates("reproduction-strongdecay", "strong-decay");
}

/// `reproduce --protocol <protocol> --report` on copies of the runs committed under
/// `results/<folder>/` writes the committed `CLAIMS.md` and `claims.json`.
fn regenerates(folder: &str, protocol: &str) {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../results")
        .join(folder);
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(committed.join("runs")).unwrap() {
        let run_dir = e.unwrap().path();
        if !run_dir.is_dir() {
            continue; // lock files
        }
        let to = tmp.path().join("runs").join(run_dir.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.json", "train.csv", "eval.csv", "summary.json"] {
            if run_dir.join(f).exists() {
                std::fs::copy(run_dir.join(f), to.join(f)).unwrap();
            }
        }
    }
    let out = tmp.path().to_str().unwrap();
    let o = run(&[
        "reproduce",
        "--protocol",
        protocol,
        "--report",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["CLAIMS.md", "claims.json"] {
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(f)).unwrap(),
            std::fs::read_to_string(committed.join(f)).unwrap(),
            "results/{folder}/{f} is not what the committed runs give: regenerate it with `experiments reproduce --protocol {protocol} --report`"
        );
    }
}

/// README's table of the reproduction is columns of `CLAIMS.md`: each of its rows is
/// `| # | claim | cells... |`, every cell one of that claim's seed or verdict cells.
#[test]
fn readme_quotes_the_claims_report() {
    readme_table_is_columns_of("results/reproduction/CLAIMS.md");
}

/// The same for the paper-like protocol's report and its own table in README.
#[test]
fn readme_quotes_the_paper_like_claims_report() {
    readme_table_is_columns_of("results/reproduction-paperlike/CLAIMS.md");
}

/// The same for the strong-decay protocol's report and its table in README.
#[test]
fn readme_quotes_the_strong_decay_claims_report() {
    readme_table_is_columns_of("results/reproduction-strongdecay/CLAIMS.md");
}

/// The table README gives after the line that names `report` ("`report` without its
/// criteria column"): all six claims, each row `| # | claim | cells... |` with every cell
/// one of that claim's seed or verdict cells in `report`.
fn readme_table_is_columns_of(report: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let claims = std::fs::read_to_string(root.join(report)).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect()
    };
    let is_claim_row =
        |l: &&str| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit());
    let rows: Vec<Vec<String>> = claims.lines().filter(is_claim_row).map(cells).collect();
    assert_eq!(rows.len(), 6, "{report} has six claims");
    let marker = format!("`{report}` without its criteria column");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no table of {report} (`{marker}`)"));
    let quoted: Vec<Vec<String>> = readme[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(is_claim_row)
        .map(cells)
        .collect();
    assert_eq!(
        quoted.len(),
        6,
        "README's table of {report} gives all six claims"
    );
    for row in &quoted {
        let full = rows
            .iter()
            .find(|r| r[0] == row[0] && r[1] == row[1])
            .unwrap_or_else(|| panic!("README's claim {} is not {report}'s", row[0]));
        for cell in &row[2..] {
            assert!(
                full[3..].contains(cell),
                "README's claim {} cell `{cell}` is none of {report}'s seed or verdict cells",
                row[0]
            );
        }
    }
}

/// README's reading of each report ("Read with the paper: ..." after its table) quotes
/// only the report's numbers: every decimal and every ratio (`855x`) in that paragraph
/// is one the report prints.
#[test]
fn readme_reading_of_each_report_quotes_its_numbers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for report in [
        "results/reproduction/CLAIMS.md",
        "results/reproduction-paperlike/CLAIMS.md",
        "results/reproduction-strongdecay/CLAIMS.md",
    ] {
        let claims = std::fs::read_to_string(root.join(report)).unwrap();
        let printed = numbers(&claims);
        let table = readme
            .find(&format!("`{report}` without its criteria column"))
            .unwrap_or_else(|| panic!("README has no table of {report}"));
        let at = table
            + readme[table..]
                .find("Read with the paper")
                .unwrap_or_else(|| panic!("README does not read {report} with the paper"));
        let paragraph = &readme[at..at + readme[at..].find("\n\n").unwrap_or(0)];
        let quoted = numbers(paragraph);
        assert!(
            quoted.len() >= 5,
            "README's reading of {report} quotes {quoted:?}"
        );
        for n in &quoted {
            assert!(
                printed.contains(n),
                "README's reading of {report} quotes {n}, which the report does not print"
            );
        }
    }
}

/// The decimals (`0.157`, `4.57`) and ratios (`855x`) in `text`, as written.
fn numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| {
            let is_decimal = w.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            });
            let is_ratio = w
                .strip_suffix('x')
                .is_some_and(|a| !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()));
            is_decimal || is_ratio
        })
        .map(str::to_string)
        .collect()
}

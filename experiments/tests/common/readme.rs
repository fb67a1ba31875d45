//! README and the committed `drift.csv` reports, as the tests that check one against the
//! other read them.

use std::collections::HashMap;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// README, as lines and as one line with its whitespace collapsed.
pub struct Readme {
    pub lines: Vec<String>,
    pub flat: String,
}

impl Readme {
    pub fn read() -> Self {
        let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
        Readme {
            lines: text.lines().map(str::to_string).collect(),
            flat: text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// Asserts that README says `s`, line breaks aside.
    pub fn has(&self, s: &str) {
        assert!(self.flat.contains(s), "README lacks `{s}`");
    }

    /// Asserts that README has the table row `line`, verbatim.
    pub fn has_row(&self, line: &str) {
        assert!(
            self.lines.iter().any(|l| l == line),
            "README lacks the row {line}"
        );
    }
}

/// One layer's row of a `drift.csv`, by column name.
pub type LayerRow = HashMap<String, String>;

/// The rows of `results/<dir>/drift.csv`.
pub fn layer_rows(dir: &str) -> Vec<LayerRow> {
    let text = std::fs::read_to_string(repo().join("results").join(dir).join("drift.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// A layer's turn in degrees, from its cosine.
pub fn turn(r: &LayerRow) -> f64 {
    r["cos"]
        .parse::<f64>()
        .unwrap()
        .min(1.0)
        .acos()
        .to_degrees()
}

//! `experiments verify <run>...`: each run's first iterations trained again from its
//! `config.json`, and compared with its committed `train.csv` and first `eval.csv` row
//! bit for bit (the work is `run::replay`'s).

use crate::cli::VerifyArgs;
use crate::data::Dataset;
use crate::run::replay::{self, first_difference, Scratch};
use crate::spec;
use crate::store::records::{read_csv, read_json, Config, EvalRow, TrainRow};
use anyhow::{Context, Result};
use std::path::Path;

/// Some runs' replays parted from their committed logs (the binary exits with 1).
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} runs differ from their committed logs: {}", .differ.len(), .differ.join(", "))]
pub struct Differs {
    /// The runs that differ.
    pub differ: Vec<String>,
    /// The runs replayed.
    pub total: usize,
}

/// A run folder's records: its configuration and what it logged.
struct Committed {
    config: Config,
    eval: EvalRow,
    rows: Vec<TrainRow>,
}

/// Reads a run folder, or says in one line why it is not one.
fn read(dir: &Path) -> Result<Committed> {
    let config: Config = read_json(&dir.join("config.json"))
        .with_context(|| format!("{}: not a run folder", dir.display()))?;
    config
        .run
        .check_recorded()
        .with_context(|| format!("{}", dir.join("config.json").display()))?;
    let evals: Vec<EvalRow> = read_csv(&dir.join("eval.csv"))?;
    let rows: Vec<TrainRow> = read_csv(&dir.join("train.csv"))?;
    let eval = evals
        .into_iter()
        .next()
        .with_context(|| format!("{}: eval.csv has no rows", dir.display()))?;
    Ok(Committed { config, eval, rows })
}

/// Replays every run given; fails with [`Differs`] if any differs.
pub fn run(args: VerifyArgs) -> Result<()> {
    let runs = args
        .runs
        .iter()
        .map(|d| read(d))
        .collect::<Result<Vec<_>>>()?;
    let data_dir = spec::data_dir(&args.data);
    let data = Dataset::load(&data_dir).context("loading the data (see --data)")?;
    let here = crate::store::records::Provenance::current();
    let scratch = Scratch::new();
    let mut differ = vec![];
    for c in &runs {
        let name = &c.config.run.name;
        let n = args.iterations.min(c.rows.len());
        let replayed = replay::replay(&c.config, &data, n, scratch.path())?;
        let made_by = made_by(&c.config);
        match first_difference(&c.eval, &c.rows, &replayed) {
            None => println!(
                "{name}: identical, bit for bit, over {} iterations and the first evaluation (made by {made_by}; replayed by {} on {})",
                replayed.rows.len(),
                here.numerics(),
                here.cpu
            ),
            Some(d) => {
                println!("{name}: DIFFERS at {d} (made by {made_by})");
                differ.push(name.clone());
            }
        }
    }
    if differ.is_empty() {
        Ok(())
    } else {
        Err(Differs {
            total: runs.len(),
            differ,
        }
        .into())
    }
}

/// Who trained the run, segment by segment: `commit (simd) on CPU`, joined.
fn made_by(config: &Config) -> String {
    let mut seen: Vec<String> = vec![];
    for s in &config.segments {
        let who = format!("{} on {}", s.provenance.numerics(), s.provenance.cpu);
        if !seen.contains(&who) {
            seen.push(who);
        }
    }
    if seen.is_empty() {
        "a build that did not record itself".into()
    } else {
        seen.join(", then ")
    }
}

//! Runs read back from an output folder, for the figures and reports.

use crate::store::records::{
    read_csv, read_json, Config, EvalRow, Logs, SlopeRow, Summary, TrainRow,
};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One run read back from disk.
pub struct RunData {
    /// Its configuration.
    pub config: Config,
    /// `train.csv`.
    pub train: Vec<TrainRow>,
    /// `eval.csv`.
    pub eval: Vec<EvalRow>,
    /// `slopes.csv`, for PReLU runs (empty otherwise).
    pub slopes: Vec<SlopeRow>,
    /// `summary.json`, once the run is complete.
    pub summary: Option<Summary>,
}

/// Every run under `<out>/runs/` that can be read, sorted by name, and one line for each
/// run that cannot (naming the file and what is wrong) or that had rows with NaN or
/// infinite values (dropped): a damaged run never stops the others from being drawn.
pub fn load_runs(out: &Path) -> Result<(Vec<RunData>, Vec<String>)> {
    let (mut runs, mut warnings) = (vec![], vec![]);
    for p in &run_dirs(out)? {
        match load_run(p) {
            Ok((run, 0)) => runs.push(run),
            Ok((run, dropped)) => {
                warnings.push(format!(
                    "{}: {dropped} row(s) with NaN or infinite values left out",
                    p.display()
                ));
                runs.push(run);
            }
            Err(e) => warnings.push(format!("{e:#}; run left out")),
        }
    }
    Ok((runs, warnings))
}

/// The folders under `<out>/runs/` that hold a `config.json`, sorted.
pub fn run_dirs(out: &Path) -> Result<Vec<PathBuf>> {
    let dir = out.join("runs");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").exists())
        .collect();
    entries.sort();
    Ok(entries)
}

/// The builds and CPUs that made the complete `runs`: one line each, sorted (`5cddcee
/// (avx2-fma) on AMD EPYC ...`), for the reports' "Made by".
pub fn made_by<'a>(runs: impl Iterator<Item = &'a RunData>) -> Vec<String> {
    let mut lines: Vec<String> = runs
        .filter_map(|r| r.summary.as_ref())
        .flat_map(|s| &s.segments)
        .map(|g| format!("{} on {}", g.provenance.numerics(), g.provenance.cpu))
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// One run, with its rows that hold a non-finite number dropped (and counted).
pub fn load_run(p: &Path) -> Result<(RunData, usize)> {
    let train: Vec<TrainRow> = read_csv(&p.join("train.csv"))?;
    let eval: Vec<EvalRow> = read_csv(&p.join("eval.csv"))?;
    let slopes: Vec<SlopeRow> = match p.join("slopes.csv") {
        f if f.exists() => read_csv(&f)?,
        _ => vec![],
    };
    let (logs, dropped) = Logs {
        train,
        eval,
        slopes,
    }
    .finite();
    let Logs {
        train,
        eval,
        slopes,
    } = logs;
    let config = read_json(&p.join("config.json"))?;
    let summary = match p.join("summary.json") {
        f if f.exists() => Some(read_json(&f)?),
        _ => None,
    };
    Ok((
        RunData {
            config,
            train,
            eval,
            slopes,
            summary,
        },
        dropped,
    ))
}

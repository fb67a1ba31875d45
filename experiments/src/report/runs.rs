//! Runs read back from an output folder, for the figures and reports.

use crate::store::records::{read_csv, read_json, Config, EvalRow, SlopeRow, TrainRow};
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
}

/// Every run under `<out>/runs/`, sorted by name.
pub fn load_runs(out: &Path) -> Result<Vec<RunData>> {
    let dir = out.join("runs");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").exists())
        .collect();
    entries.sort();
    entries
        .iter()
        .map(|p| {
            Ok(RunData {
                config: read_json(&p.join("config.json"))?,
                train: read_csv(&p.join("train.csv"))?,
                eval: read_csv(&p.join("eval.csv"))?,
                slopes: match p.join("slopes.csv") {
                    f if f.exists() => read_csv(&f)?,
                    _ => vec![],
                },
            })
        })
        .collect()
}

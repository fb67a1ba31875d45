//! A run's folder on disk: what state it is in, and its CSV logs.

use crate::store::checkpoint::{self, Checkpoint};
use crate::store::records;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// How far a run in its folder got.
#[derive(Debug)]
pub enum RunState {
    /// No folder, or an empty one.
    Absent,
    /// Files, but no checkpoint yet: killed in its first epoch.
    Started,
    /// A checkpoint and no `summary.json`: it can continue.
    Partial,
    /// `summary.json` is written: the run is complete.
    Complete,
}

impl RunState {
    /// Looks at `dir`.
    pub fn of(dir: &Path) -> Self {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if empty {
            RunState::Absent
        } else if dir.join("summary.json").exists() {
            RunState::Complete
        } else if dir.join(checkpoint::FILE).exists() {
            RunState::Partial
        } else {
            RunState::Started
        }
    }
}

/// The CSV logs of one run: `train.csv`, `eval.csv` and, for PReLU nets, `slopes.csv`.
pub struct Logs {
    /// One row per training step.
    pub train: csv::Writer<File>,
    /// One row per evaluation.
    pub eval: csv::Writer<File>,
    /// One row per PReLU layer per evaluation.
    pub slopes: Option<csv::Writer<File>>,
}

fn writer(path: PathBuf, append: bool) -> Result<csv::Writer<File>> {
    let file = if append {
        OpenOptions::new().append(true).open(&path)
    } else {
        File::create(&path)
    }
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(csv::WriterBuilder::new()
        .has_headers(!append)
        .from_writer(file))
}

impl Logs {
    fn open(dir: &Path, slopes: bool, append: bool) -> Result<Self> {
        Ok(Self {
            train: writer(dir.join("train.csv"), append)?,
            eval: writer(dir.join("eval.csv"), append)?,
            slopes: if slopes {
                Some(writer(dir.join("slopes.csv"), append)?)
            } else {
                None
            },
        })
    }

    /// New, empty logs in `dir`.
    pub fn create(dir: &Path, slopes: bool) -> Result<Self> {
        Self::open(dir, slopes, false)
    }

    /// The logs of a run resumed from `ck`: rows after its iteration (written after the
    /// checkpoint, or cut short by a crash) are dropped, the rest kept and appended to.
    pub fn resume(dir: &Path, ck: &Checkpoint, slopes: bool) -> Result<Self> {
        let mut names = vec!["train.csv", "eval.csv"];
        if slopes {
            names.push("slopes.csv");
        }
        for name in names {
            records::truncate_log(&dir.join(name), ck.iteration)?;
        }
        Self::open(dir, slopes, true)
    }

    /// Appends a row to a log.
    pub fn row(w: &mut csv::Writer<File>, row: &impl Serialize) -> Result<()> {
        w.serialize(row).context("writing a log row")
    }

    /// Flushes every log and syncs it to disk, so a checkpoint never runs ahead of its logs.
    pub fn sync(&mut self) -> Result<()> {
        let writers = [
            Some(&mut self.train),
            Some(&mut self.eval),
            self.slopes.as_mut(),
        ];
        for w in writers.into_iter().flatten() {
            w.flush().context("flushing the logs")?;
            w.get_ref().sync_data().context("syncing the logs")?;
        }
        Ok(())
    }
}

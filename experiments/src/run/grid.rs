//! What to do with each run of a grid, decided from its folder before anything trains.

use crate::data::Dataset;
use crate::spec::RunSpec;
use crate::store::checkpoint::{self, Checkpoint, CheckpointError};
use crate::store::records::{self, Config, FileSum};
use crate::store::run_folder::RunState;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// What to do with one run of the grid.
pub enum Plan {
    /// Start it (replacing what is in its folder).
    Fresh,
    /// Continue it from this checkpoint.
    Resume(Box<Checkpoint>),
    /// It is complete: leave it.
    Skip,
}

/// How an existing run is to be treated (`--overwrite`, `--resume`, or neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to touch it.
    Refuse,
    /// Replace it.
    Overwrite,
    /// Continue it, or skip it if complete.
    Resume,
}

/// Decides what to do with run `r` in `dir` (under the output folder `out`): a complete
/// run is skipped on resume only if it is this configuration, a checkpoint is resumed only
/// if it is this configuration and data (the files' checksums, the number of images), anything else is refused unless asked.
pub fn plan(
    r: &RunSpec,
    dir: &Path,
    out: &Path,
    (files, dataset): (&[FileSum], &Dataset),
    existing: Existing,
) -> Result<Plan> {
    let resume = existing == Existing::Resume;
    Ok(match RunState::of(dir) {
        RunState::Absent => Plan::Fresh,
        _ if existing == Existing::Overwrite => Plan::Fresh,
        RunState::Complete if resume => {
            let config: Config = records::read_json(&dir.join("config.json"))?;
            if let Some(d) = checkpoint::run_difference("finished run", &config.run, r) {
                bail!(
                    "{} holds a finished run `{}` of another configuration ({d}); use --overwrite to replace it",
                    out.display(),
                    r.name
                );
            }
            Plan::Skip
        }
        RunState::Started if resume => Plan::Fresh,
        RunState::Partial if resume => {
            let path = dir.join(checkpoint::FILE);
            let ck = Checkpoint::read(&path, r.build_net()?.num_params())?;
            if let Some(difference) = ck.difference(r, files, r.n_train(dataset)) {
                return Err(CheckpointError::Mismatch { path, difference }.into());
            }
            // The log must reach the checkpoint, or the finished run would have a gap.
            let log = dir.join("train.csv");
            let last = records::last_iteration(&log)?;
            if last < ck.iteration {
                bail!(
                    "{}: its last row is iteration {last}, before the checkpoint's {}: the run cannot continue without a gap; use --overwrite to start over",
                    log.display(),
                    ck.iteration
                );
            }
            Plan::Resume(Box::new(ck))
        }
        _ => bail!(
            "{} already holds run `{}`: pass --resume to continue it, --overwrite to replace it, or choose another --out",
            out.display(),
            r.name
        ),
    })
}

/// Checks every run of the grid against the data before any folder is touched: the net
/// takes the images' shape, and `--train-size` and `--eval-size` fit in the splits (never
/// cut silently, as the run's files would then record sizes it did not use).
pub fn check_data(runs: &[RunSpec], data: &Dataset) -> Result<()> {
    for r in runs {
        let [c, h, w] = r.net_config().input;
        if (c, data.train.h, data.train.w) != (1, h, w) {
            bail!(
                "the data's images are 1x{}x{}, the net takes {c}x{h}x{w}",
                data.train.h,
                data.train.w
            );
        }
        if r.train_size > data.train.len() {
            bail!(
                "--train-size: {} is more than the {} training images",
                r.train_size,
                data.train.len()
            );
        }
        if r.eval_size > data.test.len() {
            bail!(
                "--eval-size: {} is more than the {} test images",
                r.eval_size,
                data.test.len()
            );
        }
    }
    Ok(())
}

/// Empties `dir` (creating it if needed) and writes the run's `config.json` there.
pub fn start_folder(dir: &Path, config: &Config) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("replacing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    records::write_json(&dir.join("config.json"), config)
}

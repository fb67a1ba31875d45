//! A committed run's first iterations trained again from its `config.json` alone, and the
//! rows compared with its logs bit for bit: the evidence that a result came from the
//! build that ships (or which iteration first says otherwise).

use crate::data::Dataset;
use crate::run::grid;
use crate::run::Trainer;
use crate::store::records::{Config, EvalRow, FileSum, TrainRow};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// What a replay logged: the evaluation at iteration 0 and one row per step.
pub struct Replayed {
    /// `eval.csv`'s first row.
    pub eval: EvalRow,
    /// `train.csv`'s rows.
    pub rows: Vec<TrainRow>,
}

/// The run of `config` trained afresh for `iterations` steps on `data` in the folder
/// `scratch` (emptied first), as `train` would have started it.
pub fn replay(
    config: &Config,
    data: &Dataset,
    iterations: usize,
    scratch: &Path,
) -> Result<Replayed> {
    let files = same_files(&config.data, data)?;
    grid::check_data(std::slice::from_ref(&config.run), data)?;
    grid::start_folder(scratch, config)?;
    let mut trainer = Trainer::start(&config.run, data, scratch, &files, Default::default())?;
    for _ in 0..iterations {
        if trainer.step()?.is_none() {
            break; // the loss was not finite: the committed log stops there too
        }
    }
    let eval = trainer
        .first_eval()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the replay logged no evaluation"))?;
    Ok(Replayed {
        eval,
        rows: trainer.rows().to_vec(),
    })
}

/// The data files, if they are the ones the run trained on (by name and SHA-256): a run
/// can only be replayed on its own data.
fn same_files(recorded: &[FileSum], data: &Dataset) -> Result<Vec<FileSum>> {
    let here = FileSum::of(data);
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    };
    for r in recorded {
        let found = here.iter().find(|h| name(&h.path) == name(&r.path));
        match found {
            Some(h) if h.sha256 == r.sha256 => {}
            Some(h) => bail!(
                "{}: its SHA-256 is {}, the run trained on {} (see --data)",
                h.path,
                h.sha256,
                r.sha256
            ),
            None => bail!(
                "the run trained on {}, which the data folder lacks (see --data)",
                r.path
            ),
        }
    }
    Ok(here)
}

/// The first place where the replay and the committed logs part, as one phrase; `None`
/// if every replayed row equals its committed row to the bit. `committed` may be longer
/// than the replay (only the replayed iterations are compared), never shorter.
pub fn first_difference(
    committed_eval: &EvalRow,
    committed: &[TrainRow],
    replayed: &Replayed,
) -> Option<String> {
    let (a, b) = (committed_eval, &replayed.eval);
    for (what, x, y) in [
        ("test loss", a.test_loss, b.test_loss),
        ("test error", a.test_error, b.test_error),
    ] {
        if x.to_bits() != y.to_bits() || a.iteration != b.iteration {
            return Some(format!(
                "evaluation at iteration {}: {what} {x} committed, {y} replayed",
                a.iteration
            ));
        }
    }
    if committed.len() < replayed.rows.len() {
        return Some(format!(
            "train.csv has {} rows, the replay took {} steps",
            committed.len(),
            replayed.rows.len()
        ));
    }
    committed
        .iter()
        .zip(&replayed.rows)
        .find_map(|(c, r)| row_difference(c, r))
}

/// The first field of two `train.csv` rows that differs, as one phrase.
fn row_difference(c: &TrainRow, r: &TrainRow) -> Option<String> {
    if c.iteration != r.iteration {
        return Some(format!(
            "row of iteration {} committed where the replay has {}",
            c.iteration, r.iteration
        ));
    }
    // (field, same bits, committed, replayed), in train.csv's column order, each value
    // printed in its own type (a loss as the f32 the log holds).
    let wide = |what, x: f64, y: f64| {
        (
            what,
            x.to_bits() == y.to_bits(),
            x.to_string(),
            y.to_string(),
        )
    };
    let narrow = |what, x: f32, y: f32| {
        (
            what,
            x.to_bits() == y.to_bits(),
            x.to_string(),
            y.to_string(),
        )
    };
    let fields = [
        wide("epoch", c.epoch, r.epoch),
        narrow("loss", c.loss, r.loss),
        narrow("lr", c.lr, r.lr),
        wide("grad_norm_first", c.grad_norm_first, r.grad_norm_first),
        wide("grad_norm_last", c.grad_norm_last, r.grad_norm_last),
    ];
    fields
        .into_iter()
        .find(|(_, same, _, _)| !same)
        .map(|(what, _, x, y)| {
            format!(
                "iteration {}: {what} {x} committed, {y} replayed",
                c.iteration
            )
        })
}

/// A scratch folder under the system's temporary folder, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh folder name for this process (created by [`replay`]).
    pub fn new() -> Self {
        Self(std::env::temp_dir().join(format!("delve-verify-{}", std::process::id())))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: usize, loss: f32) -> TrainRow {
        TrainRow {
            iteration,
            epoch: iteration as f64 / 469.0,
            loss,
            lr: 0.001,
            grad_norm_first: 1e-4,
            grad_norm_last: 5e-4,
        }
    }

    fn eval(test_error: f64) -> EvalRow {
        EvalRow {
            iteration: 0,
            epoch: 0.0,
            test_loss: 2.3,
            test_error,
        }
    }

    #[test]
    fn identical_rows_agree_and_one_bit_is_a_difference() {
        let committed: Vec<TrainRow> = (1..=5).map(|i| row(i, 2.3 - i as f32 * 1e-3)).collect();
        let mut replayed = Replayed {
            eval: eval(0.9),
            rows: committed[..3].to_vec(),
        };
        assert_eq!(first_difference(&eval(0.9), &committed, &replayed), None);
        let loss = replayed.rows[1].loss;
        replayed.rows[1].loss = f32::from_bits(loss.to_bits() + 1);
        let d = first_difference(&eval(0.9), &committed, &replayed).unwrap();
        let bumped = replayed.rows[1].loss;
        assert_eq!(
            d,
            format!("iteration 2: loss {loss} committed, {bumped} replayed")
        );
        replayed.rows[1].loss = loss;
        let g = &mut replayed.rows[2].grad_norm_last;
        *g = f64::from_bits(g.to_bits() ^ 1);
        let d = first_difference(&eval(0.9), &committed, &replayed).unwrap();
        assert!(d.starts_with("iteration 3: grad_norm_last"), "{d}");
    }

    #[test]
    fn the_evaluation_and_the_row_count_are_compared_too() {
        let committed: Vec<TrainRow> = (1..=2).map(|i| row(i, 2.3)).collect();
        let replayed = Replayed {
            eval: eval(0.9),
            rows: (1..=3).map(|i| row(i, 2.3)).collect(),
        };
        let d = first_difference(&eval(0.9), &committed, &replayed).unwrap();
        assert!(d.contains("has 2 rows"), "{d}");
        let d = first_difference(&eval(0.8), &committed[..0], &replayed).unwrap();
        assert!(
            d.starts_with("evaluation at iteration 0: test error"),
            "{d}"
        );
    }
}

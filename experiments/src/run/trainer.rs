//! One training run as a type: start or resume it, take steps, evaluate, checkpoint, and
//! summarise. Progress and stop requests come through an [`Observer`], so the progress
//! bar and the signal handlers stay outside.

use crate::data::Dataset;
use crate::run::evaluate::{eval_subset, evaluate};
use crate::run::{metrics, train_step, Batches};
use crate::spec::RunSpec;
use crate::store::checkpoint::{self, Checkpoint, CheckpointError};
use crate::store::records::{self, EvalRow, FileSum, SlopeRow, Summary, TrainRow};
use crate::store::run_folder::Logs;
use crate::store::weights;
use anyhow::{Context, Result};
use layers::{Sequential, Sgd};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tensor::Tensor;

/// What the training loop tells the world, and asks of it.
pub trait Observer {
    /// A step finished: `it` of `total`, with its loss and the latest evaluation.
    fn step(&mut self, run: &Trainer, loss: f32);
    /// Whether the run should checkpoint and stop after this step (a signal arrived).
    fn stop_requested(&self) -> bool;
}

/// An observer that shows nothing and never stops a run (tests, scripts).
pub struct Quiet;

impl Observer for Quiet {
    fn step(&mut self, _: &Trainer, _: f32) {}
    fn stop_requested(&self) -> bool {
        false
    }
}

/// How [`Trainer::run`] ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every step taken (or the loss diverged): the summary.
    Finished(Box<Summary>),
    /// Stopped on request after `iteration`, with a checkpoint there.
    Stopped {
        /// The last completed step, now in the checkpoint.
        iteration: usize,
    },
}

/// When a run saves itself, and what it keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpointing {
    /// Also checkpoint every this many iterations (0: at each epoch's end only).
    pub every: usize,
    /// Also keep the weights of every checkpoint, as `weights-<iteration>.safetensors` in
    /// the run's folder (what `export` writes), for `drift`.
    pub keep_weights: bool,
}

/// A run in progress: its net, optimizer, batches, logs and what it has logged so far.
pub struct Trainer<'a> {
    run: &'a RunSpec,
    data: &'a Dataset,
    dir: PathBuf,
    files: Vec<FileSum>,
    checkpointing: Checkpointing,
    net: Sequential,
    sgd: Sgd,
    batches: Batches,
    subset: Vec<usize>,
    logs: Logs,
    rows: Vec<TrainRow>,
    evals: Vec<EvalRow>,
    iteration: usize,
    train_time: f64,
    started: Instant,
    diverged: bool,
    /// Where the run left chance, read as the log grows (for `--stop-after-chance`).
    chance: metrics::ChanceWatch,
}

impl<'a> Trainer<'a> {
    /// A fresh run in `dir` (which holds its `config.json`): new logs, and the evaluation
    /// at iteration 0.
    pub fn start(
        run: &'a RunSpec,
        data: &'a Dataset,
        dir: &Path,
        files: &[FileSum],
        checkpointing: Checkpointing,
    ) -> Result<Self> {
        let (net, per_layer) = run.build_net_on(data)?;
        if !per_layer.is_empty() {
            record_calibration(dir, run.calibration_images(data), per_layer)?;
        }
        let logs = Logs::create(dir, has_slopes(&net))?;
        let mut t = Self::with(run, data, dir, files, checkpointing, (net, run.sgd()), logs);
        t.evaluate()?;
        Ok(t)
    }

    /// The run in `dir` continued from its checkpoint `ck` (already checked against `run`):
    /// the net, momentum and shuffling restored, the logs cut back to the checkpoint.
    pub fn resume(
        run: &'a RunSpec,
        data: &'a Dataset,
        dir: &Path,
        files: &[FileSum],
        checkpointing: Checkpointing,
        ck: Checkpoint,
    ) -> Result<Self> {
        let (mut net, mut sgd) = (run.build_net()?, run.sgd());
        ck.restore(&mut net, &mut sgd)
            .map_err(|reason| CheckpointError::Corrupt {
                path: dir.join(checkpoint::FILE),
                reason,
            })?;
        let logs = Logs::resume(dir, &ck, has_slopes(&net))?;
        let mut t = Self::with(run, data, dir, files, checkpointing, (net, sgd), logs);
        let order = ck.order.iter().map(|&i| i as usize).collect();
        t.batches.restore(ck.shuffle_word_pos, order);
        t.train_time = ck.train_time_s;
        t.iteration = ck.iteration;
        t.rows = records::read_csv(&dir.join("train.csv"))?;
        t.evals = records::read_csv(&dir.join("eval.csv"))?;
        anyhow::ensure!(!t.evals.is_empty(), "eval.csv has no rows");
        Ok(t)
    }

    fn with(
        run: &'a RunSpec,
        data: &'a Dataset,
        dir: &Path,
        files: &[FileSum],
        checkpointing: Checkpointing,
        (net, sgd): (Sequential, Sgd),
        logs: Logs,
    ) -> Self {
        let n_train = run.n_train(data);
        Self {
            run,
            data,
            dir: dir.to_path_buf(),
            files: files.to_vec(),
            checkpointing,
            net,
            sgd,
            batches: Batches::new(run.seed, n_train, run.batch_size),
            subset: eval_subset(data.test.len(), run.eval_size),
            logs,
            rows: vec![],
            evals: vec![],
            iteration: 0,
            train_time: 0.0,
            started: Instant::now(),
            diverged: false,
            chance: metrics::ChanceWatch::default(),
        }
    }

    /// The run being trained.
    pub fn spec(&self) -> &RunSpec {
        self.run
    }

    /// Steps taken.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// Steps the run takes in all: `epochs` of [`Batches::per_epoch`], rounded up.
    pub fn total(&self) -> usize {
        ((self.run.epochs * self.batches.per_epoch() as f64).ceil() as usize).max(1)
    }

    /// Epochs completed after `it` steps.
    pub fn epoch_of(&self, it: usize) -> f64 {
        it as f64 / self.batches.per_epoch() as f64
    }

    /// The latest evaluation.
    pub fn last_eval(&self) -> Option<&EvalRow> {
        self.evals.last()
    }

    /// The first evaluation (at iteration 0 for a run that started here).
    pub fn first_eval(&self) -> Option<&EvalRow> {
        self.evals.first()
    }

    /// Every `train.csv` row so far.
    pub fn rows(&self) -> &[TrainRow] {
        &self.rows
    }

    /// Training images per second so far (evaluation excluded).
    pub fn images_per_sec(&self) -> f64 {
        (self.iteration * self.run.batch_size) as f64 / self.train_time.max(1e-9)
    }

    /// The net as trained so far.
    pub fn net(&self) -> &Sequential {
        &self.net
    }

    /// Takes steps until the run is done, the loss diverges or the observer asks to stop,
    /// evaluating every `eval_every` epochs and checkpointing as documented in README.
    pub fn run(mut self, observer: &mut dyn Observer) -> Result<Outcome> {
        while self.iteration < self.total() && !self.escaped_long_enough() {
            let Some(loss) = self.step()? else { break };
            let it = self.iteration;
            let eval_period =
                ((self.run.eval_every * self.batches.per_epoch() as f64).round() as usize).max(1);
            if it.is_multiple_of(eval_period) || it == self.total() || self.escaped_long_enough() {
                self.evaluate()?;
            }
            let stop = observer.stop_requested();
            let due = it.is_multiple_of(self.batches.per_epoch())
                || it == self.total()
                || self.escaped_long_enough()
                || (self.checkpointing.every > 0 && it.is_multiple_of(self.checkpointing.every));
            if due || stop {
                self.checkpoint()?;
            }
            if stop {
                return Ok(Outcome::Stopped { iteration: it });
            }
            observer.step(&self, loss);
        }
        self.logs.sync()?;
        let full = self.evaluate_full();
        Ok(Outcome::Finished(Box::new(self.summary(full))))
    }

    /// Whether `--stop-after-chance E` ends the run now: it left chance at least `E` epochs
    /// ago.
    fn escaped_long_enough(&mut self) -> bool {
        let Some(after) = self.run.stop_after_chance else {
            return false;
        };
        self.chance.advance(&self.rows).is_some_and(|l| {
            self.iteration as f64 >= l.iteration as f64 + after * self.batches.per_epoch() as f64
        })
    }

    /// One step on the next batch, logged. `None` if the loss was not finite: the run
    /// stops there and keeps what it logged.
    pub fn step(&mut self) -> Result<Option<f32>> {
        let it = self.iteration + 1;
        let started = Instant::now();
        let (x, labels) = self.data.batch_scaled(
            &self.data.train,
            self.batches.batch(it),
            self.run.input_scale,
        );
        let step = match train_step(&mut self.net, &mut self.sgd, x, &labels, None) {
            Ok(step) => step,
            Err(loss) => {
                eprintln!(
                    "{}: loss became {loss} at iteration {it}; stopping this run and keeping what it logged",
                    self.run.name
                );
                self.diverged = true;
                return Ok(None);
            }
        };
        self.train_time += started.elapsed().as_secs_f64();
        let row = TrainRow {
            iteration: it,
            epoch: self.epoch_of(it),
            loss: step.loss,
            lr: self.run.lr,
            grad_norm_first: step.grad_norm_first,
            grad_norm_last: step.grad_norm_last,
        };
        Logs::row(&mut self.logs.train, &row)?;
        self.rows.push(row);
        self.iteration = it;
        Ok(Some(step.loss))
    }

    /// Evaluates the net now on the evaluation subset, logging the row (and the PReLU
    /// slopes), and syncs the logs.
    pub fn evaluate(&mut self) -> Result<EvalRow> {
        let it = self.iteration;
        let (test_loss, test_error) =
            evaluate(&self.net, self.data, &self.subset, self.run.input_scale);
        let row = EvalRow {
            iteration: it,
            epoch: self.epoch_of(it),
            test_loss,
            test_error,
        };
        Logs::row(&mut self.logs.eval, &row)?;
        if let Some(w) = self.logs.slopes.as_mut() {
            for slope in SlopeRow::of(&self.net, it, row.epoch) {
                Logs::row(w, &slope)?;
            }
        }
        self.logs.sync()?;
        self.evals.push(row.clone());
        Ok(row)
    }

    /// Writes the checkpoint of the current step, after syncing the logs (so a checkpoint
    /// never runs ahead of them), and keeps its weights if asked to.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.logs.sync()?;
        let params: Vec<(String, Tensor)> = self
            .net
            .params()
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        if self.checkpointing.keep_weights {
            self.keep_weights(&params)?;
        }
        Checkpoint {
            iteration: self.iteration,
            run: self.run.clone(),
            data: self.files.clone(),
            params,
            velocity: self.sgd.velocity().to_vec(),
            order: self.batches.order().iter().map(|&i| i as u32).collect(),
            shuffle_word_pos: self.batches.word_pos(),
            train_time_s: self.train_time,
        }
        .write(&self.dir.join(checkpoint::FILE))?;
        Ok(())
    }

    /// Writes the current weights `params` as `weights-<iteration>.safetensors`.
    fn keep_weights(&self, params: &[(String, Tensor)]) -> Result<()> {
        let bytes = weights::to_bytes(&weights::Exported {
            iteration: self.iteration,
            complete: self.iteration == self.total(),
            run: self.run,
            params,
            normalisation: (self.data.mean, self.data.std),
        })?;
        let path = self.dir.join(weights::kept_file(self.iteration));
        crate::store::atomic::write_atomic(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Loss and top-1 error on the full test set (`None` for a diverged run).
    fn evaluate_full(&self) -> Option<(f64, f64)> {
        let all: Vec<usize> = (0..self.data.test.len()).collect();
        (!self.diverged).then(|| evaluate(&self.net, self.data, &all, self.run.input_scale))
    }

    /// How the run ended, from what it logged and its evaluation on the full test set.
    pub fn summary(&self, full: Option<(f64, f64)>) -> Summary {
        let rows = &self.rows;
        let first: Vec<f64> = rows.iter().map(|t| t.grad_norm_first).collect();
        Summary {
            name: self.run.name.clone(),
            final_test_error: metrics::final_test_error(&self.evals),
            best_test_error: metrics::best_test_error(&self.evals),
            final_full_test_error: full.map(|f| f.1),
            final_full_test_loss: full.map(|f| f.0),
            full_test_images: self.data.test.len(),
            final_train_loss: metrics::tail_loss(rows),
            left_chance: metrics::left_chance(rows),
            diverged: self.diverged,
            iterations: rows.len(),
            epochs: rows.len() as f64 / self.batches.per_epoch() as f64,
            wall_time_s: self.started.elapsed().as_secs_f64(),
            train_images_per_sec: (rows.len() * self.run.batch_size) as f64
                / self.train_time.max(1e-9),
            grad_norm_first_init: first.first().copied().unwrap_or(0.0),
            stall_growth: metrics::stall_growth(rows),
            grad_norm_first_median: records::median(&first),
            provenance: records::Provenance::current(),
            segments: records::read_json::<records::Config>(&self.dir.join("config.json"))
                .map(|c| c.segments)
                .unwrap_or_default(),
        }
    }
}

/// Writes the calibration into the run's `config.json` and prints it.
fn record_calibration(dir: &Path, images: Vec<usize>, per_layer: Vec<usize>) -> Result<()> {
    let path = dir.join("config.json");
    let mut config: records::Config = records::read_json(&path)?;
    eprintln!(
        "{}: calibrated on {} images, per weight layer: {per_layer:?}",
        config.run.init,
        images.len()
    );
    config.calibration = Some(records::Calibration { images, per_layer });
    records::write_json(&path, &config)
}

fn has_slopes(net: &Sequential) -> bool {
    !SlopeRow::of(net, 0, 0.0).is_empty()
}

#[cfg(test)]
#[path = "trainer_tests.rs"]
mod tests;

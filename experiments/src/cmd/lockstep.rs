//! `experiments lockstep`: a run's first steps, with everything another framework needs to
//! replay them exactly (`bench/lockstep.py` does, in PyTorch).
//!
//! For each run of the grid it writes, under `<out>/<run name>/`:
//!
//! * `init.safetensors`: the initial weights and every step's batch, for the replay
//!   ([`crate::store::lockstep`] describes the file);
//! * `delve.csv`: per step, the loss and the gradient norms of the first and last weight
//!   (before the update) and the norms of those weights after it.

use crate::cli::LockstepArgs;
use crate::data::Dataset;
use crate::run::{step::l2_norm, train_step, Batches};
use crate::spec::{self, RunSpec};
use crate::store::lockstep::{self, Recorded};
use crate::store::weights::assign_params;
use anyhow::{bail, ensure, Context, Result};
use layers::Sequential;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of `delve.csv` (and of the replaying framework's CSV).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LockstepRow {
    /// Step, 1-based.
    pub step: usize,
    /// Mini-batch cross-entropy before the update.
    pub loss: f32,
    /// Gradient norm of the first weight layer's weight.
    pub grad_norm_first: f64,
    /// Gradient norm of the last weight layer's weight.
    pub grad_norm_last: f64,
    /// Norm of the first weight layer's weight after the update.
    pub weight_norm_first: f64,
    /// Norm of the last weight layer's weight after the update.
    pub weight_norm_last: f64,
}

/// Records the first `--steps` steps of every run of the grid.
pub fn run(args: LockstepArgs) -> Result<()> {
    ensure!(args.steps > 0, "--steps: must be at least 1");
    let runs = args.train.runs()?;
    let data = Dataset::load(&spec::data_dir(&args.train.net.data))
        .context("loading the data (see --data)")?;
    crate::run::grid::check_data(&runs, &data)?;
    for r in &runs {
        let dir = args.train.net.out.join(&r.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        record(r, &data, args.steps, &dir)?;
        eprintln!(
            "{}: {} steps recorded in {}",
            r.name,
            args.steps,
            dir.display()
        );
    }
    Ok(())
}

fn weight_norms(net: &Sequential) -> (f64, f64) {
    let weights = net.weights();
    let norm = |p: Option<&&layers::Param>| p.map_or(0.0, |p| l2_norm(&p.value));
    (norm(weights.first()), norm(weights.last()))
}

fn record(r: &RunSpec, data: &Dataset, steps: usize, dir: &Path) -> Result<()> {
    let net = r.build_net()?;
    let mut batches = Batches::new(r.seed, r.n_train(data), r.batch_size);
    let order: Vec<Vec<usize>> = (1..=steps).map(|it| batches.batch(it).to_vec()).collect();
    let normalisation = (data.mean, data.std);
    lockstep::write(
        r,
        &net,
        &order,
        normalisation,
        &dir.join("init.safetensors"),
    )?;
    let rows = take_steps(r, net, &order, data)?;
    let path = dir.join("delve.csv");
    let mut csv =
        csv::Writer::from_path(&path).with_context(|| format!("writing {}", path.display()))?;
    for row in rows {
        csv.serialize(row)?;
    }
    csv.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Trains `net` (at its initial weights) on `order`'s batches with the run's SGD, one row
/// per step.
fn take_steps(
    r: &RunSpec,
    mut net: Sequential,
    order: &[Vec<usize>],
    data: &Dataset,
) -> Result<Vec<LockstepRow>> {
    let mut sgd = r.sgd();
    let mut rows = vec![];
    for (i, idx) in order.iter().enumerate() {
        let (x, labels) = data.batch(&data.train, idx);
        let step = train_step(&mut net, &mut sgd, x, &labels, None)
            .map_err(|loss| anyhow::anyhow!("{}: loss became {loss} at step {}", r.name, i + 1))?;
        let (weight_norm_first, weight_norm_last) = weight_norms(&net);
        rows.push(LockstepRow {
            step: i + 1,
            loss: step.loss,
            grad_norm_first: step.grad_norm_first,
            grad_norm_last: step.grad_norm_last,
            weight_norm_first,
            weight_norm_last,
        });
    }
    Ok(rows)
}

/// Takes a recorded run's steps again in delve, from its recorded weights and batches
/// (which must be the run's parameters, and index its training images).
pub fn replay(rec: &Recorded, data: &Dataset) -> Result<Vec<LockstepRow>> {
    let mut net = rec.run.build_net()?;
    assign_params(&mut net, &rec.params)?;
    let n_train = rec.run.n_train(data);
    if let Some(i) = rec.batches.iter().flatten().find(|&&i| i >= n_train) {
        bail!("batch index {i} is past the run's {n_train} training images");
    }
    take_steps(&rec.run, net, &rec.batches, data)
}

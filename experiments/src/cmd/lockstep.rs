//! `experiments lockstep`: a run's first steps, with everything another framework needs to
//! replay them exactly (`bench/lockstep.py` does, in PyTorch).
//!
//! For each run of the grid it writes, under `<out>/<run name>/`:
//!
//! * `init.safetensors`: every parameter before the first step (F32, named as in the net),
//!   `batches` (U32, the training-image indices of every step, concatenated) and
//!   `batch_ends` (U32, where each step's indices end), with metadata `format`
//!   (`delve-lockstep`), `run` (the configuration, JSON), `params` (names in net order),
//!   `steps`, and the input normalisation `mean`, `std` (f32, `x = p/(255·std) − mean/std`);
//! * `delve.csv`: per step, the loss and the gradient norms of the first and last weight
//!   (before the update) and the norms of those weights after it.

use crate::cli::LockstepArgs;
use crate::data::Dataset;
use crate::run::{step::l2_norm, train_step, Batches};
use crate::spec::{self, RunSpec};
use crate::store::checkpoint::{f32_bytes, read_f32, read_u32, u32_bytes, Bytes, Invalid};
use anyhow::{ensure, Context, Result};
use layers::Sequential;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tensor::Tensor;

/// The `format` metadata value of a lockstep file.
pub const FORMAT: &str = "delve-lockstep";

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
    write_init(r, &net, &order, data, &dir.join("init.safetensors"))?;
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

/// A lockstep file read back: the run, its parameters before the first step, its batches.
pub struct Recorded {
    /// The run's configuration.
    pub run: RunSpec,
    /// Every parameter, in net order.
    pub params: Vec<(String, Tensor)>,
    /// The training-image indices of every step.
    pub batches: Vec<Vec<usize>>,
}

/// Reads an `init.safetensors` written by `lockstep`.
pub fn read_init(path: &Path) -> Result<Recorded> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bad = |e: Invalid| anyhow::anyhow!("{}: {e}", path.display());
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let st =
        SafeTensors::deserialize(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |k: &str| {
        meta.get(k)
            .with_context(|| format!("{}: no `{k}`", path.display()))
    };
    anyhow::ensure!(
        field("format")? == FORMAT,
        "{}: not a lockstep file",
        path.display()
    );
    let run: RunSpec = serde_json::from_str(field("run")?)?;
    let names: Vec<String> = serde_json::from_str(field("params")?)?;
    let params = names
        .iter()
        .map(|n| Ok((n.clone(), read_f32(&st, n).map_err(bad)?)))
        .collect::<Result<_>>()?;
    let flat = read_u32(&st, "batches").map_err(bad)?;
    let mut start = 0;
    let mut batches = vec![];
    for end in read_u32(&st, "batch_ends").map_err(bad)? {
        let end = end as usize;
        anyhow::ensure!(
            start <= end && end <= flat.len(),
            "{}: bad batch_ends",
            path.display()
        );
        batches.push(flat[start..end].iter().map(|&i| i as usize).collect());
        start = end;
    }
    Ok(Recorded {
        run,
        params,
        batches,
    })
}

/// Takes a recorded run's steps again in delve, from its recorded weights and batches.
pub fn replay(rec: &Recorded, data: &Dataset) -> Result<Vec<LockstepRow>> {
    let mut net = rec.run.build_net()?;
    anyhow::ensure!(
        net.params().len() == rec.params.len(),
        "{} recorded parameters, the net has {}",
        rec.params.len(),
        net.params().len()
    );
    for (p, (name, value)) in net.params_mut().into_iter().zip(&rec.params) {
        anyhow::ensure!(
            &p.name == name && p.value.shape() == value.shape(),
            "recorded `{name}` {:?} where the net has `{}` {:?}",
            value.shape(),
            p.name,
            p.value.shape()
        );
        p.value.assign(value);
    }
    take_steps(&rec.run, net, &rec.batches, data)
}

fn write_init(
    r: &RunSpec,
    net: &Sequential,
    order: &[Vec<usize>],
    data: &Dataset,
    path: &Path,
) -> Result<()> {
    let params = net.params();
    let mut tensors: Vec<(String, Bytes)> = params
        .iter()
        .map(|p| (p.name.clone(), f32_bytes(&p.value)))
        .collect();
    let flat: Vec<u32> = order.iter().flatten().map(|&i| i as u32).collect();
    let ends: Vec<u32> = order
        .iter()
        .scan(0u32, |end, b| {
            *end += b.len() as u32;
            Some(*end)
        })
        .collect();
    tensors.push(("batches".into(), u32_bytes(&flat)));
    tensors.push(("batch_ends".into(), u32_bytes(&ends)));
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("run", serde_json::to_string(r)?),
        ("params", serde_json::to_string(&names)?),
        ("steps", order.len().to_string()),
        // `{:?}` of an f32 is the shortest text that reads back as the same f32.
        ("mean", format!("{:?}", data.mean)),
        ("std", format!("{:?}", data.std)),
        (
            "provenance",
            serde_json::to_string(&crate::store::records::Provenance::current())?,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
        .context("serialising the initial weights")?;
    crate::store::atomic::write_atomic(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}

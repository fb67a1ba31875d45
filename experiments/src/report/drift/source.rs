//! Where a run's trained parameters come from: the weights `--keep-weights` kept
//! (`weights-<iteration>.safetensors`), the weights `export` wrote (`weights.safetensors`)
//! and the checkpoint, each checked against the run before it is used.

use crate::data::Dataset;
use crate::spec::RunSpec;
use crate::store::checkpoint::{self, Checkpoint};
use crate::store::records::FileSum;
use crate::store::weights;
use anyhow::{bail, Context, Result};
use layers::Sequential;
use std::path::{Path, PathBuf};
use tensor::Tensor;

/// The weights files in `dir`: the kept ones in iteration order, then the exported one.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut kept: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            Some((weights::kept_iteration(name)?, p.clone()))
        })
        .collect();
    kept.sort();
    let mut files: Vec<PathBuf> = kept.into_iter().map(|(_, p)| p).collect();
    let exported = dir.join(weights::FILE);
    if exported.exists() {
        files.push(exported);
    }
    Ok(files)
}

/// Whether the run folder `dir` holds a checkpoint or any weights file.
pub fn has_weights(dir: &Path) -> bool {
    dir.join(checkpoint::FILE).exists() || weight_files(dir).is_ok_and(|f| !f.is_empty())
}

/// The net of `spec` holding `params`, which must be its parameters, by name and shape.
fn holding(spec: &RunSpec, params: &[(String, Tensor)]) -> Result<Sequential> {
    let mut net = spec.build_net()?;
    weights::assign_params(&mut net, params)?;
    Ok(net)
}

/// Every trained parameter set of the run in `dir`, one per iteration, in iteration
/// order: its weights files (each checked to be of the run) and its checkpoint (checked
/// against the run and `data`) where no weights file has its iteration.
pub(super) fn trained(
    dir: &Path,
    spec: &RunSpec,
    data: &Dataset,
) -> Result<Vec<(usize, Sequential)>> {
    let template = spec.build_net()?;
    let names: Vec<String> = template.params().iter().map(|p| p.name.clone()).collect();
    let floats = template.num_params();
    let mut sets: Vec<(usize, Sequential)> = vec![];
    for f in weight_files(dir)? {
        let w = weights::read(&f, &names, floats)?;
        if let Some(d) = checkpoint::run_difference("the weights' run", &w.run, spec) {
            bail!("{}: the weights are not this run's ({d})", f.display());
        }
        if !sets.iter().any(|(i, _)| *i == w.iteration) {
            let net = holding(spec, &w.params).with_context(|| format!("{}", f.display()))?;
            sets.push((w.iteration, net));
        }
    }
    let path = dir.join(checkpoint::FILE);
    if path.exists() {
        let ck = Checkpoint::read(&path, floats)?;
        if let Some(d) = ck.difference(spec, &FileSum::of(data), spec.n_train(data)) {
            bail!("the checkpoint is not of this run on this data ({d})");
        }
        if !sets.iter().any(|(i, _)| *i == ck.iteration) {
            sets.push((ck.iteration, holding(spec, &ck.params)?));
        }
    }
    sets.sort_by_key(|(i, _)| *i);
    Ok(sets)
}

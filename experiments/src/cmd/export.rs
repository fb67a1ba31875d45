//! `experiments export <run>`: a run's trained weights as a safetensors file others can read.
//!
//! The file holds one F32 tensor per parameter, named as in the net
//! (`stage1.conv1.weight` [c_out, c_in, k, k], `stage1.conv1.bias` [c_out],
//! `fc1.weight` [out, in] (applied as `x·Wᵀ + b`), `stage1.conv1.act.slope` for PReLU),
//! and metadata: `format` (`delve-weights`), `iteration`, `complete` and `run` (the run's
//! configuration, JSON). In Python: `safetensors.numpy.load_file(path)`.

use crate::cli::ExportArgs;
use crate::store::checkpoint::{self, f32_bytes, Bytes, Checkpoint};
use anyhow::{Context, Result};
use std::collections::HashMap;

/// The `format` metadata value of an exported weights file.
pub const FORMAT: &str = "delve-weights";

/// Writes the weights of the run's last checkpoint.
pub fn run(args: ExportArgs) -> Result<()> {
    let path = args.run.join(checkpoint::FILE);
    if !path.exists() {
        anyhow::bail!(
            "{}: no checkpoint (is this a run folder, trained by this version?)",
            args.run.display()
        );
    }
    let ck = Checkpoint::read(&path)?;
    let complete = args.run.join("summary.json").exists();
    if !complete {
        eprintln!(
            "note: {} is not complete; exporting its weights at iteration {}",
            ck.run.name, ck.iteration
        );
    }
    let tensors: Vec<(String, Bytes)> = ck
        .params
        .iter()
        .map(|(name, t)| (name.clone(), f32_bytes(t)))
        .collect();
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("iteration", ck.iteration.to_string()),
        ("complete", complete.to_string()),
        ("run", serde_json::to_string(&ck.run)?),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, w)| (n.as_str(), w)), Some(meta))
        .context("serialising the weights")?;
    let out = args
        .output
        .unwrap_or_else(|| args.run.join("weights.safetensors"));
    crate::store::atomic::write_atomic(&out, &bytes)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} tensors, {} parameters)",
        out.display(),
        tensors.len(),
        ck.params.iter().map(|(_, t)| t.len()).sum::<usize>()
    );
    Ok(())
}

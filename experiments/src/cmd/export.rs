//! `experiments export <run>`: a run's trained weights as a safetensors file others can read.
//!
//! The file holds one F32 tensor per parameter, named as in the net
//! (`stage1.conv1.weight` [c_out, c_in, k, k], `stage1.conv1.bias` [c_out],
//! `fc1.weight` [out, in] (applied as `x·Wᵀ + b`), `stage1.conv1.act.slope` for PReLU),
//! and metadata: `format` (`delve-weights`), `iteration`, `complete`, `run` (the run's
//! configuration, JSON), and the input the net expects: `input` (`[N, 1, 28, 28]`),
//! `normalisation_mean` and `normalisation_std` (pixels are scaled to [0, 1], then
//! `(x - mean) / std`). In Python: `safetensors.numpy.load_file(path)` (README shows a
//! forward pass in numpy). The header's keys are written in sorted order, so the same
//! weights give the same bytes.

use crate::cli::ExportArgs;
use crate::store::checkpoint::{self, f32_bytes, Bytes, Checkpoint};
use crate::store::records::{read_json, Config};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// The `format` metadata value of an exported weights file.
pub const FORMAT: &str = "delve-weights";

/// Refuses an output that would replace anything but a regular file that is not one of
/// the run's own (its checkpoint, logs, configuration): a device, a folder, a link, or the
/// run's checkpoint are never written over. The file is then written atomically.
fn check_output(out: &Path, run: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(()); // a new file
    };
    if !meta.is_file() {
        anyhow::bail!(
            "--output {}: exists and is not a regular file; choose another path",
            out.display()
        );
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let own = std::fs::read_dir(run)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "weights.safetensors"));
    let target = canonical(out);
    for p in own {
        if canonical(&p) == target {
            anyhow::bail!(
                "--output {}: is the run's own {}; choose another path",
                out.display(),
                p.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    }
    Ok(())
}

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
    let config: Config = read_json(&args.run.join("config.json"))?;
    let (mean, std) = config.normalisation;
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("iteration", ck.iteration.to_string()),
        ("complete", complete.to_string()),
        ("run", serde_json::to_string(&ck.run)?),
        ("input", "[N, 1, 28, 28]".to_string()),
        ("normalisation_mean", mean.to_string()),
        ("normalisation_std", std.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, w)| (n.as_str(), w)), Some(meta))
        .context("serialising the weights")?;
    let bytes = sorted_header(&bytes)?;
    let out = args
        .output
        .unwrap_or_else(|| args.run.join("weights.safetensors"));
    check_output(&out, &args.run)?;
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

/// The safetensors file with its JSON header rewritten with sorted keys (the crate writes
/// the metadata map in a random order), padded with spaces to 8 bytes as the format asks.
/// The tensors' offsets are relative to the data, so they stay valid.
fn sorted_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    // serde_json's map is a BTreeMap: keys come out sorted.
    let mut text = serde_json::to_vec(&header)?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

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
use crate::store::checkpoint::{self, Checkpoint};
use crate::store::records::{read_json, Config};
use crate::store::weights::{self, FILE};
use anyhow::{Context, Result};
use std::path::Path;

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
        .filter(|p| p.file_name().is_some_and(|n| n != FILE));
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
    // The run's configuration first: it bounds what its checkpoint may hold.
    let config: Config = read_json(&args.run.join("config.json"))?;
    config.run.check_recorded()?;
    let ck = Checkpoint::read(&path, config.run.build_net()?.num_params())?;
    if let Some(d) = checkpoint::run_difference("checkpoint", &ck.run, &config.run) {
        anyhow::bail!("{}: not the run of its config.json ({d})", path.display());
    }
    let complete = args.run.join("summary.json").exists();
    if !complete {
        eprintln!(
            "note: {} is not complete; exporting its weights at iteration {}",
            ck.run.name, ck.iteration
        );
    }
    let bytes = weights::to_bytes(&weights::Exported {
        iteration: ck.iteration,
        complete,
        run: &ck.run,
        params: &ck.params,
        normalisation: config.normalisation,
    })?;
    let out = args.output.unwrap_or_else(|| args.run.join(FILE));
    check_output(&out, &args.run)?;
    crate::store::atomic::write_atomic(&out, &bytes)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} tensors, {} parameters)",
        out.display(),
        ck.params.len(),
        ck.params.iter().map(|(_, t)| t.len()).sum::<usize>()
    );
    Ok(())
}

//! `experiments plot`: every figure and report redrawn from the CSVs under an output
//! folder, without training.

use crate::cli::PlotArgs;
use crate::report::{depth, prelu, runs, sweep};
use anyhow::{bail, Result};

/// Redraws the figure of every depth found under the output folder.
pub fn run(args: PlotArgs) -> Result<()> {
    let (loaded, warnings) = runs::load_runs(&args.out)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let mut depths: Vec<usize> = loaded.iter().map(|r| r.config.run.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    if depths.is_empty() {
        bail!("no runs under {}", args.out.join("runs").display());
    }
    for d in depths {
        for p in depth::draw_depth(&args.out, d, &loaded)? {
            eprintln!("wrote {}", p.display());
        }
    }
    for p in sweep::draw_sweep(&args.out, &loaded)?.unwrap_or_default() {
        eprintln!("wrote {}", p.display());
    }
    for p in prelu::report(&args.out)? {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

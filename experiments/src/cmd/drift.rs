//! `experiments drift`: each run's trained weights (kept, exported or checkpointed) against
//! their initial draw and against weight decay alone (`report::drift`), as `DRIFT.md` and
//! `drift.csv`.

use crate::cli::DriftArgs;
use crate::data::Dataset;
use crate::report::{drift, runs};
use crate::spec;
use anyhow::{bail, Context, Result};

/// Measures every run under the output folder that has a checkpoint or weights.
pub fn run(args: DriftArgs) -> Result<()> {
    let data =
        Dataset::load(&spec::data_dir(&args.data)).context("loading the data (see --data)")?;
    let mut drifts = vec![];
    for dir in runs::run_dirs(&args.out)? {
        if !drift::has_weights(&dir) {
            eprintln!("{}: no checkpoint or weights; left out", dir.display());
            continue;
        }
        let (run, _) = runs::load_run(&dir)?;
        drifts.extend(drift::measure(&dir, &run, &data)?);
    }
    if drifts.is_empty() {
        bail!(
            "no run with a checkpoint or weights under {}",
            args.out.join("runs").display()
        );
    }
    print!("{}", drift::markdown(&drifts));
    let mut paths = drift::write(&args.out, &drifts)?;
    paths.extend(drift::draw(&args.out, &drifts)?);
    for p in paths {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

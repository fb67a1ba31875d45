//! `experiments stall`: the stall grid (`spec::stall`) as one resumable grid: the plan and
//! a time estimate first, then the runs, then `STALL.md`, `stall.json` and the figure.

use crate::cli::StallArgs;
use crate::report::{runs::load_runs, stall};
use anyhow::{Context, Result};

/// Prints the plan, trains what is left of it, then writes the table and the figure.
pub fn run(args: StallArgs) -> Result<()> {
    let plan = args.runs()?;
    let runs = plan.iter().map(|s| s.run.clone()).collect();
    match args.grid.train("stall", &args.out, runs)? {
        Some(_) => report(&args, &plan),
        None => Ok(()),
    }
}

/// The table and figure from the runs in `--out` and the baseline in `--baseline`.
fn report(args: &StallArgs, plan: &[crate::spec::stall::StallRun]) -> Result<()> {
    // Before the grid's first run only the baseline cell has numbers.
    let (runs, mut warnings) = match args.out.join("runs").exists() {
        true => load_runs(&args.out)?,
        false => (vec![], vec![]),
    };
    let baseline = match load_runs(&args.baseline) {
        Ok((b, w)) => {
            warnings.extend(w);
            b
        }
        Err(e) => {
            warnings.push(format!("{e:#}: the baseline cell is left empty"));
            vec![]
        }
    };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let all: Vec<_> = runs.iter().chain(&baseline).collect();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let planned = [args.baseline_runs()?, plan.to_vec()].concat();
    let table = stall::table(&planned, &all);
    let mut paths = stall::write(&args.out, &table)?;
    paths.extend(stall::draw(&args.out, &table)?);
    paths.extend(stall::draw_growth(&args.out, &table)?);
    for p in paths {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

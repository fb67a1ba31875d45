//! `experiments reproduce`: the paper's protocol (`spec::REPRODUCTION`) over seeds as one
//! resumable grid: the plan and a time estimate first, then the runs, then the figures.
//! `--protocol paper-like` runs the same grid without momentum, `--protocol strong-decay`
//! with weight decay 5e-3, each into its own folder.

use crate::cli::ReproduceArgs;
use crate::data::Dataset;
use crate::report::{claims, depth, runs::load_runs};
use anyhow::Result;

/// Prints the plan, trains what is left of it, then draws the figures and writes the
/// claims report.
pub fn run(args: ReproduceArgs) -> Result<()> {
    match args.grid.train("reproduce", &args.out(), args.runs()?)? {
        Some(data) => report(&args, &data),
        None => Ok(()),
    }
}

/// The figures of both depths and `CLAIMS.md`/`claims.json`, from the runs of the
/// protocol (those of its momentum and weight decay) in `--out`.
fn report(args: &ReproduceArgs, data: &Dataset) -> Result<()> {
    let out = args.out();
    let (mut runs, warnings) = load_runs(&out)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    runs.retain(|r| args.protocol.owns(&r.config.run));
    for (d, _) in crate::spec::REPRODUCTION {
        if !runs.iter().any(|r| r.config.run.depth == d) {
            eprintln!("no runs of depth {d} yet: its figures are not drawn");
            continue;
        }
        for path in depth::draw_depth(&out, d, &runs)? {
            eprintln!("wrote {}", path.display());
        }
    }
    let c = claims::check(args.protocol, &runs, data, &args.seeds)?;
    for path in claims::write(&out, &c)? {
        eprintln!("wrote {}", path.display());
    }
    for claim in &c.claims {
        eprintln!("claim {}: {}", claim.id, claim.verdict);
    }
    Ok(())
}

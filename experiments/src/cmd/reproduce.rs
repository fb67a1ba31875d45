//! `experiments reproduce`: the paper's protocol (`spec::REPRODUCTION`) over seeds as one
//! resumable grid: the plan and a time estimate first, then the runs, then the figures.

use crate::cli::ReproduceArgs;
use crate::data::Dataset;
use crate::report::{claims, depth, runs::load_runs};
use crate::run::estimate;
use crate::run::grid::Existing;
use crate::session::{self, Options};
use anyhow::Result;

/// Prints the plan, trains what is left of it, then draws the figures and writes the
/// claims report.
pub fn run(args: ReproduceArgs) -> Result<()> {
    let runs = args.runs()?;
    let data = session::load_data(&runs, &args.data)?;
    if !args.report {
        plan(&args, &runs, &data)?;
        if args.plan {
            return Ok(());
        }
        let opts = Options {
            out: args.out.clone(),
            existing: if args.resume {
                Existing::Resume
            } else {
                Existing::Refuse
            },
            checkpoint_every: args.checkpoint_every,
        };
        session::train(&runs, &data, &opts)?;
    }
    report(&args, &data)
}

/// The figures of both depths and `CLAIMS.md`/`claims.json`, from the runs in `--out`.
fn report(args: &ReproduceArgs, data: &Dataset) -> Result<()> {
    let (runs, warnings) = load_runs(&args.out)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    for (d, _) in crate::spec::REPRODUCTION {
        if !runs.iter().any(|r| r.config.run.depth == d) {
            eprintln!("no runs of depth {d} yet: its figures are not drawn");
            continue;
        }
        for path in depth::draw_depth(&args.out, d, &runs)? {
            eprintln!("wrote {}", path.display());
        }
    }
    let c = claims::check(&runs, data, &args.seeds)?;
    for path in claims::write(&args.out, &c)? {
        eprintln!("wrote {}", path.display());
    }
    for claim in &c.claims {
        eprintln!("claim {}: {}", claim.id, claim.verdict);
    }
    Ok(())
}

/// Prints one line per run with its estimated time, and the total.
fn plan(args: &ReproduceArgs, runs: &[crate::spec::RunSpec], data: &Dataset) -> Result<()> {
    eprintln!(
        "reproduce: {} runs into {} (--resume continues them after Ctrl-C)",
        runs.len(),
        args.out.display()
    );
    let mut total = 0.0;
    let mut per_depth: Vec<(usize, f64)> = vec![];
    for r in runs {
        let per_image = match per_depth.iter().find(|(d, _)| *d == r.depth) {
            Some(&(_, s)) => s,
            None => {
                let s = estimate::seconds_per_image(r)?;
                per_depth.push((r.depth, s));
                s
            }
        };
        let secs = estimate::run_seconds(r, per_image, r.n_train(data), data.test.len());
        total += secs;
        eprintln!(
            "  {:<24} {:>5} epochs  about {:>4.0} min",
            r.name,
            r.epochs,
            secs / 60.0
        );
    }
    eprintln!(
        "estimate: about {:.1} h on this machine ({} threads), finished runs not deducted",
        total / 3600.0,
        rayon::current_num_threads()
    );
    Ok(())
}

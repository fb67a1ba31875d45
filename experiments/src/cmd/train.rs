//! `experiments train`: the grid of training runs the flags describe, each writing its
//! CSVs and JSON, then the figures (the work is `session::train`'s).

use crate::cli::TrainArgs;
use crate::run::grid::Existing;
use crate::run::Checkpointing;
use crate::session::{self, Options};
use anyhow::Result;

/// Trains the grid.
pub fn run(args: TrainArgs) -> Result<()> {
    let runs = args.runs()?;
    let data = session::load_data(&runs, &args.net.data)?;
    session::train(&runs, &data, &options(&args))
}

/// Where the runs go and how existing ones are treated, from the flags.
pub fn options(args: &TrainArgs) -> Options {
    Options {
        out: args.net.out.clone(),
        existing: match (args.overwrite, args.resume) {
            (true, _) => Existing::Overwrite,
            (_, true) => Existing::Resume,
            _ => Existing::Refuse,
        },
        checkpointing: Checkpointing {
            every: args.checkpoint_every,
            keep_weights: args.keep_weights,
        },
    }
}

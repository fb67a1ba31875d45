//! The depth experiment of He et al. (2015) on Fashion-MNIST: data loading, the training
//! grid, the variance analysis at initialization, and the figures.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bounded;
pub mod cli;
pub mod cmd;
pub mod data;
pub mod fuzzing;
pub mod report;
pub mod run;
pub mod session;
pub mod spec;
pub mod store;

use anyhow::Result;
use cli::{Cli, Command};

/// The most worker threads `--threads` may ask for (each is an OS thread with its stack).
pub const MAX_THREADS: usize = 1024;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let threads = match &cli.command {
        Some(Command::Train(a)) | Some(Command::Plan(a)) => a.net.threads,
        Some(Command::Analyze(a)) => a.net.threads,
        Some(Command::Plot(_)) | Some(Command::Export(_)) | Some(Command::Drift(_)) => 0,
        Some(Command::Bench(a)) => a.threads,
        Some(Command::Lockstep(a)) => a.train.net.threads,
        Some(Command::Reproduce(a)) => a.grid.threads,
        Some(Command::Stall(a)) => a.grid.threads,
        Some(Command::Verify(a)) => a.threads,
        None => cli.train.net.threads,
    };
    // A kernel path forced by DELVE_SIMD must exist on this CPU: said before anything runs.
    tensor::select_simd().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        threads <= MAX_THREADS,
        "--threads: at most {MAX_THREADS}, got {threads}"
    );
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()?;
    }
    match cli.command {
        Some(Command::Train(a)) => cmd::train::run(a),
        Some(Command::Analyze(a)) => cmd::analyze::run(a),
        Some(Command::Plot(a)) => cmd::plot::run(a),
        Some(Command::Export(a)) => cmd::export::run(a),
        Some(Command::Drift(a)) => cmd::drift::run(a),
        Some(Command::Bench(a)) => cmd::bench::run(a),
        Some(Command::Lockstep(a)) => cmd::lockstep::run(a),
        Some(Command::Reproduce(a)) => cmd::reproduce::run(a),
        Some(Command::Stall(a)) => cmd::stall::run(a),
        Some(Command::Plan(a)) => cmd::plan::run(a),
        Some(Command::Verify(a)) => cmd::verify::run(a),
        None => cmd::train::run(cli.train),
    }
}

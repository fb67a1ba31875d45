//! Flags of the protocols that are whole grids: `reproduce` and `stall`.

use super::Task;
use crate::data::Dataset;
use crate::run::grid::Existing;
use crate::session;
use crate::spec::{self, stall::StallRun, RunSpec};
use clap::Args;
use std::path::PathBuf;

/// What a protocol grid shares: how it is run and reported, and the test flags that
/// shorten it.
#[derive(Args, Debug, Clone)]
pub struct ProtocolFlags {
    /// Continue the grid: resume partial runs, skip complete ones.
    #[arg(long)]
    pub resume: bool,
    /// Print the plan and the time estimate, and stop.
    #[arg(long)]
    pub plan: bool,
    /// Train nothing: write the figures and the report from the runs there are.
    #[arg(long, conflicts_with_all = ["plan", "resume"])]
    pub report: bool,
    /// Folder with the IDX files.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Also checkpoint every this many iterations (0: only at the end of each epoch).
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: usize,
    /// For tests: a fraction of the protocol's epochs.
    #[arg(long, hide = true, default_value_t = 1.0)]
    pub epoch_scale: f64,
    /// For tests: training images used (0: all).
    #[arg(long, hide = true, default_value_t = 0)]
    pub train_size: usize,
    /// For tests: test images per evaluation.
    #[arg(long, hide = true, default_value_t = spec::defaults::EVAL_SIZE)]
    pub eval_size: usize,
    /// For tests: the first this many test images stand for the full test set (0: all).
    #[arg(long, hide = true, default_value_t = 0)]
    pub test_size: usize,
    /// Train only the protocol's run number N (as `--plan` numbers them, from 0) and write
    /// no report (`--report` once every task is done); `--task` alone reads N from
    /// SLURM_ARRAY_TASK_ID (a Slurm job array: `slurm/grid.sbatch reproduce ...`).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "slurm", conflicts_with_all = ["plan", "report"])]
    pub task: Option<Task>,
}

impl ProtocolFlags {
    /// Where the grid's runs go (`out`), continued with `--resume`, never touched otherwise.
    pub fn options(&self, out: &std::path::Path) -> session::Options {
        session::Options {
            out: out.to_path_buf(),
            existing: match self.resume {
                true => Existing::Resume,
                false => Existing::Refuse,
            },
            checkpointing: crate::run::Checkpointing {
                every: self.checkpoint_every,
                keep_weights: false,
            },
        }
    }

    /// The runs to train: all of them, or the `--task`'s one.
    pub fn select<T>(&self, runs: Vec<T>) -> anyhow::Result<Vec<T>> {
        Task::select(self.task, runs, "protocol", "--plan")
    }

    /// What a protocol does before its report: loads the data; unless `--report`, prints
    /// the plan (`what` names it; not for a `--task`) and, unless `--plan`, trains `runs`
    /// into `out` (the task's one alone with `--task`). The data when the report should
    /// follow; `None` after `--plan` or a `--task`, whose report waits for the others.
    pub fn train(
        &self,
        what: &str,
        out: &std::path::Path,
        runs: Vec<RunSpec>,
    ) -> anyhow::Result<Option<Dataset>> {
        let data = self.load_data(&runs)?;
        if self.report {
            return Ok(Some(data));
        }
        if self.task.is_none() {
            crate::run::estimate::print_plan(what, out, &runs, &data)?;
        }
        if self.plan {
            return Ok(None);
        }
        session::train(&self.select(runs)?, &data, &self.options(out))?;
        if self.task.is_some() {
            eprintln!("--task: no report until every task is done (then `{what} --report`)");
            return Ok(None);
        }
        Ok(Some(data))
    }

    /// The data of `runs`, checked against them (the test split cut by `--test-size`).
    pub fn load_data(&self, runs: &[RunSpec]) -> anyhow::Result<Dataset> {
        session::load_data_cut(runs, &self.data, self.test_size)
    }

    /// How the test flags shorten the protocol (not at all by default).
    pub fn shortened(&self) -> spec::Shortened {
        spec::Shortened {
            epoch_scale: self.epoch_scale,
            train_size: self.train_size,
            eval_size: self.eval_size,
        }
    }
}

/// Flags of `reproduce`.
#[derive(Args, Debug, Clone)]
pub struct ReproduceArgs {
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub seeds: Vec<u64>,
    /// Which protocol: the spec's (SGD with momentum 0.9, weight decay 5e-4), the
    /// paper-like one (momentum 0) or strong decay (weight decay 5e-3): the stall grid's
    /// two cells where Xavier-30 stays at chance while MSRA-30 converges.
    #[arg(long, value_enum, default_value_t = spec::Protocol::Spec)]
    pub protocol: spec::Protocol,
    /// Output folder [default: results/reproduction, results/reproduction-paperlike or
    /// results/reproduction-strongdecay, after `--protocol`].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How the grid is run.
    #[command(flatten)]
    pub grid: ProtocolFlags,
}

impl ReproduceArgs {
    /// The protocol's runs, every value validated.
    pub fn runs(&self) -> anyhow::Result<Vec<RunSpec>> {
        spec::reproduction(self.protocol, &self.seeds, self.grid.shortened())
    }

    /// The output folder: `--out`, or the protocol's own.
    pub fn out(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| self.protocol.default_out().into())
    }
}

/// Flags of `stall`.
#[derive(Args, Debug, Clone)]
pub struct StallArgs {
    /// Seeds, comma-separated (a cell of one seed uses the first).
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    pub seeds: Vec<u64>,
    /// Output folder.
    #[arg(long, default_value = "results/stall")]
    pub out: PathBuf,
    /// The reproduction's folder, whose 30-layer runs are the baseline cell (read only).
    #[arg(long, default_value = "results/reproduction")]
    pub baseline: PathBuf,
    /// How the grid is run.
    #[command(flatten)]
    pub grid: ProtocolFlags,
}

impl StallArgs {
    /// The grid's runs, every value validated.
    pub fn runs(&self) -> anyhow::Result<Vec<StallRun>> {
        spec::stall::stall(&self.seeds, self.grid.shortened())
    }

    /// The baseline cell: the reproduction's 30-layer runs of these seeds.
    pub fn baseline_runs(&self) -> anyhow::Result<Vec<StallRun>> {
        spec::stall::baseline_cell(&self.seeds, self.grid.shortened())
    }
}

//! Command-line arguments (clap), shared by the subcommands.

use crate::spec::{self, Grid, NetGrid, RunSpec};
use clap::{Args, Parser, Subcommand, ValueEnum};
use layers::Activation;
use std::path::PathBuf;

mod protocols;
pub use protocols::{ProtocolFlags, ReproduceArgs, StallArgs};

/// Reproduce the depth experiment of He et al. 2015 ("Delving Deep into Rectifiers") on
/// Fashion-MNIST. Without a subcommand, trains (the same as `experiments train`).
#[derive(Parser, Debug)]
#[command(name = "experiments", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: train).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Training flags, when no subcommand is given.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the plain nets over a grid of depths, initializers, learning rates and seeds.
    Train(TrainArgs),
    /// Per-layer std of activations and gradients at initialization, against eq. 7-14.
    Analyze(AnalyzeArgs),
    /// Redraw every figure under an output folder from its CSVs, without training.
    Plot(PlotArgs),
    /// Write a run's trained weights as safetensors (names, shapes, F32), for other tools.
    Export(ExportArgs),
    /// Each run's weights at its checkpoint against their initial draw and against weight
    /// decay alone: how much of the first layer's gradient growth the norms explain
    /// (DRIFT.md, drift.csv).
    Drift(DriftArgs),
    /// Time a full training step and inference on synthetic data (medians).
    Bench(BenchArgs),
    /// The paper's protocol over seeds: 22 layers for 6 epochs and 30 for 10, Xavier and
    /// MSRA, then the figures and the claims report (resumable).
    Reproduce(ReproduceArgs),
    /// When the 30-layer Xavier net leaves chance, one factor at a time from the spec
    /// (widths, lr, weight decay, input scale, fc head, momentum, batch), with MSRA checks;
    /// then the table and figure (resumable).
    Stall(StallArgs),
    /// Print the grid's runs as numbered tasks (index, name, the command that trains it
    /// alone), for `--task` and Slurm job arrays; trains nothing.
    Plan(TrainArgs),
    /// Record a run's first steps with its initial weights and batches, for a replay in
    /// another framework (bench/lockstep.py).
    Lockstep(LockstepArgs),
    /// Train committed runs' first iterations again from their config.json and compare
    /// with their train.csv and first eval.csv row, bit for bit (exit 1 if any differs).
    Verify(VerifyArgs),
}

/// The rectifier, as typed on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationArg {
    /// max(x, 0).
    Relu,
    /// PReLU, one learned slope per channel, starting at 0.25.
    Prelu,
    /// PReLU, one learned slope per layer.
    PreluShared,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Prelu => Activation::Prelu,
            ActivationArg::PreluShared => Activation::PreluShared,
        }
    }
}

/// `--input-scale`, as typed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputScaleArg {
    /// (x/255 − mean) / std.
    Normalised,
    /// x − 255·mean, x in 0-255.
    Caffe,
}

/// `--head`, as typed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadArg {
    /// The initializer being compared.
    Compared,
    /// Std 0.01, 0.01, 0.001.
    Paper,
}

/// `--init`'s long help, generated from the registry so a new initializer appears in it.
fn init_help() -> String {
    let mut s =
        String::from("Initializer(s), comma-separated, each `name[:key=value]...`. Registered:\n");
    for e in init::REGISTRY {
        s += &format!("  {:<11} {}\n", e.name, e.help);
    }
    s + "Options: mode=fan_in|fan_out|fan_avg, dist=normal|uniform|truncated_normal, and those in brackets."
}

/// The network and where data and results live (shared by `train` and `analyze`).
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// Weight layers (D-3 convs over three stages + 3 fc); a comma list runs each.
    #[arg(long, value_delimiter = ',', default_value = "30")]
    pub depth: Vec<usize>,
    /// Initializer(s), comma-separated, each `name[:key=value]...` (e.g. xavier,
    /// msra:mode=fan_out, msra:a=auto, gaussian:std=0.01).
    #[arg(long, value_delimiter = ',', default_value = "msra", long_help = init_help())]
    pub init: Vec<String>,
    /// Rectifier after every conv and hidden fc layer.
    #[arg(long, value_enum, default_value = "relu")]
    pub activation: ActivationArg,
    /// Channels of the three conv stages.
    #[arg(long, value_delimiter = ',', num_args = 1, default_value = "16,32,64")]
    pub width: Vec<usize>,
    /// Width of the two hidden fully connected layers.
    #[arg(long, default_value_t = spec::defaults::FC_WIDTH)]
    pub fc_width: usize,
    /// Folder with the IDX files (train-images-idx3-ubyte[.gz], ...).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Flags of `train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Network, data and output.
    #[command(flatten)]
    pub net: NetArgs,
    /// Learning rate(s), comma-separated (the spec's 0.001; 0.01 is unstable here).
    #[arg(
        long,
        allow_negative_numbers = true,
        value_delimiter = ',',
        default_values_t = [spec::defaults::LR]
    )]
    pub lr: Vec<f32>,
    /// Seed(s), comma-separated: weights, shuffling and everything random.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub seed: Vec<u64>,
    /// Training epochs (fractions allowed).
    #[arg(long, allow_negative_numbers = true, default_value_t = 2.0)]
    pub epochs: f64,
    /// Mini-batch size.
    #[arg(long, default_value_t = spec::defaults::BATCH_SIZE)]
    pub batch_size: usize,
    /// SGD momentum.
    #[arg(long, allow_negative_numbers = true, default_value_t = spec::defaults::MOMENTUM)]
    pub momentum: f32,
    /// L2 weight decay on weights (never on biases or PReLU slopes).
    #[arg(long, allow_negative_numbers = true, default_value_t = spec::defaults::WEIGHT_DECAY)]
    pub weight_decay: f32,
    /// Evaluate every this many epochs.
    #[arg(long, allow_negative_numbers = true, default_value_t = spec::defaults::EVAL_EVERY)]
    pub eval_every: f64,
    /// Test images per evaluation (a fixed random subset; the paper used 3,000).
    #[arg(long, default_value_t = spec::defaults::EVAL_SIZE)]
    pub eval_size: usize,
    /// Use only this many training images (0: all), for quick trials.
    #[arg(long, default_value_t = spec::defaults::TRAIN_SIZE)]
    pub train_size: usize,
    /// How pixels become the input: normalised by the training set's mean and std (the
    /// spec), or caffe: raw 0-255 values minus the mean pixel, as the paper's inputs were.
    #[arg(long, value_enum, default_value = "normalised")]
    pub input_scale: InputScaleArg,
    /// The fc head's initialization: the compared initializer (the spec), or paper: the
    /// fixed Gaussians of std 0.01, 0.01 and 0.001 the paper gave its fc layers.
    #[arg(long, value_enum, default_value = "compared")]
    pub head: HeadArg,
    /// Stop each run this many epochs after it left chance (its loss 0.05 below ln 10);
    /// `--epochs` stays the limit. For grids over slow escapes.
    #[arg(long, value_name = "EPOCHS")]
    pub stop_after_chance: Option<f64>,
    /// Replace runs of the same name already in the output folder.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue each run of the grid from its last checkpoint; skip runs already complete.
    #[arg(long)]
    pub resume: bool,
    /// Also checkpoint every this many iterations (0: only at the end of each epoch).
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
    /// Also keep the weights of every checkpoint, as `weights-<iteration>.safetensors` in
    /// the run's folder (what `export` writes), for `drift`.
    #[arg(long)]
    pub keep_weights: bool,
    /// Train only the grid's run number N (as `experiments plan` numbers them, from 0);
    /// `--task` alone reads N from SLURM_ARRAY_TASK_ID (a Slurm job array).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "slurm")]
    pub task: Option<Task>,
}

/// Which run of the grid `--task` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// This index.
    Index(usize),
    /// The index in `SLURM_ARRAY_TASK_ID`.
    FromSlurm,
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "slurm" => Ok(Task::FromSlurm),
            n => n
                .parse()
                .map(Task::Index)
                .map_err(|_| format!("expected a run number (0, 1, ...), got `{n}`")),
        }
    }
}

impl Task {
    /// The runs to train: all of them without a task, else the task's one; `what` names
    /// the list (`grid`) and `listed_by` what numbers it, for the error.
    pub fn select<T>(
        task: Option<Task>,
        mut runs: Vec<T>,
        what: &str,
        listed_by: &str,
    ) -> anyhow::Result<Vec<T>> {
        let Some(task) = task else {
            return Ok(runs);
        };
        let i = task.index()?;
        anyhow::ensure!(
            i < runs.len(),
            "--task {i}: the {what} has {} runs, numbered 0 to {} (see {listed_by})",
            runs.len(),
            runs.len().saturating_sub(1)
        );
        Ok(vec![runs.swap_remove(i)])
    }

    /// The index, reading `SLURM_ARRAY_TASK_ID` where asked.
    pub fn index(self) -> anyhow::Result<usize> {
        match self {
            Task::Index(i) => Ok(i),
            Task::FromSlurm => {
                let v = std::env::var("SLURM_ARRAY_TASK_ID").map_err(|_| {
                    anyhow::anyhow!("--task without a number reads SLURM_ARRAY_TASK_ID, which is not set (give --task N outside a Slurm job array)")
                })?;
                v.trim().parse().map_err(|_| {
                    anyhow::anyhow!("SLURM_ARRAY_TASK_ID: expected a run number, got `{v}`")
                })
            }
        }
    }
}

impl NetArgs {
    /// The flags as plain values for `spec`.
    pub fn grid(&self) -> NetGrid {
        NetGrid {
            depth: self.depth.clone(),
            init: self.init.clone(),
            activation: self.activation.into(),
            width: self.width.clone(),
            fc_width: self.fc_width,
        }
    }
}

impl TrainArgs {
    /// The flags as plain values for `spec`.
    pub fn grid(&self) -> Grid {
        Grid {
            net: self.net.grid(),
            lr: self.lr.clone(),
            seed: self.seed.clone(),
            epochs: self.epochs,
            batch_size: self.batch_size,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            eval_every: self.eval_every,
            eval_size: self.eval_size,
            train_size: self.train_size,
            input_scale: match self.input_scale {
                InputScaleArg::Normalised => crate::data::InputScale::Normalised,
                InputScaleArg::Caffe => crate::data::InputScale::Caffe,
            },
            head: match self.head {
                HeadArg::Compared => layers::Head::Compared,
                HeadArg::Paper => layers::Head::Paper,
            },
            stop_after_chance: self.stop_after_chance,
        }
    }

    /// The grid's runs, every flag validated (only the `--task`'s one, if given).
    pub fn runs(&self) -> anyhow::Result<Vec<RunSpec>> {
        Task::select(
            self.task,
            spec::expand(&self.grid())?,
            "grid",
            "`experiments plan`",
        )
    }
}

/// Flags of `analyze`.
#[derive(Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// Network, data and output.
    #[command(flatten)]
    pub net: NetArgs,
    /// Training images in the batch pushed through the net.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Seed of the weights and of the batch.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace the analysis files already in `<out>/analyze/`.
    #[arg(long)]
    pub overwrite: bool,
}

/// Flags of `plot`.
#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// The output folder of earlier runs.
    #[arg(default_value = "results")]
    pub out: PathBuf,
}

/// Flags of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Weight layers of the plain net.
    #[arg(long, default_value_t = 30)]
    pub depth: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Channels of the three conv stages (the paper's nets were wider: 64,128,256).
    #[arg(long, value_delimiter = ',', num_args = 1, default_value = "16,32,64")]
    pub width: Vec<usize>,
    /// Width of the two hidden fully connected layers.
    #[arg(long, default_value_t = spec::defaults::FC_WIDTH)]
    pub fc_width: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Timed steps (after the warm-up).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also time each kind of op (conv forward, conv backward-data, ...).
    #[arg(long)]
    pub profile: bool,
}

/// Flags of `drift`.
#[derive(Args, Debug, Clone)]
pub struct DriftArgs {
    /// The output folder of earlier runs (each run with a checkpoint is measured).
    #[arg(default_value = "results")]
    pub out: PathBuf,
    /// Folder with the IDX files (the batch the mixed nets are measured on).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Flags of `export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The run's folder, e.g. results/runs/d30-msra-relu-s0.
    pub run: PathBuf,
    /// Where to write (default: <run>/weights.safetensors).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Flags of `lockstep`.
#[derive(Args, Debug, Clone)]
pub struct LockstepArgs {
    /// The run(s), as for training (`--out` is the folder the run folders go in).
    #[command(flatten)]
    pub train: TrainArgs,
    /// Training steps to take and record.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
}

/// Flags of `verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Run folders, e.g. results/reproduction/runs/d30-xavier-relu-s0.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Iterations to replay per run (each of the run's own logged ones at most).
    #[arg(long, default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub iterations: usize,
    /// Folder with the IDX files the runs trained on (their SHA-256s must match).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Worker threads (0: one per core; the numbers do not depend on it).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// A one-line hint for a list typed with spaces (`--depth 30 22`), which clap reads as a
/// value and a subcommand: lists take commas.
pub fn list_hint(e: &clap::Error) -> Option<String> {
    // Without a subcommand clap reads the stray value as a subcommand that conflicts with
    // the flags before it; after one, as an unexpected argument.
    let text = e.to_string();
    let (_, rest) = text
        .split_once("the subcommand '")
        .or_else(|| text.split_once("unexpected argument '"))?;
    let (stray, _) = rest.split_once('\'')?;
    if stray.starts_with('-') {
        return None;
    }
    Some(format!(
        "unexpected `{stray}`: give a list with commas and no spaces, e.g. --depth 22,30 or --init xavier,msra"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_typed_with_spaces_gets_a_hint() {
        use clap::Parser;
        for argv in [
            &["x", "--depth", "30", "22"][..],
            &["x", "--init", "xavier", "msra"],
            &["x", "train", "--seed", "0", "1"],
        ] {
            let e = super::Cli::try_parse_from(argv).unwrap_err();
            let hint = super::list_hint(&e).unwrap();
            assert!(
                hint.contains(argv[argv.len() - 1]) && hint.contains("commas"),
                "{hint}"
            );
        }
        let e = super::Cli::try_parse_from(["x", "--bogus"]).unwrap_err();
        assert_eq!(
            super::list_hint(&e),
            None,
            "other errors keep clap's message"
        );
    }

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

//! Raw arguments turned into validated run specifications before anything runs.

use crate::data::InputScale;
use anyhow::{bail, ensure, Context, Result};
use layers::{
    plain_net, stage_depths, Activation, Head, PlainNetConfig, Sequential, Sgd, SgdConfig,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod names;
mod protocol;
mod recorded;
pub mod size;
pub mod stall;
use names::{activation_name, head_name, is_compared};
pub use protocol::{reproduction, Protocol, Shortened, REPRODUCTION, REPRODUCTION_INITS};

/// The spec's training settings; a run name mentions each one only where it differs.
pub mod defaults;

/// Everything one training run needs, validated. Written to `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunSpec {
    /// Folder name under `<out>/runs/`, e.g. `d30-msra-relu-s0`.
    pub name: String,
    /// Weight layers.
    pub depth: usize,
    /// Conv layers per stage.
    pub stages: [usize; 3],
    /// Initializer, canonical `name[:key=value]...`.
    pub init: String,
    /// The rectifier (`relu`, `prelu` or `prelu-shared` in files).
    #[serde(with = "activation_name")]
    pub activation: Activation,
    /// Channels per stage.
    pub widths: [usize; 3],
    /// Hidden fc width.
    pub fc_width: usize,
    /// Learning rate.
    pub lr: f32,
    /// Seed.
    pub seed: u64,
    /// Epochs.
    pub epochs: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// SGD momentum.
    pub momentum: f32,
    /// Weight decay on weights.
    pub weight_decay: f32,
    /// Evaluation period in epochs.
    pub eval_every: f64,
    /// Test images per evaluation.
    pub eval_size: usize,
    /// Training images used (0: all).
    pub train_size: usize,
    /// How pixels become the input (absent in files: normalised).
    #[serde(default, skip_serializing_if = "InputScale::is_default")]
    pub input_scale: InputScale,
    /// The fc head's initialization (absent in files: the compared initializer).
    #[serde(default, with = "head_name", skip_serializing_if = "is_compared")]
    pub head: Head,
    /// Stop this many epochs after the run left chance (absent: run every epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_after_chance: Option<f64>,
}

impl RunSpec {
    /// The network this run trains.
    pub fn net_config(&self) -> PlainNetConfig {
        PlainNetConfig {
            depth: self.depth,
            widths: self.widths,
            fc_width: self.fc_width,
            activation: self.activation,
            head: self.head,
            ..Default::default()
        }
    }

    /// The run's network at initialization: every weight drawn by its initializer from
    /// ChaCha8 seeded with the run's seed, in layer order.
    pub fn build_net(&self) -> Result<Sequential> {
        self.build_net_with(&init::by_name(&self.init)?)
    }

    /// [`RunSpec::build_net`] with the run's initializer already parsed.
    fn build_net_with(&self, init: &init::Init) -> Result<Sequential> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        Ok(plain_net(&self.net_config(), init.as_ref(), &mut rng)?)
    }

    /// The net at initialization, calibrated on its batch if its initializer is
    /// data-dependent (LSUV): the batch is [`RunSpec::calibration_images`]; returns the
    /// calibration's record (empty for a fan-based initializer).
    pub fn build_net_on(&self, data: &crate::data::Dataset) -> Result<(Sequential, Vec<usize>)> {
        let init = init::by_name(&self.init)?;
        let mut net = self.build_net_with(&init)?;
        let images = self.calibration_images_for(&init, data);
        if images.is_empty() {
            return Ok((net, vec![]));
        }
        let (x, _) = data.batch(&data.train, &images);
        let iterations = init.calibrate(&mut layers::Calibration::new(&mut net, x))?;
        Ok((net, iterations))
    }

    /// The training images a data-dependent initializer calibrates on: the first of a
    /// shuffle of the run's training images by ChaCha8 seeded with the run's seed (stream
    /// 3, so the epochs' shuffles are not disturbed); none for a fan-based initializer.
    pub fn calibration_images(&self, data: &crate::data::Dataset) -> Vec<usize> {
        init::by_name(&self.init).map_or(vec![], |init| self.calibration_images_for(&init, data))
    }

    /// [`RunSpec::calibration_images`] with the run's initializer already parsed.
    fn calibration_images_for(&self, init: &init::Init, data: &crate::data::Dataset) -> Vec<usize> {
        use rand::seq::SliceRandom;
        let count = init.calibration_images();
        if count == 0 {
            return vec![];
        }
        let mut order: Vec<usize> = (0..self.n_train(data)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(3);
        order.shuffle(&mut rng);
        order.truncate(count);
        order
    }

    /// Training images the run uses from a data set: `train_size`, or all of them.
    pub fn n_train(&self, data: &crate::data::Dataset) -> usize {
        match self.train_size {
            0 => data.train.len(),
            n => n.min(data.train.len()),
        }
    }

    /// The folder name: depth, initializer, rectifier, then every setting that changes
    /// what is trained and differs from [`defaults`] (`-w` widths, `-fc` width, `-lr`,
    /// `-b` batch, `-m` momentum, `-wd` weight decay, `-n` training images, `-caffe` inputs,
    /// `-paperhead`), then the seed: `d30-xavier-relu-s0`, `d30-xavier-relu-m0-s0`. Two runs that would train
    /// differently never share a name. The length (`epochs`) and what is observed
    /// (`eval_every`, `eval_size`) are not in the name; a run resumed with other values is
    /// refused with the difference named.
    pub fn default_name(&self) -> String {
        let mut name = format!(
            "d{}-{}-{}",
            self.depth,
            slug(&self.init),
            self.activation.as_str()
        );
        let w = self.widths;
        if w != defaults::WIDTHS {
            name += &format!("-w{}.{}.{}", w[0], w[1], w[2]);
        }
        let parts = [
            (
                self.fc_width != defaults::FC_WIDTH,
                "fc",
                self.fc_width.to_string(),
            ),
            (self.lr != defaults::LR, "lr", init::compact_number(self.lr)),
            (
                self.batch_size != defaults::BATCH_SIZE,
                "b",
                self.batch_size.to_string(),
            ),
            (
                self.momentum != defaults::MOMENTUM,
                "m",
                init::compact_number(self.momentum),
            ),
            (
                self.weight_decay != defaults::WEIGHT_DECAY,
                "wd",
                init::compact_number(self.weight_decay),
            ),
            (
                self.train_size != defaults::TRAIN_SIZE,
                "n",
                self.train_size.to_string(),
            ),
        ];
        for (differs, key, value) in parts {
            if differs {
                name += &format!("-{key}{value}");
            }
        }
        if self.input_scale == InputScale::Caffe {
            name += "-caffe";
        }
        if self.head == Head::Paper {
            name += "-paperhead";
        }
        name + &format!("-s{}", self.seed)
    }

    /// The run's optimizer, before its first step.
    pub fn sgd(&self) -> Sgd {
        Sgd::new(SgdConfig {
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
        })
    }
}

/// A file-system-safe form of an initializer spec (`msra:mode=fan_out` → `msra_mode-fan_out`).
pub fn slug(init: &str) -> String {
    init.chars()
        .map(|c| match c {
            ':' => '_',
            '=' => '-',
            c if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' => c,
            _ => '-',
        })
        .collect()
}

/// The data folder: `--data`, else `data/fashion-mnist` under the working directory, else
/// the one in this repository.
pub fn data_dir(arg: &Option<PathBuf>) -> PathBuf {
    if let Some(d) = arg {
        return d.clone();
    }
    let local = PathBuf::from("data/fashion-mnist");
    if local.exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist")
    }
}

/// The network part of a grid, as plain values (the command line fills it from its
/// flags; the field names are the flags').
#[derive(Clone, Debug)]
pub struct NetGrid {
    /// Depths.
    pub depth: Vec<usize>,
    /// Initializer specs, as typed.
    pub init: Vec<String>,
    /// Rectifier.
    pub activation: Activation,
    /// Stage widths (three are expected).
    pub width: Vec<usize>,
    /// Hidden fc width.
    pub fc_width: usize,
}

/// A training grid, as plain values: every combination of depth, initializer, learning
/// rate and seed, the other settings shared.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The networks.
    pub net: NetGrid,
    /// Learning rates.
    pub lr: Vec<f32>,
    /// Seeds.
    pub seed: Vec<u64>,
    /// Epochs.
    pub epochs: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// SGD momentum.
    pub momentum: f32,
    /// Weight decay on weights.
    pub weight_decay: f32,
    /// Evaluation period in epochs.
    pub eval_every: f64,
    /// Test images per evaluation.
    pub eval_size: usize,
    /// Training images used (0: all).
    pub train_size: usize,
    /// How pixels become the input.
    pub input_scale: InputScale,
    /// The fc head's initialization.
    pub head: Head,
    /// Stop this many epochs after leaving chance.
    pub stop_after_chance: Option<f64>,
}

/// Checks the network flags and resolves every initializer (canonical specs, in order).
pub fn validate_net(net: &NetGrid) -> Result<(Vec<usize>, Vec<String>, [usize; 3])> {
    ensure!(!net.depth.is_empty(), "--depth: give at least one depth");
    for &d in &net.depth {
        stage_depths(d).context("--depth")?;
    }
    let widths: [usize; 3] = net.width.clone().try_into().map_err(|w: Vec<usize>| {
        anyhow::anyhow!(
            "--width: expected three stage widths like 16,32,64, got {} values",
            w.len()
        )
    })?;
    ensure!(
        widths.iter().all(|&w| w > 0),
        "--width: every stage width must be positive, got {widths:?}"
    );
    ensure!(net.fc_width > 0, "--fc-width: must be positive");
    let mut inits = vec![];
    for i in &net.init {
        inits.push(
            init::by_name(i)
                .with_context(|| "--init".to_string())?
                .spec()
                .to_string(),
        );
    }
    Ok((net.depth.clone(), inits, widths))
}

/// The longest run `--epochs` may ask for (the paper's protocol takes 10), so the
/// iteration count stays a number the run will reach.
pub const MAX_EPOCHS: f64 = 10_000.0;

/// Checks the grid's training flags (learning rates, epochs, batch, momentum, weight
/// decay, evaluation cadence, early stop), each with a one-line error naming the flag.
fn validate_training(args: &Grid) -> Result<()> {
    let finite_pos = |x: f64| x.is_finite() && x > 0.0;
    for &lr in &args.lr {
        ensure!(
            finite_pos(lr as f64),
            "--lr: must be a positive number, got {lr}"
        );
    }
    ensure!(
        finite_pos(args.epochs) && args.epochs <= MAX_EPOCHS,
        "--epochs: must be positive and at most {MAX_EPOCHS}, got {}",
        args.epochs
    );
    ensure!(args.batch_size > 0, "--batch-size: must be at least 1");
    ensure!(
        args.momentum.is_finite() && (0.0..1.0).contains(&args.momentum),
        "--momentum: must be in [0, 1), got {}",
        args.momentum
    );
    ensure!(
        args.weight_decay.is_finite() && args.weight_decay >= 0.0,
        "--weight-decay: must be >= 0, got {}",
        args.weight_decay
    );
    ensure!(
        finite_pos(args.eval_every),
        "--eval-every: must be positive, got {}",
        args.eval_every
    );
    ensure!(args.eval_size > 0, "--eval-size: must be at least 1");
    if let Some(e) = args.stop_after_chance {
        ensure!(
            e.is_finite() && e >= 0.0,
            "--stop-after-chance: must be a number of epochs >= 0, got {e}"
        );
    }
    Ok(())
}

/// Expands the grid (depth × init × lr × seed) into validated run specs.
pub fn expand(args: &Grid) -> Result<Vec<RunSpec>> {
    let (depths, inits, widths) = validate_net(&args.net)?;
    validate_training(args)?;
    let activation = args.net.activation;
    let mut runs = vec![];
    for &depth in &depths {
        for init in &inits {
            for &lr in &args.lr {
                for &seed in &args.seed {
                    let mut r = RunSpec {
                        name: String::new(),
                        depth,
                        stages: stage_depths(depth)?,
                        init: init.clone(),
                        activation,
                        widths,
                        fc_width: args.net.fc_width,
                        lr,
                        seed,
                        epochs: args.epochs,
                        batch_size: args.batch_size,
                        momentum: args.momentum,
                        weight_decay: args.weight_decay,
                        eval_every: args.eval_every,
                        eval_size: args.eval_size,
                        train_size: args.train_size,
                        input_scale: args.input_scale,
                        head: args.head,
                        stop_after_chance: args.stop_after_chance,
                    };
                    r.name = r.default_name();
                    size::check_size(&r.net_config(), r.batch_size)
                        .with_context(|| format!("run `{}`", r.name))?;
                    runs.push(r);
                }
            }
        }
    }
    let mut names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "the grid names two runs `{}`: remove the duplicate value",
            w[0]
        );
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    pub(super) fn train_args(extra: &[&str]) -> Grid {
        let mut argv = vec!["experiments"];
        argv.extend(extra);
        Cli::try_parse_from(argv).unwrap().train.grid()
    }

    #[test]
    fn grid_expands_every_combination_with_distinct_names() {
        let runs = expand(&train_args(&[
            "--depth",
            "22,30",
            "--init",
            "xavier,msra:mode=fan_out",
            "--seed",
            "0,1",
        ]))
        .unwrap();
        assert_eq!(runs.len(), 8);
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert!(names.contains(&"d22-xavier-relu-s0"));
        assert!(names.contains(&"d30-msra_mode-fan_out-relu-s1"));
        assert_eq!(runs[0].stages, [7, 6, 6]);
        let lrs = expand(&train_args(&["--lr", "0.001,0.01"])).unwrap();
        assert_eq!(lrs[1].name, "d30-msra-relu-lr0.01-s0");
    }

    #[test]
    fn names_carry_every_setting_that_changes_training() {
        let base = expand(&train_args(&["--depth", "30", "--init", "xavier"])).unwrap();
        assert_eq!(base[0].name, "d30-xavier-relu-s0");
        assert_eq!(
            base[0].widths,
            defaults::WIDTHS,
            "--width's default is the spec's"
        );
        let cases: &[(&[&str], &str)] = &[
            (&["--momentum", "0"], "d30-xavier-relu-m0-s0"),
            (&["--width", "32,64,128"], "d30-xavier-relu-w32.64.128-s0"),
            (&["--fc-width", "512"], "d30-xavier-relu-fc512-s0"),
            (&["--batch-size", "32"], "d30-xavier-relu-b32-s0"),
            (&["--weight-decay", "0"], "d30-xavier-relu-wd0-s0"),
            (&["--train-size", "1024"], "d30-xavier-relu-n1024-s0"),
            (
                &["--lr", "0.003", "--momentum", "0.5"],
                "d30-xavier-relu-lr0.003-m0.5-s0",
            ),
            (
                &["--epochs", "6", "--eval-size", "100"],
                "d30-xavier-relu-s0",
            ),
            // No value makes a name too long for a file system.
            (
                &["--lr", "1e-30", "--weight-decay", "1e30"],
                "d30-xavier-relu-lr1e-30-wd1e30-s0",
            ),
        ];
        for (flags, want) in cases {
            let mut argv = vec!["--depth", "30", "--init", "xavier"];
            argv.extend_from_slice(flags);
            let runs = expand(&train_args(&argv)).unwrap();
            assert_eq!(&runs[0].name, want, "{flags:?}");
            assert_eq!(runs[0].name, runs[0].default_name());
        }
    }

    #[test]
    fn nonsense_is_refused_with_the_flag_named() {
        let err = |a: &[&str]| format!("{:#}", expand(&train_args(a)).unwrap_err());
        assert!(err(&["--depth", "3"]).contains("depth"));
        assert!(err(&["--lr", "0"]).contains("--lr"));
        assert!(err(&["--lr", "-1"]).contains("--lr"));
        assert!(err(&["--lr", "NaN"]).contains("--lr"));
        assert!(err(&["--epochs", "0"]).contains("--epochs"));
        assert!(err(&["--epochs", "1e30"]).contains("at most 10000"));
        assert!(err(&["--momentum", "1.5"]).contains("--momentum"));
        assert!(err(&["--init", "kaiming"]).contains("unknown initializer"));
        assert!(err(&["--width", "16,0,64"]).contains("--width"));
        assert!(err(&["--width", "16,32"]).contains("--width"));
        assert!(err(&["--seed", "1,1"]).contains("duplicate"));
    }
}

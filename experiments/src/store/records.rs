//! The files a run writes: `train.csv`, `eval.csv`, `config.json`, `summary.json`.
//! The column names and JSON fields below are the documented, stable format.

use crate::bounded;
use crate::spec::RunSpec;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of `train.csv`, written every iteration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainRow {
    /// Iterations completed (1-based).
    pub iteration: usize,
    /// Epochs completed (fractional).
    pub epoch: f64,
    /// Mini-batch cross-entropy.
    pub loss: f32,
    /// Learning rate used.
    pub lr: f32,
    /// L2 norm of the loss gradient of the first conv layer's weight.
    pub grad_norm_first: f64,
    /// L2 norm of the loss gradient of the last layer's weight.
    pub grad_norm_last: f64,
}

/// One row of `eval.csv`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalRow {
    /// Iterations completed when evaluated.
    pub iteration: usize,
    /// Epochs completed.
    pub epoch: f64,
    /// Mean cross-entropy on the evaluation images.
    pub test_loss: f64,
    /// Top-1 error on the evaluation images.
    pub test_error: f64,
}

/// One row of `slopes.csv` (PReLU runs only): one PReLU layer's slopes at one moment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SlopeRow {
    /// Iterations completed.
    pub iteration: usize,
    /// Epochs completed.
    pub epoch: f64,
    /// The PReLU layer (`stage2.act3`).
    pub layer: String,
    /// Mean slope over its channels (the one slope when channel-shared).
    pub mean: f64,
    /// Smallest slope.
    pub min: f64,
    /// Largest slope.
    pub max: f64,
}

impl SlopeRow {
    /// A row per PReLU layer of `net`, in layer order.
    pub fn of(net: &layers::Sequential, iteration: usize, epoch: f64) -> Vec<SlopeRow> {
        net.params()
            .iter()
            .filter(|p| p.kind == layers::ParamKind::PreluSlope)
            .map(|p| {
                let v: Vec<f64> = p.value.iter().map(|&a| a as f64).collect();
                SlopeRow {
                    iteration,
                    epoch,
                    layer: p.name.trim_end_matches(".slope").to_string(),
                    mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
                    min: v.iter().copied().fold(f64::INFINITY, f64::min),
                    max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                }
            })
            .collect()
    }
}

/// One data file and its SHA-256.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileSum {
    /// Path as given.
    pub path: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Which build, compiler, CPU and kernel path made a run (recorded, never compared: a
/// run resumed elsewhere continues).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// The git commit the binary was built from (`unknown` outside a repository).
    pub commit: String,
    /// Whether the work tree had uncommitted changes to tracked files at build time.
    pub dirty: String,
    /// `rustc --version` of the compiler.
    pub rustc: String,
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// The conv kernels' SIMD path on this CPU (`avx512f`, `avx2-fma` or `scalar`).
    pub simd: String,
    /// Worker threads.
    pub threads: usize,
}

impl FileSum {
    /// Every file `data` was read from, in its order (train images and labels, then test).
    pub fn of(data: &crate::data::Dataset) -> Vec<FileSum> {
        data.files()
            .map(|(path, sha256)| FileSum {
                path: path.display().to_string(),
                sha256: sha256.clone(),
            })
            .collect()
    }
}

impl Provenance {
    /// This process's.
    pub fn current() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Self {
            commit: env!("DELVE_GIT_COMMIT").into(),
            dirty: env!("DELVE_GIT_DIRTY").into(),
            rustc: env!("DELVE_RUSTC").into(),
            cpu,
            simd: tensor::simd_path().into(),
            threads: rayon::current_num_threads(),
        }
    }
}

/// One stretch of a run made by one process: from the iteration it started at (0, or the
/// checkpoint it resumed), with the build, CPU and kernel path that made it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// The first iteration this process trained is `from + 1`.
    pub from: usize,
    /// Who made it.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl Provenance {
    /// What decides the numbers a build computes: its commit and SIMD path. Two segments
    /// with different numerics may round differently (a run still continues: provenance
    /// is recorded, never compared).
    pub fn numerics(&self) -> String {
        if self.commit.is_empty() {
            return "a build that did not record itself".into();
        }
        format!("{} ({})", short(&self.commit), self.simd)
    }
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// `config.json`: the resolved run and the data it saw.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Config {
    /// The validated run specification (every flag).
    pub run: RunSpec,
    /// Data files and checksums.
    pub data: Vec<FileSum>,
    /// Training-set pixel mean and std used to normalise.
    pub normalisation: (f32, f32),
    /// Worker threads (results do not depend on it).
    #[serde(default)]
    pub threads: usize,
    /// The output folder given.
    #[serde(default)]
    pub out: String,
    /// delve's version.
    pub version: String,
    /// The build, compiler, CPU and kernel path that started the run.
    #[serde(default)]
    pub provenance: Provenance,
    /// Every process that trained part of the run, in order: the first started it, each
    /// later one resumed it from a checkpoint.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// A data-dependent initializer's calibration (absent for fan-based ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// How a data-dependent initializer calibrated the run's net before its first step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// The training images it calibrated on (indices into the training set).
    pub images: Vec<usize>,
    /// What it did per weight layer, in net order (LSUV: its scalings).
    pub per_layer: Vec<usize>,
}

impl Config {
    /// Records that this process continues the run from `iteration`: segments that began
    /// at or after it (their steps were lost with the process) are dropped.
    pub fn resumed_at(&mut self, iteration: usize) {
        if self.segments.is_empty() {
            self.segments.push(Segment {
                from: 0,
                provenance: self.provenance.clone(),
            });
        }
        self.segments.retain(|s| s.from < iteration);
        self.segments.push(Segment {
            from: iteration,
            provenance: Provenance::current(),
        });
    }
}

/// Where a run left chance (`../shared/experiment-spec.md`): the first iteration at which
/// the smoothed training loss (the mean of the last 50 losses) is 0.05 or more below
/// ln 10.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeftChance {
    /// The iteration (1-based).
    pub iteration: usize,
    /// Epochs completed at that iteration.
    pub epoch: f64,
}

/// `summary.json`: how the run ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Run name.
    pub name: String,
    /// Test error at the last evaluation, on the evaluation subset (`eval_size` images).
    pub final_test_error: f64,
    /// Lowest test error of any evaluation: chosen on the test subset, so optimistic.
    pub best_test_error: f64,
    /// Top-1 error on the full test set after the last step (`None` if the run diverged).
    #[serde(default)]
    pub final_full_test_error: Option<f64>,
    /// Mean cross-entropy on the full test set after the last step.
    #[serde(default)]
    pub final_full_test_loss: Option<f64>,
    /// Images in the full test set.
    #[serde(default)]
    pub full_test_images: usize,
    /// Mean training loss of the last 50 iterations.
    pub final_train_loss: f64,
    /// The first iteration at which the smoothed training loss (mean of the last 50) was
    /// 0.05 or more below ln 10, and its epoch; `null` if the run never left chance.
    #[serde(default)]
    pub left_chance: Option<LeftChance>,
    /// The loss became NaN or infinite and the run was stopped.
    pub diverged: bool,
    /// Iterations run.
    pub iterations: usize,
    /// Epochs run.
    pub epochs: f64,
    /// Wall time in seconds of the process that finished the run (evaluation included); a
    /// resumed run's earlier processes are not in it (`train_images_per_sec` is over all).
    pub wall_time_s: f64,
    /// Training images per second (evaluation excluded).
    pub train_images_per_sec: f64,
    /// First conv layer's gradient norm at the first iteration.
    pub grad_norm_first_init: f64,
    /// How fast the first conv layer's gradient norm grew while the run was at chance:
    /// doublings per 100 iterations, a least-squares line through `log2` of the norm from
    /// the first iteration to the one it left chance at (or the last); `None` with fewer
    /// than 10 iterations.
    #[serde(default)]
    pub stall_growth: Option<f64>,
    /// Median of the first conv layer's gradient norm over the run.
    pub grad_norm_first_median: f64,
    /// The build, compiler, CPU and kernel path that finished the run.
    #[serde(default)]
    pub provenance: Provenance,
    /// Every process that trained part of the run (from `config.json`).
    #[serde(default)]
    pub segments: Vec<Segment>,
}

/// Writes `value` as pretty JSON to `path`, atomically (a crash leaves the old file).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    crate::store::atomic::write_atomic(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Keeps the header and the complete rows of a CSV log whose first field, the iteration,
/// is at most `iteration`: what a resumed run continues from. Rows written after the last
/// checkpoint, and a row cut short by a crash, are dropped. Rewritten atomically.
pub fn truncate_log(path: &Path, iteration: usize) -> Result<()> {
    let text = read_log(path)?;
    let mut kept: Vec<u8> = vec![];
    for (i, line) in text.split_inclusive(|&b| b == b'\n').enumerate() {
        if !line.ends_with(b"\n") {
            break;
        }
        let first = line.split(|&b| b == b',').next().unwrap_or_default();
        let keep = i == 0
            || std::str::from_utf8(first)
                .ok()
                .and_then(|f| f.trim().parse::<usize>().ok())
                .is_some_and(|it| it <= iteration);
        if keep {
            kept.extend_from_slice(line);
        }
    }
    crate::store::atomic::write_atomic(path, &kept)
        .with_context(|| format!("writing {}", path.display()))
}

/// The iteration of the last complete row of a CSV log (0 with none): how far the log
/// reaches.
pub fn last_iteration(path: &Path) -> Result<usize> {
    let text = read_log(path)?;
    Ok(text
        .split_inclusive(|&b| b == b'\n')
        .skip(1)
        .filter(|line| line.ends_with(b"\n"))
        .filter_map(|line| {
            let first = line.split(|&b| b == b',').next().unwrap_or_default();
            std::str::from_utf8(first)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .last()
        .unwrap_or(0))
}

/// The most bytes a JSON record (`config.json`, `summary.json`) may have: a thousand
/// times what one holds.
pub const MOST_JSON_BYTES: u64 = 1 << 24;

/// The most bytes a CSV log may have: ten million rows, past any run's.
pub const MOST_LOG_BYTES: u64 = 1 << 30;

/// The bytes of the CSV log at `path`, at most [`MOST_LOG_BYTES`] of them.
fn read_log(path: &Path) -> Result<Vec<u8>> {
    bounded::read(path, MOST_LOG_BYTES, "a log may have")
        .with_context(|| format!("reading {}", path.display()))
}

/// Reads JSON from `path`, a regular file of at most [`MOST_JSON_BYTES`].
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = bounded::read(path, MOST_JSON_BYTES, "a JSON record may have")
        .with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Reads every row of a CSV log, a regular file of at most [`MOST_LOG_BYTES`].
pub fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    parse_csv(&read_log(path)?).with_context(|| format!("parsing {}", path.display()))
}

/// Every row of CSV text with a header.
pub fn parse_csv<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Vec<T>> {
    Ok(csv::Reader::from_reader(bytes)
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()?)
}

/// A run's logs as read back (for the figures and reports).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    /// `train.csv`.
    pub train: Vec<TrainRow>,
    /// `eval.csv`.
    pub eval: Vec<EvalRow>,
    /// `slopes.csv` (PReLU runs).
    pub slopes: Vec<SlopeRow>,
}

impl Logs {
    /// The logs without the rows that hold a NaN or infinite value, and how many those
    /// were: what `plot` draws never depends on a non-finite number.
    pub fn finite(self) -> (Logs, usize) {
        let n = self.train.len() + self.eval.len() + self.slopes.len();
        let all = |v: &[f64]| v.iter().all(|x| x.is_finite());
        let logs = Logs {
            train: (self.train.into_iter())
                .filter(|t| all(&[t.epoch, t.loss as f64, t.grad_norm_first, t.grad_norm_last]))
                .collect(),
            eval: (self.eval.into_iter())
                .filter(|e| all(&[e.epoch, e.test_loss, e.test_error]))
                .collect(),
            slopes: (self.slopes.into_iter())
                .filter(|s| all(&[s.epoch, s.mean, s.min, s.max]))
                .collect(),
        };
        let dropped = n - logs.train.len() - logs.eval.len() - logs.slopes.len();
        (logs, dropped)
    }
}

/// The median of `v` (NaN-free), or 0 when empty.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

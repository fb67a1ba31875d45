//! A grid of training runs in one process: each run's lock taken and its fate decided
//! before anything trains, each run written to its folder, the figures drawn at the end.
//! Signals reach the training loop through [`Bar`], its observer. `train` and
//! `reproduce` both run their grids here.

use crate::data::Dataset;
use crate::report;
use crate::run::grid::{self, Existing, Plan};
use crate::run::{Checkpointing, Observer, Outcome, Trainer};
use crate::spec::{self, RunSpec};
use crate::store::lock;
use crate::store::records::{self, Config, FileSum, Provenance, Segment, Summary};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked the run to stop (0: none yet): SIGINT (Ctrl-C), SIGTERM (what
/// Slurm, Kubernetes and `systemctl stop` send) or SIGHUP. The current step finishes, a
/// checkpoint is written, and the program exits with 128 + the signal.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The grid stopped at a signal after saving a checkpoint (the binary exits with
/// [`Interrupted::exit_code`]: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Interrupted {
    /// The run that was training, or the next one to train.
    pub run: String,
    /// Its last completed step, now in its checkpoint (`None`: the run had not started).
    pub iteration: Option<usize>,
    /// The signal that stopped it.
    pub signal: i32,
}

impl Interrupted {
    fn describe(&self) -> String {
        match self.iteration {
            Some(it) => format!(
                "interrupted: {} saved at iteration {it}; continue with --resume",
                self.run
            ),
            None => format!(
                "interrupted before {} started; continue with --resume",
                self.run
            ),
        }
    }

    /// The shell's code for a process ended by the signal: 128 + its number.
    pub fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

/// The first SIGINT, SIGTERM or SIGHUP asks the training loop to checkpoint and stop; a
/// second quits at once (checkpoints are written atomically, so that loses at most the
/// steps since the last one).
fn catch_signals() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing the signal handlers")?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
                std::process::exit(128 + sig);
            }
            eprintln!("\nsignal {sig}: finishing this step and saving a checkpoint (a second signal quits now)");
        }
    });
    Ok(())
}

/// Where a grid's runs go and how existing ones are treated.
#[derive(Clone, Debug)]
pub struct Options {
    /// The output folder; runs go under `<out>/runs/`.
    pub out: PathBuf,
    /// `--overwrite`, `--resume`, or neither.
    pub existing: Existing,
    /// When each run checkpoints, and whether it keeps its weights at each.
    pub checkpointing: Checkpointing,
}

impl Options {
    /// `<out>/runs/`, the folder of every run's folder.
    fn runs_dir(&self) -> PathBuf {
        self.out.join("runs")
    }
}

/// The data a grid trains on, loaded and checked against every run before any folder is
/// touched.
pub fn load_data(runs: &[RunSpec], data: &Option<PathBuf>) -> Result<Dataset> {
    load_data_cut(runs, data, 0)
}

/// Like [`load_data`], the test split cut to its first `test_size` images (0: all), for
/// tests of whole protocols.
pub fn load_data_cut(
    runs: &[RunSpec],
    data: &Option<PathBuf>,
    test_size: usize,
) -> Result<Dataset> {
    let data_dir = spec::data_dir(data);
    let mut data = Dataset::load(&data_dir).context("loading the data (see --data)")?;
    if test_size > 0 {
        data.test.truncate(test_size);
    }
    grid::check_data(runs, &data)?;
    Ok(data)
}

/// Runs the grid. Every flag is validated, the data loaded, every run folder and
/// checkpoint checked before the first step, so bad input costs nothing.
pub fn train(runs: &[RunSpec], data: &Dataset, opts: &Options) -> Result<()> {
    let files = FileSum::of(data);
    let out = &opts.out;
    let runs_dir = opts.runs_dir();
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("creating output folder {}", runs_dir.display()))?;
    let (plans, refused) = lock_and_plan(runs, &runs_dir, out, (&files, data), opts.existing)?;
    print_nets(runs)?;
    catch_signals()?;
    for (r, plan) in runs.iter().zip(plans) {
        let Some((plan, _lock)) = plan else { continue };
        // A signal that came while the last run finished stops the grid before the next.
        let signal = SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            return Err(Interrupted {
                run: r.name.clone(),
                iteration: None,
                signal,
            }
            .into());
        }
        train_one(r, plan, data, &files, opts)?;
    }
    // Another process may be writing into the same folder: a figure that cannot be drawn
    // now is a warning, not a failure of the runs trained here.
    if let Err(e) = draw(out, runs) {
        eprintln!("warning: figures not drawn: {e:#} (draw them later with `experiments plot`)");
    }
    anyhow::ensure!(
        refused.is_empty(),
        "{} run(s) of the grid were held by other processes and left alone: {}",
        refused.len(),
        refused.join(", ")
    );
    Ok(())
}

/// Trains one run of the grid from its plan (skip, resume or start) in its folder under
/// `opts.out`, and writes its summary; a signal ends it with a checkpoint and an
/// [`Interrupted`] error.
fn train_one(
    r: &RunSpec,
    plan: Plan,
    data: &Dataset,
    files: &[FileSum],
    opts: &Options,
) -> Result<()> {
    let (out, checkpointing) = (&opts.out, opts.checkpointing);
    let dir = &opts.runs_dir().join(&r.name);
    let trainer = match plan {
        Plan::Skip => {
            eprintln!("{}: already complete, skipped", r.name);
            return Ok(());
        }
        Plan::Resume(ck) => {
            eprintln!("{}: resuming at iteration {}", r.name, ck.iteration);
            record_segment(dir, ck.iteration)?;
            Trainer::resume(r, data, dir, files, checkpointing, *ck)?
        }
        Plan::Fresh => {
            grid::start_folder(dir, &config(r, data, files, out))?;
            Trainer::start(r, data, dir, files, checkpointing)?
        }
    };
    // The bar is cleared (dropped) before anything else is printed.
    match trainer.run(&mut Bar::new(r))? {
        Outcome::Stopped { iteration } => Err(Interrupted {
            run: r.name.clone(),
            iteration: Some(iteration),
            signal: SIGNAL.load(Ordering::SeqCst),
        }
        .into()),
        Outcome::Finished(summary) => {
            records::write_json(&dir.join("summary.json"), &summary)?;
            print_summary(&summary);
            Ok(())
        }
    }
}

/// A run's plan and the lock that owns it while it trains; `None` for a run another
/// process holds.
type Owned = Option<(Plan, lock::RunLock)>;

/// Takes every run's lock, then decides what to do with each run it holds (what another
/// process holds is refused with a line, and named in the second list).
fn lock_and_plan<'a>(
    runs: &'a [RunSpec],
    runs_dir: &Path,
    out: &Path,
    data: (&[FileSum], &Dataset),
    existing: Existing,
) -> Result<(Vec<Owned>, Vec<&'a str>)> {
    // Every run is owned by one live process: its lock is taken before anything is
    // decided about it and held until this process ends.
    let locks = lock::take_all(runs_dir, runs.iter().map(|r| r.name.as_str()))?;
    let mut plans: Vec<Owned> = vec![];
    let mut refused = vec![];
    for (r, lock) in runs.iter().zip(locks) {
        match lock {
            Ok(lock) => {
                let plan = grid::plan(r, &runs_dir.join(&r.name), out, data, existing)?;
                plans.push(Some((plan, lock)));
            }
            Err(held) => {
                eprintln!("{held}");
                refused.push(r.name.as_str());
                plans.push(None);
            }
        }
    }
    Ok((plans, refused))
}

/// Prints the net of every (depth, rectifier) of the grid once.
fn print_nets(runs: &[RunSpec]) -> Result<()> {
    let mut shown = vec![];
    for r in runs {
        if !shown.contains(&(r.depth, &r.activation)) {
            shown.push((r.depth, &r.activation));
            eprint!("{}", report::summary::render(&r.build_net()?)?);
        }
    }
    Ok(())
}

/// The `config.json` of a fresh run.
fn config(r: &RunSpec, data: &Dataset, files: &[FileSum], out: &Path) -> Config {
    Config {
        run: r.clone(),
        data: files.to_vec(),
        normalisation: (data.mean, data.std),
        threads: rayon::current_num_threads(),
        out: out.display().to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
        provenance: Provenance::current(),
        segments: vec![Segment {
            from: 0,
            provenance: Provenance::current(),
        }],
        calibration: None,
    }
}

/// Adds this process to the provenance segments in the run's `config.json`.
fn record_segment(dir: &Path, iteration: usize) -> Result<()> {
    let path = dir.join("config.json");
    let mut config: Config = records::read_json(&path)?;
    config.resumed_at(iteration);
    records::write_json(&path, &config)
}

fn print_summary(s: &Summary) {
    let full = s
        .final_full_test_error
        .map_or(String::new(), |e| format!(" (full test set {e:.4})"));
    let chance = match s.left_chance {
        Some(l) => format!(", left chance at epoch {:.2}", l.epoch),
        None => ", never left chance".into(),
    };
    eprintln!(
        "{}: test error {:.4}{full} (best on the subset {:.4}), train loss {:.4}{chance}{}, {:.0} img/s",
        s.name,
        s.final_test_error,
        s.best_test_error,
        s.final_train_loss,
        if s.diverged { ", DIVERGED" } else { "" },
        s.train_images_per_sec
    );
}

/// The figures of every depth the grid trained, and the PReLU reports.
fn draw(out: &Path, runs: &[RunSpec]) -> Result<()> {
    let mut depths: Vec<usize> = vec![];
    for r in runs {
        if !depths.contains(&r.depth) {
            depths.push(r.depth);
        }
    }
    let (all, _) = report::runs::load_runs(out)?;
    for d in depths {
        for path in report::depth::draw_depth(out, d, &all)? {
            eprintln!("wrote {}", path.display());
        }
    }
    for path in report::sweep::draw_sweep(out, &all)?.unwrap_or_default() {
        eprintln!("wrote {}", path.display());
    }
    for path in report::prelu::report(out)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The progress bar of one run (a line per evaluation where there is no terminal), and
/// the way Ctrl-C reaches the training loop.
struct Bar(ProgressBar);

impl Bar {
    fn new(r: &RunSpec) -> Self {
        let bar = ProgressBar::new(0).with_prefix(r.name.clone());
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl Observer for Bar {
    fn step(&mut self, t: &Trainer, loss: f32) {
        let (it, total) = (t.iteration(), t.total());
        let error = t.last_eval().map_or(f64::NAN, |e| e.test_error);
        let evaluated_now = t.last_eval().is_some_and(|e| e.iteration == it);
        if self.0.is_hidden() && evaluated_now {
            eprintln!(
                "{} it {it}/{total} epoch {:.2} loss {loss:.4} test error {error:.4}",
                t.spec().name,
                t.epoch_of(it)
            );
        }
        self.0.set_length(total as u64);
        self.0.set_position(it as u64);
        self.0.set_message(format!(
            "ep {:.2} loss {loss:.4} err {error:.3} {:.0} img/s",
            t.epoch_of(it),
            t.images_per_sec()
        ));
    }

    fn stop_requested(&self) -> bool {
        SIGNAL.load(Ordering::SeqCst) != 0
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

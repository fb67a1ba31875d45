//! `experiments train`: the grid of training runs, each writing its CSVs and JSON.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::cli::TrainArgs;
use crate::data::{split_file, Dataset};
use crate::records::{self, Config, EvalRow, FileSum, SlopeRow, Summary, TrainRow};
use crate::run::{train_step, Batches};
use crate::run_folder::{Logs, RunState};
use crate::spec::{self, RunSpec};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use layers::Sequential;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tensor::{Mode, Tape};

/// `ln 10`: the cross-entropy of a uniform guess over 10 classes.
pub const CHANCE_LOSS: f64 = std::f64::consts::LN_10;

/// Test images per evaluation batch.
const EVAL_BATCH: usize = 200;

/// Ctrl-C was pressed: the current step finishes, a checkpoint is written, and the
/// program exits with code 130.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The grid stopped at Ctrl-C after saving a checkpoint (the binary exits with 130).
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {run} saved at iteration {iteration}; continue with --resume")]
pub struct Interrupted {
    /// The run that was training.
    pub run: String,
    /// Its last completed step, now in its checkpoint.
    pub iteration: usize,
}

/// The first Ctrl-C asks the training loop to checkpoint and stop; a second quits at once
/// (checkpoints are written atomically, so that loses at most the current epoch).
fn catch_interrupt() {
    let handler = || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again quits now)"
        );
    };
    // Fails only if a handler is already installed (a second grid in one process): keep it.
    let _ = ctrlc::set_handler(handler);
}

/// What to do with one run of the grid, decided before anything trains.
enum Plan {
    Fresh,
    Resume(Box<Checkpoint>),
    Skip,
}

/// Runs the grid. Every flag is validated, the data loaded, every run folder and
/// checkpoint checked before the first step, so bad input costs nothing.
pub fn run(args: TrainArgs) -> Result<()> {
    let runs = spec::expand(&args)?;
    let data_dir = spec::data_dir(&args.net.data);
    let data = Dataset::load(&data_dir).context("loading the data (see --data)")?;
    let files = data_files(&data_dir)?;
    let runs_dir = args.net.out.join("runs");
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("creating output folder {}", runs_dir.display()))?;
    let mut plans = vec![];
    for r in &runs {
        let dir = runs_dir.join(&r.name);
        let plan = match RunState::of(&dir) {
            RunState::Absent => Plan::Fresh,
            _ if args.overwrite => Plan::Fresh,
            RunState::Complete if args.resume => {
                // A complete run is skipped only if it is this run, not another configuration.
                let config: Config = records::read_json(&dir.join("config.json"))?;
                if let Some(d) = checkpoint::run_difference("finished run", &config.run, r) {
                    bail!(
                        "{} holds a finished run `{}` of another configuration ({d}); use --overwrite to replace it",
                        args.net.out.display(),
                        r.name
                    );
                }
                Plan::Skip
            }
            RunState::Started if args.resume => Plan::Fresh,
            RunState::Partial if args.resume => {
                let path = dir.join(checkpoint::FILE);
                let ck = Checkpoint::read(&path)?;
                if let Some(difference) = ck.difference(r, &files) {
                    return Err(CheckpointError::Mismatch { path, difference }.into());
                }
                Plan::Resume(Box::new(ck))
            }
            _ => bail!(
                "{} already holds run `{}`: pass --resume to continue it, --overwrite to replace it, or choose another --out",
                args.net.out.display(),
                r.name
            ),
        };
        plans.push(plan);
    }
    let mut shown: Vec<(usize, String)> = vec![];
    for r in &runs {
        if !shown.contains(&(r.depth, r.activation.clone())) {
            shown.push((r.depth, r.activation.clone()));
            eprint!("{}", crate::summary::render(&r.build_net()?)?);
        }
    }
    catch_interrupt();
    let mut depths: Vec<usize> = vec![];
    for (r, plan) in runs.iter().zip(plans) {
        let dir = runs_dir.join(&r.name);
        if !depths.contains(&r.depth) {
            depths.push(r.depth);
        }
        let resume = match plan {
            Plan::Skip => {
                eprintln!("{}: already complete, skipped", r.name);
                continue;
            }
            Plan::Resume(ck) => {
                eprintln!("{}: resuming at iteration {}", r.name, ck.iteration);
                Some(*ck)
            }
            Plan::Fresh => {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)
                        .with_context(|| format!("replacing {}", dir.display()))?;
                }
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let config = Config {
                    run: r.clone(),
                    data: files.clone(),
                    normalisation: (data.mean, data.std),
                    threads: rayon::current_num_threads(),
                    out: args.net.out.display().to_string(),
                    version: env!("CARGO_PKG_VERSION").into(),
                };
                records::write_json(&dir.join("config.json"), &config)?;
                None
            }
        };
        let summary = train_one(r, &data, &dir, &files, resume, args.checkpoint_every)?;
        records::write_json(&dir.join("summary.json"), &summary)?;
        eprintln!(
            "{}: test error {:.4} (best {:.4}), train loss {:.4}{}{}, {:.0} img/s",
            r.name,
            summary.final_test_error,
            summary.best_test_error,
            summary.final_train_loss,
            if summary.stalled {
                ", stalled at chance"
            } else {
                ""
            },
            if summary.diverged { ", DIVERGED" } else { "" },
            summary.train_images_per_sec
        );
    }
    for d in depths {
        for path in crate::cmd::plot::draw_depth(&args.net.out, d)? {
            eprintln!("wrote {}", path.display());
        }
    }
    for path in crate::cmd::prelu::report(&args.net.out)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn data_files(dir: &Path) -> Result<Vec<FileSum>> {
    let mut out = vec![];
    for split in ["train", "t10k"] {
        for kind in ["images-idx3-ubyte", "labels-idx1-ubyte"] {
            let p: PathBuf = split_file(dir, split, kind);
            out.push(FileSum {
                path: p.display().to_string(),
                sha256: records::sha256(&p)?,
            });
        }
    }
    Ok(out)
}

/// A fixed random subset of the test set, the same for every run.
pub fn eval_subset(n_test: usize, size: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n_test).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    rng.set_stream(2);
    idx.shuffle(&mut rng);
    idx.truncate(size.min(n_test));
    idx.sort_unstable();
    idx
}

/// Mean loss and top-1 error of `net` on the given test images, recording no tape for backward.
pub fn evaluate(net: &Sequential, data: &Dataset, subset: &[usize]) -> (f64, f64) {
    let (mut loss, mut wrong) = (0.0f64, 0usize);
    for chunk in subset.chunks(EVAL_BATCH) {
        let (x, labels) = data.batch(&data.test, chunk);
        let mut tape = Tape::with_mode(Mode::Eval);
        let xin = tape.constant(x);
        let logits = net.forward(&mut tape, xin);
        let l = tape.softmax_cross_entropy(logits, &labels);
        loss += *tape.value(l).first().expect("scalar") as f64 * chunk.len() as f64;
        for (row, &y) in tape.value(logits).outer_iter().zip(&labels) {
            let pred = row
                .iter()
                .enumerate()
                .fold(0, |best, (k, &v)| if v > row[best] { k } else { best });
            wrong += usize::from(pred != y);
        }
    }
    (
        loss / subset.len() as f64,
        wrong as f64 / subset.len() as f64,
    )
}

/// Trains one run from scratch or from `resume`, writing `train.csv`, `eval.csv` (and
/// `slopes.csv`) as it goes and a checkpoint at the end of every epoch, every
/// `checkpoint_every` iterations (if not 0), at the end, and at Ctrl-C.
pub fn train_one(
    r: &RunSpec,
    data: &Dataset,
    dir: &Path,
    files: &[FileSum],
    resume: Option<Checkpoint>,
    checkpoint_every: usize,
) -> Result<Summary> {
    let started = Instant::now();
    let mut net = r.build_net()?;
    let mut sgd = r.sgd();

    let n_train = if r.train_size == 0 {
        data.train.len()
    } else {
        r.train_size.min(data.train.len())
    };
    let per_epoch = n_train.div_ceil(r.batch_size.max(1));
    let total = ((r.epochs * per_epoch as f64).ceil() as usize).max(1);
    let eval_period = ((r.eval_every * per_epoch as f64).round() as usize).max(1);
    let subset = eval_subset(data.test.len(), r.eval_size);
    let epoch_of = |it: usize| it as f64 / per_epoch as f64;
    let has_slopes = !SlopeRow::of(&net, 0, 0.0).is_empty();
    let log_slopes = |logs: &mut Logs, net: &Sequential, it: usize| -> Result<()> {
        if let Some(w) = logs.slopes.as_mut() {
            for row in SlopeRow::of(net, it, epoch_of(it)) {
                Logs::row(w, &row)?;
            }
        }
        Ok(())
    };
    let evaluate_at = |logs: &mut Logs, net: &Sequential, it: usize| -> Result<EvalRow> {
        let (test_loss, test_error) = evaluate(net, data, &subset);
        let row = EvalRow {
            iteration: it,
            epoch: epoch_of(it),
            test_loss,
            test_error,
        };
        Logs::row(&mut logs.eval, &row)?;
        log_slopes(logs, net, it)?;
        logs.sync()?;
        Ok(row)
    };

    let mut batches = Batches::new(r.seed, n_train, r.batch_size);
    let mut train_time = 0.0f64;
    let (mut logs, mut rows, mut evals, done) = match resume {
        None => {
            let mut logs = Logs::create(dir, has_slopes)?;
            let first_eval = evaluate_at(&mut logs, &net, 0)?;
            (logs, vec![], vec![first_eval], 0)
        }
        Some(ck) => {
            ck.restore(&mut net, &mut sgd)
                .map_err(|reason| CheckpointError::Corrupt {
                    path: dir.join(checkpoint::FILE),
                    reason,
                })?;
            batches.restore(
                ck.shuffle_word_pos,
                ck.order.iter().map(|&i| i as usize).collect(),
            );
            train_time = ck.train_time_s;
            let logs = Logs::resume(dir, &ck, has_slopes)?;
            let rows: Vec<TrainRow> = records::read_csv(&dir.join("train.csv"))?;
            let evals: Vec<EvalRow> = records::read_csv(&dir.join("eval.csv"))?;
            (logs, rows, evals, ck.iteration)
        }
    };
    let mut last_eval = evals.last().cloned().context("eval.csv has no rows")?;

    let bar = ProgressBar::new(total as u64).with_prefix(r.name.clone());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_position(done as u64);
    let mut diverged = false;
    for it in done + 1..=total {
        let started_step = Instant::now();
        let (x, labels) = data.batch(&data.train, batches.batch(it));
        let step = match train_step(&mut net, &mut sgd, x, &labels, None) {
            Ok(step) => step,
            Err(loss) => {
                diverged = true;
                eprintln!("{}: loss became {loss} at iteration {it}; stopping this run and keeping what it logged", r.name);
                break;
            }
        };
        let loss = step.loss;
        train_time += started_step.elapsed().as_secs_f64();
        let row = TrainRow {
            iteration: it,
            epoch: epoch_of(it),
            loss,
            lr: r.lr,
            grad_norm_first: step.grad_norm_first,
            grad_norm_last: step.grad_norm_last,
        };
        Logs::row(&mut logs.train, &row)?;
        rows.push(row);
        if it % eval_period == 0 || it == total {
            last_eval = evaluate_at(&mut logs, &net, it)?;
            evals.push(last_eval.clone());
            if bar.is_hidden() {
                eprintln!(
                    "{} it {it}/{total} epoch {:.2} loss {loss:.4} test error {:.4}",
                    r.name,
                    epoch_of(it),
                    last_eval.test_error
                );
            }
        }
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
        if it % per_epoch == 0
            || it == total
            || (checkpoint_every > 0 && it % checkpoint_every == 0)
            || interrupted
        {
            logs.sync()?;
            Checkpoint {
                iteration: it,
                run: r.clone(),
                data: files.to_vec(),
                params: net
                    .params()
                    .iter()
                    .map(|p| (p.name.clone(), p.value.clone()))
                    .collect(),
                velocity: sgd.velocity().to_vec(),
                order: batches.order().iter().map(|&i| i as u32).collect(),
                shuffle_word_pos: batches.word_pos(),
                train_time_s: train_time,
            }
            .write(&dir.join(checkpoint::FILE))?;
        }
        if interrupted {
            bar.finish_and_clear();
            return Err(Interrupted {
                run: r.name.clone(),
                iteration: it,
            }
            .into());
        }
        let seen = (it * r.batch_size) as f64;
        bar.set_position(it as u64);
        bar.set_message(format!(
            "ep {:.2} loss {loss:.4} err {:.3} {:.0} img/s",
            epoch_of(it),
            last_eval.test_error,
            seen / train_time.max(1e-9)
        ));
    }
    bar.finish_and_clear();
    logs.sync()?;
    Ok(summarize(
        r,
        &rows,
        &evals,
        per_epoch,
        diverged,
        started.elapsed().as_secs_f64(),
        train_time,
    ))
}

fn summarize(
    r: &RunSpec,
    rows: &[TrainRow],
    evals: &[EvalRow],
    per_epoch: usize,
    diverged: bool,
    wall: f64,
    train_time: f64,
) -> Summary {
    let tail = &rows[rows.len().saturating_sub(50)..];
    let last_epoch = &rows[rows.len().saturating_sub(per_epoch)..];
    let images: usize = rows.len() * r.batch_size;
    Summary {
        name: r.name.clone(),
        final_test_error: evals.last().map(|e| e.test_error).unwrap_or(f64::NAN),
        best_test_error: evals
            .iter()
            .map(|e| e.test_error)
            .fold(f64::INFINITY, f64::min),
        final_train_loss: tail.iter().map(|t| t.loss as f64).sum::<f64>()
            / tail.len().max(1) as f64,
        stalled: !diverged
            && !last_epoch.is_empty()
            && last_epoch
                .iter()
                .all(|t| (t.loss as f64 - CHANCE_LOSS).abs() < 0.05),
        diverged,
        iterations: rows.len(),
        epochs: rows.len() as f64 / per_epoch as f64,
        wall_time_s: wall,
        train_images_per_sec: images as f64 / train_time.max(1e-9),
        grad_norm_first_init: rows.first().map(|t| t.grad_norm_first).unwrap_or(0.0),
        grad_norm_first_median: records::median(
            &rows.iter().map(|t| t.grad_norm_first).collect::<Vec<_>>(),
        ),
    }
}

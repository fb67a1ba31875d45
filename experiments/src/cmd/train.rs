//! `experiments train`: the grid of training runs, each writing its CSVs and JSON.

use crate::cli::TrainArgs;
use crate::data::{split_file, Dataset};
use crate::records::{self, Config, EvalRow, FileSum, SlopeRow, Summary, TrainRow};
use crate::spec::{self, RunSpec};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use layers::{plain_net, ParamKind, Sequential, Sgd, SgdConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tensor::{Mode, Tape};

/// `ln 10`: the cross-entropy of a uniform guess over 10 classes.
pub const CHANCE_LOSS: f64 = std::f64::consts::LN_10;

/// Test images per evaluation batch.
const EVAL_BATCH: usize = 200;

/// Runs the grid. Every flag is validated, the data loaded and every run folder checked
/// before the first step, so bad input costs nothing.
pub fn run(args: TrainArgs) -> Result<()> {
    let runs = spec::expand(&args)?;
    let data_dir = spec::data_dir(&args.net.data);
    let data = Dataset::load(&data_dir).context("loading the data (see --data)")?;
    let runs_dir = args.net.out.join("runs");
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("creating output folder {}", runs_dir.display()))?;
    for r in &runs {
        let dir = runs_dir.join(&r.name);
        if dir.exists()
            && std::fs::read_dir(&dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
            && !args.overwrite
        {
            bail!("{} already holds run `{}`: pass --overwrite to replace it, or choose another --out", args.net.out.display(), r.name);
        }
    }
    let files = data_files(&data_dir)?;
    let mut shown: Vec<(usize, String)> = vec![];
    for r in &runs {
        if !shown.contains(&(r.depth, r.activation.clone())) {
            shown.push((r.depth, r.activation.clone()));
            let init = init::by_name(&r.init)?;
            let net = plain_net(
                &r.net_config(),
                init.as_ref(),
                &mut ChaCha8Rng::seed_from_u64(r.seed),
            )?;
            eprint!("{}", crate::summary::render(&net)?);
        }
    }
    let mut depths: Vec<usize> = vec![];
    for r in &runs {
        let dir = runs_dir.join(&r.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("replacing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = Config {
            run: r.clone(),
            data: files.clone(),
            normalisation: (data.mean, data.std),
            threads: rayon::current_num_threads(),
            out: args.net.out.display().to_string(),
            version: env!("CARGO_PKG_VERSION").into(),
        };
        records::write_json(&dir.join("config.json"), &config)?;
        let summary = train_one(r, &data, &dir)?;
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
        if !depths.contains(&r.depth) {
            depths.push(r.depth);
        }
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

fn norm(t: Option<&tensor::Tensor>) -> f64 {
    t.map(|g| g.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt())
        .unwrap_or(0.0)
}

/// Trains one run, writing `train.csv` and `eval.csv` as it goes.
pub fn train_one(r: &RunSpec, data: &Dataset, dir: &Path) -> Result<Summary> {
    let started = Instant::now();
    let init = init::by_name(&r.init)?;
    let mut rng = ChaCha8Rng::seed_from_u64(r.seed);
    let mut net = plain_net(&r.net_config(), init.as_ref(), &mut rng)?;
    let mut sgd = Sgd::new(SgdConfig {
        lr: r.lr,
        momentum: r.momentum,
        weight_decay: r.weight_decay,
    });
    let weights: Vec<String> = net
        .params()
        .iter()
        .filter(|p| p.kind == ParamKind::Weight)
        .map(|p| p.name.clone())
        .collect();
    let (first, last) = (
        weights.first().cloned().unwrap_or_default(),
        weights.last().cloned().unwrap_or_default(),
    );

    let n_train = if r.train_size == 0 {
        data.train.len()
    } else {
        r.train_size.min(data.train.len())
    };
    let per_epoch = n_train.div_ceil(r.batch_size);
    let total = ((r.epochs * per_epoch as f64).ceil() as usize).max(1);
    let eval_period = ((r.eval_every * per_epoch as f64).round() as usize).max(1);
    let subset = eval_subset(data.test.len(), r.eval_size);

    let mut train_csv =
        csv::Writer::from_path(dir.join("train.csv")).context("writing train.csv")?;
    let mut eval_csv = csv::Writer::from_path(dir.join("eval.csv")).context("writing eval.csv")?;
    let mut evals: Vec<EvalRow> = vec![];
    let mut rows: Vec<TrainRow> = vec![];
    let eval_at = |it: usize,
                   net: &Sequential,
                   evals: &mut Vec<EvalRow>,
                   w: &mut csv::Writer<std::fs::File>|
     -> Result<EvalRow> {
        let (test_loss, test_error) = evaluate(net, data, &subset);
        let row = EvalRow {
            iteration: it,
            epoch: it as f64 / per_epoch as f64,
            test_loss,
            test_error,
        };
        w.serialize(&row)?;
        w.flush()?;
        evals.push(row.clone());
        Ok(row)
    };

    let bar = ProgressBar::new(total as u64).with_prefix(r.name.clone());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    // PReLU runs also log every layer's slopes, at each evaluation.
    let mut slopes_csv = if SlopeRow::of(&net, 0, 0.0).is_empty() {
        None
    } else {
        Some(csv::Writer::from_path(dir.join("slopes.csv")).context("writing slopes.csv")?)
    };
    let mut log_slopes = |net: &Sequential, it: usize| -> Result<()> {
        if let Some(w) = slopes_csv.as_mut() {
            for row in SlopeRow::of(net, it, it as f64 / per_epoch as f64) {
                w.serialize(row)?;
            }
            w.flush()?;
        }
        Ok(())
    };
    log_slopes(&net, 0)?;
    let mut last_eval = eval_at(0, &net, &mut evals, &mut eval_csv)?;
    let mut shuffle = ChaCha8Rng::seed_from_u64(r.seed);
    shuffle.set_stream(1);
    let mut order: Vec<usize> = vec![];
    let (mut train_time, mut diverged) = (0.0f64, false);
    for it in 1..=total {
        let pos = (it - 1) % per_epoch;
        if pos == 0 {
            order = (0..n_train).collect();
            order.shuffle(&mut shuffle);
        }
        let idx = &order[pos * r.batch_size..((pos + 1) * r.batch_size).min(n_train)];
        let step = Instant::now();
        let (x, labels) = data.batch(&data.train, idx);
        let mut tape = Tape::new();
        let xin = tape.constant(x);
        let logits = net.forward(&mut tape, xin);
        let loss_id = tape.softmax_cross_entropy(logits, &labels);
        let loss = *tape.value(loss_id).first().expect("scalar");
        if !loss.is_finite() {
            diverged = true;
            eprintln!("{}: loss became {loss} at iteration {it}; stopping this run and keeping what it logged", r.name);
            break;
        }
        let grads = tape.backward(loss_id);
        let node = |name: &str| {
            tape.params()
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| *id)
        };
        let g_first = norm(node(&first).and_then(|id| grads.get(id)));
        let g_last = norm(node(&last).and_then(|id| grads.get(id)));
        sgd.step(&mut net, &tape, &grads);
        train_time += step.elapsed().as_secs_f64();
        let row = TrainRow {
            iteration: it,
            epoch: it as f64 / per_epoch as f64,
            loss,
            lr: r.lr,
            grad_norm_first: g_first,
            grad_norm_last: g_last,
        };
        train_csv.serialize(&row)?;
        rows.push(row);
        if it % eval_period == 0 || it == total {
            train_csv.flush()?;
            last_eval = eval_at(it, &net, &mut evals, &mut eval_csv)?;
            log_slopes(&net, it)?;
            if bar.is_hidden() {
                eprintln!(
                    "{} it {it}/{total} epoch {:.2} loss {loss:.4} test error {:.4}",
                    r.name,
                    it as f64 / per_epoch as f64,
                    last_eval.test_error
                );
            }
        }
        let seen = (it * r.batch_size) as f64;
        bar.set_position(it as u64);
        bar.set_message(format!(
            "ep {:.2} loss {loss:.4} err {:.3} {:.0} img/s",
            it as f64 / per_epoch as f64,
            last_eval.test_error,
            seen / train_time.max(1e-9)
        ));
    }
    bar.finish_and_clear();
    train_csv.flush()?;
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

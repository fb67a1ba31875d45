//! `experiments plot`: every figure redrawn from the CSVs under an output folder.

use crate::cli::PlotArgs;
use crate::figure::{self, color_for, palette, Panel, Series, Stroke};
use crate::records::{read_csv, read_json, Config, EvalRow, SlopeRow, TrainRow};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One run read back from disk.
pub struct RunData {
    /// Its configuration.
    pub config: Config,
    /// `train.csv`.
    pub train: Vec<TrainRow>,
    /// `eval.csv`.
    pub eval: Vec<EvalRow>,
    /// `slopes.csv`, for PReLU runs (empty otherwise).
    pub slopes: Vec<SlopeRow>,
}

/// Every run under `<out>/runs/`, sorted by name.
pub fn load_runs(out: &Path) -> Result<Vec<RunData>> {
    let dir = out.join("runs");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").exists())
        .collect();
    entries.sort();
    entries
        .iter()
        .map(|p| {
            Ok(RunData {
                config: read_json(&p.join("config.json"))?,
                train: read_csv(&p.join("train.csv"))?,
                eval: read_csv(&p.join("eval.csv"))?,
                slopes: match p.join("slopes.csv") {
                    f if f.exists() => read_csv(&f)?,
                    _ => vec![],
                },
            })
        })
        .collect()
}

/// Runs' legend label: the name without its depth prefix.
fn label(r: &RunData) -> String {
    let n = &r.config.run.name;
    n.split_once('-')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| n.clone())
}

/// Running mean over `window` points, to show the trend of a noisy mini-batch loss.
fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    let mut acc = 0.0;
    for (i, &(x, y)) in points.iter().enumerate() {
        acc += y;
        if i >= window {
            acc -= points[i - window].1;
        }
        out.push((x, acc / (i + 1).min(window) as f64));
    }
    out
}

/// Draws `depth-<D>.png/.svg` (test error and training loss against epochs, one curve per
/// run, the layout of the paper's Figs. 2 and 3) and `depth-<D>-gradients.png`.
pub fn draw_depth(out: &Path, depth: usize) -> Result<Vec<PathBuf>> {
    let runs: Vec<RunData> = load_runs(out)?
        .into_iter()
        .filter(|r| r.config.run.depth == depth)
        .collect();
    if runs.is_empty() {
        bail!("no runs of depth {depth} under {}", out.display());
    }
    let mut inits: Vec<&str> = runs.iter().map(|r| r.config.run.init.as_str()).collect();
    inits.sort_unstable();
    inits.dedup();
    let inits_distinct = inits.len() == runs.len();
    let series = |f: &dyn Fn(&RunData) -> Vec<(f64, f64)>,
                  stroke: Stroke,
                  with_label: bool|
     -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(k, r)| Series {
                label: if with_label { label(r) } else { String::new() },
                color: if inits_distinct {
                    color_for(&r.config.run.init, k)
                } else {
                    palette(k)
                },
                points: f(r),
                stroke,
            })
            .collect()
    };
    let error = Panel {
        title: format!("{depth}-layer plain net: test error"),
        x_label: "epochs".into(),
        y_label: "top-1 error".into(),
        series: series(
            &|r| r.eval.iter().map(|e| (e.epoch, e.test_error)).collect(),
            Stroke::Solid,
            true,
        ),
        y_range: Some((0.0, 1.0)),
        hlines: vec![(0.9, "chance".into())],
        ..Default::default()
    };
    let loss = Panel {
        title: format!("{depth}-layer: training loss (mean of 20 iterations)"),
        x_label: "epochs".into(),
        y_label: "cross-entropy".into(),
        series: series(
            &|r| {
                smooth(
                    &r.train
                        .iter()
                        .map(|t| (t.epoch, t.loss as f64))
                        .collect::<Vec<_>>(),
                    20,
                )
            },
            Stroke::Solid,
            true,
        ),
        y_range: Some((0.0, 2.6)),
        hlines: vec![(std::f64::consts::LN_10, "ln 10".into())],
        ..Default::default()
    };
    let mut grads = Panel {
        title: format!("{depth}-layer: gradient L2 norm (solid: first conv, dashed: last fc)"),
        x_label: "epochs".into(),
        y_label: "||dL/dW||".into(),
        series: series(
            &|r| {
                r.train
                    .iter()
                    .map(|t| (t.epoch, t.grad_norm_first))
                    .collect()
            },
            Stroke::Solid,
            true,
        ),
        log_y: true,
        ..Default::default()
    };
    grads.series.extend(series(
        &|r| {
            r.train
                .iter()
                .map(|t| (t.epoch, t.grad_norm_last))
                .collect()
        },
        Stroke::Dashed,
        false,
    ));
    let png = out.join(format!("depth-{depth}.png"));
    let svg = out.join(format!("depth-{depth}.svg"));
    let grad_png = out.join(format!("depth-{depth}-gradients.png"));
    figure::draw(&png, &[error.clone(), loss.clone()], (1400, 560))?;
    figure::draw(&svg, &[error, loss], (1400, 560))?;
    figure::draw(&grad_png, &[grads], (900, 560))?;
    Ok(vec![png, svg, grad_png])
}

/// Redraws the figure of every depth found under the output folder.
pub fn run(args: PlotArgs) -> Result<()> {
    let mut depths: Vec<usize> = load_runs(&args.out)?
        .iter()
        .map(|r| r.config.run.depth)
        .collect();
    depths.sort_unstable();
    depths.dedup();
    if depths.is_empty() {
        bail!("no runs under {}", args.out.join("runs").display());
    }
    for d in depths {
        for p in draw_depth(&args.out, d)? {
            eprintln!("wrote {}", p.display());
        }
    }
    for p in crate::cmd::prelu::report(&args.out)? {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

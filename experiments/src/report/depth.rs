//! The figures of the paper's layout (Figs. 2 and 3): test error and training loss
//! against epochs per depth, and the first and last layers' gradient norms.

use crate::report::figure::{self, color_for, palette, Panel, Series, Stroke};
use crate::report::runs::{load_runs, RunData};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

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

/// The runs of one depth, and how their curves are coloured.
struct Curves {
    runs: Vec<RunData>,
    /// One run per initializer: colour by initializer; otherwise by run.
    inits_distinct: bool,
}

impl Curves {
    fn series(
        &self,
        f: &dyn Fn(&RunData) -> Vec<(f64, f64)>,
        stroke: Stroke,
        with_label: bool,
    ) -> Vec<Series> {
        self.runs
            .iter()
            .enumerate()
            .map(|(k, r)| Series {
                label: if with_label { label(r) } else { String::new() },
                color: if self.inits_distinct {
                    color_for(&r.config.run.init, k)
                } else {
                    palette(k)
                },
                points: f(r),
                stroke,
            })
            .collect()
    }

    fn error(&self, depth: usize) -> Panel {
        Panel {
            title: format!("{depth}-layer plain net: test error"),
            x_label: "epochs".into(),
            y_label: "top-1 error".into(),
            series: self.series(
                &|r| r.eval.iter().map(|e| (e.epoch, e.test_error)).collect(),
                Stroke::Solid,
                true,
            ),
            y_range: Some((0.0, 1.0)),
            hlines: vec![(0.9, "chance".into())],
            ..Default::default()
        }
    }

    fn loss(&self, depth: usize) -> Panel {
        let smoothed = |r: &RunData| {
            let points: Vec<(f64, f64)> =
                r.train.iter().map(|t| (t.epoch, t.loss as f64)).collect();
            smooth(&points, 20)
        };
        Panel {
            title: format!("{depth}-layer: training loss (mean of 20 iterations)"),
            x_label: "epochs".into(),
            y_label: "cross-entropy".into(),
            series: self.series(&smoothed, Stroke::Solid, true),
            y_range: Some((0.0, 2.6)),
            hlines: vec![(std::f64::consts::LN_10, "ln 10".into())],
            ..Default::default()
        }
    }

    fn gradients(&self, depth: usize) -> Panel {
        let first = |r: &RunData| {
            r.train
                .iter()
                .map(|t| (t.epoch, t.grad_norm_first))
                .collect()
        };
        let last = |r: &RunData| {
            r.train
                .iter()
                .map(|t| (t.epoch, t.grad_norm_last))
                .collect()
        };
        let mut series = self.series(&first, Stroke::Solid, true);
        series.extend(self.series(&last, Stroke::Dashed, false));
        Panel {
            title: format!("{depth}-layer: gradient L2 norm (solid: first conv, dashed: last fc)"),
            x_label: "epochs".into(),
            y_label: "||dL/dW||".into(),
            series,
            log_y: true,
            ..Default::default()
        }
    }
}

/// Draws `depth-<D>.png/.svg` (test error and training loss against epochs, one curve per
/// run, the layout of the paper's Figs. 2 and 3) and `depth-<D>-gradients.png`.
pub fn draw_depth(out: &Path, depth: usize) -> Result<Vec<PathBuf>> {
    let runs: Vec<RunData> = load_runs(out)?
        .0
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
    let curves = Curves {
        runs,
        inits_distinct,
    };
    let (error, loss) = (curves.error(depth), curves.loss(depth));
    let png = out.join(format!("depth-{depth}.png"));
    let svg = out.join(format!("depth-{depth}.svg"));
    let grad_png = out.join(format!("depth-{depth}-gradients.png"));
    figure::draw(&png, &[error.clone(), loss.clone()], (1400, 560))?;
    figure::draw(&svg, &[error, loss], (1400, 560))?;
    figure::draw(&grad_png, &[curves.gradients(depth)], (900, 560))?;
    Ok(vec![png, svg, grad_png])
}

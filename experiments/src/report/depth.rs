//! The figures of the paper's layout (Figs. 2 and 3) over seeds: per depth, test error
//! and training loss against epochs (the mean over seeds as a line, the min-max range as
//! a band, and a thin line for a seed that runs on after the others stopped), `ln 10 −
//! loss` on a log axis where a stalled net's curve lives, and the first and last layers'
//! gradient norms, smoothed.

use crate::report::figure::{self, color_for, palette, Band, Figure, Panel, Series, Stroke};
use crate::report::runs::RunData;
use crate::run::metrics::{CHANCE_LOSS, TAIL};
use anyhow::{bail, Result};
use plotters::style::RGBColor;
use std::path::{Path, PathBuf};

/// Iterations in the running median of the gradient figure.
const GRAD_WINDOW: usize = 50;

/// Runs that differ only in their seed: one line (the mean) and one band (the range).
struct Group<'a> {
    label: String,
    color: RGBColor,
    runs: Vec<&'a RunData>,
}

/// A run's configuration with its seed and name blanked: equal for the seeds of a group.
fn cell(r: &RunData) -> crate::spec::RunSpec {
    let mut spec = r.config.run.clone();
    (spec.seed, spec.name) = (0, String::new());
    spec
}

/// The legend text of a group: its initializer's rule where the groups differ only in
/// their initializer, else its name without depth and seed.
fn label(r: &RunData, by_rule: bool) -> String {
    let spec = &r.config.run;
    if by_rule {
        if let Ok(init) = init::by_name(&spec.init) {
            return init.rule();
        }
    }
    let name = spec.name.trim_end_matches(&format!("-s{}", spec.seed));
    name.split_once('-')
        .map_or(name, |(_, rest)| rest)
        .to_string()
}

fn groups<'a>(runs: impl IntoIterator<Item = &'a RunData>) -> Vec<Group<'a>> {
    let mut cells: Vec<(crate::spec::RunSpec, Vec<&'a RunData>)> = vec![];
    for r in runs {
        let key = cell(r);
        match cells.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => cells.push((key, vec![r])),
        }
    }
    let mut inits: Vec<&str> = cells.iter().map(|(k, _)| k.init.as_str()).collect();
    inits.sort_unstable();
    inits.dedup();
    let by_rule = inits.len() == cells.len();
    cells
        .into_iter()
        .enumerate()
        .map(|(k, (key, runs))| Group {
            label: label(runs[0], by_rule),
            color: if by_rule {
                color_for(&key.init, k)
            } else {
                palette(k)
            },
            runs,
        })
        .collect()
}

/// A curve's `(x, y)` points.
type Curve = Vec<(f64, f64)>;

/// The mean over curves that share their x values (up to the shortest), the min-max band
/// (empty for one curve), and what each longer curve has past the shortest's end (from
/// the shortest's last point on, so that it joins the mean): each seed's own tail.
fn spread(curves: &[Curve]) -> (Curve, Vec<(f64, f64, f64)>, Vec<Curve>) {
    let n = curves.iter().map(Vec::len).min().unwrap_or(0);
    let (mut mean, mut band) = (vec![], vec![]);
    for i in 0..n {
        let ys: Vec<f64> = curves.iter().map(|c| c[i].1).collect();
        let x = curves[0][i].0;
        mean.push((x, ys.iter().sum::<f64>() / ys.len() as f64));
        band.push((
            x,
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ));
    }
    if curves.len() < 2 {
        band.clear();
    }
    let tails = curves
        .iter()
        .filter(|c| c.len() > n)
        .map(|c| c[n.saturating_sub(1)..].to_vec())
        .collect();
    (mean, band, tails)
}

/// The trailing mean over `window` points (fewer at the start): the smoothed loss.
fn trailing_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
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

/// The running median over the `window` points ending at each point.
fn running_median(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    (0..points.len())
        .map(|i| {
            let mut w: Vec<f64> = points[i.saturating_sub(window - 1)..=i]
                .iter()
                .map(|p| p.1)
                .collect();
            w.sort_by(f64::total_cmp);
            (points[i].0, w[w.len() / 2])
        })
        .collect()
}

/// The groups' mean curves and bands of one quantity, and a thin line for each seed past
/// its group's shortest run.
fn lines(
    groups: &[Group],
    f: &dyn Fn(&RunData) -> Vec<(f64, f64)>,
    stroke: Stroke,
    bands: bool,
) -> (Vec<Series>, Vec<Band>) {
    let (mut series, mut out_bands) = (vec![], vec![]);
    for g in groups {
        let curves: Vec<Vec<(f64, f64)>> = g.runs.iter().map(|r| f(r)).collect();
        let (mean, band, tails) = spread(&curves);
        series.push(Series {
            label: g.label.clone(),
            color: g.color,
            points: mean,
            stroke,
        });
        series.extend(tails.into_iter().map(|points| Series {
            label: String::new(),
            color: g.color,
            points,
            stroke: Stroke::Thin,
        }));
        if bands && !band.is_empty() {
            out_bands.push(Band {
                color: g.color,
                points: band,
            });
        }
    }
    (series, out_bands)
}

fn smoothed_loss(r: &RunData) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = r.train.iter().map(|t| (t.epoch, t.loss as f64)).collect();
    trailing_mean(&points, TAIL)
}

fn panels(depth: usize, groups: &[Group]) -> Vec<Panel> {
    let error = |r: &RunData| r.eval.iter().map(|e| (e.epoch, e.test_error)).collect();
    let (series, bands) = lines(groups, &error, Stroke::Solid, true);
    let error = Panel {
        title: format!("{depth} layers: test error"),
        x_label: "epochs".into(),
        y_label: "top-1 error (test subset)".into(),
        series,
        bands,
        y_range: Some((0.0, 1.0)),
        hlines: vec![(0.9, "chance (0.9 error, ln 10 loss)".into())],
        ..Default::default()
    };
    let (series, bands) = lines(groups, &smoothed_loss, Stroke::Solid, true);
    let loss = Panel {
        title: format!("training loss (mean of {TAIL} iterations)"),
        x_label: "epochs".into(),
        y_label: "cross-entropy".into(),
        series,
        bands,
        y_range: Some((0.0, 2.6)),
        hlines: vec![(CHANCE_LOSS, "chance (0.9 error, ln 10 loss)".into())],
        ..Default::default()
    };
    let below = |r: &RunData| {
        smoothed_loss(r)
            .into_iter()
            .map(|(x, y)| (x, CHANCE_LOSS - y))
            .collect()
    };
    let (series, bands) = lines(groups, &below, Stroke::Solid, true);
    let gap = Panel {
        title: "ln 10 − training loss, log (≤ 0 omitted)".into(),
        x_label: "epochs".into(),
        y_label: "ln 10 − loss".into(),
        series,
        bands,
        log_y: true,
        hlines: vec![(0.05, "left chance: 0.05 below ln 10".into())],
        ..Default::default()
    };
    vec![error, loss, gap]
}

fn gradients(depth: usize, groups: &[Group]) -> Panel {
    let first = |r: &RunData| {
        let p: Vec<(f64, f64)> = r
            .train
            .iter()
            .map(|t| (t.epoch, t.grad_norm_first))
            .collect();
        running_median(&p, GRAD_WINDOW)
    };
    let last = |r: &RunData| {
        let p: Vec<(f64, f64)> = r
            .train
            .iter()
            .map(|t| (t.epoch, t.grad_norm_last))
            .collect();
        running_median(&p, GRAD_WINDOW)
    };
    let mut series = vec![];
    for g in groups {
        for r in &g.runs {
            series.push(Series {
                label: String::new(),
                color: g.color,
                points: r
                    .train
                    .iter()
                    .map(|t| (t.epoch, t.grad_norm_first))
                    .collect(),
                stroke: Stroke::Faint,
            });
        }
    }
    let (solid, bands) = lines(groups, &first, Stroke::Solid, true);
    let (dashed, _) = lines(groups, &last, Stroke::Dashed, false);
    series.extend(solid);
    series.extend(dashed.into_iter().map(|s| Series {
        label: String::new(),
        ..s
    }));
    Panel {
        title: format!("{depth} layers: gradient norm, running median of {GRAD_WINDOW} (solid: first conv, dashed: last fc)"),
        x_label: "epochs".into(),
        y_label: "||dL/dW||".into(),
        series,
        bands,
        log_y: true,
        ..Default::default()
    }
}

/// Distinct values of `f` over the runs, joined: `0, 1, 2`.
fn distinct(runs: &[&RunData], f: &dyn Fn(&RunData) -> String) -> String {
    let mut v: Vec<String> = runs.iter().map(|r| f(r)).collect();
    v.sort();
    v.dedup();
    v.join(", ")
}

/// What the figure was made from, in one line; and a warning when its runs (or the
/// segments of one run) come from builds whose numerics may differ.
fn footnote(depth: usize, groups: &[Group]) -> String {
    let runs: Vec<&RunData> = groups.iter().flat_map(|g| g.runs.iter().copied()).collect();
    let builds = |r: &RunData| -> Vec<String> {
        match r.config.segments.as_slice() {
            [] => vec![r.config.provenance.numerics()],
            segs => segs.iter().map(|s| s.provenance.numerics()).collect(),
        }
    };
    let mut all: Vec<String> = runs.iter().flat_map(|r| builds(r)).collect();
    all.sort();
    all.dedup();
    if all.len() > 1 {
        eprintln!(
            "warning: the depth-{depth} figure's runs come from builds that may round differently: {}",
            all.join("; ")
        );
    }
    let uneven = groups.iter().any(|g| {
        let len = |r: &&RunData| r.train.len();
        g.runs.iter().map(len).min() != g.runs.iter().map(len).max()
    });
    format!(
        "Fashion-MNIST · {depth} layers · lr {} · batch {} · seeds {} · {} epochs{} · made by {}",
        distinct(&runs, &|r| r.config.run.lr.to_string()),
        distinct(&runs, &|r| r.config.run.batch_size.to_string()),
        distinct(&runs, &|r| r.config.run.seed.to_string()),
        distinct(&runs, &|r| r.config.run.epochs.to_string()),
        if uneven {
            " · thin line: one seed past the others' end"
        } else {
            ""
        },
        all.join("; ")
    )
}

/// Draws `depth-<D>.png/.svg` (test error, training loss and its distance below ln 10
/// against epochs, one line and band per configuration over its seeds: the layout of the
/// paper's Figs. 2 and 3) and `depth-<D>-gradients.png/.svg` into `out`, from the runs of
/// that depth among `runs` (as [`crate::report::runs::load_runs`] read them from `out`).
pub fn draw_depth(out: &Path, depth: usize, runs: &[RunData]) -> Result<Vec<PathBuf>> {
    let runs: Vec<&RunData> = runs
        .iter()
        .filter(|r| r.config.run.depth == depth)
        .collect();
    if runs.is_empty() {
        bail!("no runs of depth {depth} under {}", out.display());
    }
    let groups = groups(runs);
    let note = footnote(depth, &groups);
    let curves = Figure {
        panels: panels(depth, &groups),
        footnote: note.clone(),
    };
    let grads = Figure {
        panels: vec![gradients(depth, &groups)],
        footnote: note,
    };
    let mut paths = figure::draw_png_svg(out, &format!("depth-{depth}"), &curves, (1950, 640))?;
    paths.extend(figure::draw_png_svg(
        out,
        &format!("depth-{depth}-gradients"),
        &grads,
        (1100, 640),
    )?);
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_mean_and_range_up_to_the_shortest_then_each_seed_alone() {
        let a = vec![(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)];
        let b = vec![(0.0, 3.0), (1.0, 1.0)];
        let (mean, band, tails) = spread(&[a.clone(), b.clone()]);
        assert_eq!(mean, [(0.0, 2.0), (1.0, 2.0)]);
        assert_eq!(band, [(0.0, 1.0, 3.0), (1.0, 1.0, 3.0)]);
        assert_eq!(
            tails,
            [vec![(1.0, 3.0), (2.0, 5.0)]],
            "the longer seed goes on alone"
        );
        let (mean, band, tails) = spread(std::slice::from_ref(&a));
        assert_eq!(mean, a);
        assert!(band.is_empty(), "one seed has no band");
        assert!(tails.is_empty(), "one seed has no tail");
        let (_, _, tails) = spread(&[b.clone(), b]);
        assert!(tails.is_empty(), "equal seeds have no tails");
    }

    #[test]
    fn smoothing_follows_its_window() {
        let p: Vec<(f64, f64)> = [5.0, 1.0, 9.0, 2.0]
            .iter()
            .enumerate()
            .map(|(i, &y)| (i as f64, y))
            .collect();
        let m: Vec<f64> = running_median(&p, 3).into_iter().map(|q| q.1).collect();
        assert_eq!(m, [5.0, 5.0, 5.0, 2.0]);
        let t: Vec<f64> = trailing_mean(&p, 2).into_iter().map(|q| q.1).collect();
        assert_eq!(t, [5.0, 3.0, 5.0, 5.5]);
    }
}

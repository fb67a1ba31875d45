//! `drift.png`/`.svg`: per run, against the iteration, the first layer's gradient in the
//! mixed nets over decay alone's (log), and how far the weights moved: the largest turn
//! of any layer and the largest norm over decay alone.

use super::{Drift, LayerDrift};
use crate::report::figure::{self, palette, Figure, Panel, Series, Stroke};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The runs of `drifts`, in order of first appearance, each with its rows.
fn by_run(drifts: &[Drift]) -> Vec<(&str, Vec<&Drift>)> {
    let mut runs: Vec<(&str, Vec<&Drift>)> = vec![];
    for d in drifts {
        match runs.iter_mut().find(|(r, _)| *r == d.run) {
            Some((_, rows)) => rows.push(d),
            None => runs.push((&d.run, vec![d])),
        }
    }
    runs
}

/// One series of a run: a line, or a dot where the run has one row only.
fn series(
    label: String,
    k: usize,
    rows: &[&Drift],
    stroke: Stroke,
    f: &dyn Fn(&Drift) -> f64,
) -> Series {
    Series {
        label,
        color: palette(k),
        points: rows.iter().map(|d| (d.iteration as f64, f(d))).collect(),
        stroke: if rows.len() == 1 {
            Stroke::Markers
        } else {
            stroke
        },
    }
}

/// The largest of `f` over a row's layers.
fn most(d: &Drift, f: fn(&LayerDrift) -> f64) -> f64 {
    d.layers.iter().map(f).fold(f64::NEG_INFINITY, f64::max)
}

/// Draws `drift.png` and `drift.svg` into `out`.
pub fn draw(out: &Path, drifts: &[Drift]) -> Result<Vec<PathBuf>> {
    let (mut gain, mut turn, mut norm) = (vec![], vec![], vec![]);
    for (k, (run, rows)) in by_run(drifts).into_iter().enumerate() {
        let m = |f: fn(&Drift) -> f64| move |d: &Drift| f(d) / d.mixed.decay_alone;
        gain.push(series(
            format!("{run}: trained weights"),
            k,
            &rows,
            Stroke::Solid,
            &m(|d| d.mixed.weights),
        ));
        gain.push(series(
            format!("{run}: trained biases"),
            k,
            &rows,
            Stroke::Dashed,
            &m(|d| d.mixed.biases),
        ));
        turn.push(series(run.to_string(), k, &rows, Stroke::Solid, &|d| {
            most(d, LayerDrift::turn)
        }));
        norm.push(series(run.to_string(), k, &rows, Stroke::Solid, &|d| {
            100.0 * (most(d, |l| l.over_decay) - 1.0)
        }));
    }
    let panel = |title: &str, y_label: &str, series: Vec<Series>, log_y| {
        // Linear panels start at 0, with room above the highest point.
        let top = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        Panel {
            title: title.into(),
            x_label: "iteration".into(),
            y_label: y_label.into(),
            series,
            log_y,
            y_range: (!log_y && top > 0.0).then_some((0.0, 1.05 * top)),
            ..Default::default()
        }
    };
    let fig = Figure {
        panels: vec![
            panel(
                "first layer's gradient / decay alone's",
                "multiple",
                gain,
                true,
            ),
            panel("largest turn of a layer", "degrees", turn, false),
            panel("largest norm over decay alone", "percent", norm, false),
        ],
        footnote: format!(
            "Fashion-MNIST · one batch of {} training images · from DRIFT.md's runs",
            super::BATCH
        ),
    };
    figure::draw_png_svg(out, "drift", &fig, (1950, 640))
}

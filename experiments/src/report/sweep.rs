//! How deep each initializer can go: for a grid of three or more depths, the test error
//! after the run and the epoch at which it left chance, against depth, one line per
//! initializer (mean over seeds, min-max band); and the same view at initialization
//! (`analyze`): the last conv layer's output std over the first's, against depth.

use crate::report::figure::{self, color_for, Band, Figure, Panel, Series, Stroke};
use crate::report::runs::{made_by, RunData};
use crate::run::metrics;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The fewest depths that make a sweep.
pub const MIN_DEPTHS: usize = 3;

/// `(initializer, depth) → values over seeds`, in first-seen order of initializers.
type ByInit = Vec<(String, Vec<(usize, Vec<f64>)>)>;

fn collect(points: impl Iterator<Item = (String, usize, f64)>) -> ByInit {
    let mut by: ByInit = vec![];
    for (init, depth, v) in points {
        let i = match by.iter().position(|(n, _)| *n == init) {
            Some(i) => i,
            None => {
                by.push((init, vec![]));
                by.len() - 1
            }
        };
        match by[i].1.iter_mut().find(|(d, _)| *d == depth) {
            Some((_, vs)) => vs.push(v),
            None => by[i].1.push((depth, vec![v])),
        }
    }
    for (_, depths) in &mut by {
        depths.sort_by_key(|(d, _)| *d);
    }
    by
}

/// The mean, min and max of a non-empty list (one cell's values over seeds).
fn stat(vs: &[f64]) -> (f64, f64, f64) {
    let mean = vs.iter().sum::<f64>() / vs.len() as f64;
    let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, lo, hi)
}

/// One line (the mean) and band (min-max over seeds) per initializer.
fn lines(by: &ByInit) -> (Vec<Series>, Vec<Band>) {
    let (mut series, mut bands) = (vec![], vec![]);
    for (k, (init, depths)) in by.iter().enumerate() {
        let color = color_for(init, k);
        let label = init::by_name(init).map_or(init.clone(), |i| i.rule());
        let pts: Vec<(f64, (f64, f64, f64))> =
            depths.iter().map(|(d, vs)| (*d as f64, stat(vs))).collect();
        series.push(Series {
            label,
            color,
            points: pts.iter().map(|&(d, (m, _, _))| (d, m)).collect(),
            stroke: Stroke::Solid,
        });
        series.push(Series {
            label: String::new(),
            color,
            points: pts.iter().map(|&(d, (m, _, _))| (d, m)).collect(),
            stroke: Stroke::Markers,
        });
        if depths.iter().any(|(_, vs)| vs.len() > 1) {
            bands.push(Band {
                color,
                points: pts.iter().map(|&(d, (_, lo, hi))| (d, lo, hi)).collect(),
            });
        }
    }
    (series, bands)
}

/// The final error of a complete run: on the full test set where measured, else the last
/// evaluation of its curve.
fn final_error(r: &RunData) -> Option<f64> {
    let s = r.summary.as_ref()?;
    Some(s.final_full_test_error.unwrap_or(s.final_test_error))
}

/// Draws `depth-sweep.png/.svg` and writes its table, `depth-sweep.md`, under `out` from
/// its complete runs, if they span at least [`MIN_DEPTHS`] depths; `None` otherwise.
pub fn draw_sweep(out: &Path, runs: &[RunData]) -> Result<Option<Vec<PathBuf>>> {
    let complete: Vec<&RunData> = runs.iter().filter(|r| r.summary.is_some()).collect();
    let mut depths: Vec<usize> = complete.iter().map(|r| r.config.run.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    if depths.len() < MIN_DEPTHS {
        return Ok(None);
    }
    let panels = sweep_panels(&complete);
    let seeds: Vec<String> = {
        let mut s: Vec<String> = complete
            .iter()
            .map(|r| r.config.run.seed.to_string())
            .collect();
        s.sort();
        s.dedup();
        s
    };
    let fig = Figure {
        panels,
        footnote: format!(
            "Fashion-MNIST · depths {} · seeds {} · {} complete runs",
            depths
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            seeds.join(", "),
            complete.len()
        ),
    };
    let mut paths = figure::draw_png_svg(out, "depth-sweep", &fig, (1500, 640))?;
    let table = out.join("depth-sweep.md");
    crate::store::atomic::write_atomic(&table, sweep_table(&complete, &depths).as_bytes())?;
    paths.push(table);
    Ok(Some(paths))
}

/// `depth-sweep.md`: per depth (rows) and initializer (columns), the final full-test
/// error (the mean, and the range over seeds where there are several) and the epoch each
/// seed's run left chance at, or `never`; then the builds that made the runs.
fn sweep_table(complete: &[&RunData], depths: &[usize]) -> String {
    // Columns in the registry's order (xavier, ..., msra, ..., lsuv), then by their options.
    let mut inits: Vec<&str> = complete
        .iter()
        .map(|r| r.config.run.init.as_str())
        .collect();
    let names = init::names();
    let rank = |spec: &str| {
        let base = spec.split(':').next().unwrap_or(spec);
        names.iter().position(|n| *n == base).unwrap_or(names.len())
    };
    inits.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    inits.dedup();
    let mut s = String::from(
        "# How deep each initializer trains\n\n\
         Generated by `experiments plot` from the runs under `runs/`; never edited by hand.\n\
         Each cell: the final error on the full 10,000-image test set (the mean over seeds,\n\
         the range in brackets where there are several), then the epoch at which each seed's\n\
         run left chance (its smoothed training loss 0.05 below ln 10), or `never` in the\n\
         run's length. `–`: not run.\n\n",
    );
    s += &format!("| weight layers | {} |\n", inits.join(" | "));
    s += &format!("|---|{}\n", "---|".repeat(inits.len()));
    for &d in depths {
        let cells: Vec<String> = inits
            .iter()
            .map(|&init| {
                let mut cell: Vec<&RunData> = complete
                    .iter()
                    .copied()
                    .filter(|r| r.config.run.depth == d && r.config.run.init == init)
                    .collect();
                cell.sort_by_key(|r| r.config.run.seed);
                sweep_cell(&cell)
            })
            .collect();
        s += &format!("| {d} | {} |\n", cells.join(" | "));
    }
    s += "\nMade by:\n\n";
    for m in made_by(complete.iter().copied()) {
        s += &format!("- {m}\n");
    }
    s
}

/// One cell of [`sweep_table`] over the seeds' runs of one depth and initializer.
fn sweep_cell(runs: &[&RunData]) -> String {
    let errors: Vec<f64> = runs.iter().filter_map(|r| final_error(r)).collect();
    if errors.is_empty() {
        return "–".into();
    }
    let (mean, lo, hi) = stat(&errors);
    let range = match errors.len() {
        1 => String::new(),
        _ => format!(" [{lo:.3}-{hi:.3}]"),
    };
    let left: Vec<String> = runs
        .iter()
        .map(|r| match metrics::left_chance(&r.train) {
            Some(l) => format!("{:.2}", l.epoch),
            None => "never".into(),
        })
        .collect();
    format!("{mean:.3}{range}, left chance {}", left.join(", "))
}

/// The sweep's two panels over `complete` runs: the final full-test error against depth,
/// and the epoch each run left chance (its length where it never did), one line per
/// initializer with its band over seeds.
fn sweep_panels(complete: &[&RunData]) -> Vec<Panel> {
    let key = |r: &RunData| r.config.run.init.clone();
    let errors = collect(
        complete
            .iter()
            .filter_map(|r| Some((key(r), r.config.run.depth, final_error(r)?))),
    );
    // A run that never left chance is drawn at its length, marked in the title.
    let left = collect(complete.iter().map(|r| {
        let epoch = metrics::left_chance(&r.train).map_or(r.config.run.epochs, |l| l.epoch);
        (key(r), r.config.run.depth, epoch)
    }));
    let (series, bands) = lines(&errors);
    let error = Panel {
        title: "test error after the run (full test set)".into(),
        x_label: "weight layers".into(),
        y_label: "top-1 error".into(),
        series,
        bands,
        y_range: Some((0.0, 1.0)),
        hlines: vec![(0.9, "chance".into())],
        ..Default::default()
    };
    let (series, bands) = lines(&left);
    let when = Panel {
        title: "epoch the run left chance (at the run's length: never)".into(),
        x_label: "weight layers".into(),
        y_label: "epochs".into(),
        series,
        bands,
        ..Default::default()
    };
    vec![error, when]
}

/// Draws `depth-view.png` under `dir`: for each initializer, the last conv layer's output
/// std over the first's at initialization, against depth (log scale). `points` are
/// `(initializer, depth, ratio)`.
pub fn draw_view(dir: &Path, points: Vec<(String, usize, f64)>) -> Result<PathBuf> {
    let (series, _) = lines(&collect(points.into_iter()));
    let fig = Figure {
        panels: vec![Panel {
            title: "at initialization: last conv / first conv output std".into(),
            x_label: "weight layers".into(),
            y_label: "std ratio".into(),
            series,
            log_y: true,
            hlines: vec![(1.0, "preserved (ratio 1)".into())],
            ..Default::default()
        }],
        footnote: "one batch of 128 training images per depth".into(),
    };
    let p = dir.join("depth-view.png");
    figure::draw(&p, &fig, (1100, 600))?;
    Ok(p)
}

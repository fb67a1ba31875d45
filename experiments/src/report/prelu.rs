//! PReLU results from the CSVs: the learned slopes per layer (the analogue of the paper's
//! Table 1) and ReLU against channel-shared and channel-wise PReLU (Table 2).

use crate::report::figure::{self, palette, Panel, Series, Stroke};
use crate::report::runs::{load_runs, RunData};
use crate::run::metrics;
use crate::store::records::SlopeRow;
use anyhow::{Context, Result};
use layers::Activation;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The slopes of a run's PReLU layers at its last logged iteration, in layer order.
pub fn final_slopes(r: &RunData) -> Vec<&SlopeRow> {
    let last = r.slopes.iter().map(|s| s.iteration).max().unwrap_or(0);
    r.slopes.iter().filter(|s| s.iteration == last).collect()
}

/// Whether two runs differ only in their rectifier.
fn same_but_activation(a: &RunData, b: &RunData) -> bool {
    let (x, y) = (&a.config.run, &b.config.run);
    (x.depth, &x.init, x.lr, x.seed, x.epochs, x.widths)
        == (y.depth, &y.init, y.lr, y.seed, y.epochs, y.widths)
        && x.activation != y.activation
}

/// Whether two runs differ at most in their rectifier and seed.
fn same_but_activation_and_seed(a: &RunData, b: &RunData) -> bool {
    let (x, y) = (&a.config.run, &b.config.run);
    (x.depth, &x.init, x.lr, x.epochs, x.widths) == (y.depth, &y.init, y.lr, y.epochs, y.widths)
}

/// Table 2's layout for runs that differ only in the rectifier (`compare-<run>.md`).
pub fn compare_table(group: &[&RunData]) -> String {
    let mut md = String::from(
        "| activation | final test error | best test error | final training loss |\n|---|---|---|---|\n",
    );
    for g in group {
        let row = compare_row(g);
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} |",
            row.activation, row.final_test_error, row.best_test_error, row.final_train_loss
        );
    }
    md
}

/// Mean and sample standard deviation.
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// The over-seeds table (`compare-d<D>-<init>.md`) of runs that differ only in rectifier
/// and seed: per rectifier, the seeds, and the mean ± sample sd of the final test error,
/// the mean best test error and the mean ± sd of the final training loss.
pub fn seeds_table(group: &[&RunData]) -> String {
    let mut md = String::from(
        "| activation | seeds | final test error (mean ± sd) | best test error (mean) | final training loss (mean ± sd) |\n|---|---|---|---|---|\n",
    );
    for act in Activation::ALL {
        let rows: Vec<CompareRow> = group
            .iter()
            .filter(|r| r.config.run.activation == act)
            .map(|r| compare_row(r))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let seeds: Vec<String> = group
            .iter()
            .filter(|r| r.config.run.activation == act)
            .map(|r| r.config.run.seed.to_string())
            .collect();
        let (e, e_sd) = mean_sd(&rows.iter().map(|r| r.final_test_error).collect::<Vec<_>>());
        let (best, _) = mean_sd(&rows.iter().map(|r| r.best_test_error).collect::<Vec<_>>());
        let (l, l_sd) = mean_sd(&rows.iter().map(|r| r.final_train_loss).collect::<Vec<_>>());
        let _ = writeln!(
            md,
            "| {} | {} | {e:.4} ± {e_sd:.4} | {best:.4} | {l:.4} ± {l_sd:.4} |",
            act.as_str(),
            seeds.join(", ")
        );
    }
    md
}

/// One row of `compare-<run group>.csv`.
#[derive(Debug, Serialize)]
pub struct CompareRow {
    /// `relu`, `prelu` or `prelu-shared`.
    pub activation: String,
    /// Run name.
    pub run: String,
    /// Test error at the end.
    pub final_test_error: f64,
    /// Lowest test error seen.
    pub best_test_error: f64,
    /// Mean training loss of the last 50 iterations.
    pub final_train_loss: f64,
}

fn compare_row(r: &RunData) -> CompareRow {
    CompareRow {
        activation: r.config.run.activation.as_str().into(),
        run: r.config.run.name.clone(),
        final_test_error: metrics::final_test_error(&r.eval),
        best_test_error: metrics::best_test_error(&r.eval),
        final_train_loss: metrics::tail_loss(&r.train),
    }
}

/// Writes `slopes-<run>.png` for every PReLU run (with its channel-shared or channel-wise
/// twin beside it when that ran too), prints the slopes in Table 1's layout, and writes
/// `compare-<run>.csv` and `.md` for every group of runs that differ only in the rectifier.
pub fn report(out: &Path) -> Result<Vec<PathBuf>> {
    let (runs, _) = load_runs(out)?;
    let mut written = slope_figures(out, &runs)?;
    written.extend(compare_groups(out, &runs)?);
    written.extend(compare_over_seeds(out, &runs)?);
    Ok(written)
}

/// A PReLU run and its twins (the same run with the other PReLU), `r` first.
fn with_twins<'a>(r: &'a RunData, runs: &'a [RunData]) -> Vec<&'a RunData> {
    std::iter::once(r)
        .chain(
            runs.iter()
                .filter(|t| !t.slopes.is_empty() && same_but_activation(r, t)),
        )
        .collect()
}

/// `slopes-<run>.png` of every PReLU run; Table 1's layout printed once per twin pair.
fn slope_figures(out: &Path, runs: &[RunData]) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    for r in runs.iter().filter(|r| !r.slopes.is_empty()) {
        let pair = with_twins(r, runs);
        // The table already has a column per twin: print it once per pair, not per run.
        if pair[1..]
            .iter()
            .all(|t| t.config.run.name > r.config.run.name)
        {
            println!(
                "\n{}: learned slopes at the end of training\n{}",
                r.config.run.name,
                slope_table(&pair)?
            );
        }
        let png = out.join(format!("slopes-{}.png", r.config.run.name));
        figure::draw(
            &png,
            &figure::Figure {
                panels: vec![slope_panel(&pair)],
                footnote: String::new(),
            },
            (900, 560),
        )?;
        written.push(png);
    }
    Ok(written)
}

/// The slopes per PReLU layer of each run of `pair`: mean, and min and max for
/// channel-wise runs.
fn slope_panel(pair: &[&RunData]) -> Panel {
    let mut panel = Panel {
        title: format!("{}: learned PReLU slopes", pair[0].config.run.name),
        x_label: "PReLU layer".into(),
        y_label: "slope a".into(),
        ..Default::default()
    };
    for (k, run) in pair.iter().enumerate() {
        let rows = final_slopes(run);
        let pts = |f: fn(&SlopeRow) -> f64| {
            rows.iter()
                .enumerate()
                .map(|(i, s)| ((i + 1) as f64, f(s)))
                .collect()
        };
        let act = run.config.run.activation;
        let series = |label: String, points, stroke| Series {
            label,
            color: palette(k),
            points,
            stroke,
        };
        panel.series.push(series(
            format!("{} (mean)", act.as_str()),
            pts(|s| s.mean),
            Stroke::Solid,
        ));
        if act == Activation::Prelu {
            let label = format!("{} min, max", act.as_str());
            panel
                .series
                .push(series(label, pts(|s| s.min), Stroke::Markers));
            panel
                .series
                .push(series(String::new(), pts(|s| s.max), Stroke::Markers));
        }
    }
    panel
}

/// Table 1's layout: per layer, the channel-shared slope and the channel-wise mean, min
/// and max ("-" where that run is missing).
fn slope_table(pair: &[&RunData]) -> Result<String> {
    let find = |a: Activation| {
        pair.iter()
            .find(|x| x.config.run.activation == a)
            .map(|r| final_slopes(r))
    };
    let (shared, wise) = (find(Activation::PreluShared), find(Activation::Prelu));
    let mut table = String::new();
    writeln!(
        table,
        "{:<14} {:>14} {:>14} {:>9} {:>9}",
        "layer", "channel-shared", "channel-wise", "min", "max"
    )?;
    let layers = shared
        .as_ref()
        .or(wise.as_ref())
        .cloned()
        .unwrap_or_default();
    for (i, row) in layers.iter().enumerate() {
        let s = shared
            .as_ref()
            .map_or_else(|| "-".into(), |v| format!("{:.3}", v[i].mean));
        let (w, lo, hi) = wise.as_ref().map_or_else(
            || ("-".into(), "-".into(), "-".into()),
            |v| {
                (
                    format!("{:.3}", v[i].mean),
                    format!("{:.3}", v[i].min),
                    format!("{:.3}", v[i].max),
                )
            },
        );
        writeln!(table, "{:<14} {s:>14} {w:>14} {lo:>9} {hi:>9}", row.layer)?;
    }
    Ok(table)
}

/// Table 2: `compare-<group>.csv` and `.md` for every group of runs that differ only in
/// the rectifier, each group written once.
fn compare_groups(out: &Path, runs: &[RunData]) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    for (i, r) in runs.iter().enumerate() {
        let group: Vec<&RunData> = std::iter::once(r)
            .chain(runs.iter().filter(|t| same_but_activation(r, t)))
            .collect();
        if group.len() < 2 || runs[..i].iter().any(|p| same_but_activation(p, r)) {
            continue;
        }
        let stem = format!(
            "compare-d{}-{}-s{}",
            r.config.run.depth,
            crate::spec::slug(&r.config.run.init),
            r.config.run.seed
        );
        let csv_path = out.join(format!("{stem}.csv"));
        let mut w = csv::Writer::from_path(&csv_path)
            .with_context(|| format!("writing {}", csv_path.display()))?;
        for g in &group {
            w.serialize(compare_row(g))?;
        }
        w.flush()?;
        let md = compare_table(&group);
        let md_path = out.join(format!("{stem}.md"));
        std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
        println!("\n{stem}\n{md}");
        written.extend([csv_path, md_path]);
    }
    Ok(written)
}

/// The same comparison over seeds, for groups with at least two seeds of a rectifier.
fn compare_over_seeds(out: &Path, runs: &[RunData]) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    for (i, r) in runs.iter().enumerate() {
        if runs[..i].iter().any(|p| same_but_activation_and_seed(p, r)) {
            continue;
        }
        let group: Vec<&RunData> = runs
            .iter()
            .filter(|t| same_but_activation_and_seed(r, t))
            .collect();
        let seeds_of = |act: Activation| {
            group
                .iter()
                .filter(|t| t.config.run.activation == act)
                .count()
        };
        if Activation::ALL.iter().filter(|&&a| seeds_of(a) > 0).count() < 2
            || Activation::ALL.iter().all(|&a| seeds_of(a) < 2)
        {
            continue;
        }
        let stem = format!(
            "compare-d{}-{}",
            r.config.run.depth,
            crate::spec::slug(&r.config.run.init)
        );
        let md = seeds_table(&group);
        let md_path = out.join(format!("{stem}.md"));
        std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
        println!("\n{stem} (over seeds)\n{md}");
        written.push(md_path);
    }
    Ok(written)
}

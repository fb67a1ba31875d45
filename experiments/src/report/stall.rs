//! The stall grid's report: where each run left chance and how fast its first layer's
//! gradient grew while at chance, per factor level, seeds as points. `STALL.md` and
//! `stall.json` (generated from the runs, never typed) and `stall.png/.svg`.

use crate::report::claims::CONVERGED_ERROR;
use crate::report::figure::{self, color_for, Figure, Panel, Series, Stroke};
use crate::report::prediction;
use crate::report::runs::{made_by, RunData};
use crate::run::metrics::{self, GrowthWindow};
use crate::spec::stall::{Arm, Level, StallRun};
use crate::store::records::write_json;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One run of the grid (or of the baseline), as the table shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    /// The factor that differs from the baseline (`baseline` for none).
    pub factor: String,
    /// Its level.
    pub level: String,
    /// `xavier` or `msra`.
    pub init: String,
    /// The seed.
    pub seed: u64,
    /// The run's folder name.
    pub run: String,
    /// Whether the run is complete (the other numbers are `null` until it is).
    pub complete: bool,
    /// The iteration at which it left chance (`null`: never, or not complete).
    pub left_chance_iteration: Option<usize>,
    /// The epoch at which it left chance.
    pub left_chance_epoch: Option<f64>,
    /// Iterations it ran.
    pub iterations: Option<usize>,
    /// Epochs it ran.
    pub epochs: Option<f64>,
    /// Doublings per 100 iterations of the first conv layer's gradient norm while at chance.
    pub stall_growth: Option<f64>,
    /// Its final error on the full test set.
    pub final_full_test_error: Option<f64>,
    /// The cell (`None`: the baseline).
    #[serde(skip)]
    pub cell: Option<Level>,
    /// Xavier's stall or an MSRA check.
    #[serde(skip)]
    pub arm: Arm,
}

impl Row {
    /// Whether the run converged: it left chance and its final full-test error is below
    /// [`CONVERGED_ERROR`] (what the table marks, and what an MSRA check must show).
    pub fn converged(&self) -> bool {
        self.left_chance_iteration.is_some()
            && self
                .final_full_test_error
                .is_some_and(|e| e < CONVERGED_ERROR)
    }

    /// Whether the run left chance and was back there when it stopped (half an epoch
    /// later for a Xavier run): its final full-test error is [`BACK_AT_CHANCE_ERROR`] or
    /// more. Such a run left the plateau without learning to classify.
    pub fn back_at_chance(&self) -> bool {
        self.left_chance_iteration.is_some()
            && self
                .final_full_test_error
                .is_some_and(|e| e >= BACK_AT_CHANCE_ERROR)
    }

    /// What the table writes after the final error: converged, back at chance, or nothing.
    fn outcome(&self) -> &'static str {
        if self.converged() {
            " (converged)"
        } else if self.back_at_chance() {
            " (back at chance)"
        } else {
            ""
        }
    }
}

/// A full-test error this close to chance (0.9, ten classes) or above, after a run left
/// chance, means it went back.
pub const BACK_AT_CHANCE_ERROR: f64 = 0.85;

/// `stall.json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Table {
    /// One row per planned run: the baseline's first, then each factor's, in plan order within one.
    pub rows: Vec<Row>,
    /// Each complete Xavier run's growth while at chance, in windows of [`WINDOW`]
    /// iterations.
    pub growth: Vec<Growth>,
    /// Each Xavier cell against README's derivation, the spec's first.
    pub predictions: Vec<prediction::Check>,
    /// The paper-like cells: every Xavier seed at chance for its whole run, the MSRA
    /// check at the same level converged.
    pub paper_like: Vec<String>,
    /// The builds and CPUs that made the complete runs.
    pub made_by: Vec<String>,
}

/// Iterations in a window of the growth table.
pub const WINDOW: usize = 200;

/// One run's growth while at chance.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Growth {
    /// The run's folder name.
    pub run: String,
    /// Its windows, to the one it left chance in.
    pub windows: Vec<GrowthWindow>,
}

/// The table of the planned runs (the baseline cell's, then the grid's), from the runs
/// read back from the grid's and the baseline's folders.
pub fn table(planned: &[StallRun], runs: &[&RunData]) -> Table {
    let mut rows: Vec<Row> = planned
        .iter()
        .map(|p| row(p, runs.iter().find(|r| r.config.run.name == p.run.name)))
        .collect();
    // Grouped as the table reads: the baseline, then factor by factor, Xavier before MSRA.
    let factor = |r: &Row| r.cell.map_or(0, |l| 1 + l.factor() as usize);
    rows.sort_by_key(|r| (factor(r), r.arm == Arm::MsraCheck));
    let growth = rows
        .iter()
        .filter(|r| r.complete && r.arm == Arm::Stall)
        .filter_map(|r| runs.iter().find(|d| d.config.run.name == r.run))
        .map(|d| Growth {
            run: d.config.run.name.clone(),
            windows: metrics::growth_windows(&d.train, WINDOW),
        })
        .collect();
    // Provenance of the runs in the table only: the baseline folder holds other runs.
    let made_by = made_by(
        runs.iter()
            .copied()
            .filter(|r| planned.iter().any(|p| p.run.name == r.config.run.name)),
    );
    Table {
        predictions: prediction::checks(&rows),
        paper_like: prediction::paper_like(&rows),
        rows,
        growth,
        made_by,
    }
}

fn row(planned: &StallRun, run: Option<&&RunData>) -> Row {
    let (level, spec) = (planned.level, &planned.run);
    let summary = run.and_then(|r| r.summary.as_ref());
    let left = summary.and_then(|s| s.left_chance);
    Row {
        factor: level.map_or("baseline".into(), |l| l.factor().name().into()),
        level: level.map_or("spec".into(), |l| l.label()),
        init: spec.init.clone(),
        seed: spec.seed,
        run: spec.name.clone(),
        complete: summary.is_some(),
        left_chance_iteration: left.map(|l| l.iteration),
        left_chance_epoch: left.map(|l| l.epoch),
        iterations: summary.map(|s| s.iterations),
        epochs: summary.map(|s| s.epochs),
        // From the log (summaries older than the field lack it).
        stall_growth: summary
            .and(run)
            .and_then(|r| metrics::stall_growth(&r.train)),
        final_full_test_error: summary.and_then(|s| s.final_full_test_error),
        cell: level,
        arm: planned.arm,
    }
}

fn or_dash<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or("–".into(), f)
}

/// `STALL.md`: one row per run.
pub fn markdown(t: &Table) -> String {
    let mut s = String::from(
        "# When does the stall end?\n\n\
         Generated by `experiments stall` from the runs under `runs/` and the reproduction's\n\
         30-layer runs (the baseline); never edited by hand. Each Xavier run is stopped half an\n\
         epoch after it left chance (its smoothed training loss 0.05 below ln 10), or at epoch\n\
         10; an MSRA run checks for 2 epochs that the level does not stop MSRA from learning\n\
         (*converged*: it left chance and its final full-test error is below 0.25; *back at\n\
         chance*: it left chance and its final full-test error is 0.85 or more). *Growth*:\n\
         doublings per 100 iterations of the first conv layer's gradient norm while at chance.\n\n\
         | factor | level | init | seed | left chance: iteration | epoch | growth | final error (full test) | run |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &t.rows {
        let never = |r: &Row| match (r.complete, r.epochs) {
            (false, _) => "not run yet".to_string(),
            (true, e) => format!("never (ran {} epochs)", or_dash(e, |e| format!("{e:.2}"))),
        };
        let it = match r.left_chance_iteration {
            Some(i) => i.to_string(),
            None => never(r),
        };
        let error = or_dash(r.final_full_test_error, |e| {
            format!("{e:.3}{}", r.outcome())
        });
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | `{}` |\n",
            r.factor,
            r.level,
            r.init,
            r.seed,
            it,
            or_dash(r.left_chance_epoch, |e| format!("{e:.2}")),
            or_dash(r.stall_growth, |g| format!("{g:.3}")),
            error,
            r.run
        );
    }
    s += &prediction::markdown(t);
    s += &growth_markdown(t);
    s += "\nMade by:\n\n";
    for m in &t.made_by {
        s += &format!("- {m}\n");
    }
    s
}

/// The growth table: each Xavier run's windows while at chance.
fn growth_markdown(t: &Table) -> String {
    let mut s = format!(
        "\n## Growth while at chance, {WINDOW}-iteration windows\n\n\
         *Doublings*: per 100 iterations, of the first conv layer's gradient norm (a\n\
         least-squares line through its log2); *norm*: its geometric mean over the window;\n\
         *ratio*: doublings over norm, constant if the growth is proportional to the signal\n\
         (README, \"When does the stall end?\"). Each run's last window holds the iteration it\n\
         left chance at.\n\n\
         | run | iterations | doublings | norm | ratio | mean loss |\n|---|---|---|---|---|---|\n"
    );
    for g in &t.growth {
        for w in &g.windows {
            s += &format!(
                "| `{}` | {}-{} | {:.3} | {:.2e} | {:.0} | {:.4} |\n",
                g.run,
                w.first,
                w.last,
                w.doublings,
                w.norm,
                w.doublings / w.norm,
                w.loss
            );
        }
    }
    let phases: Vec<String> = t.growth.iter().filter_map(two_phases).collect();
    if !phases.is_empty() {
        s += "\nThe two phases, split at the window of slowest growth:\n\n";
        for line in phases {
            s += &format!("- {line}\n");
        }
    }
    s
}

/// One run's growth in two phases, split at its window of slowest growth: how much the
/// ratio fell before it, and how the norm, the rate and their ratio went from it to the
/// exit. `None` without a window on each side.
fn two_phases(g: &Growth) -> Option<String> {
    let w = &g.windows;
    let ratio = |w: &GrowthWindow| w.doublings / w.norm;
    let m = (0..w.len()).min_by(|&a, &b| w[a].doublings.total_cmp(&w[b].doublings))?;
    if m == 0 || m + 1 >= w.len() || w[m].doublings <= 0.0 {
        return None;
    }
    let last = &w[w.len() - 1];
    let after = &w[m..];
    let lo = after.iter().map(ratio).fold(f64::INFINITY, f64::min);
    let hi = after.iter().map(ratio).fold(f64::NEG_INFINITY, f64::max);
    Some(format!(
        "`{}`: before iterations {}-{} the ratio fell {:.0}-fold; from there to the exit the norm grew {:.1}-fold and its rate {:.1}-fold, the ratio staying within {:.0}-{:.0}",
        g.run,
        w[m].first,
        w[m].last,
        ratio(&w[0]) / ratio(&w[m]),
        last.norm / w[m].norm,
        last.doublings / w[m].doublings,
        lo,
        hi
    ))
}

/// The x positions of the figure: the baseline, then each level of each factor, in the
/// table's order.
fn categories(t: &Table) -> Vec<Option<Level>> {
    let mut cats = vec![];
    for r in &t.rows {
        if !cats.contains(&r.cell) {
            cats.push(r.cell);
        }
    }
    cats
}

/// The Xavier runs' points of one panel: `value(row)` at each category, seeds side by side;
/// runs that never left chance are drawn open at `censored(row)`.
fn points(
    t: &Table,
    cats: &[Option<Level>],
    value: impl Fn(&Row) -> Option<f64>,
    censored: impl Fn(&Row) -> Option<f64>,
) -> Vec<Series> {
    let (mut left, mut never) = (vec![], vec![]);
    for r in t.rows.iter().filter(|r| r.complete && r.arm == Arm::Stall) {
        let Some(k) = cats.iter().position(|c| *c == r.cell) else {
            continue;
        };
        let x = k as f64 + 0.12 * (r.seed as f64 - 0.5);
        match (r.left_chance_iteration, value(r), censored(r)) {
            (Some(_), Some(y), _) => left.push((x, y)),
            (None, _, Some(y)) => never.push((x, y)),
            _ => {}
        }
    }
    let color = color_for(Arm::Stall.init(), 0);
    vec![
        Series {
            label: "Xavier-30, one point per seed".into(),
            color,
            points: left,
            stroke: Stroke::Markers,
        },
        Series {
            label: "never left chance (drawn at the run's end)".into(),
            color,
            points: never,
            stroke: Stroke::Open,
        },
    ]
}

/// Draws `stall.png` and `stall.svg` under `out`.
pub fn draw(out: &Path, t: &Table) -> Result<Vec<PathBuf>> {
    let cats = categories(t);
    let names: Vec<String> = cats
        .iter()
        .map(|c| c.map_or("spec".into(), |l| l.short()))
        .collect();
    let when = Panel {
        title: "when Xavier-30 left chance".into(),
        x_label: "the one setting changed from the spec".into(),
        y_label: "iteration".into(),
        series: points(
            t,
            &cats,
            |r| r.left_chance_iteration.map(|i| i as f64),
            |r| r.iterations.map(|i| i as f64),
        ),
        log_y: true,
        categories: names.clone(),
        ..Default::default()
    };
    let growth = Panel {
        title: "growth of the first conv layer's gradient while at chance".into(),
        x_label: "the one setting changed from the spec".into(),
        y_label: "doublings per 100 iterations".into(),
        series: points(t, &cats, |r| r.stall_growth, |r| r.stall_growth),
        categories: names,
        ..Default::default()
    };
    let seeds = {
        let mut s: Vec<u64> = t.rows.iter().map(|r| r.seed).collect();
        s.sort_unstable();
        s.dedup();
        s.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fig = Figure {
        panels: vec![when, growth],
        footnote: format!(
            "Fashion-MNIST · 30 layers · xavier · spec: lr 0.001, batch 128, momentum 0.9, weight decay 5e-4 · seeds {seeds} · stopped 0.5 epochs after leaving chance, or at 10"
        ),
    };
    figure::draw_png_svg(out, "stall", &fig, (2000, 720))
}

/// Draws `stall-growth.png` and `.svg` under `out`: each Xavier run's growth while at
/// chance, window by window: the doubling rate, and the rate over the norm, which the
/// derivation in README ("When does the stall end?") expects to level off once the net's
/// output lines up with the labels. Nothing without a complete Xavier run.
pub fn draw_growth(out: &Path, t: &Table) -> Result<Vec<PathBuf>> {
    if t.growth.is_empty() {
        return Ok(vec![]);
    }
    let mid = |w: &GrowthWindow| (w.first + w.last) as f64 / 2.0;
    let (mut rate, mut ratio) = (vec![], vec![]);
    for (k, g) in t.growth.iter().enumerate() {
        // Xavier's blue first; never MSRA's red.
        let color = figure::palette(1 + k % 7);
        let line = |f: &dyn Fn(&GrowthWindow) -> f64| Series {
            label: g.run.clone(),
            color,
            points: g.windows.iter().map(|w| (mid(w), f(w))).collect(),
            stroke: Stroke::Solid,
        };
        rate.push(line(&|w| w.doublings));
        ratio.push(line(&|w| w.doublings / w.norm));
    }
    let panel = |title: &str, y_label: &str, series, log_y| Panel {
        title: title.into(),
        x_label: "iteration (middle of the window)".into(),
        y_label: y_label.into(),
        series,
        log_y,
        ..Default::default()
    };
    let fig = Figure {
        panels: vec![
            panel(
                "first conv gradient's growth while at chance",
                "doublings per 100 iterations",
                rate,
                false,
            ),
            panel(
                "growth over norm (constant: growth ∝ signal)",
                "doublings per 100 iterations / norm",
                ratio,
                true,
            ),
        ],
        footnote: format!(
            "Fashion-MNIST · 30 layers · xavier · {WINDOW}-iteration windows, each run to the one it left chance in"
        ),
    };
    figure::draw_png_svg(out, "stall-growth", &fig, (1700, 680))
}

/// Writes `STALL.md` and `stall.json` under `out`.
pub fn write(out: &Path, t: &Table) -> Result<Vec<PathBuf>> {
    let (md, json) = (out.join("STALL.md"), out.join("stall.json"));
    crate::store::atomic::write_atomic(&md, markdown(t).as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    write_json(&json, t)?;
    Ok(vec![md, json])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(left: Option<usize>, error: f64) -> Row {
        Row {
            factor: "weight decay".into(),
            level: "0".into(),
            init: "xavier".into(),
            seed: 0,
            run: "r".into(),
            complete: true,
            left_chance_iteration: left,
            left_chance_epoch: left.map(|i| i as f64 / 469.0),
            iterations: Some(2200),
            epochs: Some(4.7),
            stall_growth: None,
            final_full_test_error: Some(error),
            cell: None,
            arm: Arm::Stall,
        }
    }

    #[test]
    fn a_run_is_converged_back_at_chance_or_neither() {
        assert_eq!(row(Some(1961), 0.2).outcome(), " (converged)");
        assert_eq!(row(Some(1961), 0.9).outcome(), " (back at chance)");
        assert_eq!(row(Some(1961), 0.85).outcome(), " (back at chance)");
        assert_eq!(row(Some(1219), 0.823).outcome(), "");
        // Never left chance: neither, whatever the error.
        assert_eq!(row(None, 0.9).outcome(), "");
        assert_eq!(row(None, 0.1).outcome(), "");
    }
}

//! The stall grid held against README's derivation ("When does the stall end?"): what it
//! predicts for each cell (the iteration at which Xavier-30 leaves chance, as a multiple of
//! the spec's), what the runs measured, and a verdict decided by rules fixed before the
//! runs were made. Also which cells, if any, are paper-like: Xavier at chance for the whole
//! run on every seed while MSRA converges under the same setting.

use crate::data::InputScale;
use crate::report::stall::{Row, Table};
use crate::spec::defaults;
use crate::spec::stall::{Arm, Level};
use serde::Serialize;

/// What the derivation predicts for a level: the iteration at which Xavier-30 leaves
/// chance, as a multiple of the spec's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Predicted {
    /// About this multiple: the prediction holds if the measured multiple is within a
    /// factor of [`TOLERANCE`] of it.
    About(f64),
    /// At most this multiple.
    AtMost(f64),
    /// The derivation alone does not say.
    Open,
}

/// How far (as a factor, either way) a measured multiple may be from an `About` prediction.
pub const TOLERANCE: f64 = 2.0;

/// The multiple README's derivation predicts for `level` (`None`: the spec's own cell, 1).
pub fn predicted(level: Option<Level>) -> Predicted {
    let Some(level) = level else {
        return Predicted::About(1.0);
    };
    match level {
        // Every term of d ln S/dt carries η' = η/(1−m): the time at chance scales as 1/η'.
        Level::Lr(lr) => Predicted::About(f64::from(defaults::LR) / f64::from(lr)),
        Level::Momentum(m) => {
            Predicted::About((1.0 - f64::from(m)) / (1.0 - f64::from(defaults::MOMENTUM)))
        }
        // The expected gradient of a step does not depend on the batch.
        Level::BatchSize(_) => Predicted::About(1.0),
        // Σ_l 1/‖W_l‖², with ‖W_l‖² ≈ c for a Xavier layer of c channels in and out and
        // about as many layers per stage: the time scales as Σ 1/c falls.
        Level::Widths(w) => {
            let inverse = |w: [usize; 3]| w.iter().map(|&c| 1.0 / c as f64).sum::<f64>();
            Predicted::About(inverse(defaults::WIDTHS) / inverse(w))
        }
        // S about 90 times the normalised input's: the stall all but vanishes.
        Level::InputScale(InputScale::Caffe) => Predicted::AtMost(0.1),
        Level::InputScale(InputScale::Normalised) => Predicted::About(1.0),
        // Weight decay against growth, and the paper's head (lower S, larger Σ 1/‖W‖²):
        // which wins is for the runs to say.
        Level::WeightDecay(_) | Level::Head(_) => Predicted::Open,
    }
}

/// One cell's Xavier runs against the prediction.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    /// The factor (`baseline` for the spec's cell).
    pub factor: String,
    /// Its level.
    pub level: String,
    /// The prediction.
    pub predicted: Predicted,
    /// Per seed, in the table's order: the iteration it left chance at, or `null` if it
    /// never did in its `iterations`.
    pub left_chance: Vec<Option<usize>>,
    /// Per seed, the iterations it ran (`null`: not complete).
    pub iterations: Vec<Option<usize>>,
    /// The mean over seeds of the iteration it left chance at (a run that never did
    /// counted at its length) over the spec's cell's; `None` until every run of both cells
    /// is complete, or if a spec run never left chance.
    pub measured: Option<f64>,
    /// Whether `measured` is a lower bound (a seed never left chance).
    pub censored: bool,
    /// `holds`, `fails`, `not contradicted` (censored, yet within the prediction's
    /// reach), `no prediction`, `not complete`, or no multiple when a spec run never left
    /// chance.
    pub verdict: String,
}

/// The check of every Xavier cell of the table's rows, the spec's first.
pub fn checks(rows: &[Row]) -> Vec<Check> {
    let mut cells: Vec<Option<Level>> = vec![];
    for r in rows.iter().filter(|r| r.arm == Arm::Stall) {
        if !cells.contains(&r.cell) {
            cells.push(r.cell);
        }
    }
    let base = exit_mean(&stall_rows(rows, None));
    cells.into_iter().map(|c| check(rows, c, base)).collect()
}

fn stall_rows(rows: &[Row], cell: Option<Level>) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.arm == Arm::Stall && r.cell == cell)
        .collect()
}

/// The mean exit iteration over the rows (a run that never left chance counted at its
/// length) and whether any never did; `None` unless every row is complete.
fn exit_mean(rows: &[&Row]) -> Option<(f64, bool)> {
    let exits: Option<Vec<(usize, bool)>> = rows
        .iter()
        .map(|r| match (r.left_chance_iteration, r.iterations) {
            (Some(i), _) => Some((i, false)),
            (None, Some(n)) if r.complete => Some((n, true)),
            _ => None,
        })
        .collect();
    let exits = exits.filter(|e| !e.is_empty())?;
    let mean = exits.iter().map(|&(i, _)| i as f64).sum::<f64>() / exits.len() as f64;
    Some((mean, exits.iter().any(|&(_, c)| c)))
}

/// One cell's check against the spec's cell's mean exit (and whether a spec run never
/// left chance; `None` until the spec's runs are complete).
fn check(all: &[Row], cell: Option<Level>, base: Option<(f64, bool)>) -> Check {
    let rows = stall_rows(all, cell);
    let predicted = predicted(cell);
    let mean = exit_mean(&rows);
    let (mut measured, censored) = (None, mean.is_some_and(|(_, c)| c));
    let verdict = match (mean, base) {
        (None, _) | (_, None) => "not complete",
        (_, Some((_, true))) => "no multiple: a spec run never left chance",
        (Some((m, _)), Some((b, false))) => {
            measured = Some(m / b);
            verdict(predicted, m / b, censored)
        }
    };
    Check {
        factor: rows[0].factor.clone(),
        level: rows[0].level.clone(),
        predicted,
        left_chance: rows.iter().map(|r| r.left_chance_iteration).collect(),
        iterations: rows.iter().map(|r| r.iterations).collect(),
        measured,
        censored,
        verdict: verdict.into(),
    }
}

/// The rule, fixed before the runs: `About(p)` holds within a factor of [`TOLERANCE`];
/// `AtMost(q)` holds at or below `q`. A censored measurement is a lower bound: it fails
/// only past the prediction's reach, and is otherwise not contradicted.
fn verdict(p: Predicted, measured: f64, censored: bool) -> &'static str {
    let (lo, hi) = match p {
        Predicted::About(p) => (p / TOLERANCE, p * TOLERANCE),
        Predicted::AtMost(q) => (0.0, q),
        Predicted::Open => return "no prediction",
    };
    match (censored, measured) {
        (_, m) if m > hi => "fails",
        (true, _) => "not contradicted",
        (false, m) if m < lo => "fails",
        _ => "holds",
    }
}

/// The cells where every Xavier seed stayed at chance for its whole run and the MSRA
/// check at the same level converged: the paper's Figure 3 setting, if any.
pub fn paper_like(rows: &[Row]) -> Vec<String> {
    let mut found: Vec<Level> = vec![];
    for r in rows {
        let Some(level) = r.cell else { continue };
        if found.contains(&level) {
            continue;
        }
        let xavier = stall_rows(rows, Some(level));
        let stalled = !xavier.is_empty()
            && xavier
                .iter()
                .all(|r| r.complete && r.left_chance_iteration.is_none());
        let msra = rows
            .iter()
            .filter(|r| r.arm == Arm::MsraCheck && r.cell == Some(level));
        let mut msra = msra.peekable();
        let converged = msra.peek().is_some() && msra.all(|r| r.converged());
        if stalled && converged {
            found.push(level);
        }
    }
    found
        .iter()
        .map(|l| format!("{} {}", l.factor().name(), l.label()))
        .collect()
}

fn multiple(v: f64) -> String {
    if v >= 0.095 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The predictions' section of `STALL.md`.
pub fn markdown(t: &Table) -> String {
    let mut s = format!(
        "\n## Predictions against the runs\n\n\
         What README's derivation predicts for the iteration at which Xavier-30 leaves\n\
         chance, as a multiple of the spec's cell's (the mean over its seeds), and what the\n\
         runs measured (the mean over the cell's seeds; a run that never left chance counts\n\
         at its length, which makes the multiple a lower bound, `>`). *About p* holds within\n\
         a factor of {TOLERANCE} either way; *at most q* holds at or below q; a lower bound\n\
         fails only past the prediction's reach. The rules were fixed before the runs.\n\n\
         | factor | level | predicted | left chance at, per seed | measured | verdict |\n\
         |---|---|---|---|---|---|\n"
    );
    for c in &t.predictions {
        let predicted = match c.predicted {
            Predicted::About(p) => format!("about {}", multiple(p)),
            Predicted::AtMost(q) => format!("at most {}", multiple(q)),
            Predicted::Open => "–".into(),
        };
        let seeds: Vec<String> = c
            .left_chance
            .iter()
            .zip(&c.iterations)
            .map(|(l, n)| match (l, n) {
                (Some(i), _) => i.to_string(),
                (None, Some(n)) => format!("never ({n})"),
                (None, None) => "not run yet".into(),
            })
            .collect();
        let measured = c.measured.map_or("–".into(), |m| {
            format!("{}{}", if c.censored { "> " } else { "" }, multiple(m))
        });
        s += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.factor,
            c.level,
            predicted,
            seeds.join(", "),
            measured,
            c.verdict
        );
    }
    s += "\nPaper-like cells (every Xavier seed at chance for its whole run, MSRA converged \
          at the same level): ";
    let incomplete = t.rows.iter().any(|r| !r.complete);
    s += &match &t.paper_like[..] {
        [] if incomplete => "none so far (not every run is complete).\n".to_string(),
        [] => "none.\n".to_string(),
        cells => format!("{}.\n", cells.join("; ")),
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete run at `cell` that left chance at `left` (or never, in `ran` iterations).
    fn row(cell: Option<Level>, arm: Arm, left: Option<usize>, ran: usize, error: f64) -> Row {
        Row {
            factor: cell.map_or("baseline".into(), |l| l.factor().name().into()),
            level: cell.map_or("spec".into(), |l| l.label()),
            init: arm.init().into(),
            seed: 0,
            run: String::new(),
            complete: true,
            left_chance_iteration: left,
            left_chance_epoch: None,
            iterations: Some(ran),
            epochs: None,
            stall_growth: None,
            final_full_test_error: Some(error),
            cell,
            arm,
        }
    }

    #[test]
    fn a_cell_at_chance_throughout_with_msra_converged_is_paper_like() {
        let m0 = Some(Level::Momentum(0.0));
        let lr = Some(Level::Lr(0.01));
        let rows = vec![
            row(None, Arm::Stall, Some(2000), 2300, 0.16),
            row(None, Arm::Stall, Some(3000), 3300, 0.19),
            row(lr, Arm::Stall, Some(240), 470, 0.2),
            row(lr, Arm::Stall, Some(260), 490, 0.2),
            row(m0, Arm::Stall, None, 4690, 0.9),
            row(m0, Arm::Stall, None, 4690, 0.9),
            row(m0, Arm::MsraCheck, Some(400), 938, 0.2),
        ];
        let c = checks(&rows);
        assert_eq!(c.len(), 3, "the spec's cell, then each Xavier cell");
        assert_eq!((c[0].measured, c[0].verdict.as_str()), (Some(1.0), "holds"));
        assert_eq!(c[1].measured, Some(0.1));
        assert_eq!(c[1].verdict, "holds");
        assert!(c[2].censored && (c[2].measured.unwrap() - 4690.0 / 2500.0).abs() < 1e-12);
        assert_eq!(c[2].verdict, "not contradicted");
        assert_eq!(paper_like(&rows), ["momentum 0"]);
        // MSRA not converging under the same setting makes it a net that cannot learn.
        let mut failed = rows.clone();
        failed[6].final_full_test_error = Some(0.5);
        assert!(paper_like(&failed).is_empty());
        // Nor is a cell with a seed that left chance.
        let mut escaped = rows;
        escaped[5].left_chance_iteration = Some(4000);
        assert!(paper_like(&escaped).is_empty());
        assert_eq!(checks(&escaped)[2].verdict, "not contradicted");
    }

    #[test]
    fn the_derivation_predicts_the_grids_multiples() {
        let near = |p: Predicted, v: f64| match p {
            Predicted::About(p) => (p - v).abs() < 1e-6 * v,
            _ => false,
        };
        assert!(near(predicted(None), 1.0));
        assert!(near(predicted(Some(Level::Lr(0.003))), 1.0 / 3.0));
        assert!(near(predicted(Some(Level::Lr(0.01))), 0.1));
        assert!(near(predicted(Some(Level::Momentum(0.0))), 10.0));
        assert!(near(predicted(Some(Level::BatchSize(32))), 1.0));
        assert!(near(predicted(Some(Level::Widths([32, 64, 128]))), 2.0));
        assert_eq!(
            predicted(Some(Level::InputScale(InputScale::Caffe))),
            Predicted::AtMost(0.1)
        );
        assert_eq!(predicted(Some(Level::WeightDecay(0.0))), Predicted::Open);
    }

    #[test]
    fn the_verdicts_follow_the_fixed_rules() {
        let about = Predicted::About(10.0);
        assert_eq!(verdict(about, 10.0, false), "holds");
        assert_eq!(verdict(about, 5.0, false), "holds");
        assert_eq!(verdict(about, 4.9, false), "fails");
        assert_eq!(verdict(about, 21.0, false), "fails");
        // Never left chance: a lower bound, short of 10x, does not contradict it...
        assert_eq!(verdict(about, 1.85, true), "not contradicted");
        // ...but one past twice the prediction does.
        assert_eq!(verdict(Predicted::About(0.5), 1.85, true), "fails");
        assert_eq!(verdict(Predicted::AtMost(0.1), 0.02, false), "holds");
        assert_eq!(verdict(Predicted::AtMost(0.1), 0.2, false), "fails");
        assert_eq!(verdict(Predicted::AtMost(0.1), 1.85, true), "fails");
        assert_eq!(verdict(Predicted::Open, 1.0, false), "no prediction");
    }
}

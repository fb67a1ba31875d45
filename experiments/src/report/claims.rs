//! The claims report, `CLAIMS.md` and `claims.json`: each claim of the paper that this
//! experiment can test (the six of `../shared/experiment-spec.md`), checked seed by seed
//! from the runs of `reproduce`, with its criterion, each seed's numbers and a verdict.
//! Generated from the files, never typed; a claim that fails is reported as failing.

use crate::data::Dataset;
use crate::report::runs::{made_by, RunData};
use crate::report::variance;
use crate::spec::Protocol;
use crate::store::records::{median, write_json, Summary};
use anyhow::{Context, Result};
use layers::PlainNetConfig;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Below this final error on the full test set a run that left chance has converged.
pub const CONVERGED_ERROR: f64 = 0.25;

/// The largest relative error of eq. 7 and eq. 12's one-step predictions that claim 6
/// accepts.
pub const VARIANCE_TOLERANCE: f64 = 0.25;

/// Images in the batch the variance of claim 6 is measured on.
const VARIANCE_BATCH: usize = 128;

/// One claim, checked on every seed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Claim {
    /// Its number in the spec's list.
    pub id: usize,
    /// Where the paper makes it.
    pub source: &'static str,
    /// The claim, in words.
    pub claim: &'static str,
    /// What is measured and when it counts as holding.
    pub criterion: &'static str,
    /// One check per seed, in seed order.
    pub seeds: Vec<Check>,
    /// `holds on every seed`, `holds on k of n seeds`, `holds on no seed`, or `pending`.
    pub verdict: String,
}

/// A claim on one seed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    /// The seed.
    pub seed: u64,
    /// Whether it holds (`None`: the runs it needs are not complete).
    pub holds: Option<bool>,
    /// The numbers the verdict rests on.
    pub numbers: String,
}

/// `claims.json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Claims {
    /// The protocol whose runs were checked.
    pub protocol: Protocol,
    /// The seeds checked.
    pub seeds: Vec<u64>,
    /// The claims.
    pub claims: Vec<Claim>,
    /// Every build and CPU that made part of a run used here (`commit (simd) on cpu`).
    pub made_by: Vec<String>,
    /// Runs complete.
    pub complete_runs: usize,
    /// The complete runs' training steps, in hours (evaluations left out), summed over
    /// every process that trained them: the images each saw over its images per second.
    pub training_hours: f64,
}

/// A protocol's runs, found by depth, initializer and seed.
struct Cells<'a> {
    runs: &'a [RunData],
}

impl<'a> Cells<'a> {
    /// The complete run of this cell, with its summary.
    fn complete(&self, depth: usize, init: &str, seed: u64) -> Option<(&'a RunData, &'a Summary)> {
        let r = self.runs.iter().find(|r| {
            let s = &r.config.run;
            s.depth == depth && s.init == init && s.seed == seed
        })?;
        Some((r, r.summary.as_ref()?))
    }
}

fn pending(seed: u64, what: &str) -> Check {
    Check {
        seed,
        holds: None,
        numbers: format!("pending: {what} not complete"),
    }
}

fn left(s: &Summary) -> String {
    s.left_chance.map_or("never left chance".into(), |l| {
        format!(
            "left chance at epoch {:.2} (iteration {})",
            l.epoch, l.iteration
        )
    })
}

fn full(s: &Summary) -> f64 {
    s.final_full_test_error.unwrap_or(f64::NAN)
}

fn converged(s: &Summary) -> bool {
    s.left_chance.is_some() && full(s) < CONVERGED_ERROR
}

/// The evaluation nearest to `epoch` on the curve's test subset.
fn error_near(r: &RunData, epoch: f64) -> f64 {
    r.eval
        .iter()
        .min_by(|a, b| (a.epoch - epoch).abs().total_cmp(&(b.epoch - epoch).abs()))
        .map_or(f64::NAN, |e| e.test_error)
}

fn claim1(p: &Cells, seed: u64) -> Check {
    let Some((_, s)) = p.complete(30, "xavier", seed) else {
        return pending(seed, "xavier-30");
    };
    Check {
        seed,
        holds: Some(s.left_chance.is_none()),
        numbers: format!(
            "{} in {:.1} epochs; final loss {:.4}, full-test error {:.3}",
            left(s),
            s.epochs,
            s.final_train_loss,
            full(s)
        ),
    }
}

fn claim2(p: &Cells, seed: u64) -> Check {
    let Some((r, s)) = p.complete(30, "msra", seed) else {
        return pending(seed, "msra-30");
    };
    let below = r.eval.iter().find(|e| e.test_error < CONVERGED_ERROR);
    Check {
        seed,
        holds: Some(converged(s)),
        numbers: format!(
            "{}; full-test error {:.3}; curve below {CONVERGED_ERROR} from epoch {}",
            left(s),
            full(s),
            below.map_or("never".into(), |e| format!("{:.1}", e.epoch))
        ),
    }
}

fn claim3(p: &Cells, seed: u64) -> Check {
    let (Some((x, _)), Some((m, _))) =
        (p.complete(30, "xavier", seed), p.complete(30, "msra", seed))
    else {
        return pending(seed, "xavier-30 or msra-30");
    };
    let first = |r: &RunData| r.train.first().map_or(f64::NAN, |t| t.grad_norm_first);
    let med = |r: &RunData| {
        median(
            &r.train
                .iter()
                .map(|t| t.grad_norm_first)
                .collect::<Vec<_>>(),
        )
    };
    let (at_init, over_run) = (first(m) / first(x), med(m) / med(x));
    Check {
        seed,
        holds: Some(at_init >= 1000.0 && over_run >= 100.0),
        numbers: format!(
            "MSRA/Xavier {at_init:.0}x at init ({:.2e} vs {:.2e}), {over_run:.0}x in median",
            first(m),
            first(x)
        ),
    }
}

fn claim4(p: &Cells, seed: u64) -> Check {
    let (Some((_, x)), Some((_, m))) =
        (p.complete(22, "xavier", seed), p.complete(22, "msra", seed))
    else {
        return pending(seed, "xavier-22 or msra-22");
    };
    let it = |s: &Summary| s.left_chance.map_or(usize::MAX, |l| l.iteration);
    Check {
        seed,
        holds: Some(converged(x) && converged(m) && it(m) < it(x)),
        numbers: format!(
            "Xavier {}, full-test error {:.3}; MSRA {}, full-test error {:.3}",
            left(x),
            full(x),
            left(m),
            full(m)
        ),
    }
}

fn claim5(p: &Cells, seed: u64) -> Check {
    let (Some((r22, s22)), Some((r30, s30))) =
        (p.complete(22, "msra", seed), p.complete(30, "msra", seed))
    else {
        return pending(seed, "msra-22 or msra-30");
    };
    let (e22, e30) = (error_near(r22, 6.0), error_near(r30, 6.0));
    Check {
        seed,
        holds: Some(e30 > e22 && full(s30) > full(s22)),
        numbers: format!(
            "epoch 6 (subset): 30 layers {e30:.3} vs 22 layers {e22:.3}; end (full test): 30 layers {:.3} (epoch {:.0}) vs 22 layers {:.3} (epoch {:.0})",
            full(s30),
            s30.epochs,
            full(s22),
            s22.epochs
        ),
    }
}

/// The worst relative error of the one-step predictions, with where it is.
fn worst(rows: &[variance::LayerStats], depth: usize, best: &mut (f64, String)) {
    for r in rows {
        for (measured, predicted, dir) in [
            (r.fwd_std, r.fwd_onestep, "forward"),
            (r.bwd_std, r.bwd_onestep, "backward"),
        ] {
            let rel = (measured / predicted - 1.0).abs();
            if rel > best.0 || rel.is_nan() {
                *best = (rel, format!("{dir}, {depth} layers, {} {}", r.init, r.name));
            }
        }
    }
}

fn claim6(data: &Dataset, seed: u64) -> Result<Check> {
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (x, labels) = data.batch(&data.train, &order[..VARIANCE_BATCH.min(order.len())]);
    let mut w = (0.0, String::new());
    for depth in [22, 30] {
        let cfg = PlainNetConfig {
            depth,
            ..Default::default()
        };
        for init in ["xavier", "msra"] {
            worst(
                &variance::measure(&cfg, init, &x, &labels, seed)?,
                depth,
                &mut w,
            );
        }
    }
    Ok(Check {
        seed,
        holds: Some(w.0 <= VARIANCE_TOLERANCE),
        numbers: format!("worst {:.1}% ({})", 100.0 * w.0, w.1),
    })
}

type Rule = fn(&Cells, u64) -> Check;

/// The claims' words and criteria, in the spec's order (the sixth is measured at
/// initialization, not from the runs).
const CLAIMS: [(&str, &str, &str); 6] = [
    (
        "Fig. 3",
        "30 layers, Xavier: does not converge, even given more epochs",
        "the smoothed training loss never falls 0.05 below ln 10 in 10 epochs (never leaves chance)",
    ),
    (
        "Fig. 3",
        "30 layers, MSRA: converges",
        "leaves chance, and the final error on the full test set is below 0.25",
    ),
    (
        "Sec. 2.2",
        "30 layers: Xavier's early-layer gradients all but vanish",
        "first conv's gradient norm at init at least 1000x smaller under Xavier than under MSRA, and at least 100x smaller in median over the run",
    ),
    (
        "Fig. 2",
        "22 layers: both converge, MSRA starts reducing the error earlier",
        "both converge (as in claim 2) and MSRA leaves chance at an earlier iteration",
    ),
    (
        "text by Fig. 3",
        "deeper is not better: under MSRA, 30 layers are worse than 22",
        "MSRA-30's error above MSRA-22's at epoch 6 (curves' subset) and at the end of each run (full test set)",
    ),
    (
        "eq. 7, eq. 12",
        "each layer's forward and backward std is predicted by one step of the variance recursion",
        "measured std within 25% of eq. 7 (forward) and eq. 12 (backward) at every weight layer, 22 and 30 layers, Xavier and MSRA, one batch of 128",
    ),
];

fn verdict(checks: &[Check]) -> String {
    let decided = checks.iter().filter(|c| c.holds.is_some()).count();
    let holds = checks.iter().filter(|c| c.holds == Some(true)).count();
    let n = checks.len();
    if decided < n {
        format!("pending ({decided} of {n} seeds decided, holding on {holds})")
    } else if holds == n {
        "holds on every seed".into()
    } else if holds == 0 {
        "holds on no seed".into()
    } else {
        format!("holds on {holds} of {n} seeds")
    }
}

/// Checks every claim on every seed from `runs`, which are `protocol`'s alone (the caller
/// keeps those [`Protocol::owns`], for its figures too).
pub fn check(
    protocol: Protocol,
    runs: &[RunData],
    data: &Dataset,
    seeds: &[u64],
) -> Result<Claims> {
    let p = Cells { runs };
    let rules: [Rule; 5] = [claim1, claim2, claim3, claim4, claim5];
    let mut claims = vec![];
    for (k, &(source, claim, criterion)) in CLAIMS.iter().enumerate() {
        let checks = match rules.get(k) {
            Some(rule) => seeds.iter().map(|&s| rule(&p, s)).collect(),
            None => seeds
                .iter()
                .map(|&s| claim6(data, s))
                .collect::<Result<Vec<_>>>()?,
        };
        claims.push(Claim {
            id: k + 1,
            source,
            claim,
            criterion,
            verdict: verdict(&checks),
            seeds: checks,
        });
    }
    let made_by = made_by(runs.iter());
    let training_hours = runs
        .iter()
        .filter_map(|r| {
            let s = r.summary.as_ref()?;
            let images = (s.iterations * r.config.run.batch_size) as f64;
            Some(images / s.train_images_per_sec.max(1e-9) / 3600.0)
        })
        .sum();
    Ok(Claims {
        protocol,
        seeds: seeds.to_vec(),
        claims,
        made_by,
        complete_runs: runs.iter().filter(|r| r.summary.is_some()).count(),
        training_hours,
    })
}

/// The title and the paragraph above `CLAIMS.md`'s table: which protocol made the runs.
fn header(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Spec => {
            "# The paper's claims, checked\n\n\
             Generated by `experiments reproduce` from the runs under `runs/`; never edited by hand.\n"
        }
        Protocol::PaperLike => {
            "# The paper's claims, checked under the paper-like protocol\n\n\
             Generated by `experiments reproduce --protocol paper-like` from the runs under `runs/`;\n\
             never edited by hand. The protocol is the spec's with SGD without momentum: a cell\n\
             of the stall grid (`results/stall/STALL.md`) where Xavier-30 stayed at chance for all\n\
             10 epochs while MSRA-30 converged. Claim 6 is measured at initialization and is the\n\
             same under every protocol.\n"
        }
        Protocol::StrongDecay => {
            "# The paper's claims, checked under the strong-decay protocol\n\n\
             Generated by `experiments reproduce --protocol strong-decay` from the runs under `runs/`;\n\
             never edited by hand. The protocol is the spec's with weight decay 5e-3, ten times the\n\
             spec's: the stall grid's other cell (`results/stall/STALL.md`) where Xavier-30 stayed at\n\
             chance for all 10 epochs while MSRA-30 converged. Claim 6 is measured at initialization\n\
             and is the same under every protocol.\n"
        }
    }
}

/// `CLAIMS.md`: one row per claim, one column per seed.
pub fn markdown(c: &Claims) -> String {
    let mut s = String::from(header(c.protocol));
    s.push_str(
        "Definitions (`../shared/experiment-spec.md`): the *smoothed training loss* is the mean of\n\
         the last 50 iterations' losses; a run *left chance* at the first iteration where it is\n\
         0.05 or more below ln 10 = 2.3026; it *converged* if it left chance and its final error on\n\
         the full 10,000-image test set is below 0.25.\n\n",
    );
    s += "| # | claim (source) | criterion |";
    for seed in &c.seeds {
        s += &format!(" seed {seed} |");
    }
    s += " verdict |\n|---|---|---|";
    s += &"---|".repeat(c.seeds.len());
    s += "---|\n";
    for claim in &c.claims {
        s += &format!(
            "| {} | {} ({}) | {} |",
            claim.id, claim.claim, claim.source, claim.criterion
        );
        for check in &claim.seeds {
            let mark = match check.holds {
                Some(true) => "**holds**: ",
                Some(false) => "**fails**: ",
                None => "",
            };
            s += &format!(" {mark}{} |", check.numbers);
        }
        s += &format!(" {} |\n", claim.verdict);
    }
    s += &format!(
        "\nTraining steps of the {} complete runs: {:.2} hours (evaluations and pauses left out).\n",
        c.complete_runs,
        c.training_hours
    );
    s += "\nMade by:\n\n";
    for m in &c.made_by {
        s += &format!("- {m}\n");
    }
    s
}

/// Writes `CLAIMS.md` and `claims.json` under `out`.
pub fn write(out: &Path, c: &Claims) -> Result<Vec<PathBuf>> {
    let (md, json) = (out.join("CLAIMS.md"), out.join("claims.json"));
    crate::store::atomic::write_atomic(&md, markdown(c).as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    write_json(&json, c)?;
    Ok(vec![md, json])
}

//! The stall grid (issue 18): how long the 30-layer Xavier net stays at chance, one factor
//! at a time from the spec's baseline, and the MSRA runs that tell "stalls" from "cannot
//! learn at all" where a factor might also stop MSRA.

use super::protocol::{baseline, Shortened, REPRODUCTION, STRONG_DECAY};
use super::{defaults, expand, Grid, RunSpec};
use crate::data::InputScale;
use anyhow::{ensure, Result};
use layers::Head;

/// Depth of every run of the stall grid (Figure 3's).
pub const STALL_DEPTH: usize = 30;

/// The longest a Xavier run of the grid trains (Figure 3's axis): one still at chance
/// then never left it.
pub const STALL_EPOCHS: f64 = 10.0;

/// How long a Xavier run goes on after it left chance: enough to see it keep falling.
pub const AFTER_CHANCE: f64 = 0.5;

/// The length of an MSRA check run: long enough to leave chance and converge under the
/// spec's settings (it does by epoch 2 at 30 layers).
pub const MSRA_EPOCHS: f64 = 2.0;

/// The reproduction's length at [`STALL_DEPTH`] layers (its runs are the baseline cell).
const REPRODUCTION_EPOCHS: f64 = match REPRODUCTION {
    [_, (STALL_DEPTH, epochs)] => epochs,
    _ => panic!("the reproduction's second depth is the stall grid's"),
};

/// A factor the grid varies, one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// Stage widths.
    Widths,
    /// Learning rate.
    Lr,
    /// Weight decay.
    WeightDecay,
    /// How pixels become the input.
    InputScale,
    /// The fc head's initialization.
    Head,
    /// SGD momentum.
    Momentum,
    /// Mini-batch size.
    BatchSize,
}

impl Factor {
    /// Every factor, in the table's order.
    pub const ALL: [Factor; 7] = [
        Factor::Widths,
        Factor::Lr,
        Factor::WeightDecay,
        Factor::InputScale,
        Factor::Head,
        Factor::Momentum,
        Factor::BatchSize,
    ];

    /// Its name in tables and figures.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Widths => "widths",
            Factor::Lr => "learning rate",
            Factor::WeightDecay => "weight decay",
            Factor::InputScale => "input scale",
            Factor::Head => "fc head",
            Factor::Momentum => "momentum",
            Factor::BatchSize => "batch size",
        }
    }

    /// The spec's level of this factor (the baseline cell's, shared by every factor).
    pub fn baseline(self) -> Level {
        match self {
            Factor::Widths => Level::Widths(defaults::WIDTHS),
            Factor::Lr => Level::Lr(defaults::LR),
            Factor::WeightDecay => Level::WeightDecay(defaults::WEIGHT_DECAY),
            Factor::InputScale => Level::InputScale(InputScale::Normalised),
            Factor::Head => Level::Head(Head::Compared),
            Factor::Momentum => Level::Momentum(defaults::MOMENTUM),
            Factor::BatchSize => Level::BatchSize(defaults::BATCH_SIZE),
        }
    }
}

/// One factor at one level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Level {
    /// Channels per stage.
    Widths([usize; 3]),
    /// Learning rate.
    Lr(f32),
    /// Weight decay on weights.
    WeightDecay(f32),
    /// Normalised or Caffe-scaled inputs.
    InputScale(InputScale),
    /// The compared initializer's head or the paper's fixed Gaussians.
    Head(Head),
    /// SGD momentum.
    Momentum(f32),
    /// Mini-batch size.
    BatchSize(usize),
}

impl Level {
    /// The factor this is a level of.
    pub fn factor(self) -> Factor {
        match self {
            Level::Widths(_) => Factor::Widths,
            Level::Lr(_) => Factor::Lr,
            Level::WeightDecay(_) => Factor::WeightDecay,
            Level::InputScale(_) => Factor::InputScale,
            Level::Head(_) => Factor::Head,
            Level::Momentum(_) => Factor::Momentum,
            Level::BatchSize(_) => Factor::BatchSize,
        }
    }

    /// The level as tables and figures write it: `32/64/128`, `0.003`, `caffe`, `paper`.
    pub fn label(self) -> String {
        match self {
            Level::Widths(w) => format!("{}/{}/{}", w[0], w[1], w[2]),
            Level::Lr(x) | Level::WeightDecay(x) | Level::Momentum(x) => x.to_string(),
            Level::InputScale(InputScale::Normalised) => "normalised".into(),
            Level::InputScale(InputScale::Caffe) => "caffe".into(),
            Level::Head(Head::Compared) => "compared init".into(),
            Level::Head(Head::Paper) => "paper".into(),
            Level::BatchSize(b) => b.to_string(),
        }
    }

    /// The level in at most a dozen characters, for a figure's axis: `lr 0.003`, `caffe in`.
    pub fn short(self) -> String {
        match self {
            Level::Widths(w) => format!("w {}/{}/{}", w[0], w[1], w[2]),
            Level::Lr(x) => format!("lr {x}"),
            Level::WeightDecay(x) => format!("wd {x}"),
            Level::InputScale(InputScale::Normalised) => "normalised".into(),
            Level::InputScale(InputScale::Caffe) => "caffe in".into(),
            Level::Head(Head::Compared) => "init head".into(),
            Level::Head(Head::Paper) => "paper fc".into(),
            Level::Momentum(x) => format!("mom. {x}"),
            Level::BatchSize(b) => format!("batch {b}"),
        }
    }

    /// Sets this level in a grid of the spec's baseline.
    fn apply(self, g: &mut Grid) {
        match self {
            Level::Widths(w) => g.net.width = w.to_vec(),
            Level::Lr(x) => g.lr = vec![x],
            Level::WeightDecay(x) => g.weight_decay = x,
            Level::InputScale(s) => g.input_scale = s,
            Level::Head(h) => g.head = h,
            Level::Momentum(x) => g.momentum = x,
            Level::BatchSize(b) => g.batch_size = b,
        }
    }
}

/// A cell of the grid: a level away from the baseline, how many seeds it runs, and
/// whether an MSRA run checks that the level does not stop MSRA from learning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    /// What differs from the baseline.
    pub level: Level,
    /// Seeds (the first this many of `--seeds`).
    pub seeds: usize,
    /// Also run MSRA-30 at this level (on the first seed).
    pub msra_check: bool,
}

/// The grid's cells (issue 18), the baseline's excepted: the reproduction's
/// `d30-xavier-relu-s*` and `d30-msra-relu-s*` runs are the baseline cell.
pub const STALL_CELLS: [Cell; 9] = [
    cell(Level::Widths([32, 64, 128]), 2, false),
    cell(Level::Lr(0.003), 2, true),
    cell(Level::Lr(0.01), 2, true),
    cell(Level::WeightDecay(0.0), 2, false),
    cell(Level::WeightDecay(STRONG_DECAY), 2, true),
    cell(Level::InputScale(InputScale::Caffe), 2, true),
    cell(Level::Head(Head::Paper), 2, true),
    cell(Level::Momentum(0.0), 2, true),
    cell(Level::BatchSize(32), 2, false),
];

const fn cell(level: Level, seeds: usize, msra_check: bool) -> Cell {
    Cell {
        level,
        seeds,
        msra_check,
    }
}

/// What a run of the grid is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    /// Xavier-30, whose stall is measured.
    Stall,
    /// MSRA-30, checking that a level does not stop the net from learning at all.
    MsraCheck,
}

impl Arm {
    /// The initializer the arm trains.
    pub fn init(self) -> &'static str {
        match self {
            Arm::Stall => "xavier",
            Arm::MsraCheck => "msra",
        }
    }
}

/// One run of the stall grid, with the cell it belongs to.
#[derive(Clone, Debug)]
pub struct StallRun {
    /// The level that differs from the baseline (`None`: the baseline cell).
    pub level: Option<Level>,
    /// Xavier's stall or an MSRA check.
    pub arm: Arm,
    /// The run.
    pub run: RunSpec,
}

/// A run at `level`: Xavier stopped [`AFTER_CHANCE`] epochs after it left chance or at
/// [`STALL_EPOCHS`], or an MSRA check of [`MSRA_EPOCHS`].
fn stall_run(level: Level, arm: Arm, seed: u64, short: Shortened) -> Result<StallRun> {
    let epochs = match arm {
        Arm::Stall => STALL_EPOCHS,
        Arm::MsraCheck => MSRA_EPOCHS,
    };
    let mut g = baseline(STALL_DEPTH, &[arm.init()], seed, epochs, short);
    g.stop_after_chance = (arm == Arm::Stall).then_some(AFTER_CHANCE * short.epoch_scale);
    level.apply(&mut g);
    let run = expand(&g)?.remove(0);
    Ok(StallRun {
        level: Some(level),
        arm,
        run,
    })
}

/// The grid's runs over `seeds`: first every cell's Xavier run on the first seed, then
/// the MSRA checks, then the other seeds; the wide cell (whose steps cost four times as
/// much) last. A grid stopped early thus holds one seed of every narrow cell.
pub fn stall(seeds: &[u64], short: Shortened) -> Result<Vec<StallRun>> {
    ensure!(!seeds.is_empty(), "--seeds: give at least one seed");
    let wide = |c: &Cell| c.level.factor() == Factor::Widths;
    let mut runs = vec![];
    for (k, &seed) in seeds.iter().enumerate() {
        for c in STALL_CELLS.iter().filter(|c| !wide(c) && k < c.seeds) {
            runs.push(stall_run(c.level, Arm::Stall, seed, short)?);
        }
        if k == 0 {
            for c in STALL_CELLS.iter().filter(|c| c.msra_check) {
                runs.push(stall_run(c.level, Arm::MsraCheck, seed, short)?);
            }
        }
    }
    for (k, &seed) in seeds.iter().enumerate() {
        for c in STALL_CELLS.iter().filter(|c| wide(c) && k < c.seeds) {
            runs.push(stall_run(c.level, Arm::Stall, seed, short)?);
        }
    }
    Ok(runs)
}

/// The baseline cell: the reproduction's 30-layer runs of `seeds` (as `reproduce` names
/// them, so they are found in its folder), both arms.
pub fn baseline_cell(seeds: &[u64], short: Shortened) -> Result<Vec<StallRun>> {
    let mut runs = vec![];
    for &seed in seeds {
        for arm in [Arm::Stall, Arm::MsraCheck] {
            let g = baseline(STALL_DEPTH, &[arm.init()], seed, REPRODUCTION_EPOCHS, short);
            let run = expand(&g)?.remove(0);
            runs.push(StallRun {
                level: None,
                arm,
                run,
            });
        }
    }
    Ok(runs)
}

/// The level a run of depth [`STALL_DEPTH`] sits at: the one setting that differs from the
/// spec's baseline (the baseline's own level of `factor` if none does); `None` for a run
/// that differs in more than one, or in what the grid never varies.
pub fn level_of(run: &RunSpec, factor: Factor) -> Option<Level> {
    let mut found = vec![];
    for f in Factor::ALL {
        let level = match f {
            Factor::Widths => Level::Widths(run.widths),
            Factor::Lr => Level::Lr(run.lr),
            Factor::WeightDecay => Level::WeightDecay(run.weight_decay),
            Factor::InputScale => Level::InputScale(run.input_scale),
            Factor::Head => Level::Head(run.head),
            Factor::Momentum => Level::Momentum(run.momentum),
            Factor::BatchSize => Level::BatchSize(run.batch_size),
        };
        if level != f.baseline() {
            found.push(level);
        }
    }
    let same_rest = run.depth == STALL_DEPTH && run.fc_width == defaults::FC_WIDTH;
    match found[..] {
        _ if !same_rest => None,
        [] => Some(factor.baseline()),
        [one] if one.factor() == factor => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_differs_from_the_baseline_in_its_factor_alone_and_names_apart() {
        let runs = stall(&[0, 1], Shortened::FULL).unwrap();
        // 8 narrow cells x 2 seeds, 6 MSRA checks, the wide cell's 2 runs.
        assert_eq!(runs.len(), 8 * 2 + 6 + 2);
        let mut names: Vec<&str> = runs.iter().map(|r| r.run.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), runs.len(), "names tell the cells apart");
        for r in &runs {
            let level = r.level.unwrap();
            assert!(level.short().chars().count() <= 12, "{}", level.short());
            assert_ne!(level, level.factor().baseline(), "{}", r.run.name);
            assert_eq!(level_of(&r.run, level.factor()), Some(level));
            for other in Factor::ALL.iter().filter(|f| **f != level.factor()) {
                assert_eq!(level_of(&r.run, *other), None, "{}", r.run.name);
            }
            assert_eq!(r.run.init, r.arm.init());
            let stall = r.arm == Arm::Stall;
            assert_eq!(r.run.stop_after_chance.is_some(), stall);
            assert_eq!(r.run.epochs, if stall { STALL_EPOCHS } else { MSRA_EPOCHS });
        }
        assert_eq!(
            runs.last().unwrap().level,
            Some(Level::Widths([32, 64, 128]))
        );
    }

    /// README's arithmetic for the paper's head ("When does the stall end?"), from the
    /// drawn weights of the two heads: the net's gain falls about 1,600-fold (the product
    /// of the fc layers' weight norms), `Σ 1/‖W‖²` rises about 360-fold, and the last
    /// layer's `‖W‖²` is about 0.0025.
    #[test]
    fn the_paper_head_lowers_the_gain_and_raises_the_sum_as_readme_says() {
        let norms = |head| {
            let mut g = baseline(STALL_DEPTH, &["xavier"], 0, 1.0, Shortened::FULL);
            Level::Head(head).apply(&mut g);
            let net = expand(&g).unwrap().remove(0).build_net().unwrap();
            let sq: Vec<f64> = net
                .weights()
                .iter()
                .map(|w| w.value.iter().map(|&v| (v as f64).powi(2)).sum())
                .collect();
            sq
        };
        let (ours, paper) = (norms(Head::Compared), norms(Head::Paper));
        let fc = ours.len() - 3;
        let gain: f64 = (fc..ours.len())
            .map(|l| (ours[l] / paper[l]).sqrt())
            .product();
        let sum = |sq: &[f64]| sq.iter().map(|n| 1.0 / n).sum::<f64>();
        let near = |v: f64, quoted: f64| (v / quoted - 1.0).abs() < 0.05;
        assert!(near(gain, 1600.0), "gain falls {gain:.0}-fold");
        assert!(
            near(sum(&paper) / sum(&ours), 360.0),
            "{}",
            sum(&paper) / sum(&ours)
        );
        assert!(
            near(paper[ours.len() - 1], 0.0025),
            "{}",
            paper[ours.len() - 1]
        );
    }

    #[test]
    fn the_reproductions_runs_are_every_factors_baseline() {
        let repro = super::super::reproduction(super::super::Protocol::Spec, &[0], Shortened::FULL)
            .unwrap();
        let cell = baseline_cell(&[0], Shortened::FULL).unwrap();
        for b in &cell {
            let same = repro.iter().find(|r| r.name == b.run.name);
            assert_eq!(
                same,
                Some(&b.run),
                "the baseline cell is the reproduction's run"
            );
        }
        let d30 = repro.iter().find(|r| r.depth == 30).unwrap();
        for f in Factor::ALL {
            assert_eq!(level_of(d30, f), Some(f.baseline()));
        }
        let d22 = repro.iter().find(|r| r.depth == 22).unwrap();
        assert_eq!(level_of(d22, Factor::Lr), None);
    }
}

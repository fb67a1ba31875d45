//! The paper's protocol (`../shared/experiment-spec.md`, "The reproduction protocol") as
//! the runs `reproduce` trains.

use super::{defaults, expand, Grid, NetGrid, RunSpec};
use anyhow::{ensure, Result};
use layers::Activation;
use serde::Serialize;

/// The paper's protocol as `reproduce` runs it (`../shared/experiment-spec.md`): each
/// depth with its epochs (Figure 2's 22 layers for 6, Figure 3's 30 for 10), under each
/// compared initializer, every other setting at the spec's default.
pub const REPRODUCTION: [(usize, f64); 2] = [(22, 6.0), (30, 10.0)];

/// The weight decay of the strong-decay protocol and of the stall grid's cell it comes
/// from: ten times the spec's.
pub const STRONG_DECAY: f32 = 5e-3;

/// The initializers the paper compares.
pub const REPRODUCTION_INITS: [&str; 2] = ["xavier", "msra"];

/// The protocols `reproduce` runs: the same runs, depths, epochs and claims, under three
/// optimizer settings.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// The spec's: SGD with momentum 0.9, every setting at the spec's default.
    #[default]
    Spec,
    /// The spec's with SGD without momentum: a cell of the stall grid
    /// (`results/stall/STALL.md`) where Xavier-30 stays at chance for all 10 epochs while
    /// MSRA-30 converges, as in the paper's Figure 3.
    PaperLike,
    /// The spec's with weight decay 5e-3, ten times the spec's: the stall grid's other
    /// cell where Xavier-30 stays at chance for all 10 epochs while MSRA-30 converges.
    StrongDecay,
}

impl Protocol {
    /// The SGD momentum of its runs.
    pub fn momentum(self) -> f32 {
        match self {
            Protocol::Spec | Protocol::StrongDecay => defaults::MOMENTUM,
            Protocol::PaperLike => 0.0,
        }
    }

    /// The weight decay of its runs.
    pub fn weight_decay(self) -> f32 {
        match self {
            Protocol::Spec | Protocol::PaperLike => defaults::WEIGHT_DECAY,
            Protocol::StrongDecay => STRONG_DECAY,
        }
    }

    /// Whether `run` was trained under this protocol: they differ only in momentum and
    /// weight decay.
    pub fn owns(self, run: &RunSpec) -> bool {
        run.momentum == self.momentum() && run.weight_decay == self.weight_decay()
    }

    /// Where its runs and report go unless `--out` says otherwise.
    pub fn default_out(self) -> &'static str {
        match self {
            Protocol::Spec => "results/reproduction",
            Protocol::PaperLike => "results/reproduction-paperlike",
            Protocol::StrongDecay => "results/reproduction-strongdecay",
        }
    }
}

/// How a test shortens a protocol: a fraction of each run's epochs, on the first
/// `train_size` training images (0: all), evaluating on `eval_size` test images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shortened {
    /// Fraction of the protocol's epochs.
    pub epoch_scale: f64,
    /// Training images (0: all).
    pub train_size: usize,
    /// Test images per evaluation.
    pub eval_size: usize,
}

impl Shortened {
    /// Not shortened at all: the protocol's full runs, for tests of the plans.
    #[cfg(test)]
    pub(crate) const FULL: Shortened = Shortened {
        epoch_scale: 1.0,
        train_size: 0,
        eval_size: defaults::EVAL_SIZE,
    };
}

/// The spec's baseline grid of one seed: `depth` layers under `inits`, `epochs` long
/// (shortened by `short`), every other setting at the spec's default.
pub fn baseline(depth: usize, inits: &[&str], seed: u64, epochs: f64, short: Shortened) -> Grid {
    Grid {
        net: NetGrid {
            depth: vec![depth],
            init: inits.iter().map(|i| i.to_string()).collect(),
            activation: Activation::Relu,
            width: defaults::WIDTHS.to_vec(),
            fc_width: defaults::FC_WIDTH,
        },
        lr: vec![defaults::LR],
        seed: vec![seed],
        epochs: epochs * short.epoch_scale,
        batch_size: defaults::BATCH_SIZE,
        momentum: defaults::MOMENTUM,
        weight_decay: defaults::WEIGHT_DECAY,
        eval_every: defaults::EVAL_EVERY,
        eval_size: short.eval_size,
        train_size: short.train_size,
        input_scale: Default::default(),
        head: Default::default(),
        stop_after_chance: None,
    }
}

/// The reproduction's runs under `protocol` over `seeds`, seed by seed (so that a grid
/// stopped early holds whole seeds), then depth, then initializer.
pub fn reproduction(protocol: Protocol, seeds: &[u64], short: Shortened) -> Result<Vec<RunSpec>> {
    ensure!(!seeds.is_empty(), "--seeds: give at least one seed");
    let mut runs = vec![];
    for &seed in seeds {
        for (depth, epochs) in REPRODUCTION {
            let mut grid = baseline(depth, &REPRODUCTION_INITS, seed, epochs, short);
            grid.momentum = protocol.momentum();
            grid.weight_decay = protocol.weight_decay();
            runs.extend(expand(&grid)?);
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_changes_only_its_optimizer_setting_and_owns_only_its_runs() {
        let all = [Protocol::Spec, Protocol::PaperLike, Protocol::StrongDecay];
        let runs: Vec<Vec<RunSpec>> = all
            .iter()
            .map(|&p| reproduction(p, &[0, 1], Shortened::FULL).unwrap())
            .collect();
        for (p, rs) in all.iter().zip(&runs) {
            assert_eq!(rs.len(), 8, "{p:?}: 2 seeds x 2 depths x 2 initializers");
            for (r, spec) in rs.iter().zip(&runs[0]) {
                assert_eq!(
                    (r.momentum, r.weight_decay),
                    (p.momentum(), p.weight_decay())
                );
                let same = RunSpec {
                    name: spec.name.clone(),
                    momentum: spec.momentum,
                    weight_decay: spec.weight_decay,
                    ..r.clone()
                };
                assert_eq!(
                    &same, spec,
                    "{p:?} differs from the spec's only in its optimizer"
                );
                for (q, _) in all.iter().zip(&runs).filter(|(q, _)| *q != p) {
                    assert!(!q.owns(r), "{q:?} owns {p:?}'s {}", r.name);
                }
                assert!(p.owns(r));
            }
        }
        let mut names: Vec<&str> = runs.iter().flatten().map(|r| r.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 24, "names tell the protocols apart");
        assert!(runs[2].iter().all(|r| r.name.contains("-wd0.005-")));
    }
}

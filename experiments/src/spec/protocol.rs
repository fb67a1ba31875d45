//! The paper's protocol (`../shared/experiment-spec.md`, "The reproduction protocol") as
//! the runs `reproduce` trains.

use super::{defaults, expand, Grid, NetGrid, RunSpec};
use anyhow::{ensure, Result};
use layers::Activation;

/// The paper's protocol as `reproduce` runs it (`../shared/experiment-spec.md`): each
/// depth with its epochs (Figure 2's 22 layers for 6, Figure 3's 30 for 10), under each
/// compared initializer, every other setting at the spec's default.
pub const REPRODUCTION: [(usize, f64); 2] = [(22, 6.0), (30, 10.0)];

/// The initializers the paper compares.
pub const REPRODUCTION_INITS: [&str; 2] = ["xavier", "msra"];

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

/// The reproduction's runs over `seeds`, seed by seed (so that a grid stopped early holds
/// whole seeds), then depth, then initializer.
pub fn reproduction(seeds: &[u64], short: Shortened) -> Result<Vec<RunSpec>> {
    ensure!(!seeds.is_empty(), "--seeds: give at least one seed");
    let mut runs = vec![];
    for &seed in seeds {
        for (depth, epochs) in REPRODUCTION {
            runs.extend(expand(&baseline(
                depth,
                &REPRODUCTION_INITS,
                seed,
                epochs,
                short,
            ))?);
        }
    }
    Ok(runs)
}

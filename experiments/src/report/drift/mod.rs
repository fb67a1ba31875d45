//! How far training moved each weight layer from its initial draw, set against what
//! weight decay alone would have left of it.
//!
//! README's stall derivation rests on the net being positively homogeneous in each
//! layer's weights: the first conv layer's gradient is `∝ S/‖W_1‖` with the gain `S`
//! proportional to every layer's norm, so with the layers' directions held fixed that
//! gradient moves as `Π_{l≥2} ‖W_l‖`. Trained weights and the run's seed (which redraws the
//! initial weights) say how much of the gradient's measured change the norms account for:
//! the rest came from where the weights point (and from the biases), not from their size.
//! To tell those two apart, the first layer's gradient is measured again on one batch in
//! nets that mix the initial and the trained parameters ([`Mixed`]).

use crate::data::Dataset;
use crate::report::runs::RunData;
use crate::run::step::l2_norm;
use anyhow::{bail, Context, Result};
use layers::Sequential;
use mixer::Mixer;
use serde::Serialize;
use std::path::Path;
use tensor::Tensor;

mod figure;
mod mixer;
mod source;
mod table;
pub use figure::draw;
pub use source::has_weights;
pub use table::{markdown, write};

/// Iterations of `train.csv` whose median first-layer gradient is the checkpoint's.
const WINDOW: usize = 50;

/// Training images in the batch the mixed nets are measured on.
pub const BATCH: usize = 128;

/// One row of `drift.csv`: one weight layer of one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerDrift {
    /// The run's name.
    pub run: String,
    /// Steps done when the weights were saved.
    pub iteration: usize,
    /// Weight-layer index, 1-based.
    pub layer: usize,
    /// The weight's parameter name (`stage1.conv1.weight`).
    pub name: String,
    /// `‖W₀‖`, as drawn.
    pub init_norm: f64,
    /// `‖W_t‖`, at the checkpoint.
    pub norm: f64,
    /// `‖W_t‖ / (c_t·‖W₀‖)`: the norm over what weight decay alone leaves ([`decay_only`]).
    pub over_decay: f64,
    /// `cos∠(W₀, W_t)`: 1 where the layer still points where it was drawn.
    pub cos: f64,
    /// The first layer's gradient on one batch with only this layer's weights trained
    /// (the others as decay alone left them, biases as drawn), over decay alone's.
    pub alone: f64,
    /// The same with every layer's weights trained but this one's.
    pub all_but: f64,
}

/// The first conv layer's gradient norm on one batch in nets that take their weights and
/// their other parameters (biases, PReLU slopes) from the initial draw or the checkpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mixed {
    /// `W₀`, `b₀`: the net as drawn.
    pub init: f64,
    /// `c_t·W₀`, `b₀`: what weight decay alone would have made of it.
    pub decay_alone: f64,
    /// `c_t·W₀`, `b_t`: decay alone, with the trained biases.
    pub biases: f64,
    /// `W_t`, `b₀`: the trained weights, with the initial biases.
    pub weights: f64,
    /// `W_t`, `b_t`: the checkpoint.
    pub checkpoint: f64,
}

/// One run's checkpoint against its initial draw.
#[derive(Clone, Debug)]
pub struct Drift {
    /// The run's name.
    pub run: String,
    /// Steps done at the checkpoint.
    pub iteration: usize,
    /// Where the run left chance, if it did (`summary.json`).
    pub left_chance: Option<usize>,
    /// Its weight decay `λ`.
    pub weight_decay: f32,
    /// `c_t`: what weight decay alone leaves of a weight after `iteration` steps.
    pub decay: f64,
    /// Every weight layer, in net order.
    pub layers: Vec<LayerDrift>,
    /// The first conv layer's gradient norm at iteration 1 (`train.csv`).
    pub grad_first_init: f64,
    /// Its median over the [`WINDOW`] iterations up to the checkpoint.
    pub grad_first_now: f64,
    /// The same gradient on one batch, in the mixed nets.
    pub mixed: Mixed,
}

impl LayerDrift {
    /// The angle the layer has turned from its initial draw, in degrees.
    pub fn turn(&self) -> f64 {
        self.cos.clamp(-1.0, 1.0).acos().to_degrees()
    }
}

impl Drift {
    /// `Π_{l≥2} ‖W_t,l‖/‖W₀,l‖`: the factor by which the layers' norms alone (weight decay
    /// included) moved the first layer's gradient, directions held fixed.
    pub fn norms_factor(&self) -> f64 {
        self.layers
            .iter()
            .skip(1)
            .map(|l| l.norm / l.init_norm)
            .product()
    }

    /// `Π_{l≥2} ‖W_t,l‖/(c_t·‖W₀,l‖)`: what the gradient made of the norms beyond weight
    /// decay, as it moves the first layer's gradient.
    pub fn beyond_decay(&self) -> f64 {
        self.layers.iter().skip(1).map(|l| l.over_decay).product()
    }

    /// The first layer's gradient at the checkpoint over its value at iteration 1.
    pub fn grad_factor(&self) -> f64 {
        self.grad_first_now / self.grad_first_init
    }

    /// What the norms do not account for: [`Drift::grad_factor`] over
    /// [`Drift::norms_factor`].
    pub fn unexplained(&self) -> f64 {
        self.grad_factor() / self.norms_factor()
    }
}

/// What weight decay alone leaves of a weight after `steps` steps of SGD with momentum
/// (He et al. eq. 4, in the form of `layers::Sgd`) and a zero loss gradient: `w = c·w₀`
/// with `v ← μ·v + λ·c`, `c ← c − ε·v`, from `c = 1`, `v = 0`. Close to
/// `(1 − ελ/(1−μ))^steps` once the momentum has built up.
pub fn decay_only(lr: f64, momentum: f64, weight_decay: f64, steps: usize) -> f64 {
    let (mut c, mut v) = (1.0, 0.0);
    for _ in 0..steps {
        v = momentum * v + weight_decay * c;
        c -= lr * v;
    }
    c
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum()
}

/// The weight layers of `now` against those of `init` (the same net, in the same order).
fn layer_drifts(
    run: &str,
    iteration: usize,
    init: &Sequential,
    now: &Sequential,
    decay: f64,
) -> Vec<LayerDrift> {
    init.weights()
        .into_iter()
        .zip(now.weights())
        .enumerate()
        .map(|(i, (w0, w))| {
            let (n0, n) = (l2_norm(&w0.value), l2_norm(&w.value));
            LayerDrift {
                run: run.to_string(),
                iteration,
                layer: i + 1,
                name: w0.name.clone(),
                init_norm: n0,
                norm: n,
                over_decay: n / (decay * n0),
                cos: dot(&w0.value, &w.value) / (n0 * n),
                alone: f64::NAN,
                all_but: f64::NAN,
            }
        })
        .collect()
}

/// The median first-layer gradient over the [`WINDOW`] logged iterations up to `iteration`.
fn grad_at(r: &RunData, iteration: usize) -> Option<f64> {
    let mut g: Vec<f64> = r
        .train
        .iter()
        .filter(|t| t.iteration <= iteration && t.iteration + WINDOW > iteration)
        .map(|t| t.grad_norm_first)
        .collect();
    g.sort_by(f64::total_cmp);
    g.get(g.len() / 2).copied()
}

/// Measures one run from its folder: each of its trained parameter sets
/// ([`source::trained`]; its `config.json` is bounded first, as any recorded run's) against
/// its initial weights, drawn again from its seed; the mixed nets on the first [`BATCH`]
/// training images of `data`, scaled as the run's. One [`Drift`] per iteration, in order.
pub fn measure(dir: &Path, r: &RunData, data: &Dataset) -> Result<Vec<Drift>> {
    let spec = &r.config.run;
    let at = || format!("{}", dir.display());
    spec.check_recorded().with_context(at)?;
    if init::by_name(&spec.init)?.calibration_images() > 0 {
        bail!(
            "{}: initializer `{}` is calibrated on data; its initial weights are not redrawn here",
            dir.display(),
            spec.init
        );
    }
    let images: Vec<usize> = (0..BATCH.min(data.train.len())).collect();
    let batch = data.batch_scaled(&data.train, &images, spec.input_scale);
    let init = spec.build_net()?;
    source::trained(dir, spec, data)
        .with_context(at)?
        .into_iter()
        .map(|(iteration, now)| measure_at(r, &init, &now, iteration, &batch).with_context(at))
        .collect()
}

/// One run's weights `now`, after `iteration` steps, against its initial weights `init`.
fn measure_at(
    r: &RunData,
    init: &Sequential,
    now: &Sequential,
    iteration: usize,
    (x, labels): &(Tensor, Vec<usize>),
) -> Result<Drift> {
    let spec = &r.config.run;
    let decay = decay_only(
        spec.lr as f64,
        spec.momentum as f64,
        spec.weight_decay as f64,
        iteration,
    );
    let first = r.train.first().map(|t| t.grad_norm_first);
    let (Some(grad_first_init), Some(grad_first_now)) = (first, grad_at(r, iteration)) else {
        bail!("train.csv has no rows up to iteration {iteration}");
    };
    let mixer = Mixer {
        spec,
        now,
        decay,
        x,
        labels,
    };
    let mixed = mixer.mixed()?;
    let mut layers = layer_drifts(&spec.name, iteration, init, now, decay);
    mixer.per_layer(&mut layers, mixed.decay_alone)?;
    Ok(Drift {
        run: spec.name.clone(),
        iteration,
        left_chance: r
            .summary
            .as_ref()
            .and_then(|s| s.left_chance.as_ref())
            .map(|l| l.iteration),
        weight_decay: spec.weight_decay,
        decay,
        layers,
        grad_first_init,
        grad_first_now,
        mixed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_alone_follows_the_momentum_recurrence() {
        assert_eq!(
            decay_only(0.001, 0.9, 0.0, 5000),
            1.0,
            "no decay, no change"
        );
        // Without momentum every step multiplies by 1 − ελ.
        let c = decay_only(0.1, 0.0, 0.01, 100);
        assert!((c - 0.999f64.powi(100)).abs() < 1e-12, "{c}");
        // With momentum the rate builds up to ελ/(1−μ) per step: 5e-5 at the spec's
        // lr and momentum with λ = 5e-3; a little less decay than that rate's power.
        let c = decay_only(0.001, 0.9, 0.005, 14070);
        let steady = (1.0f64 - 5e-5).powi(14070);
        assert!(c > steady && c < steady * 1.001, "{c} against {steady}");
    }

    #[test]
    fn the_factors_are_the_layers_norms_and_the_gradients_ratio() {
        let layer = |l, n0, n| LayerDrift {
            run: "r".into(),
            iteration: 10,
            layer: l,
            name: format!("w{l}"),
            init_norm: n0,
            norm: n,
            over_decay: 1.0,
            cos: 1.0,
            alone: 1.0,
            all_but: 1.0,
        };
        let d = Drift {
            run: "r".into(),
            iteration: 10,
            left_chance: None,
            weight_decay: 0.0,
            decay: 1.0,
            layers: vec![layer(1, 1.0, 100.0), layer(2, 2.0, 4.0), layer(3, 1.0, 3.0)],
            grad_first_init: 1e-5,
            grad_first_now: 6e-3,
            mixed: Mixed {
                init: 1.0,
                decay_alone: 1.0,
                biases: 1.0,
                weights: 1.0,
                checkpoint: 1.0,
            },
        };
        assert_eq!(
            d.norms_factor(),
            6.0,
            "the first layer's own norm is not in it"
        );
        assert!((d.grad_factor() - 600.0).abs() < 1e-9);
        assert!((d.unexplained() - 100.0).abs() < 1e-9);
    }
}

//! The one finite-difference gradient check, used for every op and layer test.
//!
//! `L = Σ r ⊙ f(x)` for a fixed random projection `r` (a plain sum is degenerate for ops
//! whose outputs sum to a constant, such as softmax, so a zero backward would pass). The
//! autograd gradient is the vector-Jacobian product with seed `r`; the numerical one is
//! `(L(x+h) − L(x−h)) / 2h` on a random sample of coordinates, accumulated in f64.

use crate::{NodeId, Tape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Settings of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Finite-difference step.
    pub h: f64,
    /// Largest accepted norm-wise relative error.
    pub tol: f64,
    /// Coordinates sampled per input (all of them if the input is smaller).
    pub samples: usize,
    /// Seed of the projection and of the sampled coordinates.
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self {
            h: 1e-2,
            tol: 1e-3,
            samples: 20,
            seed: 0,
        }
    }
}

/// Relative error `‖a − n‖ / max(‖a‖, ‖n‖)` between the autograd and numerical gradients of
/// each input, over the sampled coordinates.
pub fn grad_errors(
    build: impl Fn(&mut Tape, &[NodeId]) -> NodeId,
    inputs: &[Tensor],
    opts: GradCheck,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let run = |xs: &[Tensor]| {
        let mut tape = Tape::new();
        let ids: Vec<NodeId> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let out = build(&mut tape, &ids);
        (tape, ids, out)
    };
    let (tape, ids, out) = run(inputs);
    let r = tape.value(out).mapv(|_| rng.random_range(-1.0f32..1.0));
    let project = |t: &Tape, out: NodeId| -> f64 {
        t.value(out)
            .iter()
            .zip(r.iter())
            .map(|(&y, &w)| y as f64 * w as f64)
            .sum()
    };
    let grads = tape.backward_from(out, r.clone(), &[]);
    let mut errors = vec![];
    for (k, x) in inputs.iter().enumerate() {
        let analytic = grads
            .get(ids[k])
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(x.raw_dim()));
        assert_eq!(
            analytic.shape(),
            x.shape(),
            "grad_errors: gradient of input {k} has the wrong shape"
        );
        let coords: Vec<usize> = if x.len() <= opts.samples {
            (0..x.len()).collect()
        } else {
            (0..opts.samples)
                .map(|_| rng.random_range(0..x.len()))
                .collect()
        };
        let (mut diff, mut na, mut nn) = (0.0f64, 0.0f64, 0.0f64);
        for &j in &coords {
            let mut shifted = inputs.to_vec();
            let at = |xs: &mut Vec<Tensor>, delta: f64| {
                let flat = xs[k].as_slice_mut().expect("contiguous input");
                flat[j] = (x.as_slice().expect("contiguous input")[j] as f64 + delta) as f32;
            };
            at(&mut shifted, opts.h);
            let (tp, _, op) = run(&shifted);
            at(&mut shifted, -opts.h);
            let (tm, _, om) = run(&shifted);
            let numeric = (project(&tp, op) - project(&tm, om)) / (2.0 * opts.h);
            let a = analytic.as_slice().expect("contiguous grad")[j] as f64;
            diff += (a - numeric).powi(2);
            na += a * a;
            nn += numeric * numeric;
        }
        let scale = na.sqrt().max(nn.sqrt());
        errors.push(if scale < 1e-9 {
            diff.sqrt()
        } else {
            diff.sqrt() / scale
        });
    }
    errors
}

/// Panics unless every input's gradient error is below `opts.tol`.
#[track_caller]
pub fn check_grad(
    build: impl Fn(&mut Tape, &[NodeId]) -> NodeId,
    inputs: &[Tensor],
    opts: GradCheck,
) {
    let errors = grad_errors(build, inputs, opts);
    for (k, e) in errors.iter().enumerate() {
        assert!(*e < opts.tol, "gradient check failed for input {k}: relative error {e:.2e} (tolerance {:.0e}); all: {errors:?}", opts.tol);
    }
}

/// A seeded uniform tensor in `[lo, hi)`.
pub fn uniform(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Tensor::from_shape_fn(shape.to_vec(), |_| rng.random_range(lo..hi))
}

/// A seeded tensor whose values all lie at least `margin` away from zero, for ops with a
/// kink at 0.
pub fn away_from_zero(shape: &[usize], margin: f32, seed: u64) -> Tensor {
    uniform(shape, -1.0, 1.0, seed).mapv(|v| {
        if v.abs() < margin {
            v.signum() * margin + v
        } else {
            v
        }
    })
}

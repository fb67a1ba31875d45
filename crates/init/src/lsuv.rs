//! `lsuv`: Mishkin and Matas (2016), "All you need is a good init": layer-sequential
//! unit-variance initialization, a data-dependent rule.

use crate::orthogonal::Orthogonal;
use crate::{draw, Calibrate, Fans, InitError, Initializer, Options, Result};
use ndarray::ArrayD;
use rand::RngCore;

/// Help line for the registry.
pub const HELP: &str = "Mishkin & Matas: orthonormal (or msra) draw, then each layer scaled until Var of its output on a batch is within tol of 1 [tol, max_iter, base]";

/// Training images LSUV calibrates on (the paper's mini-batch).
pub const IMAGES: usize = 128;

/// The draw LSUV starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Orthonormal rows (the paper's step 1).
    Orthogonal,
    /// He et al.'s normal, `Var[w] = 2/n` (eq. 10).
    Msra,
}

/// Mishkin and Matas, Algorithm 1: draw the weights (orthonormal by default), then for
/// each weight layer `l` in net order, on one batch, repeat `W_l ← W_l / √Var[y_l]` until
/// `|Var[y_l] − 1| < tol` or `max_iter` scalings, `y_l` being the layer's output before its
/// rectifier. The analytic variance is the base draw's; what the calibration changes is
/// measured (`analyze` shows every layer's output variance after it).
#[derive(Clone, Debug)]
pub struct Lsuv {
    tol: f64,
    max_iter: usize,
    base: Base,
}

/// The most scalings `max_iter` may allow per layer: Mishkin & Matas stop at 10, and a
/// layer whose output variance is off after 1,000 will not come right.
pub const MAX_ITER: usize = 1000;

/// Builds `lsuv` from `tol`, `max_iter` and `base`.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    let tol = opts.positive("tol", 0.1)?;
    let max_iter = opts.count("max_iter", 10, MAX_ITER)?;
    let base = opts.value(
        "base",
        Base::Orthogonal,
        |v| match v {
            "orthogonal" => Some(Base::Orthogonal),
            "msra" => Some(Base::Msra),
            _ => None,
        },
        |b| match b {
            Base::Orthogonal => "orthogonal".into(),
            Base::Msra => "msra".into(),
        },
        "expected orthogonal or msra",
    )?;
    Ok(Box::new(Lsuv {
        tol,
        max_iter,
        base,
    }))
}

impl Initializer for Lsuv {
    fn variance(&self, fans: Fans) -> f64 {
        match self.base {
            Base::Orthogonal => Orthogonal::new(1.0).variance(fans),
            Base::Msra => 2.0 / fans.fan_in as f64,
        }
    }
    fn formula(&self) -> Option<String> {
        Some(format!("Var[y_l] = 1 ± {} on a batch", self.tol))
    }
    fn sample(&self, shape: &[usize], fans: Fans, rng: &mut dyn RngCore) -> ArrayD<f32> {
        match self.base {
            Base::Orthogonal => Orthogonal::new(1.0).sample(shape, fans, rng),
            Base::Msra => draw(shape, self.variance(fans).sqrt(), self.dist(), rng),
        }
    }
    fn calibration_images(&self) -> usize {
        IMAGES
    }
    fn calibrate(&self, net: &mut dyn Calibrate) -> Result<Vec<usize>> {
        let mut iterations = vec![];
        for k in 0..net.weight_layers() {
            let mut it = 0;
            loop {
                let v = net.output_variance(k);
                if !(v.is_finite() && v > 0.0) {
                    return Err(InitError::Calibration {
                        layer: k + 1,
                        reason: format!("output variance {v} cannot be scaled to 1"),
                    });
                }
                if (v - 1.0).abs() < self.tol || it == self.max_iter {
                    break;
                }
                net.scale(k, 1.0 / v.sqrt());
                it += 1;
            }
            iterations.push(it);
        }
        Ok(iterations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in net of independent layers whose output variance is `gain² · scale²`:
    /// LSUV brings each within `tol` of 1, in order.
    struct Toy {
        var: Vec<f64>,
        calls: Vec<usize>,
    }

    impl Calibrate for Toy {
        fn weight_layers(&self) -> usize {
            self.var.len()
        }
        fn output_variance(&mut self, k: usize) -> f64 {
            self.calls.push(k);
            self.var[k]
        }
        fn scale(&mut self, k: usize, factor: f64) {
            // Later layers see the scaled signal, as in a net.
            for v in &mut self.var[k..] {
                *v *= factor * factor;
            }
        }
    }

    #[test]
    fn each_layer_ends_within_tol_of_unit_variance_in_net_order() {
        let init = Lsuv {
            tol: 0.1,
            max_iter: 10,
            base: Base::Orthogonal,
        };
        let mut net = Toy {
            var: vec![4.0, 0.25 * 4.0, 9.0],
            calls: vec![],
        };
        let its = init.calibrate(&mut net).unwrap();
        assert!(
            net.var.iter().all(|v| (v - 1.0).abs() < 0.1),
            "{:?}",
            net.var
        );
        assert_eq!(its, [1, 1, 1]);
        let mut sorted = net.calls.clone();
        sorted.sort_unstable();
        assert_eq!(net.calls, sorted, "layers are calibrated in net order");
        let mut dead = Toy {
            var: vec![0.0],
            calls: vec![],
        };
        assert!(matches!(
            init.calibrate(&mut dead),
            Err(InitError::Calibration { layer: 1, .. })
        ));
    }
}

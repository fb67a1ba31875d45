//! `delta_orthogonal`: Xiao et al. (2018), "Dynamical Isometry and a Mean Field Theory of
//! CNNs": a conv kernel that is zero except its centre tap, an orthogonal matrix.

use crate::orthogonal::orthonormal_rows;
use crate::{Fans, Initializer, Options, Result};
use ndarray::ArrayD;
use rand::RngCore;

/// Help line for the registry.
pub const HELP: &str =
    "Xiao et al.: conv kernel zero but its centre, gain x an orthogonal [c_out, c_in]; fc orthogonal [gain]";

/// A conv weight `W[o, i, y, x]` is `gain · Q[o, i]` at the centre tap `(y, x) = (k/2,
/// k/2)` and 0 elsewhere, `Q` a random `c_out x c_in` matrix with orthonormal rows (or
/// columns, if taller than wide): the delta-orthogonal kernel (Xiao et al. 2018, Algorithm
/// 2), which makes each conv an orthogonal map of the channels at each pixel. The default
/// `gain = √2` keeps a ReLU net's signal (He et al. eq. 10's factor ½). A fully connected
/// layer is plain orthogonal with the same gain. So `Var[w] = gain² / (max(c_out, c_in) ·
/// k²)`: each row of `Q` has squared norm `gain²` when wide, spread over `k²` taps.
#[derive(Clone, Debug)]
pub struct DeltaOrthogonal {
    gain: f64,
}

/// Builds `delta_orthogonal` from `gain`.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    Ok(Box::new(DeltaOrthogonal {
        gain: opts.positive("gain", std::f64::consts::SQRT_2)?,
    }))
}

impl Initializer for DeltaOrthogonal {
    fn variance(&self, fans: Fans) -> f64 {
        let taps = fans.receptive as f64;
        let (c_out, c_in) = (fans.fan_out / fans.receptive, fans.fan_in / fans.receptive);
        self.gain * self.gain / (c_out.max(c_in) as f64 * taps)
    }
    fn formula(&self) -> Option<String> {
        Some(format!("centre tap {:.3}·orthogonal", self.gain))
    }
    fn sample(&self, shape: &[usize], _fans: Fans, rng: &mut dyn RngCore) -> ArrayD<f32> {
        let (rows, cols) = (shape[0], shape.get(1).copied().unwrap_or(1));
        let (short, long) = (rows.min(cols), rows.max(cols));
        let q = orthonormal_rows(short, long, rng);
        let q = if rows <= cols { q } else { q.reversed_axes() };
        let mut w = ArrayD::<f32>::zeros(shape.to_vec());
        let centre: Vec<usize> = shape[2..].iter().map(|k| k / 2).collect();
        for o in 0..rows {
            for i in 0..cols {
                let mut index = vec![o, i];
                index.extend(&centre);
                w[index.as_slice()] = (self.gain * q[[o, i]]) as f32;
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The centre taps form `gain` times a matrix with orthonormal rows (c_out ≤ c_in) or
    /// columns; every other tap is zero.
    #[test]
    fn the_centre_tap_is_an_orthogonal_matrix_and_the_rest_is_zero() {
        let init = DeltaOrthogonal { gain: 1.5 };
        for (c_out, c_in) in [(16, 32), (32, 16), (8, 8)] {
            let fans = Fans::conv(c_in, c_out, 3);
            let w = init.sample(
                &[c_out, c_in, 3, 3],
                fans,
                &mut ChaCha8Rng::seed_from_u64(1),
            );
            let mut q = ndarray::Array2::<f64>::zeros((c_out, c_in));
            for ((o, i, y, x), &v) in w
                .view()
                .into_dimensionality::<ndarray::Ix4>()
                .unwrap()
                .indexed_iter()
            {
                if (y, x) == (1, 1) {
                    q[[o, i]] = v as f64;
                } else {
                    assert_eq!(v, 0.0, "tap ({y}, {x}) is not zero");
                }
            }
            let gram = if c_out <= c_in {
                q.dot(&q.t())
            } else {
                q.t().dot(&q)
            };
            let n = gram.nrows();
            for a in 0..n {
                for b in 0..n {
                    let want = if a == b { 1.5 * 1.5 } else { 0.0 };
                    assert!(
                        (gram[[a, b]] - want).abs() < 1e-5,
                        "{c_out}x{c_in}: [{a},{b}]"
                    );
                }
            }
        }
    }
}

//! `orthogonal`: Saxe et al. (2014), a scaled (semi-)orthogonal weight matrix.

use crate::{Dist, Fans, Initializer, Options, Result};
use ndarray::{Array2, ArrayD};
use rand::RngCore;

/// Help line for the registry.
pub const HELP: &str =
    "Saxe et al.: gain x a random (semi-)orthogonal [c_out, c_in*k*k] matrix [gain]";

/// The weight, viewed as `[c_out, c_in·k·k]`, has orthonormal rows (or columns, if taller
/// than wide) times `gain`. Every row of a wide matrix has squared norm `gain²`, so
/// `Var[w] = gain² / max(rows, cols)`.
#[derive(Clone, Debug)]
pub struct Orthogonal {
    gain: f64,
}

/// Builds `orthogonal` from `gain`.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    Ok(Box::new(Orthogonal::new(opts.positive("gain", 1.0)?)))
}

impl Orthogonal {
    /// `gain` times a random (semi-)orthogonal matrix.
    pub(crate) fn new(gain: f64) -> Self {
        Self { gain }
    }
}

impl Initializer for Orthogonal {
    fn variance(&self, fans: Fans) -> f64 {
        let rows = fans.fan_out / fans.receptive;
        self.gain * self.gain / rows.max(fans.fan_in) as f64
    }
    fn sample(&self, shape: &[usize], fans: Fans, rng: &mut dyn RngCore) -> ArrayD<f32> {
        let rows = shape.first().copied().unwrap_or(1);
        let cols = shape.iter().product::<usize>() / rows.max(1);
        debug_assert_eq!(
            cols, fans.fan_in,
            "orthogonal: shape {shape:?} vs fan_in {}",
            fans.fan_in
        );
        let (short, long) = (rows.min(cols), rows.max(cols));
        let q = orthonormal_rows(short, long, rng);
        let q = if rows <= cols { q } else { q.reversed_axes() };
        let w = q.mapv(|v| (v * self.gain) as f32);
        w.as_standard_layout()
            .into_owned()
            .into_shape_with_order(shape.to_vec())
            .expect("orthogonal shape")
    }
}

/// `short` orthonormal vectors of length `long` (`short ≤ long`): Gaussian draws made
/// orthonormal by modified Gram-Schmidt, applied twice for stability.
pub(crate) fn orthonormal_rows(short: usize, long: usize, rng: &mut dyn RngCore) -> Array2<f64> {
    let mut q = Array2::from_shape_simple_fn((short, long), || Dist::Normal.draw_one(1.0, rng));
    for i in 0..short {
        for _ in 0..2 {
            for j in 0..i {
                let d = q.row(i).dot(&q.row(j));
                let qj = q.row(j).to_owned();
                q.row_mut(i).scaled_add(-d, &qj);
            }
        }
        let norm = q.row(i).dot(&q.row(i)).sqrt();
        q.row_mut(i).mapv_inplace(|v| v / norm);
    }
    q
}

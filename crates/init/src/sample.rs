//! Drawing a zero-mean tensor with a target standard deviation from a named distribution.

use ndarray::ArrayD;
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

/// The distribution weights are drawn from; each is scaled to the target variance exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    /// `N(0, std²)`.
    Normal,
    /// `U(−√3·std, +√3·std)`, whose variance is `std²`.
    Uniform,
    /// A normal cut at ±2 of its own σ, with σ widened so the variance is still `std²`.
    TruncatedNormal,
}

/// Variance of a standard normal truncated to [−2, 2]:
/// `1 − 2·2·φ(2) / (Φ(2) − Φ(−2))` with `φ(2) = e^{−2}/√(2π) = 0.053990966513188` and
/// `Φ(2) − Φ(−2) = erf(√2) = 0.954499736103642`.
pub(crate) const TRUNCATED_VARIANCE: f64 =
    1.0 - 4.0 * 0.053_990_966_513_188 / 0.954_499_736_103_642;

impl Dist {
    /// The option value naming this distribution.
    pub fn as_str(self) -> &'static str {
        match self {
            Dist::Normal => "normal",
            Dist::Uniform => "uniform",
            Dist::TruncatedNormal => "truncated_normal",
        }
    }

    /// Parses `normal`, `uniform` or `truncated_normal`.
    pub fn parse(s: &str) -> Option<Self> {
        [Dist::Normal, Dist::Uniform, Dist::TruncatedNormal]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// One zero-mean draw with standard deviation `std`.
    pub fn draw_one(self, std: f64, rng: &mut dyn RngCore) -> f64 {
        match self {
            Dist::Normal => std * rng.sample::<f64, _>(StandardNormal),
            Dist::Uniform => std * 3f64.sqrt() * rng.random_range(-1.0..1.0),
            Dist::TruncatedNormal => {
                let sigma = std / TRUNCATED_VARIANCE.sqrt();
                loop {
                    let z: f64 = rng.sample(StandardNormal);
                    if z.abs() <= 2.0 {
                        return sigma * z;
                    }
                }
            }
        }
    }
}

/// A tensor of `shape` filled with zero-mean draws of standard deviation `std`, in
/// row-major order (so the same seed gives the same weights on any machine).
pub fn draw(shape: &[usize], std: f64, dist: Dist, rng: &mut dyn RngCore) -> ArrayD<f32> {
    ArrayD::from_shape_simple_fn(shape.to_vec(), || dist.draw_one(std, rng) as f32)
}

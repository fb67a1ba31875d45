//! Drawing a zero-mean tensor with a target standard deviation from a named distribution.

use ndarray::{ArrayD, IxDyn};
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use ndarray_rand::RandomExt;
use rand::{Rng, RngCore};

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
        Scaled { dist: self, std }.sample(rng)
    }
}

/// A [`Dist`] at a standard deviation, as a `rand` distribution, so that
/// `ndarray-rand` fills tensors with it. The normal is `std · z` with `z` from
/// `rand_distr`'s `StandardNormal` (bit for bit `rand_distr::Normal::new(0, std)`); the
/// uniform is `std·√3 · U(−1, 1)`; the truncated normal (a distribution `rand_distr` does
/// not have) redraws `z` until `|z| ≤ 2` and widens σ so the variance is still `std²`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaled {
    /// The distribution.
    pub dist: Dist,
    /// Its standard deviation.
    pub std: f64,
}

impl Distribution<f64> for Scaled {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self.dist {
            Dist::Normal => self.std * rng.sample::<f64, _>(StandardNormal),
            Dist::Uniform => self.std * 3f64.sqrt() * rng.random_range(-1.0..1.0),
            Dist::TruncatedNormal => {
                let sigma = self.std / TRUNCATED_VARIANCE.sqrt();
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

impl Distribution<f32> for Scaled {
    /// Drawn in f64 and rounded once, so the f32 weights do not depend on f32 sampling.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        Distribution::<f64>::sample(self, rng) as f32
    }
}

/// A tensor of `shape` filled with zero-mean draws of standard deviation `std`, in
/// row-major order (so the same seed gives the same weights on any machine), through
/// `ndarray-rand`.
pub fn draw(shape: &[usize], std: f64, dist: Dist, rng: &mut dyn RngCore) -> ArrayD<f32> {
    ArrayD::random_using(IxDyn(shape), Scaled { dist, std }, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The weights of a seed are those the hand-written fill gave before `ndarray-rand`
    /// (one f64 draw per element in row-major order, rounded to f32): the same seed, the
    /// same weights, for every distribution.
    #[test]
    fn draw_fills_row_major_with_one_draw_per_element() {
        for dist in [Dist::Normal, Dist::Uniform, Dist::TruncatedNormal] {
            let got = draw(&[3, 2, 3, 3], 0.7, dist, &mut ChaCha8Rng::seed_from_u64(5));
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let mut want = vec![];
            for _ in 0..got.len() {
                let z: f64 = match dist {
                    Dist::Normal => 0.7 * rng.sample::<f64, _>(StandardNormal),
                    Dist::Uniform => 0.7 * 3f64.sqrt() * rng.random_range(-1.0..1.0),
                    Dist::TruncatedNormal => loop {
                        let z: f64 = rng.sample(StandardNormal);
                        if z.abs() <= 2.0 {
                            break 0.7 / TRUNCATED_VARIANCE.sqrt() * z;
                        }
                    },
                };
                want.push(z as f32);
            }
            assert_eq!(got.shape(), &[3, 2, 3, 3]);
            assert_eq!(got.iter().copied().collect::<Vec<_>>(), want, "{dist:?}");
        }
    }
}

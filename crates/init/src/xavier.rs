//! `xavier`: Caffe's "xavier" filler, the variant He et al. compared against.

use crate::scaled::Scaled;
use crate::{Dist, Initializer, Mode, Options, Result};

/// Help line for the registry.
pub const HELP: &str = "Caffe's xavier: Var = 1/n, uniform(±sqrt(3/n)), n = fan_in [mode, dist]";

/// `Var[w] = 1/n_in`, uniform: the linear-case condition `n·Var[w] = 1` (He et al. §2.2,
/// "Comparison with Xavier"), which halves the signal's variance at every ReLU.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    Ok(Box::new(Scaled::from_options(
        1.0,
        (Mode::FanIn, Dist::Uniform),
        opts,
    )?))
}

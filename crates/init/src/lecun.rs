//! `lecun`: LeCun et al. (1998), `Var[w] = 1/n_in`, normal.

use crate::scaled::Scaled;
use crate::{Dist, Initializer, Mode, Options, Result};

/// Help line for the registry.
pub const HELP: &str = "LeCun: Var = 1/fan_in, normal [mode, dist]";

/// `Var[w] = 1/n_in`, normal: the same variance as `xavier`, Gaussian like the paper's
/// own rendering of Xavier in Figs. 2 and 3.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    Ok(Box::new(Scaled::from_options(
        1.0,
        (Mode::FanIn, Dist::Normal),
        opts,
    )?))
}

//! `glorot`: Glorot and Bengio (2010) as written, averaging the two fans.

use crate::scaled::Scaled;
use crate::{Dist, Initializer, Mode, Options, Result};

/// Help line for the registry.
pub const HELP: &str = "Glorot & Bengio: Var = 2/(fan_in+fan_out), uniform [mode, dist]";

/// `Var[w] = 2/(n_in + n_out)`, uniform by default (`dist=normal` for the normal form).
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    Ok(Box::new(Scaled::from_options(
        1.0,
        (Mode::FanAvg, Dist::Uniform),
        opts,
    )?))
}

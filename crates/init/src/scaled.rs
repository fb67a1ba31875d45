//! The shared shape of xavier, glorot and lecun: `Var[w] = gain² / n` for a chosen fan.

use crate::{Dist, Fans, Initializer, Mode, Options, Result};

/// `Var[w] = gain² / fan(mode)`, drawn from `dist`.
#[derive(Clone, Debug)]
pub struct Scaled {
    gain2: f64,
    mode: Mode,
    dist: Dist,
}

impl Scaled {
    /// Reads `mode` and `dist` from `opts`, defaulting to `defaults`.
    pub fn from_options(gain2: f64, defaults: (Mode, Dist), opts: &mut Options) -> Result<Self> {
        let mode = opts.mode(defaults.0)?;
        let dist = opts.dist(defaults.1)?;
        Ok(Self { gain2, mode, dist })
    }
}

impl Initializer for Scaled {
    fn variance(&self, fans: Fans) -> f64 {
        self.gain2 / fans.by_mode(self.mode)
    }
    fn formula(&self) -> Option<String> {
        Some(format!("{}·Var[w] = {}", self.mode.symbol(), self.gain2))
    }
    fn dist(&self) -> Dist {
        self.dist
    }
}

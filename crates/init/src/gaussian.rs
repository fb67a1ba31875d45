//! `gaussian`: the fixed-std "traditional" initialization (AlexNet's 0.01).

use crate::{Dist, Fans, Initializer, Options, Result};

/// Help line for the registry.
pub const HELP: &str = "fixed std: normal(0, std), std = 0.01; fails beyond ~8 conv layers (He et al. §2.2) [std, dist]";

/// `Var[w] = std²` whatever the layer's size.
#[derive(Clone, Debug)]
pub struct Gaussian {
    std: f64,
    dist: Dist,
}

/// Builds `gaussian` from `std` and `dist`.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    let std = opts.positive("std", 0.01)?;
    let dist = opts.dist(Dist::Normal)?;
    Ok(Box::new(Gaussian { std, dist }))
}

impl Initializer for Gaussian {
    fn variance(&self, _fans: Fans) -> f64 {
        self.std * self.std
    }
    fn dist(&self) -> Dist {
        self.dist
    }
}

//! Weight initializers behind one trait, and the registry that maps a CLI name to one.
//!
//! An initializer states its weight variance analytically ([`Initializer::variance`],
//! which the variance analysis uses for the paper's predictions) and draws weights
//! ([`Initializer::sample`]). Fans are computed in one place ([`Fans`]); biases start at
//! zero and are not an initializer's concern. Names with options, as the CLI takes them:
//! `msra`, `msra:mode=fan_out`, `msra:a=0.25`, `msra:a=auto`, `xavier:dist=normal`,
//! `gaussian:std=0.01`.
//!
//! ```
//! let init = init::by_name("msra:mode=fan_out").unwrap();
//! let fans = init::Fans::conv(16, 32, 3);
//! assert!((init.variance(fans) - 2.0 / (9.0 * 32.0)).abs() < 1e-12); // eq. 14
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod fans;
mod options;
mod sample;
mod scaled;

mod delta_orthogonal;
mod gaussian;
mod glorot;
mod lecun;
mod lsuv;
mod msra;
mod orthogonal;
mod xavier;

pub use error::{InitError, Result};
pub use fans::{Fans, Mode};
pub use options::{compact_number, Options};
pub use sample::{draw, Dist};

use ndarray::ArrayD;
use rand::RngCore;

/// A weight initializer: a variance rule and a way to draw weights with it. Its name and
/// options (its canonical spec) are the registry's business: see [`Init::spec`].
pub trait Initializer: Send + Sync + std::fmt::Debug {
    /// The analytic `Var[w]` for a layer with these fans.
    fn variance(&self, fans: Fans) -> f64;

    /// The rule in the paper's notation, for figure legends (`½·n·Var[w] = 1 (eq. 10)`);
    /// `None` to show the spec alone.
    fn formula(&self) -> Option<String> {
        None
    }

    /// Training images a data-dependent initializer calibrates on (0: none, the
    /// default; the weights are then what [`Initializer::sample`] drew).
    fn calibration_images(&self) -> usize {
        0
    }

    /// Adjusts the drawn weights on one batch, layer by layer in net order, through the
    /// net's side of the hook; returns what it did per weight layer (LSUV: its
    /// iterations), logged with the run. The default does nothing.
    fn calibrate(&self, _net: &mut dyn Calibrate) -> Result<Vec<usize>> {
        Ok(vec![])
    }

    /// The distribution weights are drawn from.
    fn dist(&self) -> Dist {
        Dist::Normal
    }

    /// Draws a weight of `shape` (`[c_out, c_in, k, k]` or `[n_out, n_in]`). The default
    /// draws from [`Initializer::dist`] with zero mean and [`Initializer::variance`].
    fn sample(&self, shape: &[usize], fans: Fans, rng: &mut dyn RngCore) -> ArrayD<f32> {
        draw(shape, self.variance(fans).sqrt(), self.dist(), rng)
    }
}

/// The net's side of a data-dependent initialization (LSUV): a net with one batch of
/// training images, whose weight layers can be measured and scaled. `layers` implements
/// it, so `init` never depends on the layers.
pub trait Calibrate {
    /// Weight layers (conv and fc), in net order.
    fn weight_layers(&self) -> usize;
    /// The variance of weight layer `k`'s output (before its rectifier) on the batch,
    /// with every weight as it is now.
    fn output_variance(&mut self, k: usize) -> f64;
    /// Multiplies weight layer `k`'s weights by `factor`.
    fn scale(&mut self, k: usize, factor: f64);
}

/// A registry row: a name, a one-line description, and a constructor from options.
pub struct Entry {
    /// The name typed on the command line.
    pub name: &'static str,
    /// One line for `--help`: the formula and its options.
    pub help: &'static str,
    /// Builds the initializer, taking the options it understands.
    pub build: fn(&mut Options) -> Result<Box<dyn Initializer>>,
}

/// Every initializer, by name. Adding one is a new file and one line here.
pub const REGISTRY: &[Entry] = &[
    Entry {
        name: "xavier",
        help: xavier::HELP,
        build: xavier::build,
    },
    Entry {
        name: "glorot",
        help: glorot::HELP,
        build: glorot::build,
    },
    Entry {
        name: "msra",
        help: msra::HELP,
        build: msra::build,
    },
    Entry {
        name: "lecun",
        help: lecun::HELP,
        build: lecun::build,
    },
    Entry {
        name: "gaussian",
        help: gaussian::HELP,
        build: gaussian::build,
    },
    Entry {
        name: "orthogonal",
        help: orthogonal::HELP,
        build: orthogonal::build,
    },
    Entry {
        name: "delta_orthogonal",
        help: delta_orthogonal::HELP,
        build: delta_orthogonal::build,
    },
    Entry {
        name: "lsuv",
        help: lsuv::HELP,
        build: lsuv::build,
    },
];

/// The registered names, in registry order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name).collect()
}

/// A built initializer with its canonical spec, derived from the options it read.
#[derive(Debug)]
pub struct Init {
    spec: String,
    inner: Box<dyn Initializer>,
}

impl Init {
    /// `name[:key=value]...` with only the options that differ from their defaults, in
    /// the form [`by_name`] parses: `msra:mode=fan_out`.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The spec and the rule, for legends: `msra: ½·n·Var[w] = 1 (eq. 10)`.
    pub fn rule(&self) -> String {
        match self.inner.formula() {
            Some(f) => format!("{}: {f}", self.spec),
            None => self.spec.clone(),
        }
    }
}

impl std::ops::Deref for Init {
    type Target = dyn Initializer;
    fn deref(&self) -> &Self::Target {
        self.inner.as_ref()
    }
}

impl AsRef<dyn Initializer> for Init {
    fn as_ref(&self) -> &(dyn Initializer + 'static) {
        self.inner.as_ref()
    }
}

/// Parses `name[:key=value]...` and builds the initializer. Unknown names and options are
/// errors that list what exists.
pub fn by_name(spec: &str) -> Result<Init> {
    let mut opts = Options::parse(spec)?;
    let entry = REGISTRY
        .iter()
        .find(|e| e.name == opts.name())
        .ok_or_else(|| InitError::UnknownName {
            name: opts.name().to_string(),
            known: names().join(", "),
        })?;
    let inner = (entry.build)(&mut opts)?;
    let spec = opts.spec();
    opts.finish()?;
    Ok(Init { spec, inner })
}

#[cfg(test)]
mod tests;

//! `msra`: He et al. (2015), the rectifier-aware initialization (eq. 10, 14, 15).

use crate::{Dist, Fans, Initializer, Mode, Options, Result};

/// Help line for the registry.
pub const HELP: &str = "He et al.: Var = 2/((1+a^2) n), normal, n = fan_in (eq. 10) or fan_out (eq. 14), a = 0, a number or auto (eq. 15) [mode, dist, a]";

/// The negative slope `a` in eq. 15.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slope {
    /// A number typed by hand (0 is ReLU).
    Fixed(f64),
    /// The initial slope of the rectifier the layer feeds ([`Fans::slope`]).
    FromLayer,
}

/// `Var[w] = 2 / ((1 + a²)·n)`: eq. 10 (`n = fan_in`), eq. 14 (`n = fan_out`), and the PReLU
/// form eq. 15.
#[derive(Clone, Debug)]
pub struct Msra {
    mode: Mode,
    dist: Dist,
    slope: Slope,
}

/// Builds `msra` from `mode`, `dist` and `a`.
pub fn build(opts: &mut Options) -> Result<Box<dyn Initializer>> {
    let mode = opts.mode(Mode::FanIn)?;
    let dist = opts.dist(Dist::Normal)?;
    let slope = opts.value(
        "a",
        Slope::Fixed(0.0),
        |v| match v {
            "auto" => Some(Slope::FromLayer),
            v => v
                .parse()
                .ok()
                .filter(|a: &f64| a.is_finite())
                .map(Slope::Fixed),
        },
        |s| match s {
            Slope::Fixed(a) => crate::compact_number(*a),
            Slope::FromLayer => "auto".into(),
        },
        "expected a number or `auto`",
    )?;
    Ok(Box::new(Msra { mode, dist, slope }))
}

impl Initializer for Msra {
    fn variance(&self, fans: Fans) -> f64 {
        let a = match self.slope {
            Slope::Fixed(a) => a,
            Slope::FromLayer => fans.slope,
        };
        2.0 / ((1.0 + a * a) * fans.by_mode(self.mode))
    }
    fn dist(&self) -> Dist {
        self.dist
    }
    fn formula(&self) -> Option<String> {
        let n = self.mode.symbol();
        let eq = if self.mode == Mode::FanOut { 14 } else { 10 };
        Some(match self.slope {
            Slope::Fixed(0.0) => format!("½·{n}·Var[w] = 1 (eq. {eq})"),
            _ => format!("½(1+a²)·{n}·Var[w] = 1 (eq. 15)"),
        })
    }
}

//! The shared shape of xavier, glorot and lecun: `Var[w] = gain² / n` for a chosen fan.

use crate::{Dist, Fans, Initializer, Mode, Options, Result};

/// `Var[w] = gain² / fan(mode)`, drawn from `dist`; remembers its defaults so that its
/// spec names only the options that differ from them.
#[derive(Clone, Debug)]
pub struct Scaled {
    name: &'static str,
    gain2: f64,
    mode: Mode,
    dist: Dist,
    defaults: (Mode, Dist),
}

impl Scaled {
    /// Reads `mode` and `dist` from `opts`, defaulting to `defaults`.
    pub fn from_options(
        name: &'static str,
        gain2: f64,
        defaults: (Mode, Dist),
        opts: &mut Options,
    ) -> Result<Self> {
        let mode = opts.mode(defaults.0)?;
        let dist = opts.dist(defaults.1)?;
        Ok(Self {
            name,
            gain2,
            mode,
            dist,
            defaults,
        })
    }
}

/// `name[:mode=..][:dist=..]`, naming only non-default options.
pub fn spec_with(name: &str, mode: (Mode, Mode), dist: (Dist, Dist), extra: &[String]) -> String {
    let mut s = name.to_string();
    if mode.0 != mode.1 {
        s += &format!(":mode={}", mode.0.as_str());
    }
    if dist.0 != dist.1 {
        s += &format!(":dist={}", dist.0.as_str());
    }
    for e in extra {
        s += &format!(":{e}");
    }
    s
}

impl Initializer for Scaled {
    fn spec(&self) -> String {
        spec_with(
            self.name,
            (self.mode, self.defaults.0),
            (self.dist, self.defaults.1),
            &[],
        )
    }
    fn variance(&self, fans: Fans) -> f64 {
        self.gain2 / fans.by_mode(self.mode)
    }
    fn rule(&self) -> String {
        format!(
            "{}: {}·Var[w] = {}",
            self.spec(),
            self.mode.symbol(),
            self.gain2
        )
    }
    fn dist(&self) -> Dist {
        self.dist
    }
}

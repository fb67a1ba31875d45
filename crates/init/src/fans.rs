//! Fans: the one place where a layer's `n_in` and `n_out` are computed.

/// What an initializer knows about the layer it fills.
///
/// For a `k × k` conv, `fan_in = k²·c_in` (the paper's `n_l`, eq. 10) and
/// `fan_out = k²·c_out` (`n̂_l`, eq. 14); for a fully connected layer, its input and
/// output sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fans {
    /// Connections into one output: `k²·c_in`.
    pub fan_in: usize,
    /// Connections out of one input: `k²·c_out`.
    pub fan_out: usize,
    /// Kernel area `k²` (1 for fully connected layers).
    pub receptive: usize,
    /// Initial negative slope `a` of the rectifier this layer feeds (0 for ReLU), used by
    /// `msra:a=auto` (eq. 15).
    pub slope: f64,
}

impl Fans {
    /// Fans of a `k × k` conv from `c_in` to `c_out` channels, followed by a ReLU.
    pub fn conv(c_in: usize, c_out: usize, k: usize) -> Self {
        Self::conv_rect(c_in, c_out, (k, k))
    }

    /// Fans of a `kh × kw` conv.
    pub fn conv_rect(c_in: usize, c_out: usize, (kh, kw): (usize, usize)) -> Self {
        Self {
            fan_in: kh * kw * c_in,
            fan_out: kh * kw * c_out,
            receptive: kh * kw,
            slope: 0.0,
        }
    }

    /// Fans of a fully connected layer from `n_in` to `n_out` units, followed by a ReLU.
    pub fn linear(n_in: usize, n_out: usize) -> Self {
        Self {
            fan_in: n_in,
            fan_out: n_out,
            receptive: 1,
            slope: 0.0,
        }
    }

    /// The same fans, feeding a rectifier with initial negative slope `a`.
    pub fn with_slope(self, a: f64) -> Self {
        Self { slope: a, ..self }
    }

    /// The fan a variance rule divides by.
    pub fn by_mode(&self, mode: Mode) -> f64 {
        match mode {
            Mode::FanIn => self.fan_in as f64,
            Mode::FanOut => self.fan_out as f64,
            Mode::FanAvg => (self.fan_in + self.fan_out) as f64 / 2.0,
        }
    }
}

/// Which fan a variance rule uses: the forward condition (eq. 10), the backward condition
/// (eq. 14), or their average (Glorot and Bengio).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `n = fan_in`: keeps the forward signal's variance (eq. 10).
    FanIn,
    /// `n = fan_out`: keeps the backward gradient's variance (eq. 14).
    FanOut,
    /// `n = (fan_in + fan_out) / 2`.
    FanAvg,
}

impl Mode {
    /// The fan's symbol in a rule: `n` (fan-in, the paper's n_l), `n_out` or `n_avg`.
    pub fn symbol(self) -> &'static str {
        match self {
            Mode::FanIn => "n",
            Mode::FanOut => "n_out",
            Mode::FanAvg => "n_avg",
        }
    }

    /// The option value naming this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::FanIn => "fan_in",
            Mode::FanOut => "fan_out",
            Mode::FanAvg => "fan_avg",
        }
    }

    /// Parses `fan_in`, `fan_out` or `fan_avg`.
    pub fn parse(s: &str) -> Option<Self> {
        [Mode::FanIn, Mode::FanOut, Mode::FanAvg]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

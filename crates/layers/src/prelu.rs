//! The parametric rectifier layer (He et al. §2.1).

use crate::error::invalid;
use crate::{Layer, LayerKind, Param, ParamKind, Result};
use tensor::{NodeId, Tape, Tensor};

/// The paper's initial slope, `a_i = 0.25`.
pub const INITIAL_SLOPE: f32 = 0.25;

/// PReLU (eq. 1): `x` if `x > 0` else `a·x`, one learnable `a` per channel, or one shared
/// by the whole layer. Slopes are never weight-decayed ([`ParamKind::PreluSlope`]).
pub struct Prelu {
    name: String,
    slope: Param,
}

impl Prelu {
    /// Channel-wise over `channels` channels, or channel-shared if `shared`; slopes start
    /// at 0.25.
    pub fn new(name: &str, channels: usize, shared: bool) -> Result<Self> {
        if channels == 0 {
            return Err(invalid("width", format!("{name}: no channels")));
        }
        let n = if shared { 1 } else { channels };
        Ok(Self {
            name: name.into(),
            slope: Param::new(
                name,
                "slope",
                ParamKind::PreluSlope,
                Tensor::from_elem(vec![n], INITIAL_SLOPE),
            ),
        })
    }
}

impl Layer for Prelu {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Prelu {
            shared: self.slope.value.len() == 1,
        }
    }
    /// Any `[N, C, ...]` to the same shape.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        let a = tape.param(self.slope.id, &self.slope.value);
        tape.prelu(x, a)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let n = self.slope.value.len();
        match input.first() {
            Some(&c) if n == 1 || c == n => Ok(input.to_vec()),
            _ => Err(invalid(
                "width",
                format!("{}: input {input:?} vs {n} slopes", self.name),
            )),
        }
    }
    fn params(&self) -> Vec<&Param> {
        vec![&self.slope]
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.slope]
    }
    fn rectifier_slope(&self) -> Option<f64> {
        Some(INITIAL_SLOPE as f64)
    }
}

//! A fully connected layer.

use crate::error::invalid;
use crate::{Layer, LayerKind, Param, ParamKind, Result};
use init::{Fans, Initializer};
use rand::RngCore;
use tensor::{NodeId, Tape, Tensor};

/// `y = x·Wᵀ + b` with `W [n_out, n_in]`.
pub struct Linear {
    name: String,
    weight: Param,
    bias: Param,
    fans: Fans,
}

impl Linear {
    /// Weights drawn by `init` with [`Fans::linear`] (and the following rectifier's `slope`),
    /// biases zero.
    pub fn new(
        name: &str,
        n_in: usize,
        n_out: usize,
        slope: f64,
        init: &dyn Initializer,
        rng: &mut dyn RngCore,
    ) -> Result<Self> {
        if n_in == 0 || n_out == 0 {
            return Err(invalid(
                "width",
                format!("{name}: sizes must be positive ({n_in} -> {n_out})"),
            ));
        }
        let fans = Fans::linear(n_in, n_out).with_slope(slope);
        let w = init.sample(&[n_out, n_in], fans, rng);
        Ok(Self {
            name: name.to_string(),
            weight: Param::new(name, "weight", ParamKind::Weight, w),
            bias: Param::new(name, "bias", ParamKind::Bias, Tensor::zeros(vec![n_out])),
            fans,
        })
    }
}

impl Layer for Linear {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Linear
    }
    /// `[N, n_in] → [N, n_out]`.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        let w = tape.param(self.weight.id, &self.weight.value);
        let b = tape.param(self.bias.id, &self.bias.value);
        let wt = tape.transpose(w);
        let y = tape.matmul(x, wt);
        tape.bias_add(y, b)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let s = self.weight.value.shape();
        if input != [s[1]] {
            return Err(invalid(
                "width",
                format!("{}: input {input:?}, layer expects [{}]", self.name, s[1]),
            ));
        }
        Ok(vec![s[0]])
    }
    fn params(&self) -> Vec<&Param> {
        vec![&self.weight, &self.bias]
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn fans(&self) -> Option<Fans> {
        Some(self.fans)
    }
}

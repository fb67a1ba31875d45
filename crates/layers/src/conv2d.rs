//! A 2-D convolution layer with bias.

use crate::error::invalid;
use crate::{Layer, LayerKind, Param, ParamKind, Result};
use init::{Fans, Initializer};
use rand::RngCore;
use tensor::shape::conv_out;
use tensor::{ConvGeom, NodeId, Tape, Tensor};

/// `k × k` convolution from `c_in` to `c_out` channels with bias (He et al. eq. 5,
/// `y = W·x + b`, over every k²·c patch).
pub struct Conv2d {
    name: String,
    weight: Param,
    bias: Param,
    geom: ConvGeom,
    fans: Fans,
}

/// The shape of a [`Conv2d`].
#[derive(Clone, Copy, Debug)]
pub struct Conv2dConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel side.
    pub k: usize,
    /// Stride and padding.
    pub geom: ConvGeom,
    /// Initial negative slope of the rectifier that follows (0 for ReLU), for eq. 15.
    pub slope: f64,
}

impl Conv2d {
    /// Weights drawn by `init` with [`Fans::conv`] (and the following rectifier's slope),
    /// biases zero.
    pub fn new(
        name: &str,
        cfg: Conv2dConfig,
        init: &dyn Initializer,
        rng: &mut dyn RngCore,
    ) -> Result<Self> {
        let Conv2dConfig {
            c_in,
            c_out,
            k,
            geom,
            slope,
        } = cfg;
        if c_in == 0 || c_out == 0 || k == 0 {
            return Err(invalid("width", format!("{name}: channels and kernel must be positive (c_in {c_in}, c_out {c_out}, k {k})")));
        }
        let fans = Fans::conv(c_in, c_out, k).with_slope(slope);
        let w = init.sample(&[c_out, c_in, k, k], fans, rng);
        Ok(Self {
            name: name.to_string(),
            weight: Param::new(name, "weight", ParamKind::Weight, w),
            bias: Param::new(name, "bias", ParamKind::Bias, Tensor::zeros(vec![c_out])),
            geom,
            fans,
        })
    }

    fn kernel(&self) -> (usize, usize, usize, usize) {
        let s = self.weight.value.shape();
        (s[0], s[1], s[2], s[3])
    }

    /// Feeds the weight and bias to the tape as parameters.
    fn feed(&self, tape: &mut Tape) -> (NodeId, NodeId) {
        let w = tape.param(self.weight.id, &self.weight.value);
        let b = tape.param(self.bias.id, &self.bias.value);
        (w, b)
    }
}

impl Layer for Conv2d {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        let (_, _, kh, kw) = self.kernel();
        LayerKind::Conv { kh, kw }
    }
    /// `[N, c_in, H, W] → [N, c_out, conv_out(H), conv_out(W)]`.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        let (w, b) = self.feed(tape);
        tape.conv2d(x, w, b, self.geom)
    }
    /// The convolution with the ReLU that follows it fused into its output pass.
    fn forward_relu(&self, tape: &mut Tape, x: NodeId) -> Option<NodeId> {
        let (w, b) = self.feed(tape);
        Some(tape.conv2d_relu(x, w, b, self.geom))
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let (co, ci, kh, kw) = self.kernel();
        let &[c, h, w] = input else {
            return Err(invalid(
                "input",
                format!("{}: expected [C, H, W], got {input:?}", self.name),
            ));
        };
        if c != ci {
            return Err(invalid(
                "width",
                format!("{}: input has {c} channels, layer expects {ci}", self.name),
            ));
        }
        match (conv_out(h, kh, self.geom), conv_out(w, kw, self.geom)) {
            (Some(ho), Some(wo)) => Ok(vec![co, ho, wo]),
            _ => Err(invalid(
                "depth",
                format!(
                    "{}: a {kh}x{kw} kernel does not fit a {h}x{w} input",
                    self.name
                ),
            )),
        }
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

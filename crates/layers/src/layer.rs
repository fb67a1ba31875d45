//! The one trait every layer implements.

use crate::{Param, Result};
use init::Fans;
use tensor::{NodeId, Tape};

/// What a layer is, for the summary and the analyses (its name is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// A convolution with a `kh × kw` kernel.
    Conv {
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
    },
    /// A fully connected layer.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// PReLU, one slope per channel or (`shared`) one per layer.
    Prelu {
        /// One slope for the whole layer.
        shared: bool,
    },
    /// Max-pooling over `k × k` windows.
    MaxPool {
        /// Window side.
        k: usize,
        /// Stride.
        stride: usize,
    },
    /// Flattening to `[N, features]`.
    Flatten,
}

impl std::fmt::Display for LayerKind {
    /// The short name in the summary: `conv3x3`, `fc`, `relu`, `prelu`, `prelu-shared`,
    /// `maxpool2/2`, `flatten`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            LayerKind::Conv { kh, kw } => write!(f, "conv{kh}x{kw}"),
            LayerKind::Linear => f.write_str("fc"),
            LayerKind::Relu => f.write_str("relu"),
            LayerKind::Prelu { shared: false } => f.write_str("prelu"),
            LayerKind::Prelu { shared: true } => f.write_str("prelu-shared"),
            LayerKind::MaxPool { k, stride } => write!(f, "maxpool{k}/{stride}"),
            LayerKind::Flatten => f.write_str("flatten"),
        }
    }
}

/// A layer: records its forward on a tape and lists its parameters in a fixed order.
pub trait Layer: Send + Sync {
    /// The layer's stable name (`stage1.conv2`).
    fn name(&self) -> &str;
    /// What the layer is.
    fn kind(&self) -> LayerKind;
    /// Records the forward pass of `x` and returns the output.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId;
    /// Records this layer followed by a ReLU as one fused op, if the layer has one
    /// (`Conv2d`); the same numbers as [`Layer::forward`] then the ReLU, bit for bit.
    fn forward_relu(&self, _tape: &mut Tape, _x: NodeId) -> Option<NodeId> {
        None
    }
    /// The per-example output shape for a per-example input shape (without the batch axis).
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;
    /// Parameters, in a fixed order.
    fn params(&self) -> Vec<&Param> {
        vec![]
    }
    /// Parameters, mutably, in the same order.
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![]
    }
    /// Fans, for layers with weights.
    fn fans(&self) -> Option<Fans> {
        None
    }
    /// The initial negative slope of a rectifier layer (0 for ReLU), `None` for others.
    fn rectifier_slope(&self) -> Option<f64> {
        None
    }
}

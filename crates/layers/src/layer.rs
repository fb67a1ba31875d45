//! The one trait every layer implements.

use crate::{Param, Result};
use init::Fans;
use tensor::{NodeId, Tape};

/// A layer: records its forward on a tape and lists its parameters in a fixed order.
pub trait Layer: Send + Sync {
    /// The layer's stable name (`stage1.conv2`).
    fn name(&self) -> &str;
    /// A short kind (`conv3x3`, `relu`, `maxpool2`, `fc`).
    fn kind(&self) -> String;
    /// Records the forward pass of `x` and returns the output.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId;
    /// Records this layer followed by a ReLU as one fused op, if the layer has one
    /// (`Conv2d`); the same numbers as [`Layer::forward`] then the ReLU, bit for bit.
    fn forward_relu(&self, _tape: &mut Tape, _x: NodeId) -> Option<NodeId> {
        None
    }
    /// Whether this layer is a plain ReLU (which a preceding layer may fuse).
    fn is_relu(&self) -> bool {
        false
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

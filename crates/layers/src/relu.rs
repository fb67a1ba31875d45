//! The rectifier layer.

use crate::{Layer, LayerKind, Result};
use tensor::{NodeId, Tape};

/// `max(x, 0)` elementwise.
pub struct Relu {
    name: String,
}

impl Relu {
    /// A named ReLU.
    pub fn new(name: &str) -> Self {
        Self { name: name.into() }
    }
}

impl Layer for Relu {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Relu
    }
    /// Any shape to the same shape.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        tape.relu(x)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn rectifier_slope(&self) -> Option<f64> {
        Some(0.0)
    }
}

//! Flattening `[N, C, H, W]` to `[N, C·H·W]`.

use crate::{Layer, LayerKind, Result};
use tensor::{NodeId, Tape};

/// Keeps the batch axis and flattens the rest, in row-major order.
pub struct Flatten {
    name: String,
}

impl Flatten {
    /// A named flatten.
    pub fn new(name: &str) -> Self {
        Self { name: name.into() }
    }
}

impl Layer for Flatten {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Flatten
    }
    /// `[N, ...] → [N, product of the rest]`.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        tape.flatten(x)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
}

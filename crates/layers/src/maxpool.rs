//! Max-pooling layer.

use crate::error::invalid;
use crate::{Layer, LayerKind, Result};
use tensor::shape::pool_out;
use tensor::{NodeId, PoolGeom, Tape};

/// `k × k` max-pool with stride `s`, floor rounding (28 → 14 → 7 → 3 for 2×2/2).
pub struct MaxPool2d {
    name: String,
    geom: PoolGeom,
}

impl MaxPool2d {
    /// A pool with validated geometry.
    pub fn new(name: &str, k: usize, stride: usize) -> Result<Self> {
        Ok(Self {
            name: name.into(),
            geom: PoolGeom::new(k, stride)?,
        })
    }
}

impl Layer for MaxPool2d {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> LayerKind {
        LayerKind::MaxPool {
            k: self.geom.k,
            stride: self.geom.stride,
        }
    }
    /// `[N, C, H, W] → [N, C, pool_out(H), pool_out(W)]`.
    fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        tape.max_pool2d(x, self.geom)
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let &[c, h, w] = input else {
            return Err(invalid(
                "input",
                format!("{}: expected [C, H, W], got {input:?}", self.name),
            ));
        };
        match (pool_out(h, self.geom), pool_out(w, self.geom)) {
            (Some(ho), Some(wo)) => Ok(vec![c, ho, wo]),
            _ => Err(invalid(
                "depth",
                format!("{}: a {0}x{0} window does not fit {h}x{w}", self.geom.k),
            )),
        }
    }
}

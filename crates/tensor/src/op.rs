//! The closed set of primitive ops recorded on the tape.

use crate::{ConvGeom, NodeId, PoolGeom};

/// A primitive op and the nodes it reads. Everything else (mean, flatten, linear layers)
/// is composed from these. `Op::inputs` is the only place that lists each variant's inputs.
#[derive(Clone, Debug)]
pub enum Op {
    /// A value fed in from outside: a parameter, a variable, or a constant such as images.
    Leaf,
    /// `a + b`, same shapes.
    Add(NodeId, NodeId),
    /// `a − b`, same shapes.
    Sub(NodeId, NodeId),
    /// `a ⊙ b`, same shapes.
    Mul(NodeId, NodeId),
    /// `s · a` for a fixed scalar `s`.
    Scale(NodeId, f32),
    /// `x + b` with `b` of shape `[C]` broadcast over every axis of `x` except axis 1.
    BiasAdd(NodeId, NodeId),
    /// Matrix product `[m, k] · [k, n]`.
    MatMul(NodeId, NodeId),
    /// Matrix transpose `[m, n] → [n, m]`.
    Transpose(NodeId),
    /// Sum of every element, giving a scalar (shape `[]`).
    Sum(NodeId),
    /// Same data, new shape (row-major order).
    Reshape(NodeId),
    /// `max(x, 0)`, with relu′(0) = 0.
    Relu(NodeId),
    /// PReLU (He et al. eq. 1): `x` if `x > 0` else `a_c · x`, slope per channel (axis 1)
    /// or one shared slope.
    Prelu(NodeId, NodeId),
    /// 2-D convolution of `x [N, C, H, W]` by `w [Co, C, kh, kw]` plus bias `b [Co]`,
    /// followed by `max(·, 0)` when `relu` (the rectifier fused into the output pass).
    Conv2d {
        /// The input.
        x: NodeId,
        /// The weight.
        w: NodeId,
        /// The bias.
        b: NodeId,
        /// Stride and padding.
        geom: ConvGeom,
        /// Whether the rectifier is fused in.
        relu: bool,
    },
    /// Max-pool over square windows; saves the argmax of each window.
    MaxPool2d(NodeId, PoolGeom),
    /// Mean over the batch of `−log softmax(logits)[label]`; saves the softmax.
    SoftmaxCrossEntropy(NodeId),
    /// Inverted dropout: multiplies by a saved mask of `0` or `1/(1−p)`.
    Dropout(NodeId),
}

impl Op {
    /// The nodes this op reads, in order.
    pub fn inputs(&self) -> Vec<NodeId> {
        match *self {
            Op::Leaf => vec![],
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::MatMul(a, b) => vec![a, b],
            Op::BiasAdd(x, b) | Op::Prelu(x, b) => vec![x, b],
            Op::Conv2d { x, w, b, .. } => vec![x, w, b],
            Op::Scale(a, _)
            | Op::Transpose(a)
            | Op::Sum(a)
            | Op::Reshape(a)
            | Op::Relu(a)
            | Op::MaxPool2d(a, _)
            | Op::SoftmaxCrossEntropy(a)
            | Op::Dropout(a) => vec![a],
        }
    }
}

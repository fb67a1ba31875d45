//! The append-only tape: nodes, handles, and the forward side of every op.

use crate::kernels::{conv, elementwise, loss, pool};
use crate::profile::{forward_kind, Profile};
use crate::shape::{assert_same_shape, dims2};
use crate::{ConvGeom, Op, PoolGeom, Tensor};
use ndarray::{Array, Ix1, Ix2, Ix4};
use rand::{Rng, RngCore};
use std::time::Instant;

/// A handle to a tensor recorded on a [`Tape`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The node's position on its tape (creation order).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Which parameter of a model a tape node holds: its position in the model's own fixed
/// parameter order. The optimizer finds each parameter's gradient by it, without names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub usize);

/// What an op keeps from its forward pass for its backward (inputs' values are on the tape).
#[derive(Clone, Debug, Default)]
pub(crate) enum Saved {
    #[default]
    Nothing,
    /// Max-pool: each output's argmax inside its image.
    Argmax(Vec<u32>),
    /// Cross-entropy: the softmax and the labels.
    Softmax(ndarray::Array2<f32>, Vec<usize>),
    /// Dropout: the scaled keep-mask.
    Mask(Tensor),
}

/// One recorded tensor: the op that made it, its value and what its backward needs.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) op: Op,
    pub(crate) value: Tensor,
    pub(crate) saved: Saved,
    pub(crate) requires_grad: bool,
}

/// Whether a tape records ops for a backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Record ops and what their backward needs.
    Train,
    /// Evaluation: keep values only; nothing is recorded for backward and dropout is off.
    Eval,
}

/// An append-only record of whole-tensor ops. Parameters live outside the tape and are
/// fed in with [`Tape::param`] at the start of each step; a fresh tape is used per step.
#[derive(Debug)]
pub struct Tape {
    pub(crate) nodes: Vec<Node>,
    mode: Mode,
    params: Vec<(ParamId, NodeId)>,
    pub(crate) profile: Option<Profile>,
}

impl Default for Tape {
    fn default() -> Self {
        Self::new()
    }
}

impl Tape {
    /// An empty tape in training mode.
    pub fn new() -> Self {
        Self::with_mode(Mode::Train)
    }

    /// An empty tape in the given mode.
    pub fn with_mode(mode: Mode) -> Self {
        Self {
            nodes: Vec::new(),
            mode,
            params: Vec::new(),
            profile: None,
        }
    }

    /// This tape's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Starts timing every op by kind (see [`Tape::profile`]).
    pub fn enable_profiling(&mut self) {
        self.profile = Some(Profile::default());
    }

    /// Seconds spent in each kind of forward op so far, if profiling.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The value of a recorded tensor.
    pub fn value(&self, id: NodeId) -> &Tensor {
        &self.nodes[id.0].value
    }

    /// The op that produced a node.
    pub fn op(&self, id: NodeId) -> &Op {
        &self.nodes[id.0].op
    }

    /// The parameters fed in so far, with their ids, in the order they were fed.
    pub fn params(&self) -> &[(ParamId, NodeId)] {
        &self.params
    }

    /// Records a node whose forward started at `t0`.
    fn push(&mut self, op: Op, value: Tensor, saved: Saved, t0: Instant) -> NodeId {
        if let Some(p) = self.profile.as_mut() {
            p.add(forward_kind(&op), t0.elapsed().as_secs_f64());
        }
        let train = self.mode == Mode::Train;
        let requires_grad = train && op.inputs().iter().any(|i| self.nodes[i.0].requires_grad);
        let (op, saved) = if train {
            (op, saved)
        } else {
            (Op::Leaf, Saved::Nothing)
        };
        self.nodes.push(Node {
            op,
            value,
            saved,
            requires_grad,
        });
        NodeId(self.nodes.len() - 1)
    }

    fn leaf(&mut self, value: Tensor, requires_grad: bool) -> NodeId {
        let requires_grad = requires_grad && self.mode == Mode::Train;
        self.nodes.push(Node {
            op: Op::Leaf,
            value,
            saved: Saved::Nothing,
            requires_grad,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// A value that needs no gradient (input images, targets).
    pub fn constant(&mut self, value: Tensor) -> NodeId {
        self.leaf(value, false)
    }

    /// A value whose gradient [`Tape::backward`] returns.
    pub fn var(&mut self, value: Tensor) -> NodeId {
        self.leaf(value, true)
    }

    /// The model's parameter `param` (a copy of `value`), listed by [`Tape::params`].
    pub fn param(&mut self, param: ParamId, value: &Tensor) -> NodeId {
        let id = self.var(value.clone());
        self.params.push((param, id));
        id
    }

    fn v(&self, id: NodeId) -> &Tensor {
        &self.nodes[id.0].value
    }

    /// `a + b` (same shapes).
    #[track_caller]
    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let t0 = Instant::now();
        assert_same_shape("add", self.v(a), self.v(b));
        let y = self.v(a) + self.v(b);
        self.push(Op::Add(a, b), y, Saved::Nothing, t0)
    }

    /// `a − b` (same shapes).
    #[track_caller]
    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let t0 = Instant::now();
        assert_same_shape("sub", self.v(a), self.v(b));
        let y = self.v(a) - self.v(b);
        self.push(Op::Sub(a, b), y, Saved::Nothing, t0)
    }

    /// `a ⊙ b` (same shapes).
    #[track_caller]
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let t0 = Instant::now();
        assert_same_shape("mul", self.v(a), self.v(b));
        let y = self.v(a) * self.v(b);
        self.push(Op::Mul(a, b), y, Saved::Nothing, t0)
    }

    /// `s · a`.
    pub fn scale(&mut self, a: NodeId, s: f32) -> NodeId {
        let t0 = Instant::now();
        let y = self.v(a) * s;
        self.push(Op::Scale(a, s), y, Saved::Nothing, t0)
    }

    /// `x + b`, with `b [C]` broadcast over every axis of `x [N, C, ...]` but axis 1.
    #[track_caller]
    pub fn bias_add(&mut self, x: NodeId, b: NodeId) -> NodeId {
        let t0 = Instant::now();
        let (xv, bv) = (self.v(x), self.v(b));
        assert!(
            xv.ndim() >= 2 && bv.ndim() == 1 && xv.shape()[1] == bv.len(),
            "bias_add: x {:?} vs bias {:?}",
            xv.shape(),
            bv.shape()
        );
        let mut shape = vec![1; xv.ndim()];
        shape[1] = bv.len();
        let y = xv
            + &bv
                .view()
                .into_shape_with_order(shape)
                .expect("bias reshape");
        self.push(Op::BiasAdd(x, b), y, Saved::Nothing, t0)
    }

    /// Matrix product `a [m, k] · b [k, n]`.
    #[track_caller]
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let t0 = Instant::now();
        let ((m, k), (k2, n)) = (dims2("matmul", self.v(a)), dims2("matmul", self.v(b)));
        assert!(k == k2, "matmul: lhs [{m}, {k}] vs rhs [{k2}, {n}]");
        let a2 = self
            .v(a)
            .view()
            .into_dimensionality::<Ix2>()
            .expect("rank 2");
        let b2 = self
            .v(b)
            .view()
            .into_dimensionality::<Ix2>()
            .expect("rank 2");
        let y = a2.dot(&b2).into_dyn();
        self.push(Op::MatMul(a, b), y, Saved::Nothing, t0)
    }

    /// Matrix transpose.
    #[track_caller]
    pub fn transpose(&mut self, a: NodeId) -> NodeId {
        let t0 = Instant::now();
        dims2("transpose", self.v(a));
        let y = self.v(a).t().as_standard_layout().into_owned();
        self.push(Op::Transpose(a), y, Saved::Nothing, t0)
    }

    /// Sum of all elements (a scalar of shape `[]`).
    pub fn sum(&mut self, a: NodeId) -> NodeId {
        let t0 = Instant::now();
        let y = Array::from_elem(vec![], self.v(a).sum());
        self.push(Op::Sum(a), y, Saved::Nothing, t0)
    }

    /// Mean of all elements, composed as `sum · 1/len`.
    pub fn mean(&mut self, a: NodeId) -> NodeId {
        let n = self.v(a).len().max(1) as f32;
        let s = self.sum(a);
        self.scale(s, 1.0 / n)
    }

    /// The same data with a new shape of equal length.
    #[track_caller]
    pub fn reshape(&mut self, a: NodeId, shape: &[usize]) -> NodeId {
        let t0 = Instant::now();
        let v = self.v(a);
        assert!(
            v.len() == shape.iter().product::<usize>(),
            "reshape: {:?} vs {shape:?}",
            v.shape()
        );
        let y = v
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(shape.to_vec())
            .expect("reshape");
        self.push(Op::Reshape(a), y, Saved::Nothing, t0)
    }

    /// `[N, ...] → [N, rest]`.
    pub fn flatten(&mut self, a: NodeId) -> NodeId {
        let n = self.v(a).shape().first().copied().unwrap_or(1);
        let rest = self.v(a).len() / n.max(1);
        self.reshape(a, &[n, rest])
    }

    /// The rectifier `max(x, 0)`.
    pub fn relu(&mut self, x: NodeId) -> NodeId {
        let t0 = Instant::now();
        let y = elementwise::unary_forward::<elementwise::Relu>(self.v(x).view());
        self.push(Op::Relu(x), y, Saved::Nothing, t0)
    }

    /// PReLU (eq. 1) with slopes `a [C]` (channel-wise, along axis 1) or `a [1]` (shared).
    pub fn prelu(&mut self, x: NodeId, a: NodeId) -> NodeId {
        let t0 = Instant::now();
        let y = elementwise::prelu_forward(self.v(x).view(), self.v(a).view());
        self.push(Op::Prelu(x, a), y, Saved::Nothing, t0)
    }

    /// Convolution of `x [N, C, H, W]` by `w [Co, C, kh, kw]` plus `b [Co]`; output
    /// `[N, Co, Ho, Wo]` with `Ho = conv_out(H, kh, geom)`.
    #[track_caller]
    pub fn conv2d(&mut self, x: NodeId, w: NodeId, b: NodeId, geom: ConvGeom) -> NodeId {
        self.conv2d_op(x, w, b, geom, false)
    }

    /// `relu(conv2d(x, w, b))` as one op: the rectifier is applied as the convolution writes
    /// its output, and its mask in the backward; the same numbers as the two ops, bit for
    /// bit, without the pre-activation tensor or a pass over it.
    #[track_caller]
    pub fn conv2d_relu(&mut self, x: NodeId, w: NodeId, b: NodeId, geom: ConvGeom) -> NodeId {
        self.conv2d_op(x, w, b, geom, true)
    }

    #[track_caller]
    fn conv2d_op(&mut self, x: NodeId, w: NodeId, b: NodeId, geom: ConvGeom, relu: bool) -> NodeId {
        let t0 = Instant::now();
        let xv = self.v(x).view().into_dimensionality::<Ix4>();
        let wv = self.v(w).view().into_dimensionality::<Ix4>();
        let bv = self.v(b).view().into_dimensionality::<Ix1>();
        let (Ok(xv), Ok(wv), Ok(bv)) = (xv, wv, bv) else {
            panic!(
                "conv2d: x {:?}, w {:?}, b {:?}",
                self.v(x).shape(),
                self.v(w).shape(),
                self.v(b).shape()
            );
        };
        let y = conv::conv2d_forward_act(xv, wv, bv, geom, relu).into_dyn();
        let op = Op::Conv2d {
            x,
            w,
            b,
            geom,
            relu,
        };
        self.push(op, y, Saved::Nothing, t0)
    }

    /// Max-pool of `x [N, C, H, W]` to `[N, C, pool_out(H), pool_out(W)]`.
    #[track_caller]
    pub fn max_pool2d(&mut self, x: NodeId, geom: PoolGeom) -> NodeId {
        let t0 = Instant::now();
        let Ok(xv) = self.v(x).view().into_dimensionality::<Ix4>() else {
            panic!("max_pool2d: expected NCHW, got {:?}", self.v(x).shape());
        };
        let (y, arg) = pool::max_pool2d_forward(xv, geom);
        self.push(Op::MaxPool2d(x, geom), y.into_dyn(), Saved::Argmax(arg), t0)
    }

    /// Mean softmax cross-entropy of `logits [N, K]` against `labels` (a scalar).
    #[track_caller]
    pub fn softmax_cross_entropy(&mut self, logits: NodeId, labels: &[usize]) -> NodeId {
        let t0 = Instant::now();
        dims2("softmax_cross_entropy", self.v(logits));
        let z = self
            .v(logits)
            .view()
            .into_dimensionality::<Ix2>()
            .expect("rank 2");
        let (l, probs) = loss::softmax_cross_entropy(z, labels);
        let saved = Saved::Softmax(probs, labels.to_vec());
        self.push(
            Op::SoftmaxCrossEntropy(logits),
            Array::from_elem(vec![], l),
            saved,
            t0,
        )
    }

    /// Inverted dropout with drop probability `p`, masks drawn from `rng`; the identity in
    /// evaluation mode.
    pub fn dropout(&mut self, x: NodeId, p: f32, rng: &mut dyn RngCore) -> NodeId {
        let t0 = Instant::now();
        assert!((0.0..1.0).contains(&p), "dropout: p = {p} outside [0, 1)");
        if self.mode == Mode::Eval || p == 0.0 {
            return x;
        }
        let keep = 1.0 / (1.0 - p);
        let mask = self
            .v(x)
            .mapv(|_| if rng.random::<f32>() < p { 0.0 } else { keep });
        let y = self.v(x) * &mask;
        self.push(Op::Dropout(x), y, Saved::Mask(mask), t0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arr;

    #[test]
    fn eval_mode_records_no_ops_and_no_gradients() {
        let mut tape = Tape::with_mode(Mode::Eval);
        let x = tape.var(arr(&[2], &[1.0, -1.0]));
        let y = tape.relu(x);
        assert!(matches!(tape.op(y), Op::Leaf));
        assert_eq!(tape.value(y).as_slice().unwrap(), &[1.0, 0.0]);
        assert!(!tape.nodes[y.0].requires_grad);
    }

    #[test]
    #[should_panic(expected = "matmul: lhs [2, 3] vs rhs [2, 3]")]
    fn matmul_shape_mismatch_names_both_shapes() {
        let mut tape = Tape::new();
        let a = tape.var(Tensor::zeros(vec![2, 3]));
        let b = tape.var(Tensor::zeros(vec![2, 3]));
        tape.matmul(a, b);
    }

    #[test]
    #[should_panic(expected = "add: lhs [2] vs rhs [3]")]
    fn add_shape_mismatch_names_both_shapes() {
        let mut tape = Tape::new();
        let a = tape.var(Tensor::zeros(vec![2]));
        let b = tape.var(Tensor::zeros(vec![3]));
        tape.add(a, b);
    }
}

//! Reverse-mode sweep over the tape: every op's backward, in one `match`.

use crate::kernels::{conv, elementwise, loss, pool};
use crate::profile::{backward_kind, timed};
use crate::tape::{Node, Saved};
use crate::Profile;
use crate::{NodeId, Op, Tape, Tensor};
use ndarray::{Array, Axis, Ix1, Ix2, Ix4};
use std::time::Instant;

/// Gradients of one backward pass, indexed by node. Kept for leaves (parameters and
/// variables) and for nodes passed to [`Tape::backward_retaining`]; intermediate gradients
/// are dropped as soon as they have been propagated.
#[derive(Debug, Default)]
pub struct Grads {
    grads: Vec<Option<Tensor>>,
    profile: Option<Profile>,
}

impl Grads {
    /// `∂L/∂node`, if the node takes part in the loss and its gradient was kept.
    pub fn get(&self, id: NodeId) -> Option<&Tensor> {
        self.grads.get(id.0).and_then(|g| g.as_ref())
    }

    /// Seconds spent in each kind of backward op, if the tape was profiling.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// Moves a gradient out of the store.
    pub fn take(&mut self, id: NodeId) -> Option<Tensor> {
        self.grads.get_mut(id.0).and_then(|g| g.take())
    }
}

impl Tape {
    /// Gradients of the scalar `loss` with respect to every variable and parameter.
    #[track_caller]
    pub fn backward(&self, loss: NodeId) -> Grads {
        assert!(
            self.value(loss).len() == 1,
            "backward: loss must be a scalar, got shape {:?}",
            self.value(loss).shape()
        );
        let seed = Tensor::ones(self.value(loss).raw_dim());
        self.backward_from(loss, seed, &[])
    }

    /// Like [`Tape::backward`], also keeping the gradients of the listed intermediate nodes.
    pub fn backward_retaining(&self, loss: NodeId, retain: &[NodeId]) -> Grads {
        let seed = Tensor::ones(self.value(loss).raw_dim());
        self.backward_from(loss, seed, retain)
    }

    /// Vector-Jacobian product: propagates `seed = ∂L/∂out` from any node `out` back to the
    /// leaves (and to the `retain`ed nodes).
    #[track_caller]
    pub fn backward_from(&self, out: NodeId, seed: Tensor, retain: &[NodeId]) -> Grads {
        assert!(
            seed.shape() == self.value(out).shape(),
            "backward_from: seed {:?} vs output {:?}",
            seed.shape(),
            self.value(out).shape()
        );
        let mut grads: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        let mut profile = self.profile.as_ref().map(|_| Profile::default());
        grads[out.0] = Some(seed);
        let mut keep = vec![false; self.nodes.len()];
        for r in retain {
            keep[r.0] = true;
        }
        for i in (0..=out.0).rev() {
            let node = &self.nodes[i];
            if matches!(node.op, Op::Leaf) || !node.requires_grad {
                continue;
            }
            let Some(g) = grads[i].take() else { continue };
            let t0 = Instant::now();
            // A retained gradient is kept as it came; the sweep may reuse its own copy.
            let retained = keep[i].then(|| g.clone());
            let input_grads = self.input_grads(node, g, &mut profile);
            if let (Some(p), Some(kind)) = (profile.as_mut(), backward_kind(&node.op)) {
                p.add(kind, t0.elapsed().as_secs_f64());
            }
            for (input, gi) in input_grads {
                if self.nodes[input.0].requires_grad {
                    accumulate(&mut grads[input.0], gi);
                }
            }
            if let Some(g) = retained {
                grads[i] = Some(g);
            }
        }
        Grads { grads, profile }
    }

    fn needs(&self, id: NodeId) -> bool {
        self.nodes[id.0].requires_grad
    }

    /// The gradient each input of `node` receives from `g = ∂L/∂node` (owned, so an op
    /// may overwrite it rather than allocate).
    fn input_grads(
        &self,
        node: &Node,
        owned: Tensor,
        profile: &mut Option<Profile>,
    ) -> Vec<(NodeId, Tensor)> {
        let g = &owned;
        let v = |id: NodeId| &self.nodes[id.0].value;
        match (&node.op, &node.saved) {
            (Op::Leaf, _) => vec![],
            (&Op::Add(a, b), _) => {
                // ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
                vec![(a, g.clone()), (b, g.clone())]
            }
            (&Op::Sub(a, b), _) => {
                // ∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1
                vec![(a, g.clone()), (b, -g)]
            }
            (&Op::Mul(a, b), _) => {
                // ∂(a⊙b)/∂a = b, ∂(a⊙b)/∂b = a
                vec![(a, g * v(b)), (b, g * v(a))]
            }
            (&Op::Scale(a, s), _) => {
                // ∂(s·a)/∂a = s
                vec![(a, g * s)]
            }
            (&Op::BiasAdd(x, b), _) => {
                // ∂/∂x = 1; ∂/∂b_c = Σ over every axis but the channel axis
                vec![(x, g.clone()), (b, sum_to_channels(g))]
            }
            (&Op::MatMul(a, b), _) => {
                // ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G
                let g2 = g
                    .view()
                    .into_dimensionality::<Ix2>()
                    .expect("matmul grad rank");
                let a2 = v(a).view().into_dimensionality::<Ix2>().expect("rank 2");
                let b2 = v(b).view().into_dimensionality::<Ix2>().expect("rank 2");
                let mut out = vec![];
                if self.needs(a) {
                    out.push((a, g2.dot(&b2.t()).into_dyn()));
                }
                if self.needs(b) {
                    out.push((b, a2.t().dot(&g2).into_dyn()));
                }
                out
            }
            (&Op::Transpose(a), _) => {
                // ∂L/∂A = Gᵀ
                vec![(a, g.t().as_standard_layout().into_owned())]
            }
            (&Op::Sum(a), _) => {
                // ∂(Σa)/∂a_i = 1
                let s = *g.first().expect("scalar grad");
                vec![(a, Tensor::from_elem(v(a).raw_dim(), s))]
            }
            (&Op::Reshape(a), _) => {
                // reshape is a permutation-free relabelling: the gradient takes a's shape
                let ga = g
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order(v(a).raw_dim())
                    .expect("reshape grad");
                vec![(a, ga)]
            }
            (&Op::Relu(x), _) => {
                // ∂relu(x)/∂x = 1[x > 0]; reads x and the output
                let dx = elementwise::unary_backward::<elementwise::Relu>(
                    v(x).view(),
                    node.value.view(),
                    g.view(),
                );
                vec![(x, dx)]
            }
            (&Op::Prelu(x, a), _) => {
                // ∂f/∂x = 1[x>0] + a·1[x≤0]; ∂f/∂a_c = Σ_{x≤0} x (eq. 2, 3)
                let (dx, da) = elementwise::prelu_backward(v(x).view(), v(a).view(), g.view());
                vec![(x, dx), (a, da)]
            }
            (
                &Op::Conv2d {
                    x,
                    w,
                    b,
                    geom,
                    relu,
                },
                _,
            ) => {
                // ∂L/∂x = col2im(Wᵀ·dZ), ∂L/∂W = Σ_n dZ_n·cols_nᵀ, ∂L/∂b = Σ dZ, where
                // dZ = dY ⊙ 1[y > 0] with the rectifier fused (y > 0 ⇔ z > 0), else dY;
                // reads x, W (and the output y)
                let mut gz = owned;
                if relu {
                    elementwise::relu_mask_in_place(&mut gz, node.value.view());
                }
                let gy = gz
                    .view()
                    .into_dimensionality::<Ix4>()
                    .expect("conv grad rank");
                let xv = v(x).view().into_dimensionality::<Ix4>().expect("rank 4");
                let wv = v(w).view().into_dimensionality::<Ix4>().expect("rank 4");
                let mut out = vec![];
                if self.needs(x) {
                    let dims = [xv.dim().0, xv.dim().1, xv.dim().2, xv.dim().3];
                    let dx = timed(profile.as_mut(), "conv backward-data", || {
                        conv::conv2d_backward_input(gy, wv, dims, geom)
                    });
                    out.push((x, dx.into_dyn()));
                }
                if self.needs(w) || self.needs(b) {
                    let (dw, db) = timed(profile.as_mut(), "conv backward-weights", || {
                        conv::conv2d_backward_weight(gy, xv, (wv.dim().2, wv.dim().3), geom)
                    });
                    out.push((w, dw.into_dyn()));
                    out.push((b, db.into_dyn()));
                }
                out
            }
            (&Op::MaxPool2d(x, _), Saved::Argmax(arg)) => {
                // ∂max/∂x_i = 1 for the window's argmax, 0 elsewhere; reads the saved argmax
                let gy = g
                    .view()
                    .into_dimensionality::<Ix4>()
                    .expect("pool grad rank");
                let s = v(x).shape();
                vec![(
                    x,
                    pool::max_pool2d_backward(gy, arg, [s[0], s[1], s[2], s[3]]).into_dyn(),
                )]
            }
            (&Op::SoftmaxCrossEntropy(z), Saved::Softmax(probs, labels)) => {
                // ∂L/∂z = (softmax(z) − onehot(label)) / N; reads the saved softmax
                let s = *g.first().expect("scalar grad");
                vec![(
                    z,
                    loss::softmax_cross_entropy_backward(probs, labels, s).into_dyn(),
                )]
            }
            (&Op::Dropout(x), Saved::Mask(mask)) => {
                // ∂(x⊙m)/∂x = m; reads the saved mask
                vec![(x, g * mask)]
            }
            (op, saved) => panic!("backward: op {op:?} recorded without its saved state {saved:?}"),
        }
    }
}

/// Adds `g` into a gradient slot (a tensor used twice gets both contributions).
fn accumulate(slot: &mut Option<Tensor>, g: Tensor) {
    match slot {
        Some(acc) => {
            assert!(
                acc.shape() == g.shape(),
                "accumulate: grad {:?} vs {:?}",
                acc.shape(),
                g.shape()
            );
            *acc += &g;
        }
        None => *slot = Some(g),
    }
}

/// Un-broadcasts a bias gradient: sums `g [N, C, ...]` over every axis except axis 1.
fn sum_to_channels(g: &Tensor) -> Tensor {
    let (n, c) = (g.shape()[0], g.shape()[1]);
    let g3 = g.as_standard_layout();
    let g3 = g3
        .view()
        .into_shape_with_order((n, c, g.len() / (n * c).max(1)))
        .expect("bias grad");
    let out: Array<f32, Ix1> = g3.sum_axis(Axis(2)).sum_axis(Axis(0));
    out.into_dyn()
}

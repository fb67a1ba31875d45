//! SGD with momentum and weight decay on weights only.

use crate::{ParamKind, Sequential};
use tensor::{Grads, Tape, Tensor};

/// Hyper-parameters of [`Sgd`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate ε.
    pub lr: f32,
    /// Momentum μ.
    pub momentum: f32,
    /// L2 weight decay, applied to [`ParamKind::Weight`] only.
    pub weight_decay: f32,
}

/// SGD with momentum (He et al. eq. 4, in PyTorch's form):
/// `v ← μ·v + (g + λ·w)`, `w ← w − ε·v`, with `λ = 0` for biases and PReLU slopes.
#[derive(Debug)]
pub struct Sgd {
    /// Hyper-parameters; `lr` may be changed between steps by a schedule.
    pub cfg: SgdConfig,
    velocity: Vec<Tensor>,
}

impl Sgd {
    /// An optimizer with zero velocity.
    pub fn new(cfg: SgdConfig) -> Self {
        Self {
            cfg,
            velocity: vec![],
        }
    }

    /// The momentum buffers, in parameter order (empty before the first step).
    pub fn velocity(&self) -> &[Tensor] {
        &self.velocity
    }

    /// Replaces the momentum buffers (from a checkpoint); empty means "before the first step".
    pub fn restore_velocity(&mut self, velocity: Vec<Tensor>) {
        self.velocity = velocity;
    }

    /// Updates every parameter of `net` from the gradients of the tape's parameter nodes.
    /// A parameter the loss does not reach gets a zero gradient (weight decay still acts).
    pub fn step(&mut self, net: &mut Sequential, tape: &Tape, grads: &Grads) {
        let mut params = net.params_mut();
        // Each parameter's node on the tape, by its id (its position in net order).
        let mut nodes = vec![None; params.len()];
        for &(p, id) in tape.params() {
            nodes[p.0] = Some(id);
        }
        if self.velocity.is_empty() {
            self.velocity = params
                .iter()
                .map(|p| Tensor::zeros(p.value.raw_dim()))
                .collect();
        }
        assert_eq!(
            self.velocity.len(),
            params.len(),
            "sgd: {} buffers vs {} parameters",
            self.velocity.len(),
            params.len()
        );
        let SgdConfig {
            lr,
            momentum,
            weight_decay,
        } = self.cfg;
        for ((p, v), node) in params.iter_mut().zip(&mut self.velocity).zip(nodes) {
            let decay = if p.kind == ParamKind::Weight {
                weight_decay
            } else {
                0.0
            };
            let g = node.and_then(|id| grads.get(id));
            match g {
                Some(g) => ndarray::Zip::from(&mut *v)
                    .and(&p.value)
                    .and(g)
                    .for_each(|v, &w, &g| *v = momentum * *v + g + decay * w),
                None => ndarray::Zip::from(&mut *v)
                    .and(&p.value)
                    .for_each(|v, &w| *v = momentum * *v + decay * w),
            }
            p.value.scaled_add(-lr, v);
        }
    }
}

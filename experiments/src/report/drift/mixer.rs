//! Nets that mix a run's initial draw and its trained parameters: which of them (the
//! weights or the biases, one layer or all of them) moved the first layer's gradient.

use super::{LayerDrift, Mixed};
use crate::run::step;
use crate::spec::RunSpec;
use anyhow::Result;
use layers::{ParamKind, Sequential};
use tensor::Tensor;

/// Nets that mix a run's initial draw and its checkpoint, measured on one batch.
pub(super) struct Mixer<'a> {
    pub spec: &'a RunSpec,
    pub now: &'a Sequential,
    pub decay: f64,
    pub x: &'a Tensor,
    pub labels: &'a [usize],
}

impl Mixer<'_> {
    /// The first layer's gradient norm in the net as drawn, with weight layer `l`'s
    /// weights (0-based) taken from the checkpoint where `trained(l)` and else scaled by
    /// `decay`, and its other parameters taken from the checkpoint where `rest` (else as
    /// drawn).
    fn grad(&self, decay: f64, trained: &dyn Fn(usize) -> bool, rest: bool) -> Result<f64> {
        let mut net = self.spec.build_net()?;
        let mut l = 0;
        for (p, q) in net.params_mut().into_iter().zip(self.now.params()) {
            if p.kind == ParamKind::Weight {
                match trained(l) {
                    true => p.value.assign(&q.value),
                    false => p.value.mapv_inplace(|w| (w as f64 * decay) as f32),
                }
                l += 1;
            } else if rest {
                p.value.assign(&q.value);
            }
        }
        let (step, _, _) = step::gradients(&net, self.x.clone(), self.labels, false)
            .map_err(|loss| anyhow::anyhow!("a mixed net's loss is {loss}"))?;
        Ok(step.grad_norm_first)
    }

    /// The five nets of [`Mixed`].
    pub fn mixed(&self) -> Result<Mixed> {
        let (all, none) = (|_| true, |_| false);
        Ok(Mixed {
            init: self.grad(1.0, &none, false)?,
            decay_alone: self.grad(self.decay, &none, false)?,
            biases: self.grad(self.decay, &none, true)?,
            weights: self.grad(self.decay, &all, false)?,
            checkpoint: self.grad(self.decay, &all, true)?,
        })
    }

    /// For each weight layer, the gradient with only its weights trained and with all
    /// weights trained but its own (the rest as decay alone left them, biases as drawn),
    /// as multiples of `decay_alone`.
    pub fn per_layer(&self, layers: &mut [LayerDrift], decay_alone: f64) -> Result<()> {
        for (l, row) in layers.iter_mut().enumerate() {
            row.alone = self.grad(self.decay, &|k| k == l, false)? / decay_alone;
            row.all_but = self.grad(self.decay, &|k| k != l, false)? / decay_alone;
        }
        Ok(())
    }
}

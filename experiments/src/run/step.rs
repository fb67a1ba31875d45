//! The training step: forward, loss, backward and the SGD update, on one mini-batch.

use layers::{Sequential, Sgd};
use tensor::{Grads, ParamId, Profile, Tape, Tensor};

/// What one training step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The mini-batch's mean cross-entropy, before the update.
    pub loss: f32,
    /// L2 norm of the loss gradient of the first weight layer's weight.
    pub grad_norm_first: f64,
    /// L2 norm of the loss gradient of the last weight layer's weight.
    pub grad_norm_last: f64,
}

/// L2 norm, accumulated in f64.
pub fn l2_norm(t: &Tensor) -> f64 {
    t.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt()
}

/// One SGD step of `net` on the batch `x [N, C, H, W]` with `labels`. Returns `Err(loss)`
/// without touching the net if the loss is not finite (the run diverged). With `profile`,
/// adds the step's time per op kind to it.
pub fn train_step(
    net: &mut Sequential,
    sgd: &mut Sgd,
    x: Tensor,
    labels: &[usize],
    profile: Option<&mut Profile>,
) -> Result<Step, f32> {
    let (step, tape, grads) = gradients(net, x, labels, profile.is_some())?;
    let t0 = std::time::Instant::now();
    sgd.step(net, &tape, &grads);
    if let Some(p) = profile {
        p.merge(tape.profile().expect("profiling"));
        p.merge(grads.profile().expect("profiling"));
        p.add("optimizer", t0.elapsed().as_secs_f64());
    }
    Ok(step)
}

/// The loss and its gradients of `net` on the batch `x` with `labels`, without updating
/// anything: what a training step measures before its update (`Err(loss)` if the loss is
/// not finite). `profile` records the tape's time per op kind.
pub fn gradients(
    net: &Sequential,
    x: Tensor,
    labels: &[usize],
    profile: bool,
) -> Result<(Step, Tape, Grads), f32> {
    let mut tape = Tape::new();
    if profile {
        tape.enable_profiling();
    }
    let xin = tape.constant(x);
    let logits = net.forward(&mut tape, xin);
    let loss_id = tape.softmax_cross_entropy(logits, labels);
    let loss = *tape.value(loss_id).first().expect("the loss is a scalar");
    if !loss.is_finite() {
        return Err(loss);
    }
    let grads = tape.backward(loss_id);
    // The nodes of the first and last weights, found by their ids (net order).
    let weights: Vec<ParamId> = net.weights().iter().map(|p| p.id).collect();
    let norm = |id: Option<&ParamId>| {
        let node = id.and_then(|&id| tape.params().iter().find(|(p, _)| *p == id));
        node.and_then(|&(_, n)| grads.get(n)).map_or(0.0, l2_norm)
    };
    let step = Step {
        loss,
        grad_norm_first: norm(weights.first()),
        grad_norm_last: norm(weights.last()),
    };
    Ok((step, tape, grads))
}

//! The net's side of data-dependent initialization: [`init::Calibrate`] for a net and one
//! batch, so that an initializer such as LSUV can measure each weight layer's output and
//! scale its weights, layer by layer in net order.

use crate::{ParamKind, Sequential};
use tensor::{Mode, Tape, Tensor};

/// A net being calibrated on a batch `x [N, C, H, W]`. The signal entering the current
/// weight layer is kept, so calibrating layer after layer costs one pass in all.
pub struct Calibration<'a> {
    net: &'a mut Sequential,
    /// Index in the net's layers of each weight layer.
    weight_layers: Vec<usize>,
    /// The net's input, for a restart.
    x: Tensor,
    /// `(layer index, the signal entering that layer)`.
    at: (usize, Tensor),
}

impl<'a> Calibration<'a> {
    /// `net` with the batch `x` it is calibrated on.
    pub fn new(net: &'a mut Sequential, x: Tensor) -> Self {
        let weight_layers = (0..net.layers().len())
            .filter(|&i| net.layers()[i].fans().is_some())
            .collect();
        Self {
            net,
            weight_layers,
            at: (0, x.clone()),
            x,
        }
    }

    /// The output of layer `i` for the input `h`, in evaluation mode.
    fn through(&self, i: usize, h: &Tensor) -> Tensor {
        let mut tape = Tape::with_mode(Mode::Eval);
        let id = tape.constant(h.clone());
        let y = self.net.layers()[i].forward(&mut tape, id);
        tape.value(y).clone()
    }

    /// The signal entering layer `i`, carried forward from where it was (or from the
    /// input, if `i` is earlier).
    fn input_of(&mut self, i: usize) -> Tensor {
        if i < self.at.0 {
            self.at = (0, self.x.clone());
        }
        while self.at.0 < i {
            let next = self.through(self.at.0, &self.at.1);
            self.at = (self.at.0 + 1, next);
        }
        self.at.1.clone()
    }
}

impl init::Calibrate for Calibration<'_> {
    fn weight_layers(&self) -> usize {
        self.weight_layers.len()
    }

    fn output_variance(&mut self, k: usize) -> f64 {
        let i = self.weight_layers[k];
        let h = self.input_of(i);
        let y = self.through(i, &h);
        let n = y.len().max(1) as f64;
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
        y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n
    }

    fn scale(&mut self, k: usize, factor: f64) {
        let i = self.weight_layers[k];
        if self.at.0 > i {
            self.at = (0, self.x.clone()); // what was carried past layer i is stale
        }
        for p in self.net.layer_params_mut(i) {
            if p.kind == ParamKind::Weight {
                p.value.mapv_inplace(|w| (w as f64 * factor) as f32);
            }
        }
    }
}

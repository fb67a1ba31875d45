//! A named trainable tensor and its kind.

use tensor::Tensor;

/// What a parameter is, so the optimizer can treat kinds differently (weight decay on
/// weights only: never on biases, never on PReLU slopes, as the paper says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Conv or fully connected weights.
    Weight,
    /// Biases.
    Bias,
    /// PReLU negative slopes.
    PreluSlope,
}

/// A trainable tensor with a stable name (`stage2.conv3.weight`).
#[derive(Clone, Debug)]
pub struct Param {
    /// Stable, unique name.
    pub name: String,
    /// What it is.
    pub kind: ParamKind,
    /// Its value.
    pub value: Tensor,
}

impl Param {
    /// A parameter named `{layer}.{suffix}`.
    pub fn new(layer: &str, suffix: &str, kind: ParamKind, value: Tensor) -> Self {
        Self {
            name: format!("{layer}.{suffix}"),
            kind,
            value,
        }
    }
}

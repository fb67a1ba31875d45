//! A named trainable tensor and its kind.

use tensor::{ParamId, Tensor};

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
    /// Its position in its net's parameter order, set by [`crate::Sequential::new`]: how
    /// the tape and the optimizer address it.
    pub id: ParamId,
    /// Stable, unique name, for files and people.
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
            id: ParamId::default(),
            name: format!("{layer}.{suffix}"),
            kind,
            value,
        }
    }
}

//! Optional per-op-kind timing of a tape's forward and backward, for `experiments bench --profile`.

use crate::Op;
use std::time::Instant;

/// Seconds spent per kind of op (`conv forward`, `conv backward-data`, `pooling`, ...),
/// in the order the kinds were first seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// `(kind, seconds)`.
    pub times: Vec<(&'static str, f64)>,
}

impl Profile {
    /// Adds `secs` to `kind`.
    pub fn add(&mut self, kind: &'static str, secs: f64) {
        match self.times.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, t)) => *t += secs,
            None => self.times.push((kind, secs)),
        }
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: &Profile) {
        for &(k, t) in &other.times {
            self.add(k, t);
        }
    }

    /// Total seconds.
    pub fn total(&self) -> f64 {
        self.times.iter().map(|(_, t)| t).sum()
    }
}

/// Runs `f`, adding its duration to `kind` when profiling.
pub(crate) fn timed<T>(
    profile: Option<&mut Profile>,
    kind: &'static str,
    f: impl FnOnce() -> T,
) -> T {
    match profile {
        None => f(),
        Some(p) => {
            let start = Instant::now();
            let out = f();
            p.add(kind, start.elapsed().as_secs_f64());
            out
        }
    }
}

/// The profile kind of an op's forward.
pub(crate) fn forward_kind(op: &Op) -> &'static str {
    match op {
        Op::Conv2d { .. } => "conv forward",
        Op::MaxPool2d(..) => "pooling",
        Op::MatMul(..) => "matmul",
        Op::SoftmaxCrossEntropy(_) => "loss",
        _ => "elementwise",
    }
}

/// The profile kind of an op's backward; `None` for conv, whose arm times its two halves
/// (`conv backward-data`, `conv backward-weights`) itself.
pub(crate) fn backward_kind(op: &Op) -> Option<&'static str> {
    match op {
        Op::Conv2d { .. } => None,
        other => Some(forward_kind(other)),
    }
}

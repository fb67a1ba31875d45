//! Fused log-softmax + cross-entropy, stable for huge logits.

use ndarray::{Array2, ArrayView2, Axis};

/// Mean over the batch of `−log softmax(z)[label]` for logits `z [N, K]`, with the softmax
/// `p [N, K]` that the backward needs. Uses `log Σ exp(z − max) + max`, so logits of 1e4
/// give finite numbers. Panics if a label is out of range or the counts disagree.
pub fn softmax_cross_entropy(logits: ArrayView2<f32>, labels: &[usize]) -> (f32, Array2<f32>) {
    let (n, k) = logits.dim();
    assert!(
        n == labels.len(),
        "softmax_cross_entropy: logits [{n}, {k}] vs {} labels",
        labels.len()
    );
    let mut probs = logits.to_owned();
    let mut total = 0.0f64;
    for (mut row, &label) in probs.axis_iter_mut(Axis(0)).zip(labels) {
        assert!(
            label < k,
            "softmax_cross_entropy: label {label} vs {k} classes"
        );
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| v - max);
        let sum: f64 = row.iter().map(|&v| (v as f64).exp()).sum();
        total += sum.ln() - row[label] as f64;
        row.mapv_inplace(|v| ((v as f64).exp() / sum) as f32);
    }
    ((total / n.max(1) as f64) as f32, probs)
}

/// `∂L/∂z = (p − onehot(label)) / N`, scaled by the upstream scalar gradient `g`.
pub fn softmax_cross_entropy_backward(
    probs: &Array2<f32>,
    labels: &[usize],
    g: f32,
) -> Array2<f32> {
    let n = probs.nrows().max(1) as f32;
    let mut dz = probs.clone();
    for (mut row, &label) in dz.axis_iter_mut(Axis(0)).zip(labels) {
        row[label] -= 1.0;
    }
    dz.mapv_inplace(|v| v * g / n);
    dz
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_a_hand_computed_value() {
        // Row 1: logits (0, ln 2, ln 3) → p = (1/6, 2/6, 3/6), label 2 → −ln(1/2).
        // Row 2: logits (0, 0, 0) → p = 1/3 each, label 0 → ln 3.
        let z = array![[0.0, 2f32.ln(), 3f32.ln()], [0.0, 0.0, 0.0]];
        let (loss, p) = softmax_cross_entropy(z.view(), &[2, 0]);
        let expected = (2f64.ln() + 3f64.ln()) / 2.0;
        assert!(
            (loss as f64 - expected).abs() < 1e-6,
            "{loss} vs {expected}"
        );
        assert!((p[[0, 1]] - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn stable_at_huge_logits() {
        let z = array![[1e4f32, -1e4, 0.0], [1e4, 1e4, 1e4]];
        let (loss, p) = softmax_cross_entropy(z.view(), &[1, 0]);
        assert!(loss.is_finite() && p.iter().all(|v| v.is_finite()));
        // Row 1 puts all mass on class 0: its loss is 2e4; row 2 is ln 3.
        let expected = (2e4 + 3f64.ln()) / 2.0;
        assert!((loss as f64 - expected).abs() < 1.0, "{loss}");
        let dz = softmax_cross_entropy_backward(&p, &[1, 0], 1.0);
        assert!(dz.iter().all(|v| v.is_finite()));
        assert!((dz[[0, 1]] + 0.5).abs() < 1e-6);
    }
}

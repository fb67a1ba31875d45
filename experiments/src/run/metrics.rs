//! The numbers a run is summarised by, computed in one place for the summary, the reports
//! and the figures.

use crate::store::records::{EvalRow, TrainRow};

/// `ln 10`: the cross-entropy of a uniform guess over 10 classes.
pub const CHANCE_LOSS: f64 = std::f64::consts::LN_10;

/// Iterations in the trailing mean of [`tail_loss`].
pub const TAIL: usize = 50;

/// Test error at the last evaluation (NaN without one).
pub fn final_test_error(evals: &[EvalRow]) -> f64 {
    evals.last().map_or(f64::NAN, |e| e.test_error)
}

/// Lowest test error of any evaluation (on the evaluation subset: chosen on test data).
pub fn best_test_error(evals: &[EvalRow]) -> f64 {
    evals
        .iter()
        .map(|e| e.test_error)
        .fold(f64::INFINITY, f64::min)
}

/// The smoothed training loss at the end: the mean of the last [`TAIL`] iterations' losses.
pub fn tail_loss(rows: &[TrainRow]) -> f64 {
    let tail = &rows[rows.len().saturating_sub(TAIL)..];
    tail.iter().map(|t| t.loss as f64).sum::<f64>() / tail.len().max(1) as f64
}

/// Whether every loss of the last `per_epoch` iterations is within 0.05 of ln 10.
pub fn stalled(rows: &[TrainRow], per_epoch: usize) -> bool {
    let last_epoch = &rows[rows.len().saturating_sub(per_epoch)..];
    !last_epoch.is_empty()
        && last_epoch
            .iter()
            .all(|t| (t.loss as f64 - CHANCE_LOSS).abs() < 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: usize, loss: f32) -> TrainRow {
        TrainRow {
            iteration,
            epoch: 0.0,
            loss,
            lr: 0.001,
            grad_norm_first: 0.0,
            grad_norm_last: 0.0,
        }
    }

    fn eval(test_error: f64) -> EvalRow {
        EvalRow {
            iteration: 0,
            epoch: 0.0,
            test_loss: 0.0,
            test_error,
        }
    }

    #[test]
    fn errors_losses_and_the_stall_follow_their_definitions() {
        let evals = [eval(0.9), eval(0.3), eval(0.4)];
        assert_eq!(final_test_error(&evals), 0.4);
        assert_eq!(best_test_error(&evals), 0.3);
        assert!(final_test_error(&[]).is_nan());
        // 60 iterations: the tail is the last 50, losses 10..60.
        let rows: Vec<TrainRow> = (0..60).map(|i| row(i + 1, i as f32)).collect();
        assert_eq!(tail_loss(&rows), (10..60).sum::<i32>() as f64 / 50.0);
        let flat: Vec<TrainRow> = (0..20).map(|i| row(i + 1, 2.3)).collect();
        assert!(stalled(&flat, 10));
        let mut left = flat.clone();
        left[15].loss = 2.2;
        assert!(!stalled(&left, 10));
        assert!(stalled(&left, 4));
        assert!(!stalled(&[], 10));
    }
}

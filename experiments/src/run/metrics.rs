//! The numbers a run is summarised by, computed in one place for the summary, the reports
//! and the figures.

use crate::store::records::{EvalRow, LeftChance, TrainRow};

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

/// How far below ln 10 the smoothed loss must fall for a run to have left chance.
pub const LEFT_CHANCE_MARGIN: f64 = 0.05;

/// The first iteration at which the run left chance, or `None` if it never did (a
/// trailing mean over fewer than [`TAIL`] iterations is used at the start).
pub fn left_chance(rows: &[TrainRow]) -> Option<LeftChance> {
    ChanceWatch::default().advance(rows)
}

/// [`left_chance`] as a run goes: each call reads only the rows logged since the last, so
/// a run that asks after every step does linear work in all.
#[derive(Clone, Debug, Default)]
pub struct ChanceWatch {
    /// Rows read so far.
    read: usize,
    /// Sum of the losses of the last `min(read, TAIL)` rows.
    sum: f64,
    found: Option<LeftChance>,
}

impl ChanceWatch {
    /// Reads the rows after those already read (`rows` is the whole log so far) and
    /// returns where the run left chance, if it has.
    pub fn advance(&mut self, rows: &[TrainRow]) -> Option<LeftChance> {
        while self.found.is_none() && self.read < rows.len() {
            let i = self.read;
            self.sum += rows[i].loss as f64;
            if i >= TAIL {
                self.sum -= rows[i - TAIL].loss as f64;
            }
            let smoothed = self.sum / (i + 1).min(TAIL) as f64;
            if smoothed <= CHANCE_LOSS - LEFT_CHANCE_MARGIN {
                self.found = Some(LeftChance {
                    iteration: rows[i].iteration,
                    epoch: rows[i].epoch,
                });
            }
            self.read += 1;
        }
        self.found
    }
}

/// Doublings per 100 iterations of the first conv layer's gradient norm over the stall
/// (from the first iteration to the one the run left chance at, or the last): the slope
/// of a least-squares line through `(iteration, log2 norm)`, times 100. `None` with fewer
/// than 10 usable iterations.
pub fn stall_growth(rows: &[TrainRow]) -> Option<f64> {
    log2_slope(&rows[..stall_end(rows)]).map(|(slope, _)| slope)
}

/// The rows before the run left chance, the one it left at included (all if it never did).
fn stall_end(rows: &[TrainRow]) -> usize {
    left_chance(rows).map_or(rows.len(), |l| {
        rows.iter()
            .position(|r| r.iteration == l.iteration)
            .map_or(rows.len(), |i| i + 1)
    })
}

/// The least-squares slope of `log2` of the first conv layer's gradient norm against the
/// iteration, times 100 (doublings per 100 iterations), and the norm's geometric mean;
/// `None` with fewer than 10 usable rows.
fn log2_slope(rows: &[TrainRow]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.grad_norm_first > 0.0 && r.grad_norm_first.is_finite())
        .map(|r| (r.iteration as f64, r.grad_norm_first.log2()))
        .collect();
    if pts.len() < 10 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (sxx > 0.0).then(|| (100.0 * sxy / sxx, my.exp2()))
}

/// The stall's growth, window by window.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct GrowthWindow {
    /// First iteration of the window.
    pub first: usize,
    /// Last iteration of the window.
    pub last: usize,
    /// Doublings per 100 iterations of the first conv layer's gradient norm in it.
    pub doublings: f64,
    /// The norm's geometric mean over it.
    pub norm: f64,
    /// Mean training loss over it.
    pub loss: f64,
}

/// [`stall_growth`] over consecutive windows of `width` iterations, from the first to the
/// one in which the run left chance (to the end if it never did): if the stall ends as a
/// product of layers does (each layer's growth driven by the signal all the others pass),
/// the growth is proportional to the norm, and `doublings / norm` is constant.
pub fn growth_windows(rows: &[TrainRow], width: usize) -> Vec<GrowthWindow> {
    let end = stall_end(rows);
    let windows = rows.chunks(width.max(1)).take(end.div_ceil(width.max(1)));
    windows
        .filter_map(|w| {
            let (doublings, norm) = log2_slope(w)?;
            Some(GrowthWindow {
                first: w[0].iteration,
                last: w[w.len() - 1].iteration,
                doublings,
                norm,
                loss: w.iter().map(|r| r.loss as f64).sum::<f64>() / w.len() as f64,
            })
        })
        .collect()
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
    }

    #[test]
    fn stall_growth_is_the_log2_slope_per_100_iterations_until_chance_is_left() {
        // The norm doubles every 50 iterations: 2 doublings per 100.
        let rows: Vec<TrainRow> = (0..300)
            .map(|i| TrainRow {
                grad_norm_first: 1e-5 * 2f64.powf(i as f64 / 50.0),
                ..row(i + 1, 2.30)
            })
            .collect();
        let g = stall_growth(&rows).unwrap();
        assert!((g - 2.0).abs() < 1e-9, "{g}");
        // After the run leaves chance the norm no longer counts.
        let mut left = rows.clone();
        for r in &mut left[200..] {
            r.loss = 0.5; // left chance at iteration 202
        }
        for r in &mut left[210..] {
            r.grad_norm_first = 1.0;
        }
        assert!((stall_growth(&left).unwrap() - 2.0).abs() < 1e-6);
        assert_eq!(stall_growth(&rows[..5]), None);
        // Window by window the same slope, until the window it left chance in.
        let w = growth_windows(&left, 50);
        assert_eq!(w.len(), 5, "windows 1-50 ... 201-250: {w:?}");
        assert_eq!((w[0].first, w[0].last, w[4].first), (1, 50, 201));
        for x in &w[..4] {
            assert!((x.doublings - 2.0).abs() < 1e-9, "{x:?}");
            assert!((x.loss - 2.30).abs() < 1e-6);
        }
        // The geometric mean of 1e-5 · 2^(i/50) over i = 0..49 is 1e-5 · 2^(24.5/50).
        assert!((w[0].norm / (1e-5 * 2f64.powf(0.49)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_run_leaves_chance_when_its_smoothed_loss_falls_005_below_ln10() {
        let flat: Vec<TrainRow> = (0..200).map(|i| row(i + 1, 2.30)).collect();
        assert_eq!(left_chance(&flat), None);
        assert_eq!(left_chance(&[]), None);
        // One low loss moves a 50-iteration mean by 1/50 of its drop: a spike is not enough.
        let mut spike = flat.clone();
        spike[120].loss = 0.5;
        assert_eq!(left_chance(&spike), None);
        // From iteration 101 on the loss is 2.2: the mean of the last 50 is 2.3 - 0.002·k
        // with k of them low, at or below ln 10 - 0.05 = 2.25259 from k = 24.
        let mut falls = flat.clone();
        for r in &mut falls[100..] {
            r.loss = 2.2;
        }
        let left = left_chance(&falls).expect("left chance");
        assert_eq!(left.iteration, 124);
        // Read as the log grows (a row at a time, or in uneven pieces), the same answer.
        for piece in [1, 7, 60] {
            let mut watch = ChanceWatch::default();
            let mut seen = None;
            for end in (piece..falls.len() + piece).step_by(piece) {
                seen = watch.advance(&falls[..end.min(falls.len())]);
                if end < 124 {
                    assert_eq!(seen, None, "piece {piece} end {end}");
                }
            }
            assert_eq!(seen, Some(left), "piece {piece}");
        }
    }
}

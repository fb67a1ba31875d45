//! Top-1 error and loss on test images, with no tape recorded for backward.

use crate::data::{Dataset, InputScale};
use layers::Sequential;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tensor::{Mode, Tape};

/// Test images per evaluation batch.
const EVAL_BATCH: usize = 200;

/// A fixed random subset of the test set, the same for every run (ChaCha8, seed 0,
/// stream 2), in ascending order.
pub fn eval_subset(n_test: usize, size: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n_test).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    rng.set_stream(2);
    idx.shuffle(&mut rng);
    idx.truncate(size.min(n_test));
    idx.sort_unstable();
    idx
}

/// Mean loss and top-1 error of `net` on the test images `subset`, scaled as `input`. With
/// `DELVE_TEST_SLOW_EVAL` set (tests only), prints `evaluation: started` and pauses 1.5 s
/// first, so a test can signal the process during an evaluation.
pub fn evaluate(
    net: &Sequential,
    data: &Dataset,
    subset: &[usize],
    input: InputScale,
) -> (f64, f64) {
    if std::env::var_os("DELVE_TEST_SLOW_EVAL").is_some() {
        eprintln!("evaluation: started");
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    let (mut loss, mut wrong) = (0.0f64, 0usize);
    for chunk in subset.chunks(EVAL_BATCH) {
        let (x, labels) = data.batch_scaled(&data.test, chunk, input);
        let mut tape = Tape::with_mode(Mode::Eval);
        let xin = tape.constant(x);
        let logits = net.forward(&mut tape, xin);
        let l = tape.softmax_cross_entropy(logits, &labels);
        loss += *tape.value(l).first().expect("scalar") as f64 * chunk.len() as f64;
        for (row, &y) in tape.value(logits).outer_iter().zip(&labels) {
            let pred = row
                .iter()
                .enumerate()
                .fold(0, |best, (k, &v)| if v > row[best] { k } else { best });
            wrong += usize::from(pred != y);
        }
    }
    (
        loss / subset.len() as f64,
        wrong as f64 / subset.len() as f64,
    )
}

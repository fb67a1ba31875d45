//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run with `cargo fuzz`), here so
//! that CI replays the committed seed corpus through exactly the same code on stable Rust
//! (`tests/fuzz_seeds.rs`). Each must return normally for any input; a panic is a bug.

use crate::data::decode_idx;
use crate::run::metrics;
use crate::store::checkpoint::Checkpoint;
use crate::store::records::{parse_csv, EvalRow, Logs, TrainRow};
use crate::store::weights;
use std::path::Path;

/// IDX decoding: the first byte picks the number of dimensions (1-3), the rest is the file
/// (gzipped or not). What decodes must be consistent with its header.
pub fn idx(input: &[u8]) {
    let Some((&pick, bytes)) = input.split_first() else {
        return;
    };
    let ndims = 1 + usize::from(pick % 3);
    if let Ok(idx) = decode_idx(bytes, ndims, Path::new("fuzz-input")) {
        assert_eq!(idx.dims.len(), ndims);
        assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
    }
}

/// Checkpoint parsing. What parses must serialise again and parse back to the same state.
pub fn checkpoint(input: &[u8]) {
    if let Ok(ck) = Checkpoint::from_bytes(input) {
        let again = Checkpoint::from_bytes(&ck.to_bytes()).expect("a parsed checkpoint re-parses");
        assert_eq!(again.iteration, ck.iteration);
        assert_eq!(again.run.name, ck.run.name);
        assert_eq!(again.params.len(), ck.params.len());
        assert_eq!(again.order, ck.order);
    }
}

/// The parameter names the weights seeds hold (`tests/fuzz_seeds.rs` writes them).
pub const WEIGHT_NAMES: [&str; 3] = ["stage1.conv1.weight", "stage1.conv1.bias", "fc1.weight"];

/// Parsing of exported or kept weights, as `drift` reads them, holding
/// [`WEIGHT_NAMES`]. What parses must serialise again and parse back to the same weights.
pub fn weights(input: &[u8]) {
    let names = WEIGHT_NAMES.map(String::from);
    if let Ok(w) = weights::from_bytes(input, &names) {
        let bytes = weights::to_bytes(&weights::Exported {
            iteration: w.iteration,
            complete: false,
            run: &w.run,
            params: &w.params,
            normalisation: (0.0, 1.0),
        })
        .expect("parsed weights serialise");
        let again = weights::from_bytes(&bytes, &names).expect("serialised weights re-parse");
        assert_eq!(again.iteration, w.iteration);
        assert_eq!(again.run.name, w.run.name);
        assert_eq!(again.params, w.params);
    }
}

/// The CSV logs `plot` reads: the input split at its first NUL byte into `train.csv` and
/// `eval.csv`. What parses is cut to its finite rows, and the numbers the figures and
/// reports take from it (the smoothed loss, where the run left chance, the errors) are
/// computed: none may panic or loop, and none may be NaN once the rows are finite.
pub fn csv(input: &[u8]) {
    let at = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let (train, eval) = (&input[..at], input.get(at + 1..).unwrap_or_default());
    let logs = Logs {
        train: parse_csv::<TrainRow>(train).unwrap_or_default(),
        eval: parse_csv::<EvalRow>(eval).unwrap_or_default(),
        slopes: vec![],
    };
    let (logs, _) = logs.finite();
    if !logs.train.is_empty() {
        assert!(metrics::tail_loss(&logs.train).is_finite());
    }
    let _ = metrics::left_chance(&logs.train);
    if !logs.eval.is_empty() {
        assert!(metrics::best_test_error(&logs.eval).is_finite());
        assert!(metrics::final_test_error(&logs.eval).is_finite());
    }
}

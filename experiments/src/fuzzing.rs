//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run with `cargo fuzz`), here so
//! that CI replays the committed seed corpus through exactly the same code on stable Rust
//! (`tests/fuzz_seeds.rs`). Each must return normally for any input; a panic is a bug.

use crate::data::decode_idx;
use crate::store::checkpoint::Checkpoint;
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

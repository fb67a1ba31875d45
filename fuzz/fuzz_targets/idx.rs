//! IDX decoding (gzip or raw) never panics and agrees with its own header.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| experiments::fuzzing::idx(data));

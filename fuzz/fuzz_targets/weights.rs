//! Weights-file parsing (what `drift` reads) never panics, and what parses round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| experiments::fuzzing::weights(data));

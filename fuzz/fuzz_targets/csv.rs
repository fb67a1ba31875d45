//! The CSV logs `plot` reads (train.csv, NUL, eval.csv) never panic, loop, or give a NaN
//! to the figures once non-finite rows are dropped.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| experiments::fuzzing::csv(data));

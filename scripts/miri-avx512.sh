#!/usr/bin/env bash
# Runs the micro-kernel tests (and one convolution test of tiny shapes) under Miri with AVX-512 (and AVX2/FMA) enabled, so the
# AVX-512 kernels are executed, checked against naive sums and against the AVX2 kernels
# bit for bit, and checked for undefined behaviour (out-of-bounds reads and pointer
# arithmetic) on a CPU that has no AVX-512 at all. Miri interprets the intrinsics' meaning,
# not the machine code: the code generation is checked only where the CPU has AVX-512
# (`cargo test` there runs the same tests natively, and the end-to-end
# `avx2_and_avx512_give_identical_runs`).
#
# Needs the nightly toolchain with Miri: `rustup component add miri rust-src --toolchain nightly`.
# About 6 minutes to build the first time; the tests then take about 5 minutes under Miri
# (all 7 passed on 2026-12-02, AMD EPYC without AVX-512).
set -euo pipefail
cd "$(dirname "$0")/.."
# One rayon thread: Miri runs threads one instruction at a time, and idle workers spin.
# Tree Borrows: crossbeam-epoch (under rayon) breaks the older Stacked Borrows rules
# (`Local::element_of`; crossbeam-rs/crossbeam#996 and rayon-rs/rayon#1185: it is
# compatible with Tree Borrows), which stops the conv test there. Leaks ignored: rayon's
# pool threads outlive the test (Miri otherwise fails the run after every test passed).
RAYON_NUM_THREADS=1 MIRIFLAGS="-Zmiri-env-forward=RAYON_NUM_THREADS -Zmiri-tree-borrows -Zmiri-ignore-leaks ${MIRIFLAGS:-}" \
RUSTFLAGS="-C target-feature=+avx2,+fma,+avx512f" \
    cargo +nightly miri test -p tensor --lib -- simd::gemm tiny_shapes --nocapture "$@"

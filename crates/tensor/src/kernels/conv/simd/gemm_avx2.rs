//! The AVX2/FMA micro-kernels of `gemm.rs` (8 lanes, 16 registers).

use super::{Block, DotBlock};
use std::arch::x86_64::*;

/// [`dot`] for `p`'s row counts (at most `DOT_A × DOT_B`).
///
/// # Safety
///
/// As [`dot`], but for whatever `(p.a_rows, p.b_rows)` is.
pub unsafe fn dot_rows(p: &DotBlock, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: each arm's `RA × RB` is `p`'s row counts; the rest is the contract.
    unsafe {
        match (p.a_rows, p.b_rows) {
            (4, 3) => dot::<4, 3>(p, a, b, c),
            (4, 2) => dot::<4, 2>(p, a, b, c),
            (4, _) => dot::<4, 1>(p, a, b, c),
            (3, 3) => dot::<3, 3>(p, a, b, c),
            (3, 2) => dot::<3, 2>(p, a, b, c),
            (3, _) => dot::<3, 1>(p, a, b, c),
            (2, 3) => dot::<2, 3>(p, a, b, c),
            (2, 2) => dot::<2, 2>(p, a, b, c),
            (2, _) => dot::<2, 1>(p, a, b, c),
            (_, 3) => dot::<1, 3>(p, a, b, c),
            (_, 2) => dot::<1, 2>(p, a, b, c),
            (_, _) => dot::<1, 1>(p, a, b, c),
        }
    }
}

/// [`block`] for `p.rows` rows.
///
/// # Safety
///
/// As [`block`], with `1 <= p.rows <= MR`.
pub unsafe fn block_rows(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: each arm's `R` is `p.rows`; the rest is the contract.
    unsafe {
        match p.rows {
            6 => block::<6>(p, a, b, c),
            5 => block::<5>(p, a, b, c),
            4 => block::<4>(p, a, b, c),
            3 => block::<3>(p, a, b, c),
            2 => block::<2>(p, a, b, c),
            _ => block::<1>(p, a, b, c),
        }
    }
}

/// The kernel for `R` rows; the loops over `R` unroll, so the accumulators stay in
/// registers.
///
/// # Safety
///
/// AVX2 and FMA are available, `R == p.rows`, and every index of `a`, `b` and `c`
/// that `p` describes (up to the maxima [`super::gemm`] checks) is in bounds.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn block<const R: usize>(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: every pointer below stays within the bounds of the contract.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for (&sa, &sb) in p.a_segments.iter().zip(p.b_segments) {
            let mut ap = a.wrapping_add(p.a_at + sa);
            let mut bp = b.wrapping_add(p.b_at + sb);
            for _ in 0..p.seg_len {
                let b0 = _mm256_loadu_ps(bp);
                let b1 = _mm256_loadu_ps(bp.add(8));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let ai = _mm256_broadcast_ss(&*ap.add(i * p.a_row));
                    acc[0] = _mm256_fmadd_ps(ai, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(ai, b1, acc[1]);
                }
                ap = ap.wrapping_add(p.a_k); // past the end after the last `k`: never read
                bp = bp.wrapping_add(p.b_k);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            let cp = c.add(p.c_at + i * p.c_row);
            let (mut c0, mut c1) = (acc[0], acc[1]);
            if p.accumulate {
                c0 = _mm256_add_ps(c0, _mm256_loadu_ps(cp));
                c1 = _mm256_add_ps(c1, _mm256_loadu_ps(cp.add(8)));
            }
            _mm256_storeu_ps(cp, c0);
            _mm256_storeu_ps(cp.add(8), c1);
        }
    }
}

/// The dot-product kernel for `RA × RB` rows, 8 lanes at a time, each lane summed
/// across at the end in a fixed order.
///
/// # Safety
///
/// AVX2 and FMA are available, `(RA, RB) == (p.a_rows, p.b_rows)`, `p.len` is a
/// multiple of 8, and every index of `a`, `b` and `c` that `p` describes (up to the
/// maxima [`super::dot_block`] checks) is in bounds.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot<const RA: usize, const RB: usize>(
    p: &DotBlock,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) {
    // SAFETY: every pointer below stays within the bounds of the contract.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); RB]; RA];
        let a0 = a.add(p.a_at);
        let b0 = b.add(p.b_at);
        let mut k = 0;
        while k < p.len {
            let mut bv = [_mm256_setzero_ps(); RB];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(b0.add(j * p.b_row + k));
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_loadu_ps(a0.add(i * p.a_row + k));
                for (acc, &bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm256_fmadd_ps(av, bv, *acc);
                }
            }
            k += 8;
        }
        for (i, acc) in acc.iter().enumerate() {
            for (j, &v) in acc.iter().enumerate() {
                *c.add(p.c_at + i * p.c_row + j * p.c_col) += sum_lanes(v);
            }
        }
    }
}

/// The sum of the 8 lanes of `v` in one fixed order: halves, then pairs, then the two
/// left (the AVX-512 kernel sums its half-registers with this same function).
///
/// # Safety
///
/// AVX2 is available.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn sum_lanes(v: __m256) -> f32 {
    let half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
    let one = _mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1));
    _mm_cvtss_f32(one)
}

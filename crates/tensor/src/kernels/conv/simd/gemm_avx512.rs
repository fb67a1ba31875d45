//! The AVX-512F micro-kernels of `gemm.rs` (16 lanes, 32 registers): the same
//! fused multiply-adds, in the same order, as the AVX2 ones (`gemm_avx2.rs`).

use super::{avx2, Block, DotBlock, NR};
use std::arch::x86_64::*;

/// [`block`] for `p.rows` rows.
///
/// # Safety
///
/// As [`block`], with `1 <= p.rows <= MR_512`.
pub unsafe fn block_rows(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: each arm's `R` is `p.rows`; the rest is the contract.
    unsafe {
        match p.rows {
            16 => block::<16>(p, a, b, c),
            15 => block::<15>(p, a, b, c),
            14 => block::<14>(p, a, b, c),
            13 => block::<13>(p, a, b, c),
            12 => block::<12>(p, a, b, c),
            11 => block::<11>(p, a, b, c),
            10 => block::<10>(p, a, b, c),
            9 => block::<9>(p, a, b, c),
            8 => block::<8>(p, a, b, c),
            7 => block::<7>(p, a, b, c),
            6 => block::<6>(p, a, b, c),
            5 => block::<5>(p, a, b, c),
            4 => block::<4>(p, a, b, c),
            3 => block::<3>(p, a, b, c),
            2 => block::<2>(p, a, b, c),
            _ => block::<1>(p, a, b, c),
        }
    }
}

/// The kernel for `R` rows, one 16-lane register per row of `C`: lane `j` of row `i`
/// receives the same fused multiply-adds, in the same order, as lane `j % 8` of the
/// AVX2 kernel's register `j / 8`, so the result is the same to the bit.
///
/// # Safety
///
/// AVX-512F is available, `R == p.rows`, and every index of `a`, `b` and `c` that `p`
/// describes (up to the maxima [`super::gemm`] checks) is in bounds.
#[target_feature(enable = "avx512f")]
pub unsafe fn block<const R: usize>(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: every pointer below stays within the bounds of the contract.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); R];
        for (&sa, &sb) in p.a_segments.iter().zip(p.b_segments) {
            let mut ap = a.wrapping_add(p.a_at + sa);
            let mut bp = b.wrapping_add(p.b_at + sb);
            for _ in 0..p.seg_len {
                let bv = _mm512_loadu_ps(bp);
                for (i, acc) in acc.iter_mut().enumerate() {
                    let ai = _mm512_set1_ps(*ap.add(i * p.a_row));
                    *acc = _mm512_fmadd_ps(ai, bv, *acc);
                }
                ap = ap.wrapping_add(p.a_k); // past the end after the last `k`: never read
                bp = bp.wrapping_add(p.b_k);
            }
        }
        for (i, &acc) in acc.iter().enumerate() {
            let cp = c.add(p.c_at + i * p.c_row);
            let v = if p.accumulate {
                _mm512_add_ps(acc, _mm512_loadu_ps(cp))
            } else {
                acc
            };
            _mm512_storeu_ps(cp, v);
        }
    }
}

/// [`pair`] for `p.rows` rows.
///
/// # Safety
///
/// As [`pair`], with `1 <= p.rows <= MR_PAIR`.
pub unsafe fn pair_rows(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: each arm's `R` is `p.rows`; the rest is the contract.
    unsafe {
        match p.rows {
            8 => pair::<8>(p, a, b, c),
            7 => pair::<7>(p, a, b, c),
            6 => pair::<6>(p, a, b, c),
            5 => pair::<5>(p, a, b, c),
            4 => pair::<4>(p, a, b, c),
            3 => pair::<3>(p, a, b, c),
            2 => pair::<2>(p, a, b, c),
            _ => pair::<1>(p, a, b, c),
        }
    }
}

/// Two blocks side by side, `p`'s 16 columns and the 16 after them, for `R` rows: two
/// registers per row of `C`, so each broadcast value of `A` feeds two fused
/// multiply-adds (10 loads per 16 of them, where [`block`] needs 17). Every element of
/// `C` receives the same fused multiply-adds in the same order as in [`block`], so the
/// result is the same to the bit.
///
/// # Safety
///
/// AVX-512F is available, `R == p.rows`, and every index of `a`, `b` and `c` that `p`
/// describes, widened to 32 columns (up to the maxima [`super::gemm`] checks),
/// is in bounds.
#[target_feature(enable = "avx512f")]
pub unsafe fn pair<const R: usize>(p: &Block, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: every pointer below stays within the bounds of the contract.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for (&sa, &sb) in p.a_segments.iter().zip(p.b_segments) {
            let mut ap = a.wrapping_add(p.a_at + sa);
            let mut bp = b.wrapping_add(p.b_at + sb);
            for _ in 0..p.seg_len {
                let (b0, b1) = (_mm512_loadu_ps(bp), _mm512_loadu_ps(bp.add(NR)));
                for (i, [left, right]) in acc.iter_mut().enumerate() {
                    let ai = _mm512_set1_ps(*ap.add(i * p.a_row));
                    *left = _mm512_fmadd_ps(ai, b0, *left);
                    *right = _mm512_fmadd_ps(ai, b1, *right);
                }
                ap = ap.wrapping_add(p.a_k); // past the end after the last `k`: never read
                bp = bp.wrapping_add(p.b_k);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (half, &acc) in row.iter().enumerate() {
                let cp = c.add(p.c_at + i * p.c_row + half * NR);
                let v = if p.accumulate {
                    _mm512_add_ps(acc, _mm512_loadu_ps(cp))
                } else {
                    acc
                };
                _mm512_storeu_ps(cp, v);
            }
        }
    }
}

/// [`dot`] over `p`'s rows of `A` in pairs, and the AVX2 kernel for an odd last row
/// (which [`super::interleave_pairs`] leaves as a plain row).
///
/// # Safety
///
/// As [`dot`], with `1 <= p.a_rows <= DOT_A_512` and `1 <= p.b_rows <= DOT_B`.
pub unsafe fn dot_rows(p: &DotBlock, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY: each arm's `PA × RB` is `p`'s row pairs and `B` rows, inside the block;
    // the odd row is the block's last row of `A` (a plain row) and of `C` (the contract).
    unsafe {
        let pairs = DotBlock {
            a_rows: p.a_rows / 2 * 2,
            ..*p
        };
        match (pairs.a_rows / 2, p.b_rows) {
            (0, _) => {}
            (4, 3) => dot::<4, 3>(&pairs, a, b, c),
            (4, 2) => dot::<4, 2>(&pairs, a, b, c),
            (4, _) => dot::<4, 1>(&pairs, a, b, c),
            (3, 3) => dot::<3, 3>(&pairs, a, b, c),
            (3, 2) => dot::<3, 2>(&pairs, a, b, c),
            (3, _) => dot::<3, 1>(&pairs, a, b, c),
            (2, 3) => dot::<2, 3>(&pairs, a, b, c),
            (2, 2) => dot::<2, 2>(&pairs, a, b, c),
            (2, _) => dot::<2, 1>(&pairs, a, b, c),
            (_, 3) => dot::<1, 3>(&pairs, a, b, c),
            (_, 2) => dot::<1, 2>(&pairs, a, b, c),
            (_, _) => dot::<1, 1>(&pairs, a, b, c),
        }
        if p.a_rows % 2 == 1 {
            let last = p.a_rows - 1;
            let odd = DotBlock {
                a_rows: 1,
                a_at: p.a_at + last * p.a_row,
                c_at: p.c_at + last * p.c_row,
                ..*p
            };
            avx2::dot_rows(&odd, a, b, c);
        }
    }
}

/// The dot-product kernel for `2·PA × RB` rows: one register holds two rows of `A`
/// (8 lanes each, one load: `A` is laid out in pairs by [`super::interleave_pairs`]) against
/// one row of `B` in both halves, so each half runs exactly the AVX2 kernel's 8-lane
/// chain and is summed across by the same function: the same bits as the AVX2 path,
/// with full-width fused multiply-adds.
///
/// # Safety
///
/// AVX-512F is available, `(2·PA, RB) == (p.a_rows, p.b_rows)`, `p.len` is a multiple
/// of 8 and at most `p.a_row`, and every index of `a`, `b` and `c` that `p` describes
/// (up to the maxima [`super::dot_block`] checks) is in bounds: a pair's `2·len` floats
/// from `a_at + 2i·a_row` end before its second row's `len` would.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot<const PA: usize, const RB: usize>(
    p: &DotBlock,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) {
    // SAFETY: every pointer below stays within the bounds of the contract.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); RB]; PA];
        let a0 = a.add(p.a_at);
        let b0 = b.add(p.b_at);
        let mut k = 0;
        while k < p.len {
            let mut bv = [_mm512_setzero_ps(); RB];
            for (j, v) in bv.iter_mut().enumerate() {
                let row = _mm256_castps_pd(_mm256_loadu_ps(b0.add(j * p.b_row + k)));
                *v = _mm512_castpd_ps(_mm512_broadcast_f64x4(row));
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                // Rows 2i and 2i + 1 at positions k..k + 8, side by side (`interleave_pairs`).
                let av = _mm512_loadu_ps(a0.add(2 * i * p.a_row + 2 * k));
                for (acc, &bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_ps(av, bv, *acc);
                }
            }
            k += 8;
        }
        // Every register's two halves summed, 8 registers at a time (unused ones zero).
        let mut regs = [_mm512_setzero_ps(); 16];
        for (r, &v) in regs.iter_mut().zip(acc.iter().flatten()) {
            *r = v;
        }
        let mut sums = [0.0f32; 32];
        let groups = (PA * RB).div_ceil(8);
        for (sums, regs) in sums
            .chunks_exact_mut(16)
            .zip(regs.chunks_exact(8))
            .take(groups)
        {
            sums.copy_from_slice(&sum_halves(regs.try_into().expect("8 registers")));
        }
        for (n, pair) in sums.chunks_exact(2).take(PA * RB).enumerate() {
            let at = p.c_at + 2 * (n / RB) * p.c_row + (n % RB) * p.c_col;
            *c.add(at) += pair[0];
            *c.add(at + p.c_row) += pair[1];
        }
    }
}

/// The sums of the two 8-lane halves of each of 8 registers, `out[2n + h]` for half `h`
/// of register `n`, each in [`avx2::sum_lanes`]'s order (lanes `k` and `k + 4`, then
/// those sums two apart, then the two left), so the bits are the AVX2 path's; computed
/// together, 14 shuffles for the 16 sums where one half at a time takes 48.
///
/// # Safety
///
/// AVX-512F is available.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn sum_halves(x: &[__m512; 8]) -> [f32; 16] {
    // Quarters of two registers: [x.0, x.2, y.0, y.2] + [x.1, x.3, y.1, y.3] gives each
    // half's 4 sums `v[k] + v[k + 4]` in its own quarter: x's halves, then y's.
    let quarters = |x: __m512, y: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b10_00_10_00>(x, y),
            _mm512_shuffle_f32x4::<0b11_01_11_01>(x, y),
        )
    };
    let h: [__m512; 4] = std::array::from_fn(|m| quarters(x[2 * m], x[2 * m + 1]));
    // Within each quarter: [h.0 + h.2, h.1 + h.3] of two registers side by side.
    let pairs = |a: __m512, b: __m512| {
        _mm512_add_ps(
            _mm512_shuffle_ps::<0b01_00_01_00>(a, b),
            _mm512_shuffle_ps::<0b11_10_11_10>(a, b),
        )
    };
    let (p0, p1) = (pairs(h[0], h[1]), pairs(h[2], h[3]));
    // And the two left: quarter `q`, lane `m` holds half `q` of `h[m]`.
    let s = _mm512_add_ps(
        _mm512_shuffle_ps::<0b10_00_10_00>(p0, p1),
        _mm512_shuffle_ps::<0b11_01_11_01>(p0, p1),
    );
    let mut lanes = [0.0f32; 16];
    // SAFETY: `lanes` holds 16 floats.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), s) };
    // `h[m]` quarter `q` is half `q % 2` of register `2m + q / 2`.
    std::array::from_fn(|i| {
        let (n, half) = (i / 2, i % 2);
        lanes[4 * (2 * (n % 2) + half) + n / 2]
    })
}

//! The register-blocked FMA micro-kernels behind the implicit-GEMM and Winograd
//! convolutions: a block of up to 6 rows × 16 columns of `C`, kept in twelve AVX2
//! registers (on AVX-512: up to 8 rows × 32 columns, two 16-lane registers a row, or up
//! to 16 rows × 16 columns for a last 16 columns) while `K` products are accumulated,
//! then stored (or added) once.
//!
//! `C[i][j] (+)= Σ_s Σ_k A[i](s, k) · B(s, k)[j]` for `i < rows ≤ 6`, `j < 16`, with
//! `A[i](s, k) = a[i·a_row + a_segments[s] + k·a_k]` and
//! `B(s, k)[j] = b[b_segments[s] + k·b_k + j]` (offsets from `a_at`, `b_at`). The segments
//! let one call walk the 3×3 taps of a convolution, each a different offset into the same
//! padded image.

use crate::SimdPath;

/// Columns of `C` per call: two 8-lane vectors.
pub(crate) const NR: usize = 16;
/// Most rows of `C` per call on AVX2: 6 rows × 2 vectors = 12 accumulators, plus the two
/// `B` vectors and one broadcast `A` value: 15 of the 16 AVX2 registers.
pub(crate) const MR: usize = 6;
/// Most rows of `C` per call on AVX-512: 16 rows × 1 vector, the `B` vector and one
/// broadcast: 18 of the 32 registers. 16 divides every width of the spec and the paper.
pub(crate) const MR_512: usize = 16;

/// Most rows of `C` per [`gemm_pair_on`] call (AVX-512, 32 columns): 8 rows × 2 vectors
/// = 16 accumulators and the two `B` vectors; each broadcast of `A` feeds two fused
/// multiply-adds, so a step of `k` loads 10 values for 16 of them instead of 17.
pub(crate) const MR_PAIR: usize = 8;

/// Most rows of `C` one [`gemm_block`] call takes on `isa`.
pub(crate) fn max_rows(isa: SimdPath) -> usize {
    if isa == SimdPath::Avx512 {
        MR_512
    } else {
        MR
    }
}

/// One block's operands: offsets into the three slices and their strides.
#[derive(Clone, Copy, Debug)]
pub struct Block<'s> {
    /// Rows of `C` (1 to [`MR`]).
    pub rows: usize,
    /// Offset of `A[0](0, 0)` in `a`, before `a_segments`.
    pub a_at: usize,
    /// Distance between rows of `A`.
    pub a_row: usize,
    /// Distance between consecutive `k` within a segment.
    pub a_k: usize,
    /// Offset of each segment's start in `a`, added to `a_at`.
    pub a_segments: &'s [usize],
    /// `k` per segment.
    pub seg_len: usize,
    /// Offset of `B(0, 0)[0]` in `b`.
    pub b_at: usize,
    /// Offset of each segment's start in `b`, added to `b_at` (as many as `a_segments`).
    pub b_segments: &'s [usize],
    /// Distance between consecutive rows of `B` within a segment.
    pub b_k: usize,
    /// Offset of `C[0][0]` in `c`.
    pub c_at: usize,
    /// Distance between rows of `C`.
    pub c_row: usize,
    /// Add to `C` instead of overwriting it.
    pub accumulate: bool,
}

/// Computes one block on the widest path (at most [`MR`] rows, or [`MR_512`] on
/// AVX-512), for the benchmarks; see [`gemm_block_on`].
#[cfg(feature = "internals")]
pub fn gemm_block(p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    let isa = super::isa().expect("gemm_block: this CPU lacks AVX2/FMA");
    gemm_block_on(isa, p, a, b, c);
}

/// Computes one block on `isa` (`Avx2` or `Avx512`, which give the same bits). Panics if
/// the CPU lacks the path, or (naming the operand) if any index it would touch is out of
/// bounds, so the unsafe inner loop only ever reads and writes inside the slices.
#[cfg(any(test, feature = "internals"))]
pub(crate) fn gemm_block_on(isa: SimdPath, p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_runs(isa, "gemm_block");
    assert_in_bounds(p, max_rows(isa), NR, a, b, c);
    // SAFETY: the path runs here and every index of the block is in bounds (asserted).
    unsafe { block_unchecked(isa, p, a, b, c) }
}

/// Computes `p`'s block and the one 16 columns to its right (at most [`MR_PAIR`] rows)
/// in one AVX-512 call: the same bits as two [`gemm_block_on`] calls. Panics as they do.
#[cfg(test)]
pub(crate) fn gemm_pair_on(p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_runs(SimdPath::Avx512, "gemm_pair");
    assert_in_bounds(p, MR_PAIR, 2 * NR, a, b, c);
    // SAFETY: AVX-512F is available and every index of the pair is in bounds (asserted).
    unsafe { pair_unchecked(p, a, b, c) }
}

/// [`gemm_block_on`] without its checks.
///
/// # Safety
///
/// `isa` is `Avx2` or `Avx512` and this CPU has it, `1 <= p.rows <= max_rows(isa)`, and
/// every index of `a`, `b` and `c` that `p` describes for 16 columns is in bounds.
unsafe fn block_unchecked(isa: SimdPath, p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == SimdPath::Avx512 {
        // SAFETY: AVX-512F is available, `p.rows` is at most `MR_512`, and every index
        // the kernel touches is in bounds (the contract).
        unsafe { avx512::block_rows(p, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available, `p.rows` is at most `MR`, and every index the
    // kernel touches is in bounds (the contract).
    unsafe {
        avx2::block_rows(p, a.as_ptr(), b.as_ptr(), c.as_mut_ptr())
    }
}

/// The AVX-512 pair of blocks ([`avx512::pair`]) without checks.
///
/// # Safety
///
/// AVX-512F is available, `1 <= p.rows <= MR_PAIR`, and every index of `a`, `b` and `c`
/// that `p` describes for 32 columns is in bounds.
unsafe fn pair_unchecked(p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the contract is the kernel's.
    unsafe {
        avx512::pair_rows(p, a.as_ptr(), b.as_ptr(), c.as_mut_ptr())
    }
}

/// Panics, naming the operand, unless `p` has 1 to `most` rows and every index a kernel
/// computing its `cols` columns would touch is inside `a`, `b` and `c`.
fn assert_in_bounds(p: &Block, most: usize, cols: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert!(
        (1..=most).contains(&p.rows),
        "gemm_block: {} rows, expected 1..={most}",
        p.rows
    );
    assert_eq!(
        p.a_segments.len(),
        p.b_segments.len(),
        "gemm_block: segments of A vs B"
    );
    if p.seg_len > 0 && !p.a_segments.is_empty() {
        let a_seg = p.a_segments.iter().copied().max().unwrap_or(0);
        let a_max = p.a_at + (p.rows - 1) * p.a_row + a_seg + (p.seg_len - 1) * p.a_k;
        assert!(
            a_max < a.len(),
            "gemm_block: A reads {a_max}, len {}",
            a.len()
        );
        let b_seg = p.b_segments.iter().copied().max().unwrap_or(0);
        let b_max = p.b_at + b_seg + (p.seg_len - 1) * p.b_k + cols - 1;
        assert!(
            b_max < b.len(),
            "gemm_block: B reads {b_max}, len {}",
            b.len()
        );
    }
    let c_max = p.c_at + (p.rows - 1) * p.c_row + cols - 1;
    assert!(
        c_max < c.len(),
        "gemm_block: C writes {c_max}, len {}",
        c.len()
    );
}

/// Panics, naming `what`, unless `isa` is a SIMD path this CPU has: the one check every
/// safe wrapper makes before it calls a kernel.
fn assert_runs(isa: SimdPath, what: &str) {
    assert!(
        isa != SimdPath::Scalar && isa.detected(),
        "{what}: this CPU lacks {}",
        isa.lacks()
    );
}

/// `C = A · B` over all of `C`'s `rows × cols`, block by block (16 columns outer, 6 rows
/// inner; on AVX-512, 32 columns by 8 rows, and 16 rows for a last 16 columns):
/// `template` describes the block at row 0, column 0 (its `rows` is ignored); a block at
/// `(o0, r0)` reads `A` from `a_at + o0·a_row`, `B` from `b_at + r0`, and writes `C` at
/// `c_at + o0·c_row + r0`. `cols` is a multiple of [`NR`]. Every element of `C` is the
/// same chain of fused multiply-adds however the blocks are cut, so the bits do not
/// depend on the path.
pub(crate) fn gemm(
    template: &Block,
    rows: usize,
    cols: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) {
    let isa = super::isa().expect("gemm: this CPU lacks AVX2/FMA");
    assert!(
        cols.is_multiple_of(NR),
        "gemm: {cols} columns, not whole blocks of {NR}"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    // Checked once for the whole product, not per block: a block's indices grow with its
    // row and column offsets, so the last rows and columns reach furthest, and a block
    // whose `rows` is all of them and whose columns are all of them bounds every block.
    let whole = Block { rows, ..*template };
    assert_in_bounds(&whole, rows, cols, a, b, c);
    let at = |o0: usize, r0: usize, most: usize| Block {
        rows: most.min(rows - o0),
        a_at: template.a_at + o0 * template.a_row,
        b_at: template.b_at + r0,
        c_at: template.c_at + o0 * template.c_row + r0,
        ..*template
    };
    let paired = if isa == SimdPath::Avx512 {
        cols / (2 * NR) * (2 * NR)
    } else {
        0
    };
    for r0 in (0..paired).step_by(2 * NR) {
        for o0 in (0..rows).step_by(MR_PAIR) {
            // SAFETY: the path is AVX-512 (detected by `isa`), the block has at most
            // `MR_PAIR` rows, and its 32 columns end by `cols`: inside the whole product
            // checked above.
            unsafe { pair_unchecked(&at(o0, r0, MR_PAIR), a, b, c) };
        }
    }
    let most = max_rows(isa);
    for r0 in (paired..cols).step_by(NR) {
        for o0 in (0..rows).step_by(most) {
            // SAFETY: `isa` is a detected SIMD path, the block has at most `most` rows,
            // and its 16 columns end by `cols`: inside the whole product checked above.
            unsafe { block_unchecked(isa, &at(o0, r0, most), a, b, c) };
        }
    }
}

/// Rows of `A` per [`dot_block`] call on AVX2.
pub(crate) const DOT_A: usize = 4;
/// Rows of `A` per [`dot_block`] call on AVX-512: 4 pairs of rows, each pair in one
/// register (8 lanes each), × 3 `B` rows = 12 accumulators.
pub(crate) const DOT_A_512: usize = 8;

/// Whether [`dot_block`] on `isa` reads `A` with its rows in pairs (laid out by
/// [`interleave_pairs`]): the AVX-512 kernel loads 8 values of each of two rows as one register,
/// where putting them together in registers would cost a shuffle per load on the port
/// the fused multiply-adds need.
pub(crate) fn dot_pairs(isa: SimdPath) -> bool {
    isa == SimdPath::Avx512
}

/// Copies the rows of `src` (`len` floats each, a multiple of 8) into `dst` in pairs: 8
/// values of row `2q`, then the same 8 positions of row `2q + 1`, and so on, in the two
/// rows' place (`A[2q + h][k]` goes to `2q·len + (k / 8)·16 + h·8 + k % 8`). An odd last
/// row is copied as it is.
pub(crate) fn interleave_pairs(src: &[f32], dst: &mut [f32], len: usize) {
    assert!(
        len.is_multiple_of(8) && src.len().is_multiple_of(len.max(1)) && dst.len() == src.len(),
        "interleave_pairs: {} floats in rows of {len} into {}",
        src.len(),
        dst.len()
    );
    let (src_pairs, odd) = src.split_at(src.len() / (2 * len).max(1) * 2 * len);
    let (dst_pairs, dst_odd) = dst.split_at_mut(src_pairs.len());
    dst_odd.copy_from_slice(odd);
    for (two, dst) in src_pairs
        .chunks_exact(2 * len)
        .zip(dst_pairs.chunks_exact_mut(2 * len))
    {
        let (first, second) = two.split_at(len);
        for ((dst, x), y) in dst
            .chunks_exact_mut(16)
            .zip(first.chunks_exact(8))
            .zip(second.chunks_exact(8))
        {
            dst[..8].copy_from_slice(x);
            dst[8..].copy_from_slice(y);
        }
    }
}

/// Most rows of `A` one [`dot_block`] call takes on `isa`.
pub(crate) fn dot_rows(isa: SimdPath) -> usize {
    if isa == SimdPath::Avx512 {
        DOT_A_512
    } else {
        DOT_A
    }
}

/// Most rows of `B` per [`dot_block`] call: 4 × 3 accumulators, 3 `B` vectors and one `A`
/// vector fill the 16 AVX2 registers.
pub(crate) const DOT_B: usize = 3;

/// A block of dot products along rows: `C[i][j] += Σ_k A[i][k] · B[j][k]`, `i < a_rows ≤ 4`
/// (8 on AVX-512), `j < b_rows ≤ 3`, `k < len` (a multiple of 8), with
/// `A[i][k] = a[a_at + i·a_row + k]` (or, with `a_paired`, where [`interleave_pairs`] put it),
/// `B[j][k] = b[b_at + j·b_row + k]` and `C[i][j]` at `c[c_at + i·c_row + j·c_col]`. The
/// convolution's weight gradient, channels first: each `k` is an output position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DotBlock {
    /// Whether `A`'s rows are laid out in pairs by [`interleave_pairs`] (as [`dot_pairs`] says
    /// the path reads them).
    pub(crate) a_paired: bool,
    /// Rows of `A` (1 to [`DOT_A`]).
    pub(crate) a_rows: usize,
    /// Rows of `B` (1 to [`DOT_B`]).
    pub(crate) b_rows: usize,
    /// Length of every row, a multiple of 8.
    pub(crate) len: usize,
    /// Offset of `A[0][0]`.
    pub(crate) a_at: usize,
    /// Distance between rows of `A`.
    pub(crate) a_row: usize,
    /// Offset of `B[0][0]`.
    pub(crate) b_at: usize,
    /// Distance between rows of `B`.
    pub(crate) b_row: usize,
    /// Offset of `C[0][0]`.
    pub(crate) c_at: usize,
    /// Distance between `C[i][·]` and `C[i+1][·]`.
    pub(crate) c_row: usize,
    /// Distance between `C[·][j]` and `C[·][j+1]`.
    pub(crate) c_col: usize,
}

/// Computes one [`DotBlock`] on `isa` (`Avx2` or `Avx512`, which give the same bits),
/// adding to `C`. Panics if the CPU lacks the path, or (naming the operand) if any index
/// it would touch is out of bounds.
pub(crate) fn dot_block(isa: SimdPath, p: &DotBlock, a: &[f32], b: &[f32], c: &mut [f32]) {
    let most = dot_rows(isa);
    assert!(
        (1..=most).contains(&p.a_rows) && (1..=DOT_B).contains(&p.b_rows),
        "dot_block: {}x{} rows, expected at most {most}x{DOT_B}",
        p.a_rows,
        p.b_rows
    );
    assert!(
        p.len.is_multiple_of(8),
        "dot_block: length {} is not a multiple of 8",
        p.len
    );
    assert_runs(isa, "dot_block");
    assert!(
        p.a_paired == dot_pairs(isa) && (!p.a_paired || p.len <= p.a_row),
        "dot_block: A's rows {} in pairs, expected {} on {isa:?}",
        if p.a_paired { "are" } else { "are not" },
        if dot_pairs(isa) { "pairs" } else { "rows" },
    );
    if p.len > 0 {
        let a_max = p.a_at + (p.a_rows - 1) * p.a_row + p.len - 1;
        assert!(
            a_max < a.len(),
            "dot_block: A reads {a_max}, len {}",
            a.len()
        );
        let b_max = p.b_at + (p.b_rows - 1) * p.b_row + p.len - 1;
        assert!(
            b_max < b.len(),
            "dot_block: B reads {b_max}, len {}",
            b.len()
        );
    }
    let c_max = p.c_at + (p.a_rows - 1) * p.c_row + (p.b_rows - 1) * p.c_col;
    assert!(
        c_max < c.len(),
        "dot_block: C writes {c_max}, len {}",
        c.len()
    );
    #[cfg(target_arch = "x86_64")]
    if isa == SimdPath::Avx512 {
        // SAFETY: AVX-512F (so AVX2 and FMA) is available (asserted), the row counts are
        // within `DOT_A_512 × DOT_B`, and every index is at most the maxima checked above.
        unsafe { avx512::dot_rows(p, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available (asserted), and every index the kernel touches
    // is at most the maxima checked above.
    unsafe {
        avx2::dot_rows(p, a.as_ptr(), b.as_ptr(), c.as_mut_ptr())
    }
}

#[cfg(target_arch = "x86_64")]
#[path = "gemm_avx2.rs"]
mod avx2;

#[cfg(target_arch = "x86_64")]
#[path = "gemm_avx512.rs"]
mod avx512;

#[cfg(test)]
#[path = "gemm_tests.rs"]
mod tests;

//! The Winograd transforms on 8 tiles at a time (AVX2): `V = Bᵀ d B` of the input tiles
//! and `Aᵀ M A` of the output tiles (see `../winograd.rs` for the tiling); and both on 16
//! tiles at a time (AVX-512), the same additions in the same order.

#[cfg(doc)]
use super::super::winograd::GroupPair;
use super::super::winograd::{at, bt, sandwich, Group, Lane, Tiling};
use std::arch::x86_64::*;

/// A register type for the transforms' [`Lane`]: its adds and subtracts, which are only
/// built inside the functions below that have its features.
macro_rules! lane {
    ($(#[$doc:meta])* $name:ident($reg:ty), $add:ident, $sub:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $name($reg);

        impl Lane for $name {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                // SAFETY: only built inside functions with these target features.
                $name(unsafe { $add(self.0, o.0) })
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                // SAFETY: as above.
                $name(unsafe { $sub(self.0, o.0) })
            }
        }
    };
}

lane!(
    /// Eight floats in one register (AVX2).
    V8(__m256), _mm256_add_ps, _mm256_sub_ps
);
lane!(
    /// Sixteen floats in one register (AVX-512).
    V16(__m512), _mm512_add_ps, _mm512_sub_ps
);

/// The even and the odd elements of the 8 floats at `pa` (lanes 0-3) and of the 8 at
/// `pb` (lanes 4-7).
///
/// # Safety
///
/// AVX2 is available, and `pa[0..8]` and `pb[0..8]` are readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave(pa: *const f32, pb: *const f32) -> (V8, V8) {
    // SAFETY: `pa[0..4]`, `pa[4..8]` and the same of `pb` are readable (the contract).
    let (lo, hi) = unsafe { (halves(pa, pb), halves(pa.add(4), pb.add(4))) };
    let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
    let odd = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
    (V8(even), V8(odd))
}

/// The 4 floats at `a` (lanes 0-3) and the 4 at `b` (lanes 4-7).
///
/// # Safety
///
/// AVX2 is available, and `a[0..4]` and `b[0..4]` are readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn halves(a: *const f32, b: *const f32) -> __m256 {
    // SAFETY: both 4-float loads are inside readable memory (the contract).
    unsafe { _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(_mm_loadu_ps(a)), _mm_loadu_ps(b)) }
}

/// `V = Bᵀ d B` of every group of tiles of one zero-bordered channel plane: position `ξ`
/// of the tile in slot `s` to `v[ξ·stride + s]` (see `input_transform`).
///
/// # Safety
///
/// AVX2 and FMA are available; `plane` points at [`Tiling::plane_len`] readable floats;
/// `v[ξ·stride + s]` is writable for every `ξ < 16` and `s < t.slots_written`.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernels::conv) unsafe fn input(
    t: &Tiling,
    plane: *const f32,
    v: *mut f32,
    stride: usize,
) {
    // SAFETY: every load is inside the plane (rows < 2·th + 4, columns < 2·twr + 2) and
    // every whole-vector store at a slot below `slots_written` (the contract).
    unsafe {
        let pw = t.plane_w();
        for g in &t.groups {
            let d: [[V8; 4]; 4] = std::array::from_fn(|r| {
                let pa = plane.add((2 * g.a.0 + r) * pw + 2 * g.a.1);
                let pb = plane.add((2 * g.b.0 + r) * pw + 2 * g.b.1);
                let (d0, d1) = deinterleave(pa, pb);
                let (d2, d3) = deinterleave(pa.add(2), pb.add(2));
                [d0, d1, d2, d3]
            });
            let dst = v.add(g.slot);
            for (xi, &val) in sandwich(d, bt, bt).iter().flatten().enumerate() {
                _mm256_storeu_ps(dst.add(xi * stride), val.0);
            }
        }
    }
}

/// [`input`] on AVX-512: two groups of 8 tiles per register ([`GroupPair`]). Each lane
/// adds and subtracts what the AVX2 lane of its tile does, in the same order, so `V` is
/// the same to the bit; each pair's 8 loads of 8 floats go into 4 registers, and 4
/// permutes (where AVX2 needs 8 shuffles per group) pick every tile's four columns.
///
/// # Safety
///
/// AVX-512F is available; `plane` points at [`Tiling::plane_len`] readable floats;
/// `v[ξ·stride + s]` is writable for every `ξ < 16` and `s < t.slots_written`.
#[target_feature(enable = "avx512f")]
pub(in crate::kernels::conv) unsafe fn input_512(
    t: &Tiling,
    plane: *const f32,
    v: *mut f32,
    stride: usize,
) {
    // SAFETY: every load is one the AVX2 transform makes, inside the plane (rows
    // < 2·th + 4, columns < 2·twr + 2); every store is masked to the lanes of the pair's
    // slots, all below `slots_written` (the contract).
    unsafe {
        let pw = t.plane_w();
        let one = _mm512_set1_epi32(1);
        for pair in &t.pairs {
            let even = _mm512_loadu_si512(pair.even.as_ptr().cast());
            let odd = _mm512_add_epi32(even, one);
            let (first, second) = (&pair.first, &pair.second);
            // The halves' first rows; row `r` is `r·pw` further. (The intrinsics stay out
            // of closures: a closure does not share this function's target features, and
            // one that called them was not inlined.)
            let tile = |t: (usize, usize)| plane.add(2 * t.0 * pw + 2 * t.1);
            let rows = [tile(first.a), tile(second.a), tile(first.b), tile(second.b)];
            let d = [
                columns(rows, even, odd),
                columns(rows.map(|p| p.add(pw)), even, odd),
                columns(rows.map(|p| p.add(2 * pw)), even, odd),
                columns(rows.map(|p| p.add(3 * pw)), even, odd),
            ];
            let dst = v.add(first.slot);
            for (xi, &val) in sandwich(d, bt, bt).iter().flatten().enumerate() {
                _mm512_mask_storeu_ps(dst.add(xi * stride), pair.mask, val.0);
            }
        }
    }
}

/// The four columns `d[r][0..4]` of one row of 16 tiles: tile `i` of a half reads the
/// floats `2i..2i + 4` of that half's row; `p = [first.a, second.a, first.b, second.b]`
/// point at the halves' rows, `even` and `odd` pick each lane's tile ([`GroupPair`]).
///
/// # Safety
///
/// AVX-512F is available, and `p[i][0..10]` is readable for each `i`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn columns(p: [*const f32; 4], even: __m512i, odd: __m512i) -> [V16; 4] {
    // SAFETY: every load reads `p[i][0..8]` or `p[i][2..10]` (the contract).
    unsafe {
        let (a, b) = (both(p[0], p[1]), both(p[2], p[3]));
        let (a2, b2) = (
            both(p[0].add(2), p[1].add(2)),
            both(p[2].add(2), p[3].add(2)),
        );
        [
            V16(_mm512_permutex2var_ps(a, even, b)),
            V16(_mm512_permutex2var_ps(a, odd, b)),
            V16(_mm512_permutex2var_ps(a2, even, b2)),
            V16(_mm512_permutex2var_ps(a2, odd, b2)),
        ]
    }
}

/// The 8 floats at `p` (lanes 0-7) and the 8 at `q` (lanes 8-15).
///
/// # Safety
///
/// AVX-512F is available, and `p[0..8]` and `q[0..8]` are readable.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn both(p: *const f32, q: *const f32) -> __m512 {
    // SAFETY: both 8-float loads are inside readable memory (the contract).
    unsafe {
        let lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(p)));
        let hi = _mm256_castps_pd(_mm256_loadu_ps(q));
        _mm512_castpd_ps(_mm512_insertf64x4::<1>(lo, hi))
    }
}

/// `Aᵀ M A + bias` (then `max(·, 0)` if `relu`) of every group of tiles of one output
/// channel, from `m[ξ·stride + s]` into the rows of the output plane `out` (see
/// `output_transform`).
///
/// # Safety
///
/// AVX2 and FMA are available; `m[ξ·stride + s]` is readable for every `ξ < 16` and
/// `s < t.slots_written`; `out` points at [`Tiling::out_len`] writable floats.
#[target_feature(enable = "avx2,fma")]
pub(in crate::kernels::conv) unsafe fn output(
    t: &Tiling,
    m: *const f32,
    stride: usize,
    bias: f32,
    relu: bool,
    out: *mut f32,
) {
    // SAFETY: every whole-vector load is at a slot below `slots_written` and every store
    // inside the output plane (the contract).
    unsafe {
        let (bias, zero, ow) = (_mm256_set1_ps(bias), _mm256_setzero_ps(), t.out_w());
        for g in &t.groups {
            let src = m.add(g.slot);
            let x: [[V8; 4]; 4] = std::array::from_fn(|i| {
                std::array::from_fn(|j| V8(_mm256_loadu_ps(src.add((4 * i + j) * stride))))
            });
            for (i, [y0, y1]) in sandwich(x, at, at).into_iter().enumerate() {
                let (mut y0, mut y1) = (_mm256_add_ps(y0.0, bias), _mm256_add_ps(y1.0, bias));
                if relu {
                    (y0, y1) = (_mm256_max_ps(y0, zero), _mm256_max_ps(y1, zero));
                }
                // Interleave the tiles' left and right columns: each half is 8 outputs of
                // one row.
                let (lo, hi) = (_mm256_unpacklo_ps(y0, y1), _mm256_unpackhi_ps(y0, y1));
                let row_a = out.add((2 * g.a.0 + i) * ow + 2 * g.a.1);
                let row_b = out.add((2 * g.b.0 + i) * ow + 2 * g.b.1);
                _mm256_storeu_ps(row_a, _mm256_permute2f128_ps::<0x20>(lo, hi));
                _mm256_storeu_ps(row_b, _mm256_permute2f128_ps::<0x31>(lo, hi));
            }
        }
    }
}

/// [`output`] on AVX-512: two groups of 8 tiles per register ([`GroupPair`]), each lane
/// the AVX2 lane's additions, bias and rectifier, in the same order, so the output is
/// the same to the bit. The loads are masked to the pair's slots; for each output row,
/// one permute per group lays its tiles' left and right outputs side by side, a row of
/// 8 for each half.
///
/// # Safety
///
/// AVX-512F is available; `m[ξ·stride + s]` is readable for every `ξ < 16` and
/// `s < t.slots_written`; `out` points at [`Tiling::out_len`] writable floats.
#[target_feature(enable = "avx512f")]
pub(in crate::kernels::conv) unsafe fn output_512(
    t: &Tiling,
    m: *const f32,
    stride: usize,
    bias: f32,
    relu: bool,
    out: *mut f32,
) {
    // SAFETY: every load is masked to the pair's slots, below `slots_written`; every
    // store writes 8 outputs of a row of tiles the AVX2 transform writes, inside the
    // output plane (the contract).
    unsafe {
        let (bias, zero, ow) = (_mm512_set1_ps(bias), _mm512_setzero_ps(), t.out_w());
        for pair in &t.pairs {
            let src = m.add(pair.first.slot);
            // (A loop, not a closure: one would not share this function's features.)
            let mut x = [[V16(zero); 4]; 4];
            for (xi, v) in x.iter_mut().flatten().enumerate() {
                *v = V16(_mm512_maskz_loadu_ps(pair.mask, src.add(xi * stride)));
            }
            let first = _mm512_loadu_si512(pair.out_first.as_ptr().cast());
            let second = _mm512_loadu_si512(pair.out_second.as_ptr().cast());
            for (i, [y0, y1]) in sandwich(x, at, at).into_iter().enumerate() {
                let (mut y0, mut y1) = (_mm512_add_ps(y0.0, bias), _mm512_add_ps(y1.0, bias));
                if relu {
                    (y0, y1) = (_mm512_max_ps(y0, zero), _mm512_max_ps(y1, zero));
                }
                store_rows(
                    out,
                    ow,
                    i,
                    &pair.first,
                    _mm512_permutex2var_ps(y0, first, y1),
                );
                if !pair.alone() {
                    let rows = _mm512_permutex2var_ps(y0, second, y1);
                    store_rows(out, ow, i, &pair.second, rows);
                }
            }
        }
    }
}

/// Stores row `i` of a group's output tiles: the 8 outputs of its left half (lanes 0-7
/// of `rows`) and of its right half (lanes 8-15).
///
/// # Safety
///
/// AVX-512F is available, and both rows' 8 floats lie inside the output plane `out`
/// (rows of `ow` floats).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_rows(out: *mut f32, ow: usize, i: usize, g: &Group, rows: __m512) {
    // SAFETY: both stores are inside the plane (the contract).
    unsafe {
        let row_a = out.add((2 * g.a.0 + i) * ow + 2 * g.a.1);
        let row_b = out.add((2 * g.b.0 + i) * ow + 2 * g.b.1);
        let hi = _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(rows));
        _mm256_storeu_ps(row_a, _mm512_castps512_ps256(rows));
        _mm256_storeu_ps(row_b, _mm256_castpd_ps(hi));
    }
}

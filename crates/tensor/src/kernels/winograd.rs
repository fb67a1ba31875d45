//! 3×3 "same" convolutions (stride 1, pad 1) by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin and Gray 2016): each 2×2 tile of outputs comes from a 4×4 input patch with 16
//! multiplications per channel pair instead of 36, 2.25× fewer than a direct convolution.
//!
//! One output tile is `Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A`, with `g_c` the 3×3 kernel
//! of input channel `c`, `d_c` its 4×4 patch and `B`, `G`, `A` the fixed matrices of
//! [`bt`], [`g`] and [`at`]. The weight transform `U = G g Gᵀ` and the input transform
//! `V = Bᵀ d B` are 4×4; for each of the 16 positions `ξ` the sum over channels is one
//! GEMM, `M[ξ] (Co × tiles) = U[ξ] (Co × C) · V[ξ] (C × tiles)`, on the 6×16 micro-kernel.
//!
//! This serves the forward and the input gradient (the forward with the flipped weight,
//! `conv.rs`); bias and rectifier are applied as the output transform writes `y`. The
//! weight gradient stays direct (`conv_implicit.rs`): done this way (`dU[ξ] = Σ dM[ξ] ·
//! V[ξ]ᵀ`, `dM = A dY Aᵀ`, `dW = Gᵀ dU G`, tried with 2 MiB chunks) it measured 1.2×
//! faster at 14×14 but slower at 28×28 (6.2 against 5.4 ms) and at 7×7 (7.4 against 7.1),
//! not worth a second path.
//!
//! Images are processed in chunks whose tiles are numbered one after another (tile slots
//! rounded up to whole 16-wide blocks), sized so a chunk's transformed input stays near
//! L2. The transforms work on 8 tiles at once (AVX2).

use super::microkernel::{self, gemm_block, Block, MR, NR};
use super::scratch::with_scratch;
use crate::ConvGeom;
use ndarray::parallel::prelude::*;
use ndarray::{Array4, ArrayView1, ArrayView4, Axis};

/// Positions of a transformed 4×4 tile.
const XI: usize = 16;
/// Floats of a chunk's transformed input (16 · C · tile slots) aimed at: 512 KiB, a
/// core's L2 here.
const CHUNK_FLOATS: usize = 128 * 1024;

/// Fewest input and output channels for which this path beats the direct one. Per tile
/// the transforms cost O(C + Co) and save O(C · Co) multiplies: measured at batch 128
/// (`cargo bench -p tensor --bench conv -- paths`), 1.25-1.45× faster with 32 and 64
/// channels, slower with 16.
pub const MIN_CHANNELS: usize = 32;

/// Whether this path runs the forward convolution: AVX2/FMA present, a 3×3 kernel, stride
/// 1, pad 1, and at least [`MIN_CHANNELS`] input and output channels.
pub fn supports(kh: usize, kw: usize, geom: ConvGeom, c: usize, co: usize) -> bool {
    microkernel::available()
        && (kh, kw) == (3, 3)
        && (geom.stride, geom.pad) == (1, 1)
        && c >= MIN_CHANNELS
        && co >= MIN_CHANNELS
}

/// `Bᵀ x` for one column (or row) of a 4×4 input patch.
#[inline(always)]
fn bt<T: Lane>(x: [T; 4]) -> [T; 4] {
    [
        x[0].sub(x[2]),
        x[1].add(x[2]),
        x[2].sub(x[1]),
        x[1].sub(x[3]),
    ]
}

/// `Aᵀ x`: two outputs from one column (or row) of a transformed tile.
#[inline(always)]
fn at<T: Lane>(x: [T; 4]) -> [T; 2] {
    [x[0].add(x[1]).add(x[2]), x[1].sub(x[2]).sub(x[3])]
}

/// `G x`: four values from one column (or row) of a 3×3 kernel.
fn g(x: [f32; 3]) -> [f32; 4] {
    [
        x[0],
        0.5 * (x[0] + x[1] + x[2]),
        0.5 * (x[0] - x[1] + x[2]),
        x[2],
    ]
}

/// `L X Rᵀ` for a small matrix `X [I][J]` and one 1-D map `f` (`L = R`): `f` on every
/// column, then on every row.
#[inline(always)]
fn sandwich<T: Lane, const I: usize, const J: usize, const P: usize, const Q: usize>(
    x: [[T; J]; I],
    f: impl Fn([T; I]) -> [T; P],
    h: impl Fn([T; J]) -> [T; Q],
) -> [[T; Q]; P] {
    let cols: [[T; P]; J] = std::array::from_fn(|j| f(std::array::from_fn(|i| x[i][j])));
    std::array::from_fn(|p| h(std::array::from_fn(|j| cols[j][p])))
}

/// What the 1-D transforms need of a number: a float, or 8 of them in a register.
trait Lane: Copy {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
}

impl Lane for f32 {
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn sub(self, o: Self) -> Self {
        self - o
    }
}

/// The tiles of one image and how images are grouped into chunks.
#[derive(Clone, Debug)]
struct Tiling {
    h: usize,
    w: usize,
    /// Rows of tiles, `⌈H/2⌉`.
    th: usize,
    /// Tiles per row, `⌈W/2⌉`, rounded up to whole groups of 8.
    twr: usize,
    /// Tile slots per row of tiles: rows of at most 4 tiles are numbered as 4 slots and
    /// transformed two rows at a time (one per half of a vector); longer rows are
    /// numbered as they are and taken 8 consecutive tiles at a time.
    row_slots: usize,
    /// Images per chunk.
    images: usize,
    /// Tile slots per chunk: `images · th · row_slots` rounded up to a multiple of 16.
    slots: usize,
    /// The groups of 8 tiles the transforms take at once, in slot order: tiles past the
    /// image (the rest of a short row, or a row below the last) are computed and
    /// overwritten by the next group or left in slots nothing reads.
    groups: Vec<Group>,
    /// One past the last slot any group writes.
    slots_written: usize,
    /// Distance between rows of `V` and `M` (one row per position and channel):
    /// `slots + 8`, so a group of 8 tiles stored whole past the chunk's last tile stays in
    /// its own row.
    ld: usize,
}

impl Tiling {
    /// Chooses the chunk: the image count (up to 16) that wastes the smallest share of
    /// tile slots, the larger on ties, within [`CHUNK_FLOATS`] for `channels`.
    fn new(h: usize, w: usize, channels: usize) -> Self {
        let (th, tw) = (h.div_ceil(2), w.div_ceil(2));
        let paired = tw <= 4;
        let row_slots = if paired { 4 } else { tw };
        let per = th * row_slots;
        let slots = |m: usize| (m * per).div_ceil(NR) * NR;
        let images = (1..=16)
            .rev()
            .filter(|&m| m == 1 || XI * channels * slots(m) <= CHUNK_FLOATS)
            .min_by(|&m, &n| {
                ((slots(m) - m * per) * slots(n)).cmp(&((slots(n) - n * per) * slots(m)))
            })
            .unwrap_or(1);
        let groups: Vec<Group> = if paired {
            (0..th)
                .step_by(2)
                .map(|ty| Group {
                    slot: ty * 4,
                    a: (ty, 0),
                    b: (ty + 1, 0),
                })
                .collect()
        } else {
            (0..th)
                .flat_map(|ty| {
                    (0..tw).step_by(8).map(move |tx| Group {
                        slot: ty * tw + tx,
                        a: (ty, tx),
                        b: (ty, tx + 4),
                    })
                })
                .collect()
        };
        Self {
            slots_written: groups.iter().map(|g| g.slot + 8).max().unwrap_or(0),
            groups,
            h,
            w,
            th,
            twr: tw.div_ceil(8) * 8,
            row_slots,
            images,
            slots: slots(images),
            ld: slots(images) + 8,
        }
    }
    fn per_image(&self) -> usize {
        self.th * self.row_slots
    }
    /// Width of the zero-bordered input plane: one pad column each side, room for the
    /// last group's loads.
    fn plane_w(&self) -> usize {
        2 * self.twr + 2
    }
    /// Its rows: one pad row each side, and a row of tiles more for a paired group below
    /// the last.
    fn plane_len(&self) -> usize {
        (2 * self.th + 4) * self.plane_w()
    }
    /// Width of an output plane: two columns per tile slot of a row.
    fn out_w(&self) -> usize {
        2 * self.twr
    }
    fn out_len(&self) -> usize {
        (2 * self.th + 2) * self.out_w()
    }
    /// Copies one channel `x [H, W]` inside the one-pixel border of the input plane;
    /// what is outside stays as it was (zero borders stay zero).
    fn pack(&self, x: &[f32], plane: &mut [f32]) {
        for (row, y) in x.chunks_exact(self.w).zip(1..) {
            let at = y * self.plane_w() + 1;
            plane[at..at + self.w].copy_from_slice(row);
        }
    }
}

/// 8 tiles transformed together, in two halves of 4 consecutive tiles of one row each.
#[derive(Clone, Copy, Debug)]
struct Group {
    /// Slot of the first tile.
    slot: usize,
    /// (tile row, tile column) of the first tile of each half.
    a: (usize, usize),
    b: (usize, usize),
}

/// `U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ]`, the transformed weight in the GEMM's layout.
fn weight_transform(w: ArrayView4<f32>) -> Vec<f32> {
    let (co, c, _, _) = w.dim();
    let mut u = vec![0.0f32; XI * co * c];
    for o in 0..co {
        for ci in 0..c {
            let k: [[f32; 3]; 3] =
                std::array::from_fn(|i| std::array::from_fn(|j| w[[o, ci, i, j]]));
            let t = sandwich(k, g, g);
            for (xi, &v) in t.iter().flatten().enumerate() {
                u[(xi * co + o) * c + ci] = v;
            }
        }
    }
    u
}

/// One thread's buffers, carved from its scratch memory: the zero-bordered input plane,
/// `V`, `M` and the output plane.
struct Scratch<'a> {
    plane: &'a mut [f32],
    v: &'a mut [f32],
    m: &'a mut [f32],
    out: &'a mut [f32],
}

impl<'a> Scratch<'a> {
    /// Floats the buffers take.
    fn len(t: &Tiling, c: usize, co: usize) -> usize {
        t.plane_len() + XI * (c + co) * t.ld + t.out_len()
    }

    /// Splits `buf` ([`Scratch::len`] floats, any contents) into the buffers and zeroes
    /// the input plane (its border is read as the image's zero padding; the output plane
    /// is written before it is read).
    fn new(buf: &'a mut [f32], t: &Tiling, c: usize, co: usize) -> Self {
        let (plane, rest) = buf.split_at_mut(t.plane_len());
        let (v, rest) = rest.split_at_mut(XI * c * t.ld);
        let (m, out) = rest.split_at_mut(XI * co * t.ld);
        plane.fill(0.0);
        Self { plane, v, m, out }
    }

    /// `V` of the images `xs [n ≤ images, C, H, W]`, image `i`'s tiles from slot
    /// `i · per_image`.
    fn transform_inputs(&mut self, t: &Tiling, xs: ArrayView4<f32>) {
        let (c, plane) = (xs.dim().1, t.h * t.w);
        for (i, xn) in xs.axis_iter(Axis(0)).enumerate() {
            let xn = xn.to_slice().expect("winograd: contiguous image");
            for (ci, xc) in xn.chunks_exact(plane).enumerate() {
                t.pack(xc, self.plane);
                let at = ci * t.ld + i * t.per_image();
                input_transform(t, self.plane, self.v, at, c * t.ld);
            }
        }
    }
}

/// `y [N, Co, H, W] = conv(x, w) + b` for a 3×3 kernel, stride 1, pad 1 (see
/// [`supports`]), then `max(y, 0)` if `relu`.
pub fn forward(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    relu: bool,
) -> Array4<f32> {
    let (n, c, h, wd) = x.dim();
    let co = w.dim().0;
    let t = &Tiling::new(h, wd, c.max(co));
    let x = x.as_standard_layout();
    let u = weight_transform(w);
    // Every element is written below, so the output is not zeroed first.
    let mut y = Array4::<f32>::uninit((n, co, h, wd));
    y.axis_chunks_iter_mut(Axis(0), t.images)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), t.images))
        .for_each(|(mut ys, xs)| {
            with_scratch(Scratch::len(t, c, co), |buf| {
                let mut s = Scratch::new(buf, t, c, co);
                s.transform_inputs(t, xs);
                for xi in 0..XI {
                    for t0 in (0..t.slots).step_by(NR) {
                        for o0 in (0..co).step_by(MR) {
                            let block = Block {
                                rows: MR.min(co - o0),
                                a_at: (xi * co + o0) * c,
                                a_row: c,
                                a_k: 1,
                                a_segments: &[0],
                                b_segments: &[0],
                                seg_len: c,
                                b_at: xi * c * t.ld + t0,
                                b_k: t.ld,
                                c_at: (xi * co + o0) * t.ld + t0,
                                c_row: t.ld,
                                accumulate: false,
                            };
                            gemm_block(&block, &u, s.v, s.m);
                        }
                    }
                }
                for (i, mut yn) in ys.axis_iter_mut(Axis(0)).enumerate() {
                    let yn = yn.as_slice_mut().expect("contiguous output");
                    for ((o, yc), &bias) in yn.chunks_exact_mut(h * wd).enumerate().zip(&b) {
                        let at = o * t.ld + i * t.per_image();
                        output_transform(t, s.m, at, co * t.ld, bias, relu, s.out);
                        for (dst, src) in yc.chunks_exact_mut(wd).zip(s.out.chunks_exact(t.out_w()))
                        {
                            for (d, &v) in dst.iter_mut().zip(src) {
                                d.write(v);
                            }
                        }
                    }
                }
            })
        });
    // SAFETY: the loops above wrote every element: each image's `co` planes, each plane's
    // `h` rows of `wd` values.
    unsafe { y.assume_init() }
}

/// Writes `V = Bᵀ d B` of every tile of one zero-bordered channel plane: position `ξ` of
/// tile `t` (numbered row by row) to `v[at + ξ·stride + t]`.
fn input_transform(t: &Tiling, plane: &[f32], v: &mut [f32], at: usize, stride: usize) {
    assert!(
        plane.len() >= t.plane_len(),
        "winograd: input plane {} < {}",
        plane.len(),
        t.plane_len()
    );
    let last = at + (XI - 1) * stride + t.slots_written - 1;
    assert!(last < v.len(), "winograd: V writes {last}, len {}", v.len());
    assert!(
        microkernel::available(),
        "winograd: this CPU lacks AVX2/FMA"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 is available; loads stay inside the plane (rows < 2·th + 4, columns
    // < 2·twr + 2) and whole-vector stores at or below `last`.
    unsafe {
        avx2::input(t, plane.as_ptr(), v.as_mut_ptr().add(at), stride)
    }
}

/// Writes `Aᵀ M A + bias` (then `max(·, 0)` if `relu`) of every tile of one output
/// channel into the plane `out` (rows of [`Tiling::out_w`]), reading position `ξ`
/// of tile `t` at `m[at + ξ·stride + t]`.
fn output_transform(
    t: &Tiling,
    m: &[f32],
    at: usize,
    stride: usize,
    bias: f32,
    relu: bool,
    out: &mut [f32],
) {
    let last = at + (XI - 1) * stride + t.slots_written - 1;
    assert!(last < m.len(), "winograd: M reads {last}, len {}", m.len());
    assert!(
        out.len() >= t.out_len(),
        "winograd: output plane {} < {}",
        out.len(),
        t.out_len()
    );
    assert!(
        microkernel::available(),
        "winograd: this CPU lacks AVX2/FMA"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 is available; whole-vector reads stop at `last`, writes inside `out`.
    unsafe {
        avx2::output(t, m.as_ptr().add(at), stride, bias, relu, out.as_mut_ptr())
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{at, bt, sandwich, Lane, Tiling};
    use std::arch::x86_64::*;

    /// Eight floats in one register.
    #[derive(Clone, Copy)]
    struct V8(__m256);

    impl Lane for V8 {
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: only built inside the AVX2 functions below.
            V8(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: as above.
            V8(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
    }

    /// The even and the odd elements of the 8 floats at `pa` (lanes 0-3) and of the 8 at
    /// `pb` (lanes 4-7).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn deinterleave(pa: *const f32, pb: *const f32) -> (V8, V8) {
        let (lo, hi) = (halves(pa, pb), halves(pa.add(4), pb.add(4)));
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
        (V8(even), V8(odd))
    }

    /// The 4 floats at `a` (lanes 0-3) and the 4 at `b` (lanes 4-7).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn halves(a: *const f32, b: *const f32) -> __m256 {
        _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(_mm_loadu_ps(a)), _mm_loadu_ps(b))
    }

    /// See `input_transform`; `v` points at slot 0 of position 0.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn input(t: &Tiling, plane: *const f32, v: *mut f32, stride: usize) {
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

    /// See `output_transform`; `m` points at tile 0 of position 0.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn output(
        t: &Tiling,
        m: *const f32,
        stride: usize,
        bias: f32,
        relu: bool,
        out: *mut f32,
    ) {
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

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
//! `mod.rs`); bias and rectifier are applied as the output transform writes `y`. The
//! weight gradient stays direct (`implicit.rs`): done this way (`dU[ξ] = Σ dM[ξ] ·
//! V[ξ]ᵀ`, `dM = A dY Aᵀ`, `dW = Gᵀ dU G`, tried with 2 MiB chunks) it measured 1.2×
//! faster at 14×14 but slower at 28×28 (6.2 against 5.4 ms) and at 7×7 (7.4 against 7.1),
//! not worth a second path.
//!
//! Images are processed in chunks whose tiles are numbered one after another (tile slots
//! rounded up to whole 16-wide blocks), sized so a chunk's transformed input stays near
//! L2. The transforms work on 8 tiles at once (AVX2).

use super::scratch::{whole_lines, with_scratch, LINE};
use super::simd::{self, gemm::gemm, gemm::Block, gemm::NR};
use super::{copy_rows, write_output};
use ndarray::{Array4, ArrayView1, ArrayView4, ArrayViewMut4, Axis};
use rayon::prelude::*;
use std::mem::MaybeUninit;

mod pairs;
pub(super) use pairs::GroupPair;

/// Positions of a transformed 4×4 tile.
const XI: usize = 16;
/// Floats of a chunk's transformed input (16 · C · tile slots) aimed at: 512 KiB, a
/// core's L2 here.
const CHUNK_FLOATS: usize = 128 * 1024;

/// Fewest input and output channels for which this path beats the direct one. Per tile
/// the transforms cost O(C + Co) and save O(C · Co) multiplies: measured at batch 128
/// (`cargo bench -p tensor --bench conv -- paths`), 1.25-1.45× faster with 32 and 64
/// channels, slower with 16.
pub(super) const MIN_CHANNELS: usize = 32;

/// `Bᵀ x` for one column (or row) of a 4×4 input patch.
#[inline(always)]
pub(super) fn bt<T: Lane>(x: [T; 4]) -> [T; 4] {
    [
        x[0].sub(x[2]),
        x[1].add(x[2]),
        x[2].sub(x[1]),
        x[1].sub(x[3]),
    ]
}

/// `Aᵀ x`: two outputs from one column (or row) of a transformed tile.
#[inline(always)]
pub(super) fn at<T: Lane>(x: [T; 4]) -> [T; 2] {
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
pub(super) fn sandwich<T: Lane, const I: usize, const J: usize, const P: usize, const Q: usize>(
    x: [[T; J]; I],
    f: impl Fn([T; I]) -> [T; P],
    h: impl Fn([T; J]) -> [T; Q],
) -> [[T; Q]; P] {
    let cols: [[T; P]; J] = std::array::from_fn(|j| f(std::array::from_fn(|i| x[i][j])));
    std::array::from_fn(|p| h(std::array::from_fn(|j| cols[j][p])))
}

/// What the 1-D transforms need of a number: a float, or 8 of them in a register.
pub(super) trait Lane: Copy {
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
pub(super) struct Tiling {
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
    pub(super) groups: Vec<Group>,
    /// The same groups two at a time for the AVX-512 transform ([`GroupPair`]).
    pub(super) pairs: Vec<GroupPair>,
    /// One past the last slot any group writes.
    slots_written: usize,
    /// Distance between rows of `V` and `M` (one row per position and channel):
    /// `slots + 16`, so a group of 8 tiles stored whole past the chunk's last tile stays in
    /// its own row, and every row starts on a 64-byte line (`slots` is a multiple of 16):
    /// the micro-kernel's 16-lane loads of `V` and stores of `M` never straddle two lines.
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
            pairs: GroupPair::pair_up(&groups),
            groups,
            h,
            w,
            th,
            twr: tw.div_ceil(8) * 8,
            row_slots,
            images,
            slots: slots(images),
            ld: slots(images) + LINE,
        }
    }
    fn per_image(&self) -> usize {
        self.th * self.row_slots
    }
    /// Width of the zero-bordered input plane: one pad column each side, room for the
    /// last group's loads.
    pub(super) fn plane_w(&self) -> usize {
        2 * self.twr + 2
    }
    /// Its rows: one pad row each side, and a row of tiles more for a paired group below
    /// the last.
    pub(super) fn plane_len(&self) -> usize {
        (2 * self.th + 4) * self.plane_w()
    }
    /// Width of an output plane: two columns per tile slot of a row.
    pub(super) fn out_w(&self) -> usize {
        2 * self.twr
    }
    pub(super) fn out_len(&self) -> usize {
        (2 * self.th + 2) * self.out_w()
    }
    /// Copies one channel `x [H, W]` inside the one-pixel border of the input plane;
    /// what is outside stays as it was (zero borders stay zero).
    fn pack(&self, x: &[f32], plane: &mut [f32]) {
        copy_rows(x, self.w, plane, self.plane_w() + 1, self.plane_w());
    }
    /// Zeroes all of an input plane ([`Tiling::plane_len`] floats) that [`Tiling::pack`]
    /// does not write: the rows above and below the image and, beside each of its rows,
    /// the columns left and right of it.
    fn zero_border(&self, plane: &mut [f32]) {
        let pw = self.plane_w();
        let (top, rest) = plane[..self.plane_len()].split_at_mut(pw);
        top.fill(0.0);
        let (rows, below) = rest.split_at_mut(self.h * pw);
        below.fill(0.0);
        for row in rows.chunks_exact_mut(pw) {
            row[0] = 0.0;
            row[self.w + 1..].fill(0.0);
        }
    }
}

/// 8 tiles transformed together, in two halves of 4 consecutive tiles of one row each.
#[derive(Clone, Copy, Debug)]
pub(super) struct Group {
    /// Slot of the first tile.
    pub(super) slot: usize,
    /// (tile row, tile column) of the first tile of each half.
    pub(super) a: (usize, usize),
    pub(super) b: (usize, usize),
}

/// `U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ]`, the transformed weight in the GEMM's layout: each
/// kernel's 16 values first side by side (written in order, kernels split over rayon),
/// then each `ξ`'s plane gathered from them, again written in order. Written straight
/// into the 16 planes, each kernel would be 16 stores a plane apart: at the paper's
/// widths (256 × 256 kernels, 4 MiB of `U`) that took 5% of a training step, on one thread.
fn weight_transform(w: ArrayView4<f32>) -> Vec<f32> {
    let (co, c, _, _) = w.dim();
    let w = w.as_standard_layout();
    let w = w.as_slice().expect("standard layout");
    let mut by_kernel = vec![0.0f32; co * c * XI];
    by_kernel
        .par_chunks_mut(XI)
        .zip(w.par_chunks(9))
        .for_each(|(t, k)| {
            let k: [[f32; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| k[3 * i + j]));
            for (d, &v) in t.iter_mut().zip(sandwich(k, g, g).iter().flatten()) {
                *d = v;
            }
        });
    let mut u = vec![0.0f32; XI * co * c];
    u.par_chunks_mut(co * c)
        .enumerate()
        .for_each(|(xi, plane)| {
            for (d, t) in plane.iter_mut().zip(by_kernel.chunks_exact(XI)) {
                *d = t[xi];
            }
        });
    u
}

/// One thread's buffers, carved from its scratch memory: the zero-bordered input planes
/// (one per channel), `V`, `M` and the output plane.
struct Scratch<'a> {
    planes: &'a mut [f32],
    v: &'a mut [f32],
    m: &'a mut [f32],
    out: &'a mut [f32],
}

impl<'a> Scratch<'a> {
    /// Floats the buffers take.
    fn len(t: &Tiling, c: usize, co: usize) -> usize {
        c * whole_lines(t.plane_len()) + XI * (c + co) * t.ld + t.out_len()
    }

    /// Splits `buf` ([`Scratch::len`] floats, any contents) into the buffers and zeroes
    /// the input planes' borders (read as the image's zero padding; every interior is
    /// packed before it is read, and the output plane written before it is read).
    fn new(buf: &'a mut [f32], t: &Tiling, c: usize, co: usize) -> Self {
        // `buf` starts on a line, and so (whole lines later) do `V` and `M`.
        let (planes, rest) = buf.split_at_mut(c * whole_lines(t.plane_len()));
        let (v, rest) = rest.split_at_mut(XI * c * t.ld);
        let (m, out) = rest.split_at_mut(XI * co * t.ld);
        for p in planes.chunks_exact_mut(whole_lines(t.plane_len())) {
            t.zero_border(p);
        }
        Self { planes, v, m, out }
    }

    /// `V` of the images `xs [n ≤ images, C, H, W]`, image `i`'s tiles from slot
    /// `i · per_image`.
    ///
    /// All channels of an image are packed before any is transformed: a transform reading
    /// a plane right after its rows were copied in stalls on the copy's stores still in
    /// flight (their loads straddle those stores), which cost most of its time.
    fn transform_inputs(&mut self, t: &Tiling, xs: ArrayView4<f32>) {
        let (c, plane) = (xs.dim().1, t.h * t.w);
        let stride = whole_lines(t.plane_len());
        for (i, xn) in xs.axis_iter(Axis(0)).enumerate() {
            let xn = xn.to_slice().expect("winograd: contiguous image");
            for (xc, p) in xn
                .chunks_exact(plane)
                .zip(self.planes.chunks_exact_mut(stride))
            {
                t.pack(xc, p);
            }
            for (ci, p) in self.planes.chunks_exact(stride).enumerate() {
                let at = ci * t.ld + i * t.per_image();
                input_transform(t, p, self.v, at, c * t.ld);
            }
        }
    }
}

/// `y [N, Co, H, W] = conv(x, w) + b` for a 3×3 kernel, stride 1, pad 1, at least
/// [`MIN_CHANNELS`] channels in and out (AVX2/FMA), then `max(y, 0)` if `relu`.
pub(super) fn forward(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    relu: bool,
) -> Array4<f32> {
    let (_, c, h, wd) = x.dim();
    let co = w.dim().0;
    let t = &Tiling::new(h, wd, c.max(co));
    let x = x.as_standard_layout();
    let u = weight_transform(w);
    let fill = |_: &mut (), mut ys: ArrayViewMut4<MaybeUninit<f32>>, xs: ArrayView4<f32>| {
        with_scratch(Scratch::len(t, c, co), |buf| {
            let mut s = Scratch::new(buf, t, c, co);
            s.transform_inputs(t, xs);
            for xi in 0..XI {
                let block = Block {
                    rows: 0,
                    a_at: xi * co * c,
                    a_row: c,
                    a_k: 1,
                    a_segments: &[0],
                    b_segments: &[0],
                    seg_len: c,
                    b_at: xi * c * t.ld,
                    b_k: t.ld,
                    c_at: xi * co * t.ld,
                    c_row: t.ld,
                    accumulate: false,
                };
                gemm(&block, co, t.slots, &u, s.v, s.m);
            }
            for (i, mut yn) in ys.axis_iter_mut(Axis(0)).enumerate() {
                let yn = yn.as_slice_mut().expect("contiguous output");
                for ((o, yc), &bias) in yn.chunks_exact_mut(h * wd).enumerate().zip(&b) {
                    let at = o * t.ld + i * t.per_image();
                    output_transform(t, s.m, at, co * t.ld, bias, relu, s.out);
                    for (dst, src) in yc.chunks_exact_mut(wd).zip(s.out.chunks_exact(t.out_w())) {
                        for (d, &v) in dst.iter_mut().zip(src) {
                            d.write(v);
                        }
                    }
                }
            }
        })
    };
    // SAFETY: `fill` writes every element of its chunk: each image's `co` planes, each
    // plane's `h` rows of `wd` values.
    unsafe { write_output(x.view(), co, t.images, || (), fill) }
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
    let isa = simd::isa().expect("winograd: this CPU lacks AVX2/FMA");
    #[cfg(target_arch = "x86_64")]
    if isa == crate::SimdPath::Avx512 {
        // SAFETY: AVX-512F is available; the plane holds `plane_len` floats and every
        // slot written, `at + ξ·stride + s` for `s < slots_written`, is at most `last`.
        unsafe { simd::winograd::input_512(t, plane.as_ptr(), v.as_mut_ptr().add(at), stride) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available; the plane holds `plane_len` floats and every
    // slot written, `at + ξ·stride + s` for `s < slots_written`, is at most `last`.
    unsafe {
        simd::winograd::input(t, plane.as_ptr(), v.as_mut_ptr().add(at), stride)
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
    let (m, out) = (m.as_ptr().wrapping_add(at), out.as_mut_ptr());
    let isa = simd::isa().expect("winograd: this CPU lacks AVX2/FMA");
    #[cfg(target_arch = "x86_64")]
    if isa == crate::SimdPath::Avx512 {
        // SAFETY: AVX-512F is available; every slot read is at most `last`, and `out`
        // holds `out_len` floats.
        unsafe { simd::winograd::output_512(t, m, stride, bias, relu, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available; every slot read is at most `last`, and `out`
    // holds `out_len` floats.
    unsafe {
        simd::winograd::output(t, m, stride, bias, relu, out)
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
#[path = "winograd_tests.rs"]
mod tests;

//! "Same" convolutions (stride 1, odd square kernel, pad `(k−1)/2`) as an implicit GEMM on
//! AVX2/FMA or AVX-512: no im2col matrix; the 6×16 micro-kernel (16×16 on AVX-512) reads
//! the taps straight from a zero-padded copy of each image.
//!
//! Each image is laid on a padded grid of `(H+2p) × Wp` positions (`Wp = W+2p`) with `p`
//! spare positions at each end. Output rows are numbered `r = y·Wp + x + p` over the `H`
//! interior grid rows *including* their pad columns: output `r` reads position
//! `r + ky·Wp + kx` for tap `(ky, kx)`, a fixed offset per tap, so the 9 taps are the
//! micro-kernel's segments. The `2p` pad columns of each grid row are computed and thrown
//! away (28 of 30 columns are real at 28×28; 7 of 9 at 7×7).
//!
//! * forward (channels first, no transposes): `Y[o][r] = Σ_tap Σ_c Wo[o][tap][c] ·
//!   xp[c][r + tap]`, a block being 6 output channels × 16 consecutive `r`;
//! * input gradient: the forward applied to `dY` with the flipped, transposed weight
//!   (`mod.rs` does this);
//! * weight gradient: `dW[o][c][tap] = Σ_r dYp[o][r] · xp[c][r + tap]`, dot products
//!   along rows (`dot_block`, 4 output channels × the 3 taps of a kernel row per call),
//!   `dYp` the output gradient on the same rows with zeros in the pad columns, so they add
//!   nothing; small images are laid side by side in one wide image so the rows are long.

use super::scratch::{whole_lines, Aligned};
use super::simd::gemm::{
    dot_block, dot_pairs, dot_rows, gemm, interleave_pairs, Block, DotBlock, DOT_B, NR,
};
use super::{copy_rows, sum_in_order, write_output, WEIGHT_GRAD_CHUNK};
use crate::kernels::elementwise::{Relu, Unary};
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array4, ArrayView1, ArrayView4, ArrayViewMut4, Axis};
use std::mem::MaybeUninit;

/// The padded grid of one image.
#[derive(Clone, Copy, Debug)]
struct Grid {
    h: usize,
    w: usize,
    k: usize,
    p: usize,
    wp: usize,
}

impl Grid {
    fn new(h: usize, w: usize, k: usize) -> Self {
        let p = k / 2;
        Self {
            h,
            w,
            k,
            p,
            wp: w + 2 * p,
        }
    }
    /// Output rows computed per image: the interior grid rows, pad columns included.
    fn rows(&self) -> usize {
        self.h * self.wp
    }
    /// Output rows rounded up to whole 16-wide blocks (the forward's row count).
    fn rows_padded(&self) -> usize {
        self.rows().div_ceil(NR) * NR
    }
    /// Distance between channel planes of the forward's padded input: room for every
    /// position any block reads, in whole cache lines (so every plane starts on one).
    fn plane(&self) -> usize {
        whole_lines(self.rows_padded() + 2 * self.p * self.wp + 2 * self.p)
    }
    /// Each tap's offset, in positions, from an output row to what it reads.
    fn taps(&self) -> Vec<usize> {
        (0..self.k)
            .flat_map(|ky| (0..self.k).map(move |kx| ky * self.wp + kx))
            .collect()
    }
    /// The output row of pixel `(y, x)`.
    fn row_of(&self, y: usize, x: usize) -> usize {
        y * self.wp + x + self.p
    }
    /// Copies each plane of `x [C, H, w]` (an image no wider than the grid) into the
    /// planes (`stride` apart) of `dst` with its top-left pixel at grid pixel `(0, x0)`,
    /// `shift` positions past the output rows' own (`p·Wp + p` for an input grid, 0 for
    /// output rows). What is not written stays as it was: zero pads stay zero.
    fn pack_rows(
        &self,
        x: &[f32],
        w: usize,
        x0: usize,
        shift: usize,
        dst: &mut [f32],
        stride: usize,
    ) {
        for (src, dst) in x.chunks_exact(self.h * w).zip(dst.chunks_exact_mut(stride)) {
            copy_rows(src, w, dst, self.row_of(0, x0) + shift, self.wp);
        }
    }
    /// Copies `x [C, H, W]` into the interior of the channel planes of `xp` (whose pads
    /// are zero and stay zero).
    fn pack_planes(&self, x: &[f32], xp: &mut [f32]) {
        let shift = self.p * self.wp + self.p;
        self.pack_rows(x, self.w, 0, shift, xp, self.plane());
    }
}

/// `y [N, Co, H, W] = conv(x, w) + b`, "same" padding, stride 1, an odd square kernel
/// (AVX2/FMA), then `max(y, 0)` if `relu`.
pub(super) fn forward(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    relu: bool,
) -> Array4<f32> {
    let (_, c, h, wd) = x.dim();
    let (co, _, k, _) = w.dim();
    let g = Grid::new(h, wd, k);
    let x = x.as_standard_layout();
    // Wo[o][tap][c] = w[o][c][ky][kx]
    let wo: Vec<f32> = (0..co)
        .flat_map(|o| (0..k * k).flat_map(move |t| (0..c).map(move |ci| (o, t, ci))))
        .map(|(o, t, ci)| w[[o, ci, t / k, t % k]])
        .collect();
    let a_segments: Vec<usize> = (0..k * k).map(|t| t * c).collect();
    let b_segments = g.taps();
    let (rows, plane) = (g.rows_padded(), g.plane());
    let block = Block {
        rows: 0,
        a_at: 0,
        a_row: k * k * c,
        a_k: 1,
        a_segments: &a_segments,
        b_segments: &b_segments,
        seg_len: c,
        b_at: 0,
        b_k: plane,
        c_at: 0,
        c_row: rows,
        accumulate: false,
    };
    let init = || (Aligned::zeroed(c * plane), Aligned::zeroed(co * rows));
    let fill = |(xp, out): &mut (Aligned, Aligned),
                mut ys: ArrayViewMut4<MaybeUninit<f32>>,
                xs: ArrayView4<f32>| {
        for (mut yn, xn) in ys.axis_iter_mut(Axis(0)).zip(xs.axis_iter(Axis(0))) {
            g.pack_planes(xn.as_slice().expect("conv2d: contiguous image"), xp);
            gemm(&block, co, rows, &wo, xp, out);
            let yn = yn.as_slice_mut().expect("contiguous output");
            for ((dst, src), &bias) in yn
                .chunks_exact_mut(h * wd)
                .zip(out.chunks_exact(rows))
                .zip(b.iter())
            {
                for (row, y) in dst.chunks_exact_mut(wd).zip(0..) {
                    let at = g.row_of(y, 0);
                    if relu {
                        for (d, &v) in row.iter_mut().zip(&src[at..at + wd]) {
                            d.write(Relu::f(v + bias));
                        }
                    } else {
                        for (d, &v) in row.iter_mut().zip(&src[at..at + wd]) {
                            d.write(v + bias);
                        }
                    }
                }
            }
        }
    };
    // SAFETY: `fill` writes every element of its chunk: each image's `co` planes, each
    // plane's `h` rows of `wd` values.
    unsafe { write_output(x.view(), co, 1, init, fill) }
}

/// `(dW [Co, C, k, k], db [Co])` of a "same", stride-1 convolution (see
/// `ConvPath::Implicit`), channels first: `dW[o][c][tap] = Σ_r dYp[o][r] · xp[c][r + tap]`,
/// summed in fixed chunks of images and then the chunks in order: bit-identical on any
/// number of threads.
pub(super) fn backward_weight(
    dy: ArrayView4<f32>,
    x: ArrayView4<f32>,
    k: usize,
) -> (Array4<f32>, Array1<f32>) {
    let (_, c, h, wd) = x.dim();
    let co = dy.dim().1;
    // Small images are laid side by side, `p` zero columns apart (so no tap of one
    // reaches the next), to give each dot product a long row: 8 images of 7x7, 4 of
    // 14x14. Side by side wastes less than stacked: the images share pad columns.
    let p = k / 2;
    let across = [8, 4, 2, 1]
        .into_iter()
        .find(|&s| h * (s * (wd + p) + p) <= 1024)
        .unwrap_or(1)
        .min(WEIGHT_GRAD_CHUNK);
    let g = Grid::new(h, across * (wd + p) - p, k);
    let (dy, x) = (dy.as_standard_layout(), x.as_standard_layout());
    let (rows, plane, kk) = (g.rows_padded(), g.plane(), k * k);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dy
        .axis_chunks_iter(Axis(0), WEIGHT_GRAD_CHUNK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), WEIGHT_GRAD_CHUNK))
        .map(|(dys, xs)| {
            let mut dw = vec![0.0f32; co * c * kk];
            let mut db = vec![0.0f32; co];
            // Pads and gaps are zeroed once; each group of images overwrites only the interiors.
            let mut xp = Aligned::zeroed(c * plane);
            let mut dyp = Aligned::zeroed(co * rows);
            let isa = super::simd::isa().expect("conv2d_backward_weight: this CPU lacks AVX2/FMA");
            // The AVX-512 dot kernel reads dY's rows in pairs (`interleave_pairs`).
            let mut paired = Aligned::zeroed(if dot_pairs(isa) { co * rows } else { 0 });
            for (dys, xs) in dys
                .axis_chunks_iter(Axis(0), across)
                .zip(xs.axis_chunks_iter(Axis(0), across))
            {
                if dys.dim().0 < across {
                    dyp.fill(0.0); // slots left empty must add nothing
                }
                for (j, (dyn_, xn)) in dys
                    .axis_iter(Axis(0))
                    .zip(xs.axis_iter(Axis(0)))
                    .enumerate()
                {
                    let x0 = j * (wd + p);
                    let xn = xn.as_slice().expect("contiguous image");
                    g.pack_rows(xn, wd, x0, p * g.wp + p, &mut xp, plane);
                    let dyn_ = dyn_.as_slice().expect("contiguous dy");
                    g.pack_rows(dyn_, wd, x0, 0, &mut dyp, rows);
                    add_plane_sums(dyn_, h * wd, &mut db);
                }
                let a = if dot_pairs(isa) {
                    interleave_pairs(&dyp, &mut paired, rows);
                    &paired
                } else {
                    &dyp
                };
                weight_dots(&g, co, c, a, &xp, &mut dw);
            }
            (dw, db)
        })
        .collect();
    let (dw, db) = sum_in_order(&partials, co * c * kk, co);
    let dw = Array4::from_shape_vec((co, c, k, k), dw).expect("dw shape");
    (dw, Array1::from(db))
}

/// `db[o] += Σ_i planes[o·len + i]`, each plane summed in order from its first element
/// as `Iterator::sum` does (from `-0.0`), so the bits are that sum's; but eight planes at
/// a time, eight chains of additions side by side where one plane alone waits on each
/// addition's latency (that wait was a tenth of a training step).
pub(super) fn add_plane_sums(planes: &[f32], len: usize, db: &mut [f32]) {
    if len == 0 {
        return; // empty planes add nothing
    }
    const PLANES: usize = 8;
    let mut groups = planes.chunks_exact(PLANES * len);
    let mut dbs = db.chunks_exact_mut(PLANES);
    for (group, db) in groups.by_ref().zip(dbs.by_ref()) {
        let rows: [&[f32]; PLANES] = std::array::from_fn(|l| &group[l * len..][..len]);
        let mut sums = [-0.0f32; PLANES];
        for i in 0..len {
            for (s, row) in sums.iter_mut().zip(&rows) {
                *s += row[i];
            }
        }
        for (db, s) in db.iter_mut().zip(sums) {
            *db += s;
        }
    }
    for (plane, db) in groups
        .remainder()
        .chunks_exact(len)
        .zip(dbs.into_remainder())
    {
        *db += plane.iter().sum::<f32>();
    }
}

/// `dW[o][c][tap] += Σ_r dYp[o][r] · xp[c][r + tap]` for one group of images packed on
/// the grid `g`. One call: 4 output channels (8 on AVX-512) × up to 3 taps of one kernel row, one input
/// channel; the taps' rows are the same input row shifted by one. `dyp`'s rows are in
/// pairs where the path reads them so ([`dot_pairs`]).
fn weight_dots(g: &Grid, co: usize, c: usize, dyp: &[f32], xp: &[f32], dw: &mut [f32]) {
    let (k, rows, plane) = (g.k, g.rows_padded(), g.plane());
    let isa = super::simd::isa().expect("conv2d_backward_weight: this CPU lacks AVX2/FMA");
    let most = dot_rows(isa);
    for ky in 0..k {
        for o0 in (0..co).step_by(most) {
            for ci in 0..c {
                for kx0 in (0..k).step_by(DOT_B) {
                    let block = DotBlock {
                        a_paired: dot_pairs(isa),
                        a_rows: most.min(co - o0),
                        b_rows: DOT_B.min(k - kx0),
                        len: rows,
                        a_at: o0 * rows,
                        a_row: rows,
                        b_at: ci * plane + ky * g.wp + kx0,
                        b_row: 1,
                        c_at: ((o0 * c + ci) * k + ky) * k + kx0,
                        c_row: c * k * k,
                        c_col: 1,
                    };
                    dot_block(isa, &block, dyp, xp, dw);
                }
            }
        }
    }
}

//! Convolution: three paths, and the one rule that chooses between them.
//!
//! * [`ConvPath::Im2col`] (`im2col.rs`): im2col + GEMM; any stride, padding and kernel
//!   shape, and the fallback where the CPU lacks AVX2/FMA.
//! * [`ConvPath::Implicit`] (`implicit.rs`): "same" stride-1 convolutions as an implicit
//!   GEMM on the 6×16 micro-kernel, reading the taps straight from a zero-padded image.
//! * [`ConvPath::Winograd`] (`winograd.rs`): F(2×2, 3×3) for 3×3 "same" convolutions with
//!   at least 32 channels in and out.
//!
//! The input gradient of a stride-1 convolution with a square kernel is itself a forward
//! convolution (with the flipped kernel), so it takes whichever path that forward takes.
//! All SIMD code, and all `unsafe` but the uninitialised output below, is in `simd/`.

mod im2col;
mod implicit;
mod scratch;
pub(crate) mod simd;
#[cfg(test)]
mod tests;
mod winograd;

use super::elementwise::{Relu, Unary};
use crate::shape::conv_out;
use crate::ConvGeom;
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array4, ArrayView1, ArrayView4, ArrayViewMut4, Axis};
use rayon::slice::ParallelSliceMut;
use std::mem::MaybeUninit;

/// The micro-kernel and the SIMD check, for the benchmarks (feature `internals`).
#[cfg(feature = "internals")]
pub use simd::{
    available as simd_available,
    gemm::{gemm_block, Block},
};

/// Images per weight-gradient partial sum. Fixed (never derived from the thread count) so
/// that the reduction order, and so every bit of the result, is the same on any machine.
const WEIGHT_GRAD_CHUNK: usize = 8;

/// Which implementation computes a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPath {
    /// im2col + GEMM: anything.
    Im2col,
    /// The direct implicit GEMM: "same", stride 1, odd square kernel, AVX2/FMA.
    Implicit,
    /// Winograd F(2×2, 3×3): as `Implicit`, 3×3, at least [`winograd::MIN_CHANNELS`]
    /// channels in and out (forward only).
    Winograd,
}

impl ConvPath {
    /// Whether this path can compute the forward of `d` on this CPU.
    pub(crate) fn runs_forward(self, d: &ConvDims) -> bool {
        let same = d.geom.stride == 1 && d.kh == d.kw && d.kh % 2 == 1 && d.geom.pad == d.kh / 2;
        match self {
            ConvPath::Im2col => true,
            ConvPath::Implicit => simd::available() && same,
            ConvPath::Winograd => {
                simd::available() && same && d.kh == 3 && d.c.min(d.co) >= winograd::MIN_CHANNELS
            }
        }
    }

    /// Whether this path can compute the weight gradient of `d` on this CPU.
    pub(crate) fn runs_weight(self, d: &ConvDims) -> bool {
        self != ConvPath::Winograd && self.runs_forward(d)
    }
}

/// The sizes one conv call works with, checked once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvDims {
    c: usize,
    h: usize,
    w: usize,
    co: usize,
    kh: usize,
    kw: usize,
    ho: usize,
    wo: usize,
    geom: ConvGeom,
}

impl ConvDims {
    #[track_caller]
    fn new(
        op: &str,
        x: (usize, usize, usize),
        w: (usize, usize, usize, usize),
        geom: ConvGeom,
    ) -> Self {
        let (c, h, wd) = x;
        let (co, wc, kh, kw) = w;
        assert!(
            c == wc,
            "{op}: input channels {c} (x [_, {c}, {h}, {wd}]) vs weight [{co}, {wc}, {kh}, {kw}]"
        );
        let (Some(ho), Some(wo)) = (conv_out(h, kh, geom), conv_out(wd, kw, geom)) else {
            panic!(
                "{op}: kernel {kh}x{kw} does not fit input {h}x{wd} with padding {}",
                geom.pad
            );
        };
        Self {
            c,
            h,
            w: wd,
            co,
            kh,
            kw,
            ho,
            wo,
            geom,
        }
    }
    fn rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    fn positions(&self) -> usize {
        self.ho * self.wo
    }
    /// The output columns `ox` whose input column `ox·stride + j − pad` lies inside the image.
    fn valid_ox(&self, j: usize) -> (usize, usize) {
        let (s, p) = (self.geom.stride, self.geom.pad);
        let lo = if p > j { (p - j).div_ceil(s) } else { 0 };
        let hi = if self.w + p > j {
            ((self.w + p - j - 1) / s + 1).min(self.wo)
        } else {
            0
        };
        (lo.min(hi), hi)
    }
}

impl ConvDims {
    /// The fastest path for the forward (and so for a stride-1 input gradient).
    pub(crate) fn choose_forward(&self) -> ConvPath {
        [ConvPath::Winograd, ConvPath::Implicit, ConvPath::Im2col]
            .into_iter()
            .find(|p| p.runs_forward(self))
            .unwrap_or(ConvPath::Im2col)
    }

    /// The fastest path for the weight gradient.
    pub(crate) fn choose_weight(&self) -> ConvPath {
        [ConvPath::Implicit, ConvPath::Im2col]
            .into_iter()
            .find(|p| p.runs_weight(self))
            .unwrap_or(ConvPath::Im2col)
    }
}

fn dims_of(
    op: &str,
    x: &ArrayView4<f32>,
    w: &ArrayView4<f32>,
    geom: ConvGeom,
) -> (usize, ConvDims) {
    let (n, c, h, wd) = x.dim();
    (n, ConvDims::new(op, (c, h, wd), w.dim(), geom))
}

/// Forward convolution `y [N, Co, Ho, Wo] = conv(x [N, C, H, W], w [Co, C, kh, kw]) + b
/// [Co]`, followed by the rectifier when `relu`, applied as the output is written (by the
/// SIMD paths) or in place (im2col): bit-identical to a separate ReLU.
pub fn conv2d_forward_act(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    geom: ConvGeom,
    relu: bool,
) -> Array4<f32> {
    let (_, d) = dims_of("conv2d", &x, &w, geom);
    assert!(
        b.len() == d.co,
        "conv2d: bias [{}] vs weight {:?}",
        b.len(),
        w.shape()
    );
    forward_on(d.choose_forward(), x, w, b, &d, relu)
}

/// [`conv2d_forward_act`] on a given path (benchmarks and tests); panics if the path
/// cannot run it.
#[cfg(any(test, feature = "internals"))]
pub fn conv2d_forward_on(
    path: ConvPath,
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    geom: ConvGeom,
    relu: bool,
) -> Array4<f32> {
    let (_, d) = dims_of("conv2d", &x, &w, geom);
    forward_on(path, x, w, b, &d, relu)
}

/// The forward on a given path; panics if the path cannot run it.
pub(crate) fn forward_on(
    path: ConvPath,
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    d: &ConvDims,
    relu: bool,
) -> Array4<f32> {
    assert!(path.runs_forward(d), "conv2d: {path:?} cannot run {d:?}");
    match path {
        ConvPath::Winograd => winograd::forward(x, w, b, relu),
        ConvPath::Implicit => implicit::forward(x, w, b, relu),
        ConvPath::Im2col => {
            let mut y = im2col::forward(x, w, b, d);
            if relu {
                y.par_mapv_inplace(Relu::f);
            }
            y
        }
    }
}

/// Gradient with respect to the input. For stride 1 and a square kernel this is itself a
/// convolution, `dx = conv(dY, W′)` with `W′[c, o, i, j] = W[o, c, k−1−i, k−1−j]` and
/// padding `k−1−pad`: one well-shaped GEMM per image and no scatter, on whichever path
/// that forward takes. Otherwise `dx = col2im(Wᵀ · dY)` image by image.
pub fn conv2d_backward_input(
    dy: ArrayView4<f32>,
    w: ArrayView4<f32>,
    x_dims: [usize; 4],
    geom: ConvGeom,
) -> Array4<f32> {
    input_on(None, dy, w, x_dims, geom)
}

/// The input gradient as a forward convolution, where it is one: the flipped weight and
/// the forward's sizes.
fn as_forward(
    dy: ArrayView4<f32>,
    w: ArrayView4<f32>,
    x_dims: [usize; 4],
    geom: ConvGeom,
) -> Option<(Array4<f32>, ConvDims)> {
    let [n, c, h, wd] = x_dims;
    let d = ConvDims::new("conv2d_backward_input", (c, h, wd), w.dim(), geom);
    assert!(
        dy.dim() == (n, d.co, d.ho, d.wo),
        "conv2d_backward_input: dy {:?} vs output [{n}, {}, {}, {}]",
        dy.shape(),
        d.co,
        d.ho,
        d.wo
    );
    if !(geom.stride == 1 && d.kh == d.kw && geom.pad < d.kh) {
        return None;
    }
    let flipped = flip(w);
    let k = d.kh;
    let full = ConvGeom {
        stride: 1,
        pad: k - 1 - geom.pad,
    };
    let (_, d) = dims_of("conv2d_backward_input", &dy, &flipped.view(), full);
    Some((flipped, d))
}

/// `W′[c, o, i, j] = W[o, c, k−1−i, k−1−j]` of a square kernel: each kernel's `k²` values
/// in reverse order, kernels transposed; filled plane by plane of `W′` over rayon.
fn flip(w: ArrayView4<f32>) -> Array4<f32> {
    let (co, c, k, _) = w.dim();
    let kk = k * k;
    let w = w.as_standard_layout();
    let src = w.as_slice().expect("standard layout");
    let mut out = vec![0.0f32; c * co * kk];
    out.par_chunks_mut(co * kk)
        .enumerate()
        .for_each(|(ci, dst)| {
            for (o, dst) in dst.chunks_exact_mut(kk).enumerate() {
                let kernel = &src[(o * c + ci) * kk..][..kk];
                for (d, &v) in dst.iter_mut().zip(kernel.iter().rev()) {
                    *d = v;
                }
            }
        });
    Array4::from_shape_vec((c, co, k, k), out).expect("flipped shape")
}

/// The input gradient on `path`, or on the path chosen for it if `None`; panics if the
/// path cannot run it.
pub(crate) fn input_on(
    path: Option<ConvPath>,
    dy: ArrayView4<f32>,
    w: ArrayView4<f32>,
    x_dims: [usize; 4],
    geom: ConvGeom,
) -> Array4<f32> {
    match as_forward(dy, w, x_dims, geom) {
        Some((flipped, d)) => {
            let zero = Array1::zeros(x_dims[1]);
            let path = path.unwrap_or_else(|| d.choose_forward());
            forward_on(path, dy, flipped.view(), zero.view(), &d, false)
        }
        None => {
            let path = path.unwrap_or(ConvPath::Im2col);
            assert_eq!(
                path,
                ConvPath::Im2col,
                "conv2d_backward_input: only im2col runs {geom:?}"
            );
            let [n, c, h, wd] = x_dims;
            let d = ConvDims::new("conv2d_backward_input", (c, h, wd), w.dim(), geom);
            im2col::backward_input(dy, w, n, &d)
        }
    }
}

/// Gradients with respect to the weight and bias: `dW = Σ_n dY_n · cols_nᵀ`, `db = Σ dY`.
/// Summed in fixed chunks of images, then the chunks in order: bit-identical on any
/// number of threads.
pub fn conv2d_backward_weight(
    dy: ArrayView4<f32>,
    x: ArrayView4<f32>,
    kernel: (usize, usize),
    geom: ConvGeom,
) -> (Array4<f32>, Array1<f32>) {
    let (n, c, h, wd) = x.dim();
    let co = dy.dim().1;
    let d = ConvDims::new(
        "conv2d_backward_weight",
        (c, h, wd),
        (co, c, kernel.0, kernel.1),
        geom,
    );
    assert!(
        dy.dim() == (n, co, d.ho, d.wo),
        "conv2d_backward_weight: dy {:?} vs output [{n}, {co}, {}, {}]",
        dy.shape(),
        d.ho,
        d.wo
    );
    weight_on(d.choose_weight(), dy, x, &d)
}

/// The weight gradient on a given path; panics if the path cannot run it.
pub(crate) fn weight_on(
    path: ConvPath,
    dy: ArrayView4<f32>,
    x: ArrayView4<f32>,
    d: &ConvDims,
) -> (Array4<f32>, Array1<f32>) {
    assert!(
        path.runs_weight(d),
        "conv2d_backward_weight: {path:?} cannot run {d:?}"
    );
    match path {
        ConvPath::Implicit => implicit::backward_weight(dy, x, d.kh),
        _ => im2col::backward_weight(dy, x, d),
    }
}

/// Adds per-chunk partial sums `(dw, db)` in chunk order (never in the order threads
/// finish), so the result is the same bit for bit on any number of threads.
fn sum_in_order(
    partials: &[(Vec<f32>, Vec<f32>)],
    dw_len: usize,
    db_len: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (mut dw, mut db) = (vec![0.0f32; dw_len], vec![0.0f32; db_len]);
    // Split over the elements (each still summed over the chunks in order): at the
    // paper's widths `dW` is 590k floats a chunk.
    const PART: usize = 4096;
    dw.par_chunks_mut(PART).enumerate().for_each(|(i, dw)| {
        for (pw, _) in partials {
            for (a, b) in dw.iter_mut().zip(&pw[i * PART..]) {
                *a += b;
            }
        }
    });
    for (_, pb) in partials {
        for (a, b) in db.iter_mut().zip(pb) {
            *a += b;
        }
    }
    (dw, db)
}

/// Copies the `w`-wide rows of `src` to `dst[at + y·stride..][..w]`, row `y` by row:
/// an image into the interior of a zero-bordered plane (what is not written keeps its
/// zeros).
fn copy_rows(src: &[f32], w: usize, dst: &mut [f32], at: usize, stride: usize) {
    for (y, row) in src.chunks_exact(w).enumerate() {
        let start = at + y * stride;
        dst[start..start + w].copy_from_slice(row);
    }
}

/// The output `y [N, Co, H, W]` of a path that writes every element itself, so it is
/// never zeroed first: `fill` is called in parallel with chunks of `images` images of `y`
/// (uninitialised) and the same images of `x`, and a per-job state made by `init`
/// (buffers kept from one chunk to the next).
///
/// # Safety
///
/// `fill` must write every element of each chunk it is given.
unsafe fn write_output<S, I, F>(
    x: ArrayView4<f32>,
    co: usize,
    images: usize,
    init: I,
    fill: F,
) -> Array4<f32>
where
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, ArrayViewMut4<MaybeUninit<f32>>, ArrayView4<f32>) + Sync + Send,
{
    let (n, _, h, w) = x.dim();
    let mut y = Array4::<f32>::uninit((n, co, h, w));
    y.axis_chunks_iter_mut(Axis(0), images)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), images))
        .for_each_init(init, |state, (ys, xs)| fill(state, ys, xs));
    // SAFETY: the chunks cover `y`, and the caller promises `fill` wrote all of each.
    unsafe { y.assume_init() }
}

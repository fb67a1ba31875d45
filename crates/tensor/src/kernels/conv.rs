//! Convolution as im2col + GEMM (ndarray's `general_mat_mul`), the batch split over rayon.
//! "Same" stride-1 convolutions go to the faster implicit GEMM of `conv_implicit.rs` when
//! the CPU has AVX2/FMA; this file is the general path and the fallback.
//!
//! For one image, `cols [C·kh·kw, Ho·Wo]` holds every receptive field as a column, so the
//! forward is `Y = W · cols + b` with `W` viewed as `[Co, C·kh·kw]`. The input gradient is
//! `col2im(Wᵀ · dY)` and the weight gradient `Σ_n dY_n · cols_nᵀ`.

use super::elementwise::{Relu, Unary};
use super::{conv_implicit, winograd};
use crate::shape::conv_out;
use crate::ConvGeom;
use ndarray::linalg::general_mat_mul;
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4, ArrayViewMut2, Axis};

/// Images per weight-gradient partial sum. Fixed (never derived from the thread count) so
/// that the reduction order, and so every bit of the result, is the same on any machine.
const WEIGHT_GRAD_CHUNK: usize = 8;

/// The sizes one conv call works with, checked once.
#[derive(Clone, Copy, Debug)]
struct ConvDims {
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

/// Fills `cols [C·kh·kw, Ho·Wo]` from one image `x [C, H, W]` (row-major slices).
fn im2col(x: &[f32], d: &ConvDims, cols: &mut [f32]) {
    let (s, p) = (d.geom.stride, d.geom.pad);
    let mut rows = cols.chunks_exact_mut(d.positions());
    for plane in x.chunks_exact(d.h * d.w) {
        for i in 0..d.kh {
            for j in 0..d.kw {
                let dst = rows.next().expect("im2col: cols too short");
                let (lo, hi) = d.valid_ox(j);
                for (oy, out) in dst.chunks_exact_mut(d.wo).enumerate() {
                    let iy = (oy * s + i).wrapping_sub(p);
                    if iy >= d.h {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy * d.w..(iy + 1) * d.w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let first = lo * s + j - p;
                    if s == 1 {
                        out[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                    } else {
                        for (o, ix) in out[lo..hi].iter_mut().zip((first..).step_by(s)) {
                            *o = src[ix];
                        }
                    }
                }
            }
        }
    }
}

/// Adds every column of `cols [C·kh·kw, Ho·Wo]` back onto the image `dx [C, H, W]`.
fn col2im(cols: &[f32], d: &ConvDims, dx: &mut [f32]) {
    let (s, p) = (d.geom.stride, d.geom.pad);
    let mut rows = cols.chunks_exact(d.positions());
    for plane in dx.chunks_exact_mut(d.h * d.w) {
        for i in 0..d.kh {
            for j in 0..d.kw {
                let src = rows.next().expect("col2im: cols too short");
                let (lo, hi) = d.valid_ox(j);
                for (oy, row) in src.chunks_exact(d.wo).enumerate() {
                    let iy = (oy * s + i).wrapping_sub(p);
                    if iy >= d.h {
                        continue;
                    }
                    let dst = &mut plane[iy * d.w..(iy + 1) * d.w];
                    let first = lo * s + j - p;
                    for (g, ix) in row[lo..hi].iter().zip((first..).step_by(s)) {
                        dst[ix] += g;
                    }
                }
            }
        }
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

/// The weight as a `[Co, C·kh·kw]` matrix.
fn weight_matrix<'a>(w: &'a ArrayView4<'a, f32>, d: &ConvDims) -> ArrayView2<'a, f32> {
    w.view()
        .into_shape_with_order((d.co, d.rows()))
        .expect("conv2d: weight must be contiguous")
}

/// [`conv2d_forward`] followed by the rectifier when `relu`, applied as the output is
/// written (by the implicit GEMM) or in place (im2col): bit-identical to a separate ReLU.
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
    if winograd::supports(d.kh, d.kw, geom, d.c, d.co) {
        return winograd::forward(x, w, b, relu);
    }
    if conv_implicit::supports_forward(d.kh, d.kw, geom) {
        return conv_implicit::forward(x, w, b, relu);
    }
    let mut y = conv2d_forward_im2col(x, w, b, &d);
    if relu {
        y.par_mapv_inplace(Relu::f);
    }
    y
}

/// Forward convolution: `y [N, Co, Ho, Wo] = conv(x [N, C, H, W], w [Co, C, kh, kw]) + b [Co]`.
pub fn conv2d_forward(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    geom: ConvGeom,
) -> Array4<f32> {
    conv2d_forward_act(x, w, b, geom, false)
}

/// The forward as im2col + GEMM: any stride, padding and kernel shape.
fn conv2d_forward_im2col(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    b: ArrayView1<f32>,
    d: &ConvDims,
) -> Array4<f32> {
    let (d, n) = (*d, x.dim().0);
    let (x, w) = (x.as_standard_layout(), w.as_standard_layout());
    let w2 = weight_matrix(&w.view(), &d).to_owned();
    let mut y = Array4::<f32>::zeros((n, d.co, d.ho, d.wo));
    y.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(x.axis_iter(Axis(0)))
        .for_each_init(
            || vec![0.0f32; d.rows() * d.positions()],
            |cols, (mut yn, xn)| {
                im2col(xn.as_slice().expect("conv2d: contiguous image"), &d, cols);
                let cols =
                    ArrayView2::from_shape((d.rows(), d.positions()), cols).expect("cols shape");
                let mut y2: ArrayViewMut2<f32> = yn
                    .view_mut()
                    .into_shape_with_order((d.co, d.positions()))
                    .expect("contiguous output");
                for (mut row, &bias) in y2.rows_mut().into_iter().zip(b.iter()) {
                    row.fill(bias);
                }
                general_mat_mul(1.0, &w2, &cols, 1.0, &mut y2);
            },
        );
    y
}

/// Gradient with respect to the input. For stride 1 and a square kernel this is itself a
/// convolution, `dx = conv(dY, W′)` with `W′[c, o, i, j] = W[o, c, k−1−i, k−1−j]` and
/// padding `k−1−pad`: one well-shaped GEMM per image and no scatter. Otherwise
/// `dx = col2im(Wᵀ · dY)` image by image.
pub fn conv2d_backward_input(
    dy: ArrayView4<f32>,
    w: ArrayView4<f32>,
    x_dims: [usize; 4],
    geom: ConvGeom,
) -> Array4<f32> {
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
    if geom.stride == 1 && d.kh == d.kw && geom.pad < d.kh {
        let k = d.kh;
        let flipped = Array4::from_shape_fn((c, d.co, k, k), |(ci, o, i, j)| {
            w[[o, ci, k - 1 - i, k - 1 - j]]
        });
        let full = ConvGeom {
            stride: 1,
            pad: k - 1 - geom.pad,
        };
        return conv2d_forward(dy, flipped.view(), Array1::zeros(c).view(), full);
    }
    conv2d_backward_input_col2im(dy, w, n, &d)
}

/// `dx = col2im(Wᵀ · dY)` image by image: any stride, padding and kernel shape.
fn conv2d_backward_input_col2im(
    dy: ArrayView4<f32>,
    w: ArrayView4<f32>,
    n: usize,
    d: &ConvDims,
) -> Array4<f32> {
    let (c, h, wd) = (d.c, d.h, d.w);
    let (dy, w) = (dy.as_standard_layout(), w.as_standard_layout());
    let w2t = weight_matrix(&w.view(), d).t().to_owned();
    let mut dx = Array4::<f32>::zeros((n, c, h, wd));
    dx.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(dy.axis_iter(Axis(0)))
        .for_each_init(
            || Array2::<f32>::zeros((d.rows(), d.positions())),
            |dcols, (mut dxn, dyn_)| {
                let dy2 = dyn_
                    .into_shape_with_order((d.co, d.positions()))
                    .expect("contiguous dy");
                general_mat_mul(1.0, &w2t, &dy2, 0.0, dcols);
                col2im(
                    dcols.as_slice().expect("dcols"),
                    d,
                    dxn.as_slice_mut().expect("contiguous dx"),
                );
            },
        );
    dx
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
    if conv_implicit::supports_weight(kernel.0, kernel.1, geom) {
        return conv_implicit::backward_weight(dy, x, kernel.0);
    }
    conv2d_backward_weight_im2col(dy, x, &d)
}

/// The weight gradient as im2col + GEMM: any stride, padding and kernel shape.
fn conv2d_backward_weight_im2col(
    dy: ArrayView4<f32>,
    x: ArrayView4<f32>,
    d: &ConvDims,
) -> (Array4<f32>, Array1<f32>) {
    let (d, co, c) = (*d, d.co, d.c);
    let (dy, x) = (dy.as_standard_layout(), x.as_standard_layout());
    let partials: Vec<(Array2<f32>, Array1<f32>)> = dy
        .axis_chunks_iter(Axis(0), WEIGHT_GRAD_CHUNK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), WEIGHT_GRAD_CHUNK))
        .map(|(dys, xs)| {
            let mut dw = Array2::<f32>::zeros((co, d.rows()));
            let mut db = Array1::<f32>::zeros(co);
            let mut cols = vec![0.0f32; d.rows() * d.positions()];
            for (dyn_, xn) in dys.axis_iter(Axis(0)).zip(xs.axis_iter(Axis(0))) {
                im2col(xn.as_slice().expect("contiguous image"), &d, &mut cols);
                let cols = ArrayView2::from_shape((d.rows(), d.positions()), &cols).expect("cols");
                let dy2 = dyn_
                    .into_shape_with_order((co, d.positions()))
                    .expect("contiguous dy");
                general_mat_mul(1.0, &dy2, &cols.t(), 1.0, &mut dw);
                db += &dy2.sum_axis(Axis(1));
            }
            (dw, db)
        })
        .collect();
    let mut dw = Array2::<f32>::zeros((co, d.rows()));
    let mut db = Array1::<f32>::zeros(co);
    for (pw, pb) in &partials {
        dw += pw;
        db += pb;
    }
    let dw = dw
        .into_shape_with_order((co, c, d.kh, d.kw))
        .expect("dw shape");
    (dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference;
    use ndarray::Array;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> ndarray::ArrayD<f32> {
        Array::from_shape_fn(shape.to_vec(), |_| rng.random_range(-1.0..1.0))
    }

    fn max_abs_diff(a: &ndarray::ArrayD<f32>, b: &ndarray::ArrayD<f32>) -> f32 {
        assert_eq!(a.shape(), b.shape());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Awkward sizes: batch 1 and 3, c_in 1, odd H and W, non-square kernels, stride 2, pad 0..2.
    const CASES: &[([usize; 4], [usize; 4], usize, usize)] = &[
        ([2, 3, 7, 5], [4, 3, 3, 3], 1, 1),
        ([1, 1, 9, 9], [2, 1, 3, 3], 2, 0),
        ([3, 2, 6, 7], [3, 2, 2, 3], 1, 2),
        ([2, 4, 8, 8], [5, 4, 1, 1], 2, 1),
        ([1, 3, 5, 4], [2, 3, 5, 4], 1, 0),
        ([9, 2, 5, 5], [3, 2, 3, 3], 3, 2),
        ([2, 2, 6, 5], [3, 2, 3, 3], 1, 0),
        ([1, 2, 5, 5], [2, 2, 3, 3], 1, 2),
        ([3, 4, 4, 6], [2, 4, 1, 1], 1, 0),
    ];

    #[test]
    fn forward_and_both_backwards_match_naive_loops() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for &(xs, ws, stride, pad) in CASES {
            let geom = ConvGeom { stride, pad };
            let x = random(&xs, &mut rng).into_dimensionality().unwrap();
            let w = random(&ws, &mut rng).into_dimensionality().unwrap();
            let b = random(&[ws[0]], &mut rng).into_dimensionality().unwrap();
            let y = conv2d_forward(x.view(), w.view(), b.view(), geom);
            let y_ref = reference::conv2d(&x, &w, &b, geom);
            assert!(
                max_abs_diff(&y.clone().into_dyn(), &y_ref.into_dyn()) < 1e-4,
                "{xs:?} {ws:?}"
            );

            let dy: Array4<f32> = random(y.shape(), &mut rng).into_dimensionality().unwrap();
            let dx = conv2d_backward_input(dy.view(), w.view(), xs, geom);
            let (dw, db) = conv2d_backward_weight(dy.view(), x.view(), (ws[2], ws[3]), geom);
            let (dx_ref, dw_ref, db_ref) = reference::conv2d_backward(&x, &w, &dy, geom);
            assert!(
                max_abs_diff(&dx.into_dyn(), &dx_ref.into_dyn()) < 1e-4,
                "dx {xs:?} {ws:?}"
            );
            assert!(
                max_abs_diff(&dw.into_dyn(), &dw_ref.into_dyn()) < 1e-3,
                "dw {xs:?} {ws:?}"
            );
            assert!(
                max_abs_diff(&db.into_dyn(), &db_ref.into_dyn()) < 1e-3,
                "db {xs:?} {ws:?}"
            );
        }
    }

    /// The implicit-GEMM path against the naive loops and the im2col path: the spec's
    /// stage shapes (small batches), 1 and 3 input channels, odd sizes, a 5×5 kernel,
    /// row counts that leave every micro-kernel remainder.
    #[test]
    fn the_implicit_gemm_path_matches_naive_loops_and_im2col() {
        if !crate::kernels::microkernel::available() {
            eprintln!("skipped: no AVX2/FMA on this CPU");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let same = |k: usize| ConvGeom {
            stride: 1,
            pad: k / 2,
        };
        let cases: &[([usize; 4], [usize; 4])] = &[
            ([2, 1, 28, 28], [16, 1, 3, 3]),
            ([3, 16, 14, 14], [32, 16, 3, 3]),
            ([2, 32, 7, 7], [64, 32, 3, 3]),
            ([1, 3, 5, 9], [16, 3, 3, 3]),
            ([2, 7, 6, 5], [32, 7, 5, 5]),
            ([9, 16, 3, 4], [16, 16, 3, 3]),
        ];
        for &(xs, ws) in cases {
            let geom = same(ws[2]);
            assert!(conv_implicit::supports_weight(ws[2], ws[3], geom));
            let x: Array4<f32> = random(&xs, &mut rng).into_dimensionality().unwrap();
            let w: Array4<f32> = random(&ws, &mut rng).into_dimensionality().unwrap();
            let b: Array1<f32> = random(&[ws[0]], &mut rng).into_dimensionality().unwrap();
            let (_, d) = dims_of("conv2d", &x.view(), &w.view(), geom);
            let y = conv2d_forward(x.view(), w.view(), b.view(), geom);
            let y_ref = reference::conv2d(&x, &w, &b, geom);
            let y_im2col = conv2d_forward_im2col(x.view(), w.view(), b.view(), &d);
            let tol = 1e-5 * (ws[1] * ws[2] * ws[3]) as f32;
            assert!(
                max_abs_diff(&y.clone().into_dyn(), &y_ref.into_dyn()) < tol,
                "y {xs:?} {ws:?}"
            );
            assert!(
                max_abs_diff(&y.clone().into_dyn(), &y_im2col.into_dyn()) < tol,
                "y {xs:?}"
            );

            let dy: Array4<f32> = random(y.shape(), &mut rng).into_dimensionality().unwrap();
            let (dw, db) = conv2d_backward_weight(dy.view(), x.view(), (ws[2], ws[3]), geom);
            let (dx_ref, dw_ref, db_ref) = reference::conv2d_backward(&x, &w, &dy, geom);
            let (dw_im2col, _) = conv2d_backward_weight_im2col(dy.view(), x.view(), &d);
            let tol_w = 1e-5 * (xs[0] * xs[2] * xs[3]) as f32;
            assert!(
                max_abs_diff(&dw.clone().into_dyn(), &dw_ref.into_dyn()) < tol_w,
                "dw {xs:?}"
            );
            assert!(
                max_abs_diff(&dw.into_dyn(), &dw_im2col.into_dyn()) < tol_w,
                "dw {xs:?}"
            );
            assert!(
                max_abs_diff(&db.into_dyn(), &db_ref.into_dyn()) < tol_w,
                "db {xs:?}"
            );
            if ws[1] % 16 == 0 {
                // The input gradient is the forward with the flipped weight: implicit too.
                let dx = conv2d_backward_input(dy.view(), w.view(), xs, geom);
                let tol_x = 1e-5 * (ws[0] * ws[2] * ws[3]) as f32;
                assert!(
                    max_abs_diff(&dx.into_dyn(), &dx_ref.into_dyn()) < tol_x,
                    "dx {xs:?}"
                );
            }
        }
    }

    /// The Winograd path (forward and input gradient) against the naive loops and the
    /// direct implicit GEMM: the stage shapes, odd sizes (tiles hanging over the edge),
    /// rows of tiles shorter and longer than one group of 8, batches that end in a partial
    /// chunk, channel counts that leave every micro-kernel remainder.
    #[test]
    fn the_winograd_path_matches_naive_loops_and_the_direct_path() {
        if !crate::kernels::microkernel::available() {
            eprintln!("skipped: no AVX2/FMA on this CPU");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let geom = ConvGeom { stride: 1, pad: 1 };
        let cases: &[([usize; 4], usize)] = &[
            ([3, 32, 28, 28], 32),
            ([7, 32, 14, 14], 32),
            ([11, 32, 7, 7], 64),
            ([2, 64, 7, 7], 64),
            ([3, 33, 5, 9], 37),
            ([2, 32, 1, 1], 32),
            ([5, 40, 3, 35], 45),
            ([1, 35, 34, 2], 32),
        ];
        for &(xs, co) in cases {
            let ws = [co, xs[1], 3, 3];
            assert!(winograd::supports(3, 3, geom, xs[1], co));
            let x: Array4<f32> = random(&xs, &mut rng).into_dimensionality().unwrap();
            let w: Array4<f32> = random(&ws, &mut rng).into_dimensionality().unwrap();
            let b: Array1<f32> = random(&[co], &mut rng).into_dimensionality().unwrap();
            let y = conv2d_forward(x.view(), w.view(), b.view(), geom);
            let y_ref = reference::conv2d(&x, &w, &b, geom);
            let y_direct = conv_implicit::forward(x.view(), w.view(), b.view(), false);
            let tol = 2e-6 * (ws[1] * 9) as f32;
            let err = max_abs_diff(&y.clone().into_dyn(), &y_ref.clone().into_dyn());
            assert!(err < tol, "y {xs:?} -> {co}: {err}");
            let err = max_abs_diff(&y.clone().into_dyn(), &y_direct.into_dyn());
            assert!(err < tol, "y vs direct {xs:?} -> {co}: {err}");
            let y_relu = conv2d_forward_act(x.view(), w.view(), b.view(), geom, true);
            assert_eq!(y_relu, y.mapv(Relu::f), "fused rectifier {xs:?}");

            let dy: Array4<f32> = random(y.shape(), &mut rng).into_dimensionality().unwrap();
            let (dx_ref, _, _) = reference::conv2d_backward(&x, &w, &dy, geom);
            let dx = conv2d_backward_input(dy.view(), w.view(), xs, geom);
            let tol_x = 2e-6 * (co * 9) as f32;
            let err = max_abs_diff(&dx.into_dyn(), &dx_ref.into_dyn());
            assert!(err < tol_x, "dx {xs:?} -> {co}: {err}");
        }
    }

    #[test]
    #[should_panic(expected = "conv2d: input channels 3")]
    fn channel_mismatch_panics_naming_both_shapes() {
        let x = Array4::<f32>::zeros((1, 3, 4, 4));
        let w = Array4::<f32>::zeros((2, 2, 3, 3));
        conv2d_forward(
            x.view(),
            w.view(),
            Array1::zeros(2).view(),
            ConvGeom { stride: 1, pad: 1 },
        );
    }
}

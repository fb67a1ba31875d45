//! The general path: convolution as im2col + GEMM (ndarray's `general_mat_mul`), the batch
//! split over rayon. Any stride, padding and kernel shape; the fallback where the CPU
//! lacks AVX2/FMA.
//!
//! For one image, `cols [C·kh·kw, Ho·Wo]` holds every receptive field as a column, so the
//! forward is `Y = W · cols + b` with `W` viewed as `[Co, C·kh·kw]`. The input gradient is
//! `col2im(Wᵀ · dY)` and the weight gradient `Σ_n dY_n · cols_nᵀ`.

use super::{sum_in_order, ConvDims, WEIGHT_GRAD_CHUNK};
use ndarray::linalg::general_mat_mul;
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, Array4, ArrayView1, ArrayView2, ArrayView4, ArrayViewMut2, Axis};

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

/// The weight as a `[Co, C·kh·kw]` matrix.
fn weight_matrix<'a>(w: &'a ArrayView4<'a, f32>, d: &ConvDims) -> ArrayView2<'a, f32> {
    w.view()
        .into_shape_with_order((d.co, d.rows()))
        .expect("conv2d: weight must be contiguous")
}

/// The forward as im2col + GEMM: any stride, padding and kernel shape.
pub(super) fn forward(
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

/// `dx = col2im(Wᵀ · dY)` image by image: any stride, padding and kernel shape.
pub(super) fn backward_input(
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

/// The weight gradient as im2col + GEMM: any stride, padding and kernel shape.
pub(super) fn backward_weight(
    dy: ArrayView4<f32>,
    x: ArrayView4<f32>,
    d: &ConvDims,
) -> (Array4<f32>, Array1<f32>) {
    let (d, co, c) = (*d, d.co, d.c);
    let (dy, x) = (dy.as_standard_layout(), x.as_standard_layout());
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dy
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
            (dw.into_raw_vec_and_offset().0, db.to_vec())
        })
        .collect();
    let (dw, db) = sum_in_order(&partials, co * d.rows(), co);
    let dw = Array4::from_shape_vec((co, c, d.kh, d.kw), dw).expect("dw shape");
    (dw, Array1::from(db))
}

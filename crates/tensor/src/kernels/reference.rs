//! Slow, obviously-correct kernels that the fast ones are tested against.

use crate::shape::{conv_out, pool_out};
use crate::{ConvGeom, PoolGeom};
use ndarray::{Array1, Array4};

/// The input pixel read by output `(oy, ox)` at kernel tap `(i, j)`, if inside the image.
fn tap(
    oy: usize,
    ox: usize,
    i: usize,
    j: usize,
    h: usize,
    w: usize,
    g: ConvGeom,
) -> Option<(usize, usize)> {
    let iy = (oy * g.stride + i).checked_sub(g.pad)?;
    let ix = (ox * g.stride + j).checked_sub(g.pad)?;
    (iy < h && ix < w).then_some((iy, ix))
}

/// Direct seven-loop convolution.
pub fn conv2d(x: &Array4<f32>, w: &Array4<f32>, b: &Array1<f32>, g: ConvGeom) -> Array4<f32> {
    let (n, c, h, wd) = x.dim();
    let (co, _, kh, kw) = w.dim();
    let (ho, wo) = (conv_out(h, kh, g).unwrap(), conv_out(wd, kw, g).unwrap());
    Array4::from_shape_fn((n, co, ho, wo), |(ni, o, oy, ox)| {
        let mut acc = b[o] as f64;
        for ci in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    if let Some((iy, ix)) = tap(oy, ox, i, j, h, wd, g) {
                        acc += (x[[ni, ci, iy, ix]] * w[[o, ci, i, j]]) as f64;
                    }
                }
            }
        }
        acc as f32
    })
}

/// Direct loops for the three conv gradients `(dx, dw, db)`.
pub fn conv2d_backward(
    x: &Array4<f32>,
    w: &Array4<f32>,
    dy: &Array4<f32>,
    g: ConvGeom,
) -> (Array4<f32>, Array4<f32>, Array1<f32>) {
    let (n, c, h, wd) = x.dim();
    let (co, _, kh, kw) = w.dim();
    let (_, _, ho, wo) = dy.dim();
    let mut dx = Array4::<f32>::zeros(x.dim());
    let mut dw = Array4::<f32>::zeros(w.dim());
    let mut db = Array1::<f32>::zeros(co);
    for ni in 0..n {
        for o in 0..co {
            for oy in 0..ho {
                for ox in 0..wo {
                    let gy = dy[[ni, o, oy, ox]];
                    db[o] += gy;
                    for ci in 0..c {
                        for i in 0..kh {
                            for j in 0..kw {
                                if let Some((iy, ix)) = tap(oy, ox, i, j, h, wd, g) {
                                    dx[[ni, ci, iy, ix]] += gy * w[[o, ci, i, j]];
                                    dw[[o, ci, i, j]] += gy * x[[ni, ci, iy, ix]];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw, db)
}

/// Direct max-pool: the maximum of each window.
pub fn max_pool2d(x: &Array4<f32>, g: PoolGeom) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let (ho, wo) = (pool_out(h, g).unwrap(), pool_out(w, g).unwrap());
    Array4::from_shape_fn((n, c, ho, wo), |(ni, ci, oy, ox)| {
        let mut m = f32::NEG_INFINITY;
        for i in 0..g.k {
            for j in 0..g.k {
                m = m.max(x[[ni, ci, oy * g.stride + i, ox * g.stride + j]]);
            }
        }
        m
    })
}

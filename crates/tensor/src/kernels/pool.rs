//! Max-pooling over square windows (no padding, floor rounding), saving each window's argmax.

use crate::shape::pool_out;
use crate::PoolGeom;
use ndarray::parallel::prelude::*;
use ndarray::{Array4, ArrayView4, Axis};
use rayon::slice::{ParallelSlice, ParallelSliceMut};

/// Forward max-pool of `x [N, C, H, W]`: returns `y [N, C, Ho, Wo]` and, for every output,
/// the index of its maximum inside its own image (`c·H·W + iy·W + ix`). Ties go to the first.
pub fn max_pool2d_forward(x: ArrayView4<f32>, g: PoolGeom) -> (Array4<f32>, Vec<u32>) {
    let (n, c, h, w) = x.dim();
    let (Some(ho), Some(wo)) = (pool_out(h, g), pool_out(w, g)) else {
        panic!(
            "max_pool2d: window {}x{} does not fit input {:?}",
            g.k,
            g.k,
            x.shape()
        );
    };
    assert!(
        c * h * w <= u32::MAX as usize,
        "max_pool2d: image {:?} too large for u32 indices",
        x.shape()
    );
    let x = x.as_standard_layout();
    let mut y = Array4::<f32>::zeros((n, c, ho, wo));
    let mut arg = vec![0u32; n * c * ho * wo];
    y.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(arg.par_chunks_mut(c * ho * wo))
        .zip(x.axis_iter(Axis(0)))
        .for_each(|((mut yn, an), xn)| {
            let xs = xn.as_slice().expect("contiguous image");
            let ys = yn.as_slice_mut().expect("contiguous output");
            for (k, (yv, av)) in ys.iter_mut().zip(an.iter_mut()).enumerate() {
                let (ci, oy, ox) = (k / (ho * wo), (k / wo) % ho, k % wo);
                let mut best = ci * h * w + oy * g.stride * w + ox * g.stride;
                for i in 0..g.k {
                    let row = ci * h * w + (oy * g.stride + i) * w + ox * g.stride;
                    for idx in row..row + g.k {
                        if xs[idx] > xs[best] {
                            best = idx;
                        }
                    }
                }
                *yv = xs[best];
                *av = best as u32;
            }
        });
    (y, arg)
}

/// Backward max-pool: routes each output gradient to its window's argmax.
pub fn max_pool2d_backward(dy: ArrayView4<f32>, arg: &[u32], x_dims: [usize; 4]) -> Array4<f32> {
    let [n, c, h, w] = x_dims;
    assert!(
        dy.len() == arg.len() && dy.dim().0 == n,
        "max_pool2d_backward: dy {:?} vs {} saved indices",
        dy.shape(),
        arg.len()
    );
    let dy = dy.as_standard_layout();
    let per_image = dy.len() / n.max(1);
    let mut dx = Array4::<f32>::zeros((n, c, h, w));
    dx.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(dy.axis_iter(Axis(0)))
        .zip(arg.par_chunks(per_image.max(1)))
        .for_each(|((mut dxn, dyn_), an)| {
            let dxs = dxn.as_slice_mut().expect("contiguous dx");
            for (g, &a) in dyn_.iter().zip(an) {
                dxs[a as usize] += g;
            }
        });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Distinct values (a shuffled ramp), so the argmax is unique.
    fn distinct(shape: (usize, usize, usize, usize), rng: &mut ChaCha8Rng) -> Array4<f32> {
        let mut v: Vec<f32> = (0..shape.0 * shape.1 * shape.2 * shape.3)
            .map(|i| i as f32 * 0.1)
            .collect();
        v.shuffle(rng);
        Array4::from_shape_vec(shape, v).unwrap()
    }

    #[test]
    fn forward_matches_naive_and_backward_routes_to_argmax() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (shape, k, s) in [
            ((2, 3, 7, 7), 2, 2),
            ((1, 1, 5, 6), 3, 1),
            ((3, 2, 9, 4), 3, 2),
        ] {
            let g = PoolGeom { k, stride: s };
            let x = distinct(shape, &mut rng);
            let (y, arg) = max_pool2d_forward(x.view(), g);
            assert_eq!(y, reference::max_pool2d(&x, g));
            let dy = Array4::from_elem(y.dim(), 1.0f32);
            let dx = max_pool2d_backward(dy.view(), &arg, [shape.0, shape.1, shape.2, shape.3]);
            // Each output's unit gradient lands on an input equal to that output's value.
            assert_eq!(dx.sum(), y.len() as f32);
            let picked: f32 = x.iter().zip(dx.iter()).map(|(v, g)| v * g).sum();
            assert!((picked - y.sum()).abs() < 1e-2 * y.sum().abs().max(1.0));
        }
    }
}

//! Elementwise ops declared once as `f` and `df`, run by one generic kernel; and PReLU.

use ndarray::{Array1, ArrayD, ArrayViewD, Axis, Zip};

/// An elementwise function with its derivative, which may use the input `x` or the
/// output `y = f(x)` (whichever the backward finds cheaper).
pub trait Unary {
    /// `f(x)`.
    fn f(x: f32) -> f32;
    /// `f′(x)`, given both `x` and `y = f(x)`.
    fn df(x: f32, y: f32) -> f32;
}

/// The rectifier `max(x, 0)`, with relu′(0) = 0 (micrograd, tinygrad and dfdx agree).
pub struct Relu;

impl Unary for Relu {
    fn f(x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            0.0
        }
    }
    fn df(x: f32, _y: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

/// `y = U::f(x)` elementwise, split over rayon.
pub fn unary_forward<U: Unary>(x: ArrayViewD<f32>) -> ArrayD<f32> {
    Zip::from(&x).par_map_collect(|&x| U::f(x))
}

/// `dx = dy ⊙ U::df(x, y)` elementwise, split over rayon.
pub fn unary_backward<U: Unary>(
    x: ArrayViewD<f32>,
    y: ArrayViewD<f32>,
    dy: ArrayViewD<f32>,
) -> ArrayD<f32> {
    Zip::from(&x)
        .and(&y)
        .and(&dy)
        .par_map_collect(|&x, &y, &g| g * U::df(x, y))
}

/// `g ← g ⊙ relu′(y)` in place, from the rectifier's output `y` (`y > 0 ⇔ x > 0`): the
/// same bits as [`unary_backward`]`::<Relu>(y, y, g)`, without a new array.
pub fn relu_mask_in_place(g: &mut ArrayD<f32>, y: ArrayViewD<f32>) {
    Zip::from(g)
        .and(&y)
        .par_for_each(|g, &y| *g *= Relu::df(y, y));
}

/// The input viewed as `[N, C, S]`, the axis the PReLU slope runs along in the middle.
fn channel_view<'a>(
    op: &str,
    x: &'a ArrayViewD<'a, f32>,
    slopes: usize,
) -> ndarray::ArrayView3<'a, f32> {
    assert!(
        x.ndim() >= 2,
        "{op}: input {:?} has no channel axis",
        x.shape()
    );
    let (n, c) = (x.shape()[0], x.shape()[1]);
    assert!(
        slopes == c || slopes == 1,
        "{op}: input {:?} vs slope [{slopes}]",
        x.shape()
    );
    let s = x.len() / (n * c).max(1);
    x.view()
        .into_shape_with_order((n, c, s))
        .unwrap_or_else(|_| panic!("{op}: input must be contiguous"))
}

/// PReLU forward (He et al. eq. 1): `y = x` if `x > 0`, else `a_c · x`; `a` has one slope
/// per channel (axis 1) or a single shared slope.
pub fn prelu_forward(x: ArrayViewD<f32>, a: ArrayViewD<f32>) -> ArrayD<f32> {
    let x = x.as_standard_layout();
    let xv = x.view();
    let x3 = channel_view("prelu", &xv, a.len());
    let shared = a.len() == 1;
    let mut y = x3.to_owned();
    for (c, mut plane) in y.axis_iter_mut(Axis(1)).enumerate() {
        let slope = a.as_slice().expect("contiguous slope")[if shared { 0 } else { c }];
        plane.mapv_inplace(|v| if v > 0.0 { v } else { slope * v });
    }
    y.into_shape_with_order(x.shape()).expect("prelu shape")
}

/// PReLU backward: `dx = dy` where `x > 0`, else `a_c · dy`; and (eq. 2, 3)
/// `da_c = Σ_{x ≤ 0} dy · x` over every position of channel `c` (all channels when shared).
pub fn prelu_backward(
    x: ArrayViewD<f32>,
    a: ArrayViewD<f32>,
    dy: ArrayViewD<f32>,
) -> (ArrayD<f32>, ArrayD<f32>) {
    assert!(
        x.shape() == dy.shape(),
        "prelu_backward: x {:?} vs dy {:?}",
        x.shape(),
        dy.shape()
    );
    let (x, dy) = (x.as_standard_layout(), dy.as_standard_layout());
    let (xv, dyv) = (x.view(), dy.view());
    let x3 = channel_view("prelu_backward", &xv, a.len());
    let g3 = channel_view("prelu_backward", &dyv, a.len());
    let slopes = a.as_slice().expect("contiguous slope");
    let shared = slopes.len() == 1;
    let mut dx = g3.to_owned();
    let mut da = Array1::<f64>::zeros(slopes.len());
    for (c, (mut dplane, xplane)) in dx
        .axis_iter_mut(Axis(1))
        .zip(x3.axis_iter(Axis(1)))
        .enumerate()
    {
        let k = if shared { 0 } else { c };
        let mut acc = 0.0f64;
        Zip::from(&mut dplane).and(&xplane).for_each(|g, &xv| {
            if xv <= 0.0 {
                acc += (*g * xv) as f64;
                *g *= slopes[k];
            }
        });
        da[k] += acc;
    }
    let dx = dx.into_shape_with_order(x.shape()).expect("prelu dx shape");
    (
        dx,
        da.mapv(|v| v as f32)
            .into_shape_with_order(a.shape())
            .expect("prelu da shape"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arr;

    #[test]
    fn relu_kinks_use_zero_derivative_at_zero() {
        let x = arr(&[3], &[-1.0, 0.0, 1.0]);
        let y = unary_forward::<Relu>(x.view());
        assert_eq!(y.as_slice().unwrap(), &[0.0, 0.0, 1.0]);
        let g = unary_backward::<Relu>(x.view(), y.view(), arr(&[3], &[5.0, 5.0, 5.0]).view());
        assert_eq!(g.as_slice().unwrap(), &[0.0, 0.0, 5.0]);
    }

    #[test]
    fn the_in_place_mask_gives_the_bits_of_the_relu_backward() {
        // Negative gradients where y is 0 become −0.0 both ways; NaN and ∞ pass alike.
        let y = arr(&[2, 3], &[0.0, 2.0, 0.0, 1.0, 0.0, 3.0]);
        let g = arr(
            &[2, 3],
            &[-5.0, -1.5, f32::NAN, f32::INFINITY, 4.0, f32::NAN],
        );
        let want = unary_backward::<Relu>(y.view(), y.view(), g.view());
        let mut got = g.clone();
        relu_mask_in_place(&mut got, y.view());
        let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want));
        assert_eq!(got[[0, 0]].to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn prelu_exact_values_per_channel_and_at_zero() {
        // x [1, 2, 2]: channel 0 slope 0.25, channel 1 slope 0 (a ReLU).
        let x = arr(&[1, 2, 2], &[-2.0, 3.0, 0.0, -1.0]);
        let a = arr(&[2], &[0.25, 0.0]);
        let y = prelu_forward(x.view(), a.view());
        assert_eq!(y.as_slice().unwrap(), &[-0.5, 3.0, 0.0, 0.0]);
        let (dx, da) = prelu_backward(
            x.view(),
            a.view(),
            arr(&[1, 2, 2], &[1.0, 1.0, 1.0, 2.0]).view(),
        );
        assert_eq!(dx.as_slice().unwrap(), &[0.25, 1.0, 0.0, 0.0]);
        // da_0 = 1·(−2); da_1 = 1·0 + 2·(−1).
        assert_eq!(da.as_slice().unwrap(), &[-2.0, -2.0]);
    }
}

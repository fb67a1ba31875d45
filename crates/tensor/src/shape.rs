//! Shape helpers and the one place where conv and pool output sizes are computed.

use crate::{Result, Tensor, TensorError};

/// Stride and zero padding of a convolution (the kernel size comes from the weight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Step between neighbouring output positions, in both directions.
    pub stride: usize,
    /// Zero padding added on every side.
    pub pad: usize,
}

impl ConvGeom {
    /// A validated geometry: the stride must be at least 1.
    pub fn new(stride: usize, pad: usize) -> Result<Self> {
        if stride == 0 {
            return Err(TensorError::InvalidGeometry {
                field: "stride",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self { stride, pad })
    }
}

/// Window and stride of a max-pool (square windows, no padding, floor rounding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    /// Window side.
    pub k: usize,
    /// Step between windows.
    pub stride: usize,
}

impl PoolGeom {
    /// A validated geometry: window and stride at least 1.
    pub fn new(k: usize, stride: usize) -> Result<Self> {
        for (field, v) in [("kernel", k), ("stride", stride)] {
            if v == 0 {
                return Err(TensorError::InvalidGeometry {
                    field,
                    reason: "must be at least 1".into(),
                });
            }
        }
        Ok(Self { k, stride })
    }
}

/// Output length of a convolution along one axis: `(len + 2 pad − k) / stride + 1`,
/// or `None` when the kernel does not fit in the padded input.
pub fn conv_out(len: usize, k: usize, geom: ConvGeom) -> Option<usize> {
    let padded = len + 2 * geom.pad;
    (padded >= k && geom.stride > 0).then(|| (padded - k) / geom.stride + 1)
}

/// Output length of a max-pool along one axis, rounding down (28 → 14 → 7 → 3 for 2×2/2),
/// or `None` when the window does not fit.
pub fn pool_out(len: usize, geom: PoolGeom) -> Option<usize> {
    (len >= geom.k && geom.stride > 0).then(|| (len - geom.k) / geom.stride + 1)
}

/// The four dims of an NCHW tensor; panics naming `op` if the rank is not 4.
#[track_caller]
pub fn dims4(op: &str, t: &Tensor) -> (usize, usize, usize, usize) {
    match t.shape() {
        &[n, c, h, w] => (n, c, h, w),
        s => panic!("{op}: expected a rank-4 NCHW tensor, got shape {s:?}"),
    }
}

/// The two dims of a matrix; panics naming `op` if the rank is not 2.
#[track_caller]
pub fn dims2(op: &str, t: &Tensor) -> (usize, usize) {
    match t.shape() {
        &[r, c] => (r, c),
        s => panic!("{op}: expected a rank-2 tensor, got shape {s:?}"),
    }
}

/// Panics naming `op` and both shapes unless `a` and `b` have the same shape.
#[track_caller]
pub fn assert_same_shape(op: &str, a: &Tensor, b: &Tensor) {
    assert!(
        a.shape() == b.shape(),
        "{op}: lhs {:?} vs rhs {:?}",
        a.shape(),
        b.shape()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pool_floors_like_the_spec() {
        let g = PoolGeom::new(2, 2).unwrap();
        assert_eq!(pool_out(28, g), Some(14));
        assert_eq!(pool_out(14, g), Some(7));
        assert_eq!(pool_out(7, g), Some(3));
        assert_eq!(pool_out(1, g), None);
    }

    #[test]
    fn zero_stride_is_an_error_naming_the_field() {
        let e = ConvGeom::new(0, 1).unwrap_err();
        assert!(e.to_string().contains("stride"), "{e}");
        assert!(PoolGeom::new(0, 2)
            .unwrap_err()
            .to_string()
            .contains("kernel"));
    }

    proptest! {
        /// The last window computed by `conv_out` fits in the padded input and one more would not.
        #[test]
        fn conv_out_counts_every_fitting_window(len in 1usize..64, k in 1usize..8, stride in 1usize..4, pad in 0usize..3) {
            let g = ConvGeom { stride, pad };
            match conv_out(len, k, g) {
                Some(o) => {
                    prop_assert!((o - 1) * stride + k <= len + 2 * pad);
                    prop_assert!(o * stride + k > len + 2 * pad);
                }
                None => prop_assert!(len + 2 * pad < k),
            }
        }

        /// Same property for pooling (no padding).
        #[test]
        fn pool_out_counts_every_fitting_window(len in 1usize..64, k in 1usize..5, stride in 1usize..4) {
            let g = PoolGeom { k, stride };
            match pool_out(len, g) {
                Some(o) => {
                    prop_assert!((o - 1) * stride + k <= len);
                    prop_assert!(o * stride + k > len);
                }
                None => prop_assert!(len < k),
            }
        }
    }
}

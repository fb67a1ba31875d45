//! f32 tensors (ndarray, NCHW for images) and reverse-mode autograd on an append-only tape.
//!
//! A [`Tape`] records whole-tensor ops; tensors are [`NodeId`] handles into it. Creation
//! order is a topological order, so [`Tape::backward`] is a single reverse sweep that
//! returns a separate [`Grads`] store. Forward kernels live in [`kernels`] as pure
//! functions on ndarray views; every backward lives in one `match` in `backward.rs`.
//!
//! ```
//! use tensor::{Tape, arr};
//! let mut tape = Tape::new();
//! let x = tape.var(arr(&[3], &[1.0, -2.0, 3.0]));
//! let y = tape.relu(x);
//! let loss = tape.sum(y);
//! let grads = tape.backward(loss);
//! assert_eq!(grads.get(x).unwrap().as_slice().unwrap(), &[1.0, 0.0, 1.0]);
//! ```

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod backward;
mod error;
/// The kernels, public only for the benchmarks (feature `internals`).
#[cfg(feature = "internals")]
pub mod kernels;
#[cfg(not(feature = "internals"))]
mod kernels;
mod op;
mod profile;
pub mod shape;
mod tape;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backward::Grads;
pub use error::{Result, TensorError};
pub use op::Op;
pub use profile::Profile;
pub use shape::{ConvGeom, PoolGeom};
pub use tape::{Mode, NodeId, ParamId, Tape};

/// The SIMD path the conv kernels take on this CPU: `avx2-fma`, or `scalar` where the CPU
/// lacks AVX2/FMA (im2col + GEMM everywhere).
pub fn simd_path() -> &'static str {
    if kernels::conv::simd::available() {
        "avx2-fma"
    } else {
        "scalar"
    }
}

/// The one tensor type: a dynamically shaped f32 array.
pub type Tensor = ndarray::ArrayD<f32>;

/// Builds a tensor from a shape and row-major data; panics if the lengths disagree.
#[track_caller]
pub fn arr(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_shape_vec(shape.to_vec(), data.to_vec())
        .unwrap_or_else(|_| panic!("arr: shape {shape:?} vs {} values", data.len()))
}

#[cfg(test)]
mod gradcheck_tests;

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
pub mod memory;
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

/// The SIMD path the conv kernels take on this CPU (`avx512f`, `avx2-fma`, or `scalar`
/// where the CPU has neither: im2col + GEMM everywhere), as `bench --json` and
/// `config.json` record it.
pub fn simd_path() -> &'static str {
    kernels::conv::simd::isa()
        .unwrap_or(SimdPath::Scalar)
        .name()
}

/// A kernel path `DELVE_SIMD` can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdPath {
    /// The portable kernels (im2col + GEMM), on any CPU.
    Scalar,
    /// The AVX2/FMA kernels (8 lanes).
    Avx2,
    /// The AVX-512F kernels (16 lanes): the same bits as [`SimdPath::Avx2`].
    Avx512,
}

impl SimdPath {
    /// Every path, narrowest first.
    pub const ALL: [SimdPath; 3] = [SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512];

    /// The name `DELVE_SIMD` takes.
    pub fn flag(self) -> &'static str {
        match self {
            SimdPath::Scalar => "scalar",
            SimdPath::Avx2 => "avx2",
            SimdPath::Avx512 => "avx512",
        }
    }

    /// The name files record (the instruction sets it needs).
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Scalar => "scalar",
            SimdPath::Avx2 => "avx2-fma",
            SimdPath::Avx512 => "avx512f",
        }
    }

    /// Whether this CPU can run the path (detected once).
    pub fn detected(self) -> bool {
        match self {
            SimdPath::Scalar => true,
            SimdPath::Avx2 => kernels::conv::simd::has_avx2(),
            SimdPath::Avx512 => kernels::conv::simd::has_avx512(),
        }
    }

    /// What the CPU lacks for this path, as a test's `skipped:` line or an error says it.
    pub fn lacks(self) -> &'static str {
        match self {
            SimdPath::Scalar => "nothing",
            SimdPath::Avx2 => "avx2/fma",
            SimdPath::Avx512 => "avx512f",
        }
    }
}

/// The path `DELVE_SIMD` forces (`scalar`, `avx2` or `avx512`), read once; `Ok(None)`
/// when it is unset (the widest path the CPU has). An unknown value or a path this CPU
/// lacks is an error naming it; the kernels then use the widest path the CPU has, so a
/// program should check this at start (the CLI does, exit 2).
pub fn select_simd() -> std::result::Result<Option<SimdPath>, String> {
    static CHOICE: std::sync::OnceLock<std::result::Result<Option<SimdPath>, String>> =
        std::sync::OnceLock::new();
    CHOICE
        .get_or_init(|| {
            let Ok(v) = std::env::var("DELVE_SIMD") else {
                return Ok(None);
            };
            match SimdPath::ALL.into_iter().find(|p| p.flag() == v) {
                Some(p) if p.detected() => Ok(Some(p)),
                Some(p) => Err(format!("DELVE_SIMD={v}: this CPU lacks {}", p.lacks())),
                None => Err(format!("DELVE_SIMD={v}: expected scalar, avx2 or avx512")),
            }
        })
        .clone()
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

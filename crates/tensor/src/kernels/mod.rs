//! Forward and backward kernels: pure functions from ndarray views to arrays, with no
//! autograd types in them. The tape calls them; tests compare them with `reference`.

pub mod conv;
pub mod conv_implicit;
pub mod elementwise;
pub mod loss;
pub mod microkernel;
pub mod pool;
#[cfg(test)]
mod reference;
pub mod scratch;
pub mod winograd;

//! Forward and backward kernels: pure functions from ndarray views to arrays, with no
//! autograd types in them. The tape calls them; tests compare them with `reference`.
//! Only the entry points the tape uses are public (to the crate); the feature `internals`
//! makes the module public for the benchmarks.

pub mod conv;
pub mod elementwise;
pub mod loss;
pub mod pool;
#[cfg(test)]
mod reference;

//! Training: the one SGD step that `train`, `bench` and `lockstep` all call.

pub mod batches;
pub mod step;

pub use batches::Batches;
pub use step::{train_step, Step};

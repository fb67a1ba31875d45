//! Training: the one SGD step that `train`, `bench` and `lockstep` all call, the batches,
//! evaluation, the metrics runs are summarised by, and a run as a [`Trainer`].

pub mod batches;
pub mod estimate;
pub mod evaluate;
pub mod grid;
pub mod metrics;
pub mod replay;
pub mod step;
pub mod trainer;

pub use batches::Batches;
pub use step::{train_step, Step};
pub use trainer::{Checkpointing, Observer, Outcome, Quiet, Trainer};

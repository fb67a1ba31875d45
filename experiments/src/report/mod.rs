//! What is made from runs and nets for people to read: the figures, the depth and PReLU
//! reports, the stall table, the variance analysis at initialization, where training moved
//! the weights, and the net summary.

pub mod claims;
pub mod depth;
pub mod drift;
pub mod figure;
pub mod prediction;
pub mod prelu;
pub mod runs;
pub mod stall;
pub mod summary;
pub mod sweep;
pub mod variance;

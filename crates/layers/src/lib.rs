//! Layers, the plain rectifier nets of He et al. (2015) §2.2, and SGD with momentum.
//!
//! Every layer implements [`Layer`]: it records its forward on a [`tensor::Tape`], lists
//! its parameters in a fixed order with stable names (`stage2.conv3.weight`) and a
//! [`ParamKind`], and reports its fans. [`plain_net`] builds the experiment's networks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod calibrate;
mod conv2d;
mod error;
mod flatten;
mod layer;
mod linear;
mod maxpool;
mod param;
mod plain_net;
mod prelu;
mod relu;
mod sequential;
mod sgd;

pub use calibrate::Calibration;
pub use conv2d::{Conv2d, Conv2dConfig};
pub use error::{LayerError, Result};
pub use flatten::Flatten;
pub use layer::{Layer, LayerKind};
pub use linear::Linear;
pub use maxpool::MaxPool2d;
pub use param::{Param, ParamKind};
pub use plain_net::{plain_net, stage_depths, Activation, Head, PlainNetConfig, PAPER_HEAD_STD};
pub use prelu::Prelu;
pub use relu::Relu;
pub use sequential::{LayerSummary, Sequential};
pub use sgd::{Sgd, SgdConfig};

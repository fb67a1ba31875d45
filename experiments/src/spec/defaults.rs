//! The spec's training settings; a run name mentions each one only where it differs.

/// Channels per stage.
pub const WIDTHS: [usize; 3] = [16, 32, 64];
/// Hidden fc width.
pub const FC_WIDTH: usize = 256;
/// Learning rate (the paper's 0.01 is unstable for these narrow nets).
pub const LR: f32 = 0.001;
/// Mini-batch size.
pub const BATCH_SIZE: usize = 128;
/// SGD momentum.
pub const MOMENTUM: f32 = 0.9;
/// Weight decay on weights.
pub const WEIGHT_DECAY: f32 = 5e-4;
/// Training images used (0: all).
pub const TRAIN_SIZE: usize = 0;
/// Evaluation period in epochs.
pub const EVAL_EVERY: f64 = 0.1;
/// Test images per evaluation (the curves' fixed subset).
pub const EVAL_SIZE: usize = 3000;

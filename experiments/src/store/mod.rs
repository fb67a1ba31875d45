//! What a run keeps on disk: its CSV and JSON records, its checkpoint, the folder's state,
//! all written atomically, and its exported weights, read back. Nothing here knows about the command line.

pub mod atomic;
pub mod checkpoint;
pub mod lock;
pub mod lockstep;
pub mod records;
pub mod run_folder;
pub mod weights;

/// Bytes a safetensors file of ours may hold beyond its tensors' (the header: names,
/// shapes, the run's configuration).
pub const HEADER_ROOM: u64 = 1 << 20;

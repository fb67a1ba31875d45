//! The tensor crate's recoverable errors (bugs such as shape mismatches panic instead).

/// A recoverable failure in the tensor crate: invalid geometry supplied by a caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TensorError {
    /// A geometry field (stride, kernel size, padding) is out of range.
    #[error("invalid {field}: {reason}")]
    InvalidGeometry {
        /// The offending field, e.g. `stride`.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

/// Result with [`TensorError`].
pub type Result<T> = std::result::Result<T, TensorError>;

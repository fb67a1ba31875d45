//! The layers crate's recoverable errors: invalid network specs.

/// Why a layer or network could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A field of the spec is out of range.
    #[error("invalid {field}: {reason}")]
    InvalidSpec {
        /// The field, as the CLI names it (`depth`, `width`).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Conv or pool geometry that cannot work.
    #[error(transparent)]
    Geometry(#[from] tensor::TensorError),
}

/// Result with [`LayerError`].
pub type Result<T> = std::result::Result<T, LayerError>;

/// Shorthand for an [`LayerError::InvalidSpec`].
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> LayerError {
    LayerError::InvalidSpec {
        field,
        reason: reason.into(),
    }
}

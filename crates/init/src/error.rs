//! The init crate's errors: a name or option the registry cannot take.

/// Why an initializer spec was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InitError {
    /// No initializer has this name.
    #[error("unknown initializer `{name}` (known: {known})")]
    UnknownName {
        /// The name given.
        name: String,
        /// The registered names.
        known: String,
    },
    /// The initializer does not take this option.
    #[error("initializer `{init}` has no option `{key}` (it takes: {accepted})")]
    UnknownOption {
        /// The initializer.
        init: String,
        /// The option given.
        key: String,
        /// The options it does take.
        accepted: String,
    },
    /// An option's value could not be used.
    #[error("initializer `{init}`: bad value `{value}` for `{key}`: {reason}")]
    BadValue {
        /// The initializer.
        init: String,
        /// The option.
        key: String,
        /// The value given.
        value: String,
        /// What is expected.
        reason: String,
    },
    /// The spec is not `name[:key=value]...`.
    #[error(
        "malformed initializer spec `{0}` (expected name[:key=value]..., e.g. msra:mode=fan_out)"
    )]
    Malformed(String),
    /// A data-dependent initializer could not calibrate a layer.
    #[error("calibration failed at weight layer {layer}: {reason}")]
    Calibration {
        /// The weight layer (1-based).
        layer: usize,
        /// What went wrong.
        reason: String,
    },
}

/// Result with [`InitError`].
pub type Result<T> = std::result::Result<T, InitError>;

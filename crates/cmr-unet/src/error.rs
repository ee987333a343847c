//! The error type of cmr-unet.

/// Everything that can go wrong building, running or loading a U-Net.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UNetError {
    /// The configuration cannot describe a network.
    #[error("invalid U-Net configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The input tensor has the wrong shape.
    #[error("input has shape {got:?}, expected {expected}")]
    InputShape {
        /// The expected layout.
        expected: String,
        /// The shape given.
        got: Vec<i64>,
    },
    /// A head was requested that the network does not have.
    #[error("no head named `{name}` (available: {available:?})")]
    UnknownHead {
        /// The requested name.
        name: String,
        /// The heads the network has.
        available: Vec<String>,
    },
}

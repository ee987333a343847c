//! The error type of cmr-unet.

use std::path::PathBuf;

use tch::{Device, Kind, TchError};

/// Everything that can go wrong building, running, saving or loading a U-Net.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UNetError {
    /// The configuration cannot describe a network.
    #[error("invalid U-Net configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The input tensor has the wrong rank or channel count.
    #[error("input has shape {got:?}, expected {expected}")]
    InputShape {
        /// The expected layout.
        expected: String,
        /// The shape given.
        got: Vec<i64>,
    },
    /// The input's dtype differs from the parameters'.
    #[error("input has dtype {got:?}, the network's parameters are {expected:?}")]
    InputKind {
        /// The parameters' kind.
        expected: Kind,
        /// The input's kind.
        got: Kind,
    },
    /// The input is on another device than the parameters.
    #[error("input is on {got:?}, the network is on {expected:?}")]
    InputDevice {
        /// The parameters' device.
        expected: Device,
        /// The input's device.
        got: Device,
    },
    /// A decoder received another number of feature maps than it was built for.
    #[error("decoder built for {expected} feature maps received {got}")]
    FeatureMaps {
        /// Levels the decoder was built for.
        expected: usize,
        /// Feature maps given.
        got: usize,
    },
    /// A head was requested that the network does not have.
    #[error("no head named `{name}` (available: {available:?})")]
    UnknownHead {
        /// The requested name.
        name: String,
        /// The heads the network has.
        available: Vec<String>,
    },
    /// A head was added under a name that is taken.
    #[error("the network already has a head named `{name}` (use replace_head)")]
    DuplicateHead {
        /// The name.
        name: String,
    },
    /// Tensors the load needs are not in the source.
    #[error("{origin} lacks {} tensor(s) the network needs: {names:?}", names.len())]
    MissingTensors {
        /// File path or "another network".
        origin: String,
        /// The missing tensor names.
        names: Vec<String>,
    },
    /// A tensor in the source has another shape than the network's.
    #[error("tensor `{tensor}` in {origin} has shape {found:?}, the network's has {expected:?}")]
    ShapeMismatch {
        /// File path or "another network".
        origin: String,
        /// The tensor name.
        tensor: String,
        /// The network's shape.
        expected: Vec<i64>,
        /// The source's shape.
        found: Vec<i64>,
    },
    /// A tensor in the source is not floating point where the network's is.
    #[error("tensor `{tensor}` in {origin} has dtype {found:?}, the network's has {expected:?}")]
    KindMismatch {
        /// File path or "another network".
        origin: String,
        /// The tensor name.
        tensor: String,
        /// The network's kind.
        expected: Kind,
        /// The source's kind.
        found: Kind,
    },
    /// A checkpoint file is malformed.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint has no stored configuration, so the network cannot be rebuilt from it.
    #[error(
        "checkpoint {} stores no U-Net configuration (metadata key `cmr_unet.config`); build the network from its configuration and use UNet::load",
        path.display()
    )]
    MissingConfig {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// libtorch rejected an operation.
    #[error("libtorch failed in {context}: {source}")]
    Torch {
        /// What the network was doing.
        context: String,
        /// libtorch's error.
        source: TchError,
    },
}

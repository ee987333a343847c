//! The error type of cmr-pretext.

/// Everything that can go wrong in a pretext task, a loss or a transfer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PretextError {
    /// Logits, targets or masks have inconsistent shapes.
    #[error("{what}: got shape {got:?}, expected {expected}")]
    Shape {
        /// Which tensor.
        what: &'static str,
        /// Its shape.
        got: Vec<i64>,
        /// What was expected.
        expected: String,
    },
    /// A target of one kind was given to a task of another (class labels to a regression task).
    #[error("task `{task}` needs {expected} targets, got {got}")]
    TargetKind {
        /// The task's name.
        task: String,
        /// What the task needs.
        expected: &'static str,
        /// What it was given.
        got: &'static str,
    },
    /// The geometry gives no target for this image (see the source for why).
    #[error("no pretext target for this image")]
    Underivable {
        /// What cmr-geometry said.
        #[source]
        source: cmr_geometry::GeometryError,
    },
    /// A configuration value is out of range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A strategy name did not parse.
    #[error("unknown transfer strategy `{name}` (expected scratch, ssl-decoder, ssl-all or ssl-multitask)")]
    UnknownStrategy {
        /// The name given.
        name: String,
    },
    /// Loading pretrained weights or changing heads failed.
    #[error("{context}")]
    Network {
        /// What was being done.
        context: String,
        /// The network's error.
        #[source]
        source: cmr_unet::UNetError,
    },
    /// A libtorch operation failed.
    #[error("{context}: {source}")]
    Torch {
        /// What was being done.
        context: String,
        /// libtorch's error.
        #[source]
        source: tch::TchError,
    },
}

//! The error type of cmr-train.

use std::path::PathBuf;

/// Everything that can go wrong in the data pipeline, training or evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An argument or configuration value is out of its valid range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Images in one batch have different shapes.
    #[error("image {index} has shape {got:?}, the batch has {expected:?}")]
    BatchShape {
        /// Index of the odd image.
        index: usize,
        /// Its shape.
        got: [usize; 2],
        /// The first image's shape.
        expected: [usize; 2],
    },
    /// Pixels or labels of an image could not be loaded from the study source.
    #[error("loading {what} of {image}")]
    Load {
        /// `"pixels"` or `"labels"`.
        what: &'static str,
        /// The image (file and frame, or in-memory index).
        image: String,
        /// cmr-geometry's error.
        #[source]
        source: Box<cmr_geometry::GeometryError>,
    },
    /// An image's arrays do not match its plane, or a label map holds values outside the
    /// view's label set.
    #[error("{image}: {reason}")]
    BadImage {
        /// The image.
        image: String,
        /// What is wrong.
        reason: String,
    },
    /// The loss became NaN or infinite.
    #[error("the {part} loss is {value} at step {step}")]
    NonFiniteLoss {
        /// 0-based optimiser step.
        step: u64,
        /// Which loss (`total`, `segmentation`, `pretext`).
        part: &'static str,
        /// Its value.
        value: f64,
    },
    /// The output folder already holds a run and neither resuming nor overwriting was asked.
    #[error("{path} is not empty (it holds {found}); resume the run or choose another folder")]
    OutputExists {
        /// The folder.
        path: PathBuf,
        /// One entry found there.
        found: String,
    },
    /// A run cannot be resumed from this folder.
    #[error("cannot resume from {path}: {reason}")]
    Resume {
        /// The resume file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A model file or run folder cannot be used for segmentation.
    #[error("model {path}: {reason}")]
    Model {
        /// The checkpoint or run folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file could not be written through cmr-geometry (NIfTI volumes, atomic writes).
    #[error("writing {path}")]
    Geometry {
        /// The file.
        path: PathBuf,
        /// cmr-geometry's error.
        #[source]
        source: Box<cmr_geometry::GeometryError>,
    },
    /// A loader thread panicked or stopped unexpectedly.
    #[error("data loader: {reason}")]
    Loader {
        /// What happened.
        reason: String,
    },
    /// A pretext task or transfer strategy failed.
    #[error(transparent)]
    Pretext(Box<cmr_pretext::PretextError>),
    /// The network failed (shapes, checkpoints, libtorch).
    #[error(transparent)]
    Network(Box<cmr_unet::UNetError>),
    /// A metric could not be computed.
    #[error(transparent)]
    Metrics(Box<cmr_metrics::MetricsError>),
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

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn torch(context: impl Into<String>) -> impl FnOnce(tch::TchError) -> Self {
        let context = context.into();
        move |source| Self::Torch { context, source }
    }
}

impl From<cmr_pretext::PretextError> for TrainError {
    fn from(e: cmr_pretext::PretextError) -> Self {
        Self::Pretext(Box::new(e))
    }
}

impl From<cmr_unet::UNetError> for TrainError {
    fn from(e: cmr_unet::UNetError) -> Self {
        Self::Network(Box::new(e))
    }
}

impl From<cmr_metrics::MetricsError> for TrainError {
    fn from(e: cmr_metrics::MetricsError) -> Self {
        Self::Metrics(Box::new(e))
    }
}

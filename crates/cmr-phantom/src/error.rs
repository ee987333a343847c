//! The error type of cmr-phantom.

use std::path::PathBuf;

/// Everything that can go wrong while generating or writing a phantom.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhantomError {
    /// A configuration value is out of its valid range.
    #[error("invalid phantom configuration: `{field}` = {value} ({reason})")]
    InvalidConfig {
        /// The field name.
        field: &'static str,
        /// The offending value, as text.
        value: String,
        /// What the field must satisfy.
        reason: &'static str,
    },
    /// Building an image plane failed (this points at a planning bug or an extreme
    /// configuration).
    #[error("image plane of {what}: {source}")]
    Geometry {
        /// Which plane.
        what: String,
        /// The geometry error.
        #[source]
        source: cmr_geometry::GeometryError,
    },
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"creating"`, `"writing"`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding a DICOM file failed.
    #[error("writing DICOM file {path} (series {series}): {message}")]
    Dicom {
        /// The file being written.
        path: PathBuf,
        /// Its SeriesDescription.
        series: String,
        /// What dicom-rs reported.
        message: String,
    },
    /// Encoding the JSON manifest failed.
    #[error("encoding the manifest {path}: {source}")]
    Manifest {
        /// The manifest path.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl PhantomError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

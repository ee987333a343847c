//! The error type of cmr-geometry.

use std::path::PathBuf;

/// Which of the two DICOM direction cosines a geometry error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionName {
    /// The row direction (ImageOrientationPatient\[0..3\]).
    Row,
    /// The column direction (ImageOrientationPatient\[3..6\]).
    Column,
}

impl DirectionName {
    /// A lower-case name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Row => "row direction",
            Self::Column => "column direction",
        }
    }
}

impl std::fmt::Display for DirectionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in cmr-geometry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryError {
    /// A geometric quantity was NaN or infinite.
    #[error("{what} is not finite")]
    NonFinite {
        /// Which quantity.
        what: &'static str,
    },
    /// A direction cosine is not of unit length (beyond rounding tolerance).
    #[error("{which} has length {norm}, expected 1")]
    NotUnit {
        /// Which direction.
        which: DirectionName,
        /// Its length.
        norm: f64,
    },
    /// The row and column directions are not orthogonal (beyond rounding tolerance).
    #[error("row and column directions are not orthogonal (dot product {dot})")]
    NotOrthogonal {
        /// Their dot product.
        dot: f64,
    },
    /// A pixel spacing is zero, negative or not finite.
    #[error("pixel spacing {axis} is {value} mm, expected a positive number")]
    BadSpacing {
        /// `"between rows"` or `"between columns"`.
        axis: &'static str,
        /// The value found.
        value: f64,
    },
    /// The image has no pixels.
    #[error("image has {rows} rows and {cols} columns")]
    EmptyImage {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// Two planes are parallel, so they do not meet in a line.
    #[error("the planes are parallel ({separation_mm} mm apart) and do not meet in a line")]
    ParallelPlanes {
        /// Distance between the planes, mm.
        separation_mm: f64,
    },
    /// A line runs along a plane's normal, so it projects to a point, not a line.
    #[error("the line is perpendicular to the image plane (sine of its angle to the normal: {sin_angle})")]
    LinePerpendicularToPlane {
        /// Sine of the angle between the line and the plane normal.
        sin_angle: f64,
    },
    /// An image reference that the source asked to load does not belong to it.
    #[error("{reference} is not an image of this {source_kind} source")]
    ForeignPixelRef {
        /// The reference, as text.
        reference: String,
        /// The kind of source asked (`"DICOM folder"`, `"NIfTI folder"`, `"in-memory"`).
        source_kind: &'static str,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"reading"`, `"writing"`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A DICOM file could not be parsed.
    #[error("cannot read DICOM file {path}: {source}")]
    DicomRead {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: Box<dicom_object::ReadError>,
    },
    /// A DICOM attribute the geometry needs is absent.
    #[error("{path}: missing DICOM attribute {attribute}")]
    MissingAttribute {
        /// The file.
        path: PathBuf,
        /// The attribute's keyword (for example `ImagePositionPatient`).
        attribute: &'static str,
    },
    /// A DICOM attribute has a value that cannot be used.
    #[error("{path}: DICOM attribute {attribute} has unusable value {value:?}")]
    BadAttribute {
        /// The file.
        path: PathBuf,
        /// The attribute's keyword.
        attribute: &'static str,
        /// The value found, as text.
        value: String,
    },
    /// A DICOM image's geometry attributes do not describe a valid image plane.
    #[error("{path}: {source}")]
    BadGeometry {
        /// The file.
        path: PathBuf,
        /// What is wrong with the plane.
        source: Box<GeometryError>,
    },
    /// The pixel data is encoded in a transfer syntax this crate cannot decode.
    #[error("{path}: unsupported transfer syntax {name} ({uid})")]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// The transfer syntax UID.
        uid: String,
        /// Its name (`"unknown"` when not in the registry).
        name: String,
    },
    /// The pixel data is of a kind this crate does not load (colour, 1-bit, no pixel data).
    #[error("{path}: unsupported image: {reason}")]
    UnsupportedImage {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        reason: String,
    },
    /// The pixel data could not be decoded.
    #[error("{path}: cannot decode frame {frame}: {message}")]
    PixelDecode {
        /// The file.
        path: PathBuf,
        /// The 0-based frame.
        frame: u32,
        /// The decoder's message (with its causes).
        message: String,
    },
    /// A NIfTI file could not be read or written.
    #[error("NIfTI {path}: {message}")]
    Nifti {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A loaded array does not have the shape its plane says.
    #[error("{what}: expected {expected:?} (rows, cols), found {found:?}")]
    ShapeMismatch {
        /// What was loaded (a reference or file).
        what: String,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A label map holds a value that is not an integer in `0..=255`.
    #[error("{what}: label value {value} is not an integer in 0..=255")]
    BadLabelValue {
        /// The label reference or file.
        what: String,
        /// The offending value.
        value: f64,
    },
    /// Images cannot be written as one NIfTI volume (a NIfTI affine needs parallel slices of
    /// one size at a constant step).
    #[error("cannot write {what} as one NIfTI volume: {reason}")]
    NotAVolume {
        /// What was being written.
        what: String,
        /// Why not.
        reason: String,
    },
    /// No anatomical positions can be derived on an image (see
    /// [`crate::positions::PositionLayout::label`]).
    #[error("no anatomical positions on this {view:?} image: {reason}")]
    PositionsUnderivable {
        /// The target image's view.
        view: crate::View,
        /// What is missing or degenerate.
        reason: String,
    },
    /// A file claims more than the [`LoadLimits`](crate::LoadLimits) allow (refused before
    /// anything of that size is allocated).
    #[error("{path}: {limit} is {value}, more than the limit of {max} (see LoadLimits)")]
    LimitExceeded {
        /// The file.
        path: PathBuf,
        /// Which quantity (`"Rows"`, `"file size"`, `"decoded pixel bytes"`, ...).
        limit: &'static str,
        /// What the file claims.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A file's structure contradicts itself or its size: a truncated transfer, a corrupt or
    /// crafted file.
    #[error("{path}: corrupt or truncated: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What does not add up.
        detail: String,
    },
    /// A folder to scan could not be walked.
    #[error("cannot list folder {path}: {source}")]
    Walk {
        /// The folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

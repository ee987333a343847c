//! The error type of cmr-geometry.

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
}

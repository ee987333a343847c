//! The one error type of this crate.

/// Everything that can go wrong when computing a metric.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum MetricsError {
    /// The two masks (or label maps) do not have the same shape.
    #[error("mask shapes differ: prediction {prediction:?} vs reference {reference:?}")]
    ShapeMismatch {
        /// Shape of the prediction.
        prediction: Vec<usize>,
        /// Shape of the reference.
        reference: Vec<usize>,
    },
    /// Distance metrics are defined for 2-D `[rows, cols]` and 3-D `[slices, rows, cols]` masks only.
    #[error("masks of {ndim} dimensions are not supported (expected [rows, cols] or [slices, rows, cols])")]
    UnsupportedDimension {
        /// Number of dimensions of the masks given.
        ndim: usize,
    },
    /// The spacing has a different number of entries than the masks have axes.
    #[error("spacing has {given} entries but the masks have {ndim} axes")]
    SpacingLength {
        /// Number of mask axes.
        ndim: usize,
        /// Number of spacing entries given.
        given: usize,
    },
    /// A spacing entry is zero, negative, infinite or NaN.
    #[error("spacing along axis {axis} is {value} mm; it must be finite and positive")]
    InvalidSpacing {
        /// The offending axis.
        axis: usize,
        /// The value given.
        value: f64,
    },
    /// The requested percentile is outside `[0, 100]` (or NaN).
    #[error("percentile {value} is outside [0, 100]")]
    InvalidPercentile {
        /// The value given.
        value: f64,
    },
    /// The worst-case distance given for empty masks is negative or NaN.
    #[error("worst-case distance {value} mm for empty masks must be a non-negative number")]
    InvalidWorstCase {
        /// The value given.
        value: f64,
    },
    /// A clinical measure needs a structure that the label map does not contain.
    #[error("{structure} is empty at {phase}: {measure} is undefined")]
    EmptyStructure {
        /// The structure, e.g. "LV blood pool".
        structure: &'static str,
        /// The cardiac phase, e.g. "end-diastole".
        phase: &'static str,
        /// The measure that needs it, e.g. "LV ejection fraction".
        measure: &'static str,
    },
    /// The end-diastolic and end-systolic label stacks differ in shape.
    #[error("ED stack shape {ed:?} differs from ES stack shape {es:?}")]
    PhaseShapeMismatch {
        /// Shape of the end-diastolic stack.
        ed: Vec<usize>,
        /// Shape of the end-systolic stack.
        es: Vec<usize>,
    },
    /// One case of a batch failed; `source` says why.
    #[error("case `{id}`: {source}")]
    Case {
        /// Identifier of the case as given in the batch.
        id: String,
        /// The error for that case.
        source: Box<MetricsError>,
    },
}

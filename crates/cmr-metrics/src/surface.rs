//! Surface (border-to-border) distances between two masks.

use ndarray::{ArrayBase, Data, Dimension};

use crate::border::border;
use crate::edt::squared_edt_at;
use crate::grid::{as_3d, CroppedPair, Grid};
use crate::options::{AssdConvention, PercentileConvention};
use crate::stats::{mean, percentile_linear};
use crate::MetricsError;

/// Distances (mm) from every border voxel of one mask to the nearest border voxel of the
/// other, in raster order of the border voxels. Both lists are empty when either mask is.
///
/// These are the distances medpy 0.5.2 (`__surface_distances`) and MONAI 1.6.1
/// (`get_edge_surface_distance`) reduce to HD, HD95 and ASSD.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SurfaceDistances {
    /// From each prediction border voxel to the nearest reference border voxel.
    pub prediction_to_reference: Vec<f64>,
    /// From each reference border voxel to the nearest prediction border voxel.
    pub reference_to_prediction: Vec<f64>,
}

impl SurfaceDistances {
    /// True when a mask was empty, so no distance is defined.
    pub fn is_empty(&self) -> bool {
        self.prediction_to_reference.is_empty() || self.reference_to_prediction.is_empty()
    }

    /// Hausdorff distance: the largest distance in either direction; `None` if empty.
    pub fn hausdorff(&self) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(max(&self.prediction_to_reference).max(max(&self.reference_to_prediction)))
    }

    /// The `p`-th percentile Hausdorff distance (`p` in `[0, 100]`, 95 for HD95) under
    /// `convention`; `None` if empty.
    pub fn percentile(&self, p: f64, convention: PercentileConvention) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        Some(match convention {
            PercentileConvention::MaxOfDirected => {
                let a = percentile_linear(&mut self.prediction_to_reference.clone(), p);
                let b = percentile_linear(&mut self.reference_to_prediction.clone(), p);
                a.max(b)
            }
            PercentileConvention::Pooled => {
                let mut all = self.pooled();
                percentile_linear(&mut all, p)
            }
        })
    }

    /// Average symmetric surface distance under `convention`; `None` if empty.
    pub fn average(&self, convention: AssdConvention) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        Some(match convention {
            AssdConvention::Pooled => mean(&self.pooled()),
            AssdConvention::MeanOfDirected => {
                0.5 * (mean(&self.prediction_to_reference) + mean(&self.reference_to_prediction))
            }
        })
    }

    fn pooled(&self) -> Vec<f64> {
        let mut all = Vec::with_capacity(
            self.prediction_to_reference.len() + self.reference_to_prediction.len(),
        );
        all.extend_from_slice(&self.prediction_to_reference);
        all.extend_from_slice(&self.reference_to_prediction);
        all
    }

    /// Border distances of a cropped pair on `grid` (2-D or 3-D borders as `grid.planar` says).
    pub(crate) fn of_pair(pair: &CroppedPair, grid: &Grid) -> Self {
        Self::of_masks(
            &pair.prediction,
            &pair.reference,
            pair.shape,
            grid.spacing,
            grid.planar,
        )
    }

    /// Border distances of two rasters of `shape`.
    pub(crate) fn of_masks(
        prediction: &[bool],
        reference: &[bool],
        shape: [usize; 3],
        spacing: [f64; 3],
        planar: bool,
    ) -> Self {
        if !prediction.contains(&true) || !reference.contains(&true) {
            return Self::default();
        }
        let pb = border(prediction, shape, planar);
        let rb = border(reference, shape, planar);
        let sqrt_all = |v: Vec<f64>| v.into_iter().map(f64::sqrt).collect::<Vec<_>>();
        SurfaceDistances {
            prediction_to_reference: sqrt_all(squared_edt_at(&rb, &pb, shape, spacing)),
            reference_to_prediction: sqrt_all(squared_edt_at(&pb, &rb, shape, spacing)),
        }
    }
}

/// Border-to-border distances of two boolean masks (2-D `[rows, cols]` or 3-D
/// `[slices, rows, cols]`) with per-axis `spacing` in mm.
///
/// ```
/// use cmr_metrics::{surface_distances, PercentileConvention};
/// use ndarray::Array2;
/// // A single pixel against a full 1x10 row: every pixel of the row is border.
/// let a = Array2::from_shape_fn((1, 10), |(_, c)| c == 0);
/// let b = Array2::from_elem((1, 10), true);
/// let d = surface_distances(&a, &b, &[1.0, 1.0])?;
/// assert_eq!(d.prediction_to_reference, vec![0.0]);
/// assert_eq!(d.reference_to_prediction.len(), 10);
/// assert_eq!(d.hausdorff(), Some(9.0));
/// assert_eq!(d.percentile(95.0, PercentileConvention::Pooled), Some(8.5));
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// [`MetricsError::ShapeMismatch`], [`MetricsError::UnsupportedDimension`],
/// [`MetricsError::SpacingLength`] or [`MetricsError::InvalidSpacing`].
pub fn surface_distances<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
) -> Result<SurfaceDistances, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let grid = Grid::new(prediction.shape(), reference.shape(), spacing)?;
    let pair = CroppedPair::new(as_3d(prediction)?, as_3d(reference)?, |&v| v, |&v| v);
    Ok(SurfaceDistances::of_pair(&pair, &grid))
}

//! Validated mask geometry and the cropped working copy of a mask pair.
//!
//! Every distance computation works on the bounding box of the union of the two masks: voxels
//! outside it are background in both masks, so borders and nearest-border distances inside
//! the box are the same as on the full grid (the same crop MONAI makes, and equivalent to
//! scipy's erosion with `border_value=0` that medpy uses on the whole image).

use ndarray::{ArrayBase, ArrayView3, Axis, Data, Dimension, Ix2, Ix3};

use crate::MetricsError;

/// Shape and spacing of a 2-D or 3-D grid, always as three axes `[slices, rows, cols]`.
///
/// A 2-D mask is one slice with `planar = true`: its voxels have no neighbours across slices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    /// `[slices, rows, cols]`.
    pub shape: [usize; 3],
    /// Spacing in mm per axis; for planar grids the slice entry is 1 and never used.
    pub spacing: [f64; 3],
    /// True for 2-D masks.
    pub planar: bool,
}

impl Grid {
    /// Checks that the two shapes agree, have 2 or 3 axes, and that `spacing` has one finite,
    /// positive entry per axis.
    pub fn new(
        prediction: &[usize],
        reference: &[usize],
        spacing: &[f64],
    ) -> Result<Self, MetricsError> {
        if prediction != reference {
            return Err(MetricsError::ShapeMismatch {
                prediction: prediction.to_vec(),
                reference: reference.to_vec(),
            });
        }
        let ndim = prediction.len();
        if !(2..=3).contains(&ndim) {
            return Err(MetricsError::UnsupportedDimension { ndim });
        }
        validate_spacing(spacing, ndim)?;
        Ok(if ndim == 2 {
            Grid {
                shape: [1, prediction[0], prediction[1]],
                spacing: [1.0, spacing[0], spacing[1]],
                planar: true,
            }
        } else {
            Grid {
                shape: [prediction[0], prediction[1], prediction[2]],
                spacing: [spacing[0], spacing[1], spacing[2]],
                planar: false,
            }
        })
    }

    /// Volume of one voxel: mm³ for 3-D grids, mm² (area) for 2-D grids.
    pub fn voxel_measure(&self) -> f64 {
        if self.planar {
            self.spacing[1] * self.spacing[2]
        } else {
            self.spacing[0] * self.spacing[1] * self.spacing[2]
        }
    }

    /// The largest distance between two voxel centres of the grid (mm).
    pub fn diagonal(&self) -> f64 {
        let first = usize::from(self.planar);
        (first..3)
            .map(|a| {
                let extent = self.shape[a].saturating_sub(1) as f64 * self.spacing[a];
                extent * extent
            })
            .sum::<f64>()
            .sqrt()
    }

    /// The largest in-plane distance between two pixel centres of one slice (mm).
    pub fn slice_diagonal(&self) -> f64 {
        (1..3)
            .map(|a| {
                let extent = self.shape[a].saturating_sub(1) as f64 * self.spacing[a];
                extent * extent
            })
            .sum::<f64>()
            .sqrt()
    }
}

/// Checks that `spacing` has `ndim` finite, positive entries.
pub(crate) fn validate_spacing(spacing: &[f64], ndim: usize) -> Result<(), MetricsError> {
    if spacing.len() != ndim {
        return Err(MetricsError::SpacingLength {
            ndim,
            given: spacing.len(),
        });
    }
    for (axis, &value) in spacing.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(MetricsError::InvalidSpacing { axis, value });
        }
    }
    Ok(())
}

/// Views a 2-D or 3-D array as `[slices, rows, cols]` (a 2-D array becomes one slice).
pub(crate) fn as_3d<S, D>(array: &ArrayBase<S, D>) -> Result<ArrayView3<'_, S::Elem>, MetricsError>
where
    S: Data,
    D: Dimension,
{
    let unsupported = |_| MetricsError::UnsupportedDimension { ndim: array.ndim() };
    match array.ndim() {
        2 => Ok(array
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(unsupported)?
            .insert_axis(Axis(0))),
        _ => array
            .view()
            .into_dimensionality::<Ix3>()
            .map_err(unsupported),
    }
}

/// Voxel counts of a mask pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overlap {
    /// Voxels in both masks.
    pub both: usize,
    /// Voxels in the prediction.
    pub prediction: usize,
    /// Voxels in the reference.
    pub reference: usize,
}

/// The two masks cropped to the bounding box of their union, in `[slice, row, col]` raster order.
#[derive(Debug, Clone)]
pub(crate) struct CroppedPair {
    /// Shape of the box; all zeros when both masks are empty.
    pub shape: [usize; 3],
    /// Prediction inside the box.
    pub prediction: Vec<bool>,
    /// Reference inside the box.
    pub reference: Vec<bool>,
    /// Counts over the whole grid (the box holds every foreground voxel).
    pub overlap: Overlap,
}

impl CroppedPair {
    /// Reads both masks (through the predicates, e.g. `v == label`) in one pass for the
    /// counts and the union's bounding box, then copies the box.
    pub fn new<A, B>(
        prediction: ArrayView3<'_, A>,
        reference: ArrayView3<'_, B>,
        is_prediction: impl Fn(&A) -> bool,
        is_reference: impl Fn(&B) -> bool,
    ) -> Self
    where
        A: Clone,
        B: Clone,
    {
        debug_assert_eq!(prediction.shape(), reference.shape());
        let (nz, ny, nx) = prediction.dim();
        // Row slices need the standard (C) layout; other layouts are copied once.
        let prediction = prediction.as_standard_layout();
        let reference = reference.as_standard_layout();
        let (Some(pa), Some(ra)) = (prediction.as_slice(), reference.as_slice()) else {
            unreachable!("standard layout arrays are contiguous slices");
        };
        let mut overlap = Overlap::default();
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        if nx > 0 {
            for (row, (pr, rr)) in pa.chunks_exact(nx).zip(ra.chunks_exact(nx)).enumerate() {
                let (mut both, mut np, mut nr) = (0u32, 0u32, 0u32);
                for (p, r) in pr.iter().zip(rr) {
                    let (p, r) = (u32::from(is_prediction(p)), u32::from(is_reference(r)));
                    both += p & r;
                    np += p;
                    nr += r;
                }
                if np + nr == 0 {
                    continue;
                }
                overlap.both += both as usize;
                overlap.prediction += np as usize;
                overlap.reference += nr as usize;
                let any = |i: &usize| is_prediction(&pr[*i]) || is_reference(&rr[*i]);
                let first = (0..nx).find(any).unwrap_or(0);
                let last = (0..nx).rev().find(any).unwrap_or(0);
                let (z, y) = (row / ny, row % ny);
                lo = [lo[0].min(z), lo[1].min(y), lo[2].min(first)];
                hi = [hi[0].max(z + 1), hi[1].max(y + 1), hi[2].max(last + 1)];
            }
        }
        if lo[0] == usize::MAX {
            return CroppedPair {
                shape: [0; 3],
                prediction: Vec::new(),
                reference: Vec::new(),
                overlap,
            };
        }
        let shape = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        let len = shape[0] * shape[1] * shape[2];
        let mut pred = Vec::with_capacity(len);
        let mut refr = Vec::with_capacity(len);
        for z in lo[0]..hi[0] {
            for y in lo[1]..hi[1] {
                let row = (z * ny + y) * nx;
                pred.extend(pa[row + lo[2]..row + hi[2]].iter().map(&is_prediction));
                refr.extend(ra[row + lo[2]..row + hi[2]].iter().map(&is_reference));
            }
        }
        debug_assert_eq!(nz * ny * nx, pa.len());
        CroppedPair {
            shape,
            prediction: pred,
            reference: refr,
            overlap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3};

    #[test]
    fn grid_validates_shapes_and_spacing() {
        assert_eq!(
            Grid::new(&[3, 4], &[3, 5], &[1.0, 1.0]),
            Err(MetricsError::ShapeMismatch {
                prediction: vec![3, 4],
                reference: vec![3, 5]
            })
        );
        assert_eq!(
            Grid::new(&[3], &[3], &[1.0]),
            Err(MetricsError::UnsupportedDimension { ndim: 1 })
        );
        assert_eq!(
            Grid::new(&[3, 4], &[3, 4], &[1.0]),
            Err(MetricsError::SpacingLength { ndim: 2, given: 1 })
        );
        assert_eq!(
            Grid::new(&[2, 3, 4], &[2, 3, 4], &[1.0, 0.0, 1.0]),
            Err(MetricsError::InvalidSpacing {
                axis: 1,
                value: 0.0
            })
        );
        assert!(matches!(
            Grid::new(&[3, 4], &[3, 4], &[1.0, f64::NAN]),
            Err(MetricsError::InvalidSpacing { axis: 1, .. })
        ));
        let g = Grid::new(&[3, 4], &[3, 4], &[2.0, 0.5]).unwrap();
        assert_eq!(g.shape, [1, 3, 4]);
        assert_eq!(g.voxel_measure(), 1.0);
        // (2 * 2)^2 + (3 * 0.5)^2 = 16 + 2.25
        assert_eq!(g.diagonal(), 18.25f64.sqrt());
        let g = Grid::new(&[2, 3, 4], &[2, 3, 4], &[10.0, 2.0, 0.5]).unwrap();
        assert_eq!(g.voxel_measure(), 10.0);
        assert_eq!(g.diagonal(), (100.0f64 + 16.0 + 2.25).sqrt());
        assert_eq!(g.slice_diagonal(), 18.25f64.sqrt());
    }

    #[test]
    fn crop_is_the_union_bounding_box_and_counts_are_global() {
        let mut a = Array3::from_elem((4, 6, 7), false);
        let mut b = Array3::from_elem((4, 6, 7), false);
        a[[1, 2, 3]] = true;
        a[[1, 2, 4]] = true;
        b[[2, 4, 1]] = true;
        b[[1, 2, 4]] = true;
        let c = CroppedPair::new(a.view(), b.view(), |&v| v, |&v| v);
        assert_eq!(c.shape, [2, 3, 4]);
        assert_eq!(
            c.overlap,
            Overlap {
                both: 1,
                prediction: 2,
                reference: 2
            }
        );
        // Box origin is (1, 2, 1): a's voxels land at (0, 0, 2) and (0, 0, 3).
        let at = |z: usize, y: usize, x: usize| (z * 3 + y) * 4 + x;
        assert!(c.prediction[at(0, 0, 2)] && c.prediction[at(0, 0, 3)]);
        assert_eq!(c.prediction.iter().filter(|&&v| v).count(), 2);
        assert!(c.reference[at(1, 2, 0)] && c.reference[at(0, 0, 3)]);
    }

    #[test]
    fn crop_of_empty_masks_is_empty_and_2d_views_work() {
        let e = Array2::from_elem((3, 3), false);
        let v = as_3d(&e).unwrap();
        assert_eq!(v.dim(), (1, 3, 3));
        let c = CroppedPair::new(v, v, |&x| x, |&x| x);
        assert_eq!(c.shape, [0, 0, 0]);
        assert_eq!(c.overlap, Overlap::default());
        // Transposed (non-standard layout) views are read by index, not memory order.
        let mut t = Array2::from_elem((2, 3), false);
        t[[0, 2]] = true;
        let tv = t.t();
        let c = CroppedPair::new(as_3d(&tv).unwrap(), as_3d(&tv).unwrap(), |&x| x, |&x| x);
        assert_eq!(c.shape, [1, 1, 1]);
        assert_eq!(c.overlap.prediction, 1);
    }
}

//! Mean contour distance: 2-D contour-to-contour distances per slice, averaged over slices.
//!
//! Bai et al.'s UK Biobank code (`ukbb_cardiac/common/image_utils.py::distance_metric`, the
//! evaluation of Bai et al., JCMR 2018, and of the MICCAI 2019 self-supervised paper) compares
//! manual and automatic contours on each short-axis slice where *both* segmentations are
//! present: per slice, the mean distance is the mean of the two directed mean distances and
//! the Hausdorff distance is the larger directed maximum; both are then averaged over those
//! slices. Slices where only one segmentation is present are skipped.
//!
//! Differences to that code, on purpose: the contour here is the in-plane border of
//! [`crate::border`] (mask XOR cross erosion), so hole borders (the endocardium of a
//! myocardium ring) count and each border pixel counts once, where OpenCV's
//! `findContours(RETR_EXTERNAL, CHAIN_APPROX_NONE)` keeps only outer contours and lists pixels of
//! one-pixel-thin parts twice; and distances use both in-plane spacings rather than one `dx`.

use rayon::prelude::*;

use crate::grid::{CroppedPair, Grid};
use crate::stats::mean;
use crate::surface::SurfaceDistances;

/// Per-slice contour distances averaged over the slices where both masks are present.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ContourDistance {
    /// Mean over slices of `(mean d(A→B) + mean d(B→A)) / 2`.
    pub mean: f64,
    /// Mean over slices of the per-slice Hausdorff distance.
    pub hausdorff: f64,
    /// Number of slices that entered the means.
    pub slices: usize,
}

/// Contour distances of a cropped pair; `None` when no slice has both masks.
pub(crate) fn contour_distance(pair: &CroppedPair, grid: &Grid) -> Option<ContourDistance> {
    let [nz, ny, nx] = pair.shape;
    let plane = ny * nx;
    let per_slice: Vec<(f64, f64)> = (0..nz)
        .into_par_iter()
        .filter_map(|z| {
            let p = &pair.prediction[z * plane..(z + 1) * plane];
            let r = &pair.reference[z * plane..(z + 1) * plane];
            let d = SurfaceDistances::of_masks(p, r, [1, ny, nx], grid.spacing, true);
            if d.is_empty() {
                return None;
            }
            let md = 0.5 * (mean(&d.prediction_to_reference) + mean(&d.reference_to_prediction));
            Some((md, d.hausdorff()?))
        })
        .collect();
    if per_slice.is_empty() {
        return None;
    }
    let mds: Vec<f64> = per_slice.iter().map(|s| s.0).collect();
    let hds: Vec<f64> = per_slice.iter().map(|s| s.1).collect();
    Some(ContourDistance {
        mean: mean(&mds),
        hausdorff: mean(&hds),
        slices: per_slice.len(),
    })
}

//! Segmentation metrics for cardiac MR: exact, spacing-aware, and in agreement with MONAI
//! 1.6.1 and medpy 0.5.2.
//!
//! Masks are `ndarray` arrays of `bool` (or `u8` label maps with a label list), 2-D
//! `[rows, cols]` or 3-D `[slices, rows, cols]`, with a spacing in mm per axis (for SA stacks:
//! `[slice spacing, PixelSpacing[0], PixelSpacing[1]]`).
//!
//! - Overlap: [`dice`], [`iou`], [`overlap`].
//! - Distances: [`hausdorff_distance`], [`percentile_hausdorff_distance`] (HD95),
//!   [`average_surface_distance`] (ASSD), [`mean_contour_distance`] (per 2-D slice, as Bai et
//!   al.'s UK Biobank code), all from [`surface_distances`]; the Euclidean distance transform
//!   itself is [`distance_transform`].
//! - Everything at once: [`evaluate_structure`] (one mask pair), [`evaluate_labels`] (label
//!   maps), [`evaluate_batch`] (a test set, in parallel), [`summarize`].
//! - Clinical: [`clinical_measures`] (LV/RV EDV, ESV, SV, EF, LV mass), [`phase_volumes`].
//!
//! # Definitions
//!
//! - **Border** of a mask: the mask XOR its erosion by the cross (face-connected) structuring
//!   element, with the grid edge counting as background (scipy `binary_erosion` with
//!   `generate_binary_structure(ndim, 1)`, as medpy and MONAI use).
//! - **Surface distances**: from each border voxel of one mask to the nearest border voxel of
//!   the other, in mm with per-axis spacing, from an exact linear-time Euclidean distance
//!   transform (Felzenszwalb & Huttenlocher 2012) over the union's bounding box.
//! - **Hausdorff**: the largest surface distance either way. **HD95**: a percentile with
//!   numpy/torch linear interpolation, either MONAI's larger of the two directed percentiles
//!   ([`PercentileConvention::MaxOfDirected`], default) or medpy's percentile of the pooled
//!   distances ([`PercentileConvention::Pooled`]). **ASSD**: pooled mean (MONAI and medpy
//!   0.5.2, default) or the mean of the two directed means ([`AssdConvention`]).
//! - **Empty masks**: [`EmptyPolicy`] (default: `+inf` when one mask is empty, NaN when both
//!   are, as MONAI).
//!
//! # Checked against medpy and MONAI
//!
//! `tests/reference.rs` compares every metric on 219 mask pairs (2-D and 3-D, random blobs,
//! noise, ellipses, rings, boxes, single voxels, empty masks, anisotropic spacing) with values
//! computed by medpy 0.5.2, MONAI 1.6.1 and scipy, committed in `tests/data/reference.json`
//! (`cargo xtask metrics-reference` regenerates it). They agree to 1e-6 relative (MONAI's
//! returned HD95 to 1e-5 only, because MONAI takes the quantile in float32; with the quantile
//! in float64 on MONAI's own distances, to 1e-6). `cargo xtask bench-metrics` times HD95 and
//! ASSD against both on the same masks.
//!
//! ```
//! use cmr_metrics::{dice, evaluate_structure, iou, MetricOptions};
//! use ndarray::{array, Array3};
//! let a = array![[true, true], [false, false]];
//! let b = array![[true, false], [false, false]];
//! assert_eq!(dice(&a, &b)?, 2.0 * 1.0 / 3.0);
//! assert_eq!(iou(&a, &b)?, 0.5);
//!
//! // Two single voxels in a 3-D stack with 10 mm slices and 1.5 x 0.5 mm pixels.
//! let mut p = Array3::from_elem((3, 4, 5), false);
//! let mut r = p.clone();
//! p[[0, 0, 0]] = true;
//! r[[2, 1, 3]] = true;
//! let m = evaluate_structure(&p, &r, &[10.0, 1.5, 0.5], &MetricOptions::default())?;
//! let d = (20.0f64 * 20.0 + 1.5 * 1.5 + 1.5 * 1.5).sqrt();
//! assert_eq!((m.hausdorff, m.hausdorff_percentile, m.assd), (d, d, d));
//! # Ok::<(), cmr_metrics::MetricsError>(())
//! ```

#![warn(missing_docs)]

mod border;
mod clinical;
mod contour;
mod edt;
mod error;
mod grid;
mod labels;
mod options;
mod overlap;
mod stats;
mod structure;
mod surface;

pub use clinical::{
    clinical_measures, phase_volumes, ClinicalMeasures, PhaseVolumes, SaLabels, StackGeometry,
    MYOCARDIAL_DENSITY_G_PER_ML,
};
pub use edt::distance_transform;
pub use error::MetricsError;
pub use labels::{
    evaluate_batch, evaluate_labels, summarize, Case, CaseMetrics, LabelMetrics, Summary,
};
pub use options::{AssdConvention, EmptyPolicy, MetricOptions, PercentileConvention};
pub use overlap::{dice, iou, label_mask, overlap, Overlap};
pub use structure::{
    average_surface_distance, evaluate_structure, hausdorff_distance, mean_contour_distance,
    percentile_hausdorff_distance, StructureMetrics,
};
pub use surface::{surface_distances, SurfaceDistances};

/// A tiny deterministic generator for tests (SplitMix64).
#[cfg(test)]
pub(crate) mod test_rng {
    pub struct SplitMix(pub u64);

    impl SplitMix {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in 0..n.
        pub fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }
}

//! Segmentation of new studies with a fine-tuned network: every short-axis (SA) and long-axis
//! (LA) image of every frame is segmented on its original grid ([`segment_study`]), the label
//! maps are stacked into volumes in the study geometry ([`ViewLabels`]), and the SA volumes
//! give the LV/RV end-diastolic and end-systolic volumes, ejection fractions and LV mass
//! ([`cardiac_function`]). [`write_study_outputs`] writes NIfTI label volumes and overlay
//! PNGs, [`write_reports`] the `report.json` / `report.csv` of a set of studies.
//!
//! Each image goes through the path of training and evaluation ([`crate::prepare`] and
//! [`crate::predict_on_original`]): resampled to the model's spacing on the LV-centred
//! crop, segmented (the U-Net pads its input to a multiple of `2^(levels-1)` and crops the
//! output back), and the class probabilities mapped back onto the original pixels; pixels
//! outside the crop are background.
//!
//! ```
//! use cmr_geometry::View;
//! use cmr_metrics::{SaLabels, StackGeometry};
//! use cmr_train::segment::cardiac_function;
//! use ndarray::Array4;
//! // Two frames of one SA slice, 1 x 1 mm pixels, 10 mm slices: 1 voxel = 0.01 ml.
//! let mut sa = Array4::<u8>::zeros((2, 1, 40, 40));
//! sa.slice_mut(ndarray::s![0, 0, ..20, ..20]).fill(1); // ED: 400 LV voxels = 4 ml
//! sa.slice_mut(ndarray::s![1, 0, ..10, ..20]).fill(1); // ES: 200 LV voxels = 2 ml
//! sa.slice_mut(ndarray::s![.., 0, 30.., 30..]).fill(3); // RV: 100 voxels both frames
//! sa.slice_mut(ndarray::s![0, 0, 20..25, ..20]).fill(2); // myocardium at ED: 1 ml
//! let geometry = StackGeometry { pixel_spacing: [1.0, 1.0], slice_spacing: 10.0 };
//! let f = cardiac_function(sa.view(), &geometry, &SaLabels::default())?;
//! assert_eq!((f.ed_frame, f.es_frame), (0, 1));
//! assert!((f.measures.lv_edv_ml - 4.0).abs() < 1e-9);
//! assert!((f.measures.lv_ef_percent - 50.0).abs() < 1e-9);
//! assert!((f.measures.lv_mass_g - 1.05).abs() < 1e-9);
//! # Ok::<(), cmr_train::TrainError>(())
//! ```

mod function;
mod model;
mod output;
mod predict;

pub use function::{cardiac_function, sa_labels_of, CardiacFunction};
pub use model::SegmentationModel;
pub use output::{
    reports_csv, write_reports, write_study_outputs, StudyReport, ViewSummary, WrittenStudy,
};
pub use predict::{reference_labels, segment_study, StudySegmentation, ViewLabels};

//! The JSON manifest written next to each subject's images: the true geometry and volumes,
//! so downstream code can be checked against ground truth.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::PhantomConfig;
use crate::params::SubjectParams;
use cmr_geometry::View;

use crate::planning::PlanningRecord;

/// Format tag of the manifest.
pub const MANIFEST_FORMAT: &str = "cmr-phantom manifest 1";

/// The true LV long axis at end-diastole in the reference (breath-hold free) position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LvAxis {
    /// Centre of the LV base (mitral plane) at end-diastole, LPS mm.
    pub base_centre_mm: [f64; 3],
    /// Endocardial apex (fixed over the cycle), LPS mm.
    pub apex_mm: [f64; 3],
    /// Epicardial apex at end-diastole, LPS mm.
    pub epicardial_apex_mm: [f64; 3],
    /// Unit direction base -> apex.
    pub direction: [f64; 3],
    /// Base-to-apex cavity length at end-diastole, mm.
    pub length_mm: f64,
    /// How far the base (mitral) plane has descended along `direction` at each phase, mm (the
    /// apex stays fixed).
    pub base_descent_mm: Vec<f64>,
}

/// True ventricular volumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volumes {
    /// LV end-diastolic volume (closed form: truncated ellipsoid), ml.
    pub lv_edv_ml: f64,
    /// LV end-systolic volume (closed form), ml.
    pub lv_esv_ml: f64,
    /// LV ejection fraction, 0..1.
    pub lv_ef: f64,
    /// LV myocardial volume (closed form, constant over the cycle), ml.
    pub lv_myocardial_volume_ml: f64,
    /// LV mass at 1.05 g/ml, g.
    pub lv_mass_g: f64,
    /// RV end-diastolic volume (midpoint-rule quadrature of the RV blood-pool label function on
    /// a 1.5 mm grid), ml.
    pub rv_edv_ml: f64,
    /// RV end-systolic volume (quadrature), ml.
    pub rv_esv_ml: f64,
    /// RV ejection fraction.
    pub rv_ef: f64,
    /// LV cavity volume at every phase (closed form), ml.
    pub lv_volume_per_phase_ml: Vec<f64>,
}

/// Where the true LV long axis (as imaged in one series, i.e. shifted by its breath-hold)
/// crosses an image plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisCrossing {
    /// LPS mm.
    pub world_mm: [f64; 3],
    /// `[row, column]`, continuous pixel coordinates.
    pub pixel: [f64; 2],
}

/// One series as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRecord {
    /// View.
    pub view: View,
    /// Position in the short-axis stack, base first.
    pub slice_index: Option<usize>,
    /// SeriesDescription.
    pub description: String,
    /// SeriesNumber.
    pub series_number: u32,
    /// SeriesInstanceUID.
    pub series_instance_uid: String,
    /// ImagePositionPatient, as written in every file of the series.
    pub image_position_patient: [f64; 3],
    /// ImageOrientationPatient, as written.
    pub image_orientation_patient: [f64; 6],
    /// PixelSpacing `[between rows, between columns]`, mm.
    pub pixel_spacing_mm: [f64; 2],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
    /// SliceThickness, mm.
    pub slice_thickness_mm: f64,
    /// Breath-hold shift of the anatomy in this series, mm.
    pub breath_hold_shift_mm: [f64; 3],
    /// Where the true LV axis crosses this slice at end-diastole (short-axis series only).
    pub lv_axis_crossing: Option<AxisCrossing>,
    /// DICOM files of the series, one per phase, relative to the subject folder.
    pub dicom_files: Vec<String>,
}

/// Everything true about one synthetic subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// Subject identifier (also the folder name).
    pub subject_id: String,
    /// PatientID written to DICOM.
    pub patient_id: String,
    /// Cohort seed.
    pub seed: u64,
    /// Index within the cohort.
    pub index: u64,
    /// StudyInstanceUID.
    pub study_instance_uid: String,
    /// FrameOfReferenceUID (shared by every series).
    pub frame_of_reference_uid: String,
    /// Cine phases.
    pub phases: usize,
    /// R-R interval, ms.
    pub rr_ms: f64,
    /// TriggerTime of each phase, ms.
    pub trigger_times_ms: Vec<f64>,
    /// End-diastolic phase index (always 0).
    pub ed_phase: usize,
    /// End-systolic phase index (smallest LV volume).
    pub es_phase: usize,
    /// True LV long axis.
    pub lv_axis: LvAxis,
    /// True volumes.
    pub volumes: Volumes,
    /// The simulated operator's planning and its errors.
    pub planning: PlanningRecord,
    /// Label values per view: view -> value -> structure name.
    pub labels: BTreeMap<String, BTreeMap<u8, String>>,
    /// Every series, in SeriesNumber order.
    pub series: Vec<SeriesRecord>,
    /// The subject's parameters.
    pub params: SubjectParams,
    /// The protocol used.
    pub config: PhantomConfig,
}

/// The label table written into manifests.
pub fn label_table() -> BTreeMap<String, BTreeMap<u8, String>> {
    let entry = |pairs: &[(u8, &str)]| {
        pairs
            .iter()
            .map(|(v, n)| (*v, n.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    [
        (
            View::ShortAxis,
            entry(&[
                (0, "background"),
                (1, "LV blood pool"),
                (2, "LV myocardium"),
                (3, "RV blood pool"),
            ]),
        ),
        (
            View::TwoChamber,
            entry(&[(0, "background"), (1, "left atrium")]),
        ),
        (
            View::ThreeChamber,
            entry(&[
                (0, "background"),
                (1, "left atrium"),
                (2, "aortic root and ascending aorta"),
            ]),
        ),
        (
            View::FourChamber,
            entry(&[(0, "background"), (1, "left atrium"), (2, "right atrium")]),
        ),
    ]
    .into_iter()
    .map(|(v, t)| (v.to_string(), t))
    .collect()
}

//! Synthetic cine cardiac MR cohort with ground truth: the embedded default dataset of
//! cmr-ssl.
//!
//! Every subject is a 3-D analytic heart in a torso, in DICOM patient coordinates (LPS, mm),
//! imaged the way a scanner images a patient: a short-axis stack planned perpendicular to the
//! LV long axis and 2-, 3- and 4-chamber long-axis views, each series in its own breath-hold,
//! with bSSFP-like contrast, partial volume, coil bias, Rician noise and 12-bit stored values.
//! Subjects live in memory ([`Subject::render`]) or are written as one DICOM file per image,
//! UK Biobank-style NIfTI and a JSON [`Manifest`] of the true geometry ([`write_cohort`], or
//! `cmr-ssl phantom --subjects N --out DIR --seed S`).
//!
//! ```
//! use cmr_phantom::{PhantomConfig, Subject, View};
//! // Subject 3 of the cohort with seed 7, two phases, small matrices (tests, quick looks).
//! let subject = Subject::new(&PhantomConfig::small(2), 7, 3)?;
//! let study = subject.render(); // images, labels, planes; nothing touches the disk
//! let four_chamber = study.long_axis(View::FourChamber).unwrap();
//! assert_eq!(four_chamber.images.dim().0, 2); // [phase, row, column]
//! let sa = study.short_axis().nth(4).unwrap();
//! let image = sa.image_f32(0); // end-diastole, [rows, cols]
//! let labels = sa.label(0); // 1 LV blood pool, 2 LV myocardium, 3 RV blood pool
//! assert_eq!(image.dim(), labels.dim());
//! // The same study as cmr-geometry's StudySource (what the DICOM/NIfTI loaders produce):
//! let source = study.to_memory_source();
//! # let _ = source;
//! # Ok::<(), cmr_phantom::PhantomError>(())
//! ```
//!
//! # Views, series and labels
//!
//! | series (SeriesDescription) | view | label values (0 = background) |
//! |---|---|---|
//! | `CINE_segmented_SAX_b1` .. `_bN`, one series per slice, base first, 8-12 slices | SA | 1 LV blood pool (with papillary muscles and trabeculae), 2 LV myocardium, 3 RV blood pool (with trabeculae, moderator band and outflow tract below the pulmonary valve) |
//! | `CINE_segmented_LAX_2Ch` | 2Ch | 1 left atrium |
//! | `CINE_segmented_LAX_3Ch` | 3Ch | 1 left atrium, 2 aortic root and ascending aorta |
//! | `CINE_segmented_LAX_4Ch` | 4Ch | 1 left atrium, 2 right atrium |
//!
//! Labels are the anatomy at the pixel centre on the slice's mid-plane (no partial volume),
//! for every phase of every image. Phase 0 is end-diastole; the manifest names the
//! end-systolic phase (smallest LV volume).
//!
//! # Files ([`write_study`], [`write_cohort`])
//!
//! ```text
//! OUT/cohort.json                      subjects written, with the specification
//! OUT/PH00000/manifest.json            UIDs, planes, true LV axis, volumes, EF, ES phase, ...
//! OUT/PH00000/dicom/20_CINE_segmented_SAX_b1/IM_0001.dcm   one MR Image Storage file per image
//! OUT/PH00000/nifti/sa.nii.gz, sa_ED.nii.gz, sa_ES.nii.gz, label_sa.nii.gz, label_sa_ED.nii.gz,
//!                   label_sa_ES.nii.gz, la_2ch*.nii.gz, la_3ch*, la_4ch* (same set)
//! ```
//!
//! DICOM: Explicit VR Little Endian, `2.25` UIDs derived from the seed, patient / study /
//! series / instance identity, ImagePositionPatient and ImageOrientationPatient exactly as in
//! the manifest, PixelSpacing, SliceThickness, TriggerTime, 12 bits stored. NIfTI is written by
//! cmr-geometry's UK Biobank writer. Every file appears atomically.
//!
//! # Anatomy and variation ([`SubjectParams`])
//!
//! * **LV**: truncated prolate ellipsoidal shell (cavity radius ~21-31 mm, base-to-apex
//!   length 76-102 mm, wall 6.5-11 mm, thinner at the apex), with area-preserving
//!   circumferential shape harmonics (orders 2-4, different for endo- and epicardium, so the
//!   wall thickness varies) and an offset epicardial axis. Cavity and myocardial volumes are
//!   exact closed forms (truncated ellipsoid).
//! * **RV**: an ellipsoid displaced toward the septum, minus the LV, tapering toward its apex,
//!   with a textured surface, trabeculation, a moderator band and an outflow tract to the
//!   pulmonary valve. **Atria** above the base, interatrial septum, closed valve leaflets in
//!   systole; **aortic root** and ascending aorta, pulmonary trunk, SVC; papillary muscles and
//!   trabeculae inside the LV; patchy epicardial fat, thick in the atrioventricular and
//!   interventricular grooves, and a pericardial line.
//! * **Torso**: subcutaneous fat, chest-wall muscle with ribs, lungs with vessels, liver with
//!   vessels, stomach, spleen, diaphragm domes under the heart, spine with canal, descending
//!   aorta, oesophagus, mediastinal fat.
//! * **Per subject** (seeded): sizes, shape, wall thickness, heart position, long-axis
//!   azimuth (~45 +- 7 deg) and elevation (~30 +- 6 deg), septal direction, RV size and
//!   contraction, LV EF (0.60 +- 0.065, 0.40-0.74), long-axis shortening (base descent
//!   6-16 mm), R-R interval, timing of end-systole, contrast, noise, coil profile and scale.
//! * **Cine**: the apex stays, the base descends; the cavity volume follows
//!   `V_ed (1 - EF k)` with a raised-cosine ejection, rapid filling, diastasis and atrial kick;
//!   the wall thickens so that the myocardial volume is conserved.
//!
//! # Planning ([`PlanningErrors`], [`BreathHold`])
//!
//! The simulated operator's long axis is the true one tilted by up to 4 deg (sd 2) and offset
//! by up to 3 mm per direction (sd 1.5); the short-axis stack (8 mm slices every 10 mm) starts
//! 0-6 mm below the planned base and reaches the epicardial apex; the long-axis planes contain
//! the planned axis, each rotated about it by up to 6 deg (sd 3). Every series has its own
//! breath-hold shift of the whole body (sd 0.8 / 1.2 / 2.0 mm in x / y / z, at most
//! 2 / 3 / 4 mm). All of it is recorded in the manifest.
//!
//! # Imaging
//!
//! Relative signals of bSSFP cine at 1.5 T (blood 1, myocardium ~0.32, fat ~0.85 in opposed
//! phase to water so that fat-water boundaries show the dark bSSFP rim, liver ~0.32, lung
//! ~0.04), smooth tissue texture, flow-related blood variation that changes from phase to
//! phase (darker toward the apex and in the systolic outflow), 8 sub-voxel samples per pixel
//! spread through the slice thickness and over 1.6 pixels in-plane (partial volume and a
//! blurry point-spread function), an anterior and a posterior surface-coil sensitivity,
//! a per-series receiver gain, Rician noise at a per-subject contrast-to-noise target, and a
//! per-subject intensity scale; 1.8 mm pixels, 192 x 208 short-axis and 208 x 192 long-axis
//! matrices.
//!
//! # Measured image statistics
//!
//! Measured with [`measure`] on the default protocol (25 phases), subjects 0-9 of seed 1,
//! every short-axis slice and phase: regions from the ground-truth labels, noise from air
//! outside the body (`cargo run --release -p cmr-phantom --example image_statistics -- 10`).
//!
//! | statistic | mean | range over subjects | target (real 1.5 T bSSFP SA series) |
//! |---|---|---|---|
//! | blood pool / myocardium mean | 2.52 | 2.28-2.89 | ~2.6 |
//! | CNR (blood - myocardium) / SD in air | 19.8 | 15.6-26.8 | ~19 |
//! | SNR of blood (mean / noise sigma) | 21.6 | 16.0-28.8 | |
//! | blood pool SD / mean | 0.26 | 0.21-0.33 | ~0.30 |
//! | myocardium SD / mean | 0.36 | 0.33-0.38 | ~0.40 |
//!
//! The spread comes from flow texture, trabeculae and papillary muscles (labelled blood pool),
//! partial volume through the 8 mm slices and at the blurred borders, the coil profile and
//! series gains, and noise, not from noise alone. Contact sheets of two subjects (short-axis
//! base, mid and apex, 2Ch, 3Ch, 4Ch at ED and ES, plain and with label outlines) are in
//! `docs/phantom/` (`cargo run --release -p cmr-phantom --example contact_sheet`).
//!
//! # Speed
//!
//! The reference study of the issue (10 short-axis slices + 3 long-axis views x 25 phases,
//! default matrices: 325 images, 13.0 million labelled pixels) costs 1.35 CPU-seconds to
//! render in memory, 1.5 with the DICOM files written and 1.8 with DICOM and NIfTI (measured
//! with `phantom_speed` on the 2-core development machine). Rendering is parallel over series
//! and phases (rayon), so two free cores would give about 1.4 subjects/s in memory and 1.1 with
//! every file written (CPU time / 2, an estimate: the shared development machine always had
//! other jobs running, and its wall-clock rate was 0.37 subjects/s in memory).
//! `cargo run --release -p cmr-phantom --example phantom_speed` prints subjects/s and
//! CPU-seconds per subject; `cargo bench -p cmr-phantom` measures the in-memory figure with
//! criterion.
//!
//! # Checks
//!
//! The integration tests read a written study back with dicom-rs, cmr-geometry's DICOM and
//! NIfTI loaders and (when the cache venv exists) pydicom and SimpleITK, with the manifest
//! geometry to 1e-4 mm; check that the true long axis lies in the 2Ch and 4Ch planes within the
//! recorded planning error and breath-hold shift, that the 2Ch and 4Ch lines cross the LV
//! cavity on every mid short-axis slice, and that label volumes on a dense stack match the
//! closed-form LV volumes and the RV quadrature within 1 %.

#![warn(missing_docs)]

mod anatomy;
mod cohort;
mod config;
mod dicom;
mod ellipsoid;
mod error;
mod geometry_source;
mod heart;
mod manifest;
mod params;
mod planning;
mod random;
mod render;
mod shapes;
mod stats;
mod subject;
mod texture;

pub use anatomy::Structure;
/// The cardiac views (cmr-geometry's), re-exported.
pub use cmr_geometry::View;
pub use cohort::{
    write_cohort, write_study, CohortSpec, CohortSummary, NoProgress, OutputFormats,
    ProgressReporter, WrittenSubject,
};
pub use config::{BreathHold, PhantomConfig, PlanningErrors};
pub use dicom::{EXPLICIT_VR_LITTLE_ENDIAN, MR_IMAGE_STORAGE};
pub use ellipsoid::Ellipsoid;
pub use error::PhantomError;
pub use geometry_source::write_nifti;
pub use manifest::{
    label_table, AxisCrossing, LvAxis, Manifest, SeriesRecord, Volumes, MANIFEST_FORMAT,
};
pub use params::{ContrastParams, CycleParams, HeartParams, SubjectParams, TorsoParams};
pub use planning::{PlannedSeries, PlanningRecord, LONG_AXIS_VIEWS};
pub use render::label_of;
pub use stats::{measure, ImageStatistics, RegionStats};
pub use subject::{CineSeries, Subject, SyntheticStudy};

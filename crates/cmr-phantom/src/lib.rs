//! Synthetic cine cardiac MR cohort with ground truth.
//!
//! Every subject is a 3-D analytic heart in a torso, in DICOM patient coordinates (LPS, mm),
//! imaged the way a scanner would: a short-axis stack planned perpendicular to the LV long
//! axis and 2-, 3- and 4-chamber long-axis views, each series in its own breath-hold, with
//! bSSFP-like contrast, partial volume, coil bias, Rician noise and 12-bit stored values.
//!
//! ```
//! use cmr_phantom::{PhantomConfig, Subject, View};
//! let subject = Subject::new(&PhantomConfig::small(2), 7, 3)?;
//! let study = subject.render();
//! let four_chamber = study.long_axis(View::FourChamber).unwrap();
//! assert_eq!(four_chamber.images.dim().0, 2); // phases
//! # Ok::<(), cmr_phantom::PhantomError>(())
//! ```

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

//! Cardiac MR study geometry.
//!
//! Everything here works in DICOM patient coordinates (LPS, millimetres, `f64`). The central
//! type is [`ImagePlane`], which maps between an image's pixel grid and patient space following
//! the DICOM convention (see the [`plane`] module).
//!
//! ```
//! use cmr_geometry::ImagePlane;
//! let sa = ImagePlane::from_dicom(
//!     [-120.0, -90.0, 30.0],
//!     [0.8, 0.6, 0.0, 0.0, 0.0, -1.0],
//!     [1.8, 1.8],
//!     208,
//!     160,
//! )?;
//! assert_eq!(sa.rows(), 208);
//! let centre = sa.center();
//! assert!(sa.signed_distance(centre).abs() < 1e-12);
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

#![warn(missing_docs)]

mod atomic;
pub mod error;
pub mod intersect;
pub mod nifti_file;
pub mod nifti_folder;
pub mod plane;
pub mod positions;
pub mod report;
pub mod source;
pub mod study;
mod vec3;

pub use error::{DirectionName, GeometryError};
pub use intersect::{Line3, PixelLine, PlaneIntersection};
pub use nifti_folder::{write_ukbb_study, NiftiFolder, UkbbWriteOptions};
pub use plane::{ImagePlane, PixelPoint, PixelSpacing};
pub use report::{FileOutcome, FileReport, SkipReason};
pub use source::{MemorySource, StudySource};
pub use study::{
    CardiacPhase, DroppedSeries, Frame, PixelRef, Series, Slice, StackSpacing, Study, View,
};
pub use vec3::Vec3;

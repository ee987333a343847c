//! Cardiac MR study geometry: DICOM and NIfTI studies, exact image planes, and where they
//! meet.
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
//!
//! # Data flow
//!
//! * [`dicom`]: scan a folder's headers in parallel ([`dicom::scan`]), one
//!   [`dicom::ImageHeader`] per image and a [`FileReport`] per file; decode pixels
//!   ([`dicom::load_frame`]). Every file's structure and claims are checked against its size
//!   and the [`LoadLimits`] before anything large is allocated; truncated, corrupt and
//!   over-limit files, link loops and unreadable entries are reported, never fatal.
//! * [`assemble`]: headers -> [`Study`]s: series split into slices by position, views from
//!   the [`views`] rule table (or geometry), single-slice series merged into stacks, one series
//!   kept per view (the others listed in [`Study::dropped`]); exact copies and images that
//!   disagree with their series (orientation, size, pixel spacing) are left out and reported
//!   ([`assemble::AssemblyReport`]).
//! * [`nifti_file`] / [`nifti_folder`]: NIfTI volumes <-> stacks of planes (RAS <-> LPS), and
//!   UK Biobank-style folders read as studies ([`NiftiFolder`]) or written
//!   ([`write_ukbb_study`]).
//! * [`study`]: the model, [`Study`] -> [`Series`] -> [`Slice`] -> [`Frame`]; [`source`]: the
//!   [`StudySource`] trait ([`DicomFolder`], [`NiftiFolder`], [`MemorySource`]).
//! * [`intersect`]: plane-plane intersection lines ([`PlaneIntersection`]), their trace in a
//!   pixel grid, clipping, and signed distance maps.
//!
//! Label values: SA 0 background, 1 LV blood pool, 2 LV myocardium, 3 RV blood pool; 2Ch 0
//! background, 1 left atrium; 4Ch 0 background, 1 left atrium, 2 right atrium.

#![warn(missing_docs)]

pub mod assemble;
pub mod atomic;
pub mod dicom;
pub mod error;
pub mod intersect;
pub mod limits;
pub mod nifti_file;
pub mod nifti_folder;
pub mod plane;
pub mod positions;
pub mod report;
pub mod source;
pub mod study;
mod vec3;
pub mod views;
mod walk;

pub use dicom::{DicomFolder, ScanOptions};
pub use error::{DirectionName, GeometryError};
pub use intersect::{Line3, PixelLine, PlaneIntersection};
pub use limits::LoadLimits;
pub use nifti_folder::{write_ukbb_study, NiftiFolder, UkbbWriteOptions};
pub use plane::{ImagePlane, PixelPoint, PixelSpacing};
pub use report::{FileOutcome, FileReport, SkipReason};
pub use source::{MemorySource, StudySource};
pub use study::{
    CardiacPhase, DroppedSeries, Frame, PixelRef, Series, Slice, StackSpacing, Study, View,
};
pub use vec3::Vec3;
pub use views::ViewRules;

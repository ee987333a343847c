//! DICOM: header scanning, pixel decoding, and writing simple MR images.
//!
//! * [`header`]: what one file says (one [`ImageHeader`] per frame), or why it is skipped.
//! * [`scan`]: every file under a folder, headers read in parallel, one report line each.
//! * [`pixels`]: one frame's pixels as `f32` modality values.
//! * [`folder`]: [`DicomFolder`], the [`StudySource`](crate::StudySource) over all of it.
//! * [`write`](mod@write): single-frame MR images with known geometry (tests, benchmarks, phantoms).

mod attrs;
pub mod folder;
pub mod header;
pub mod pixels;
pub mod scan;
pub mod write;

pub use folder::{DicomFolder, ScanOptions};
pub use header::{read_image_headers, ImageHeader};
pub use pixels::load_frame;
pub use scan::{scan_headers, HeaderScan};
pub use write::{write_mr_image, MrImage};

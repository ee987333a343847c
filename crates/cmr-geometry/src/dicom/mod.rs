//! DICOM: header scanning, pixel decoding, and writing simple MR images.
//!
//! * [`header`]: what one file says (one [`ImageHeader`] per frame), or why it is skipped;
//!   every file's structure is checked against its size and the [`LoadLimits`](crate::LoadLimits)
//!   before the parser allocates anything.
//! * [`scan`]: every file under a folder, headers read in parallel, one report line each.
//! * [`pixels`]: one frame's pixels as `f32` modality values.
//! * [`folder`]: [`DicomFolder`], the [`StudySource`](crate::StudySource) over all of it.
//! * [`write`](mod@write): single-frame MR images with known geometry (tests, benchmarks, phantoms).

mod attrs;
pub mod folder;
mod guard;
pub mod header;
pub mod pixels;
pub mod scan;
pub mod write;

pub use folder::{DicomFolder, ScanOptions};
pub use header::{
    image_headers_from_bytes, read_image_headers, read_image_headers_with, ImageHeader,
};
pub use pixels::{decode_frame_from_bytes, load_frame, load_frame_with};
pub use scan::{scan_headers, scan_headers_with, HeaderScan};
pub use write::{write_mr_image, MrImage};

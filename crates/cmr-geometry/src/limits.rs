//! [`LoadLimits`]: how much a single file may make the loaders allocate.
//!
//! Files from scanners, archives and strangers can claim anything in their headers: a DICOM
//! element of 4 GB in a 1 kB file, 65535 x 65535 pixels, a million frames, a NIfTI volume of
//! 2^60 voxels. The loaders compare every such claim with the file's real size and with these
//! limits *before* allocating, and refuse the file with a typed error
//! ([`GeometryError::LimitExceeded`](crate::GeometryError::LimitExceeded) or
//! [`GeometryError::Corrupt`](crate::GeometryError::Corrupt); while scanning a folder, the
//! matching [`SkipReason`](crate::SkipReason)).
//!
//! ```
//! use cmr_geometry::{DicomFolder, LoadLimits, ScanOptions};
//! // Refuse anything bigger than 64 MiB per file or 1024 pixels per side.
//! let opts = ScanOptions {
//!     limits: LoadLimits { max_file_bytes: 64 << 20, max_image_side: 1024, ..LoadLimits::default() },
//!     ..ScanOptions::default()
//! };
//! # let dir = std::env::temp_dir().join(format!("cmr-limits-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let folder = DicomFolder::open_with(&dir, &opts)?;
//! assert!(folder.studies().is_empty());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # use cmr_geometry::StudySource;
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

use serde::{Deserialize, Serialize};

/// Upper bounds on what one file may claim. The defaults are far above any cardiac MR study
/// (a UK Biobank SA cine is ~60 MB of voxels, 13 slices x 50 phases) and far below what would
/// exhaust a workstation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadLimits {
    /// Largest file read, in bytes (for deflated DICOM and `.nii.gz`, also the largest
    /// decompressed size). Default 2 GiB.
    pub max_file_bytes: u64,
    /// Largest number of rows or columns of an image. Default 16384.
    pub max_image_side: usize,
    /// Most 2-D images in one file: DICOM frames, or NIfTI slices x time points. Default
    /// 100,000.
    pub max_images_per_file: u64,
    /// Largest pixel data of one file once decoded to `f32`, in bytes. Default 2 GiB.
    pub max_decoded_bytes: u64,
    /// Deepest nesting of DICOM sequences. Default 64 (real files rarely exceed 5).
    pub max_sequence_depth: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 2 << 30,
            max_image_side: 16_384,
            max_images_per_file: 100_000,
            max_decoded_bytes: 2 << 30,
            max_sequence_depth: 64,
        }
    }
}

/// A claim that broke a limit: which limit, the value claimed, the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverLimit {
    pub limit: &'static str,
    pub value: u64,
    pub max: u64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {}, limit {}", self.limit, self.value, self.max)
    }
}

impl LoadLimits {
    /// `Err` when `value > max`.
    pub(crate) fn check(limit: &'static str, value: u64, max: u64) -> Result<(), OverLimit> {
        if value > max {
            Err(OverLimit { limit, value, max })
        } else {
            Ok(())
        }
    }

    /// Checks an image's size, image count and decoded size (`f32` per value).
    pub(crate) fn check_image(
        &self,
        rows: u64,
        cols: u64,
        images: u64,
        samples: u64,
    ) -> Result<(), OverLimit> {
        let side = self.max_image_side as u64;
        Self::check("Rows", rows, side)?;
        Self::check("Columns", cols, side)?;
        Self::check("images in the file", images, self.max_images_per_file)?;
        let decoded = rows
            .saturating_mul(cols)
            .saturating_mul(images)
            .saturating_mul(samples.max(1))
            .saturating_mul(4);
        Self::check("decoded pixel bytes", decoded, self.max_decoded_bytes)
    }
}

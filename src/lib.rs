//! cmr-ssl: self-supervised cardiac MR segmentation by anatomical position prediction.
//!
//! This facade re-exports the workspace crates, one module each, so an application can depend
//! on `cmr-ssl` alone:
//!
//! | module | crate | job |
//! |---|---|---|
//! | [`geometry`] | `cmr-geometry` | DICOM/NIfTI studies, image planes, position labels |
//! | [`phantom`] | `cmr-phantom` | synthetic cine CMR cohort with ground truth |
//! | [`metrics`] | `cmr-metrics` | Dice, distances, clinical volumes |
//! | [`unet`] | `cmr-unet` | the U-Net on libtorch |
//! | [`pretext`] | `cmr-pretext` | pretext tasks and transfer strategies |
//! | [`train`] | `cmr-train` | data pipeline, training, experiments |
//!
//! ```
//! use cmr_ssl::geometry::ImagePlane;
//! let p = ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 8, 8)?;
//! assert_eq!(p.cols(), 8);
//! # Ok::<(), cmr_ssl::geometry::GeometryError>(())
//! ```

#![warn(missing_docs)]

pub use cmr_geometry as geometry;
pub use cmr_metrics as metrics;
pub use cmr_phantom as phantom;
pub use cmr_pretext as pretext;
pub use cmr_train as train;
pub use cmr_unet as unet;

//! Writing single-frame MR images with known geometry (explicit VR little endian), for
//! tests, benchmarks and synthetic data.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::Array2;

use crate::error::GeometryError;
use crate::ImagePlane;

/// The attributes of one MR image to write.
#[derive(Debug, Clone, PartialEq)]
pub struct MrImage {
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// SOPInstanceUID.
    pub sop_instance_uid: String,
    /// SeriesNumber.
    pub series_number: i64,
    /// SeriesDescription.
    pub series_description: String,
    /// PatientID.
    pub patient_id: String,
    /// InstanceNumber.
    pub instance_number: i64,
    /// TriggerTime, ms.
    pub trigger_time_ms: Option<f64>,
    /// Geometry: ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows, Columns.
    pub plane: ImagePlane,
    /// RescaleSlope and RescaleIntercept, when written.
    pub rescale: Option<(f64, f64)>,
}

/// A decimal string (VR DS) value: at most 16 characters, as precise as fits.
pub fn decimal_string(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    for precision in (0..=15).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.6e}")
}

fn ds(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|v| decimal_string(*v)).collect())
}

fn text(s: &str) -> PrimitiveValue {
    PrimitiveValue::from(s)
}

impl MrImage {
    /// The data set (without file meta), with `pixels` as 16-bit unsigned PixelData.
    ///
    /// # Errors
    /// [`GeometryError::ShapeMismatch`] when `pixels` does not match the plane's size.
    pub fn to_dataset(&self, pixels: &Array2<u16>) -> Result<InMemDicomObject, GeometryError> {
        let p = &self.plane;
        if pixels.dim() != (p.rows(), p.cols()) {
            return Err(GeometryError::ShapeMismatch {
                what: format!("pixels of {}", self.sop_instance_uid),
                expected: vec![p.rows(), p.cols()],
                found: pixels.shape().to_vec(),
            });
        }
        let (o, r, c, s) = (p.origin(), p.row_dir(), p.col_dir(), p.spacing());
        let mut elements = vec![
            DataElement::new(
                tags::IMAGE_TYPE,
                VR::CS,
                ds_strs(&["ORIGINAL", "PRIMARY", "M"]),
            ),
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, text(uids::MR_IMAGE_STORAGE)),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, text(&self.sop_instance_uid)),
            DataElement::new(tags::MODALITY, VR::CS, text("MR")),
            DataElement::new(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                text(&self.series_description),
            ),
            DataElement::new(tags::PATIENT_ID, VR::LO, text(&self.patient_id)),
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, text(&self.study_uid)),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, text(&self.series_uid)),
            DataElement::new(
                tags::SERIES_NUMBER,
                VR::IS,
                text(&self.series_number.to_string()),
            ),
            DataElement::new(
                tags::INSTANCE_NUMBER,
                VR::IS,
                text(&self.instance_number.to_string()),
            ),
            DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&o.to_array())),
            DataElement::new(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                ds(&[r.x, r.y, r.z, c.x, c.y, c.z]),
            ),
            DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                text("MONOCHROME2"),
            ),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(p.rows() as u16)),
            DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(p.cols() as u16)),
            DataElement::new(
                tags::PIXEL_SPACING,
                VR::DS,
                ds(&[s.between_rows, s.between_cols]),
            ),
            DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
            DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
            DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
            DataElement::new(
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(0u16),
            ),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(pixels.iter().copied().collect()),
            ),
        ];
        if let Some(t) = self.trigger_time_ms {
            elements.push(DataElement::new(tags::TRIGGER_TIME, VR::DS, ds(&[t])));
        }
        if let Some((slope, intercept)) = self.rescale {
            elements.push(DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[slope])));
            elements.push(DataElement::new(
                tags::RESCALE_INTERCEPT,
                VR::DS,
                ds(&[intercept]),
            ));
        }
        Ok(InMemDicomObject::from_element_iter(elements))
    }
}

fn ds_strs(values: &[&str]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|s| s.to_string()).collect())
}

/// Writes `image` with `pixels` to `path` (explicit VR little endian), atomically: the file
/// is written and synced under a temporary name next to `path`, then renamed into place.
///
/// ```
/// use cmr_geometry::dicom::{load_frame, read_image_headers, write_mr_image, MrImage};
/// use cmr_geometry::ImagePlane;
/// use ndarray::Array2;
/// let dir = std::env::temp_dir().join(format!("cmr-geometry-write-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let plane = ImagePlane::from_dicom([-10.0, 20.5, 30.0], [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], [1.25, 0.75], 3, 4)?;
/// let image = MrImage {
///     study_uid: "1.2.3".into(), series_uid: "1.2.3.4".into(), sop_instance_uid: "1.2.3.4.5".into(),
///     series_number: 4, series_description: "CINE_segmented_LAX_4Ch".into(), patient_id: "P1".into(),
///     instance_number: 1, trigger_time_ms: Some(32.5), plane, rescale: Some((2.0, -100.0)),
/// };
/// let path = dir.join("im1.dcm");
/// write_mr_image(&path, &image, &Array2::from_shape_fn((3, 4), |(r, c)| (10 * r + c) as u16))?;
/// let header = &read_image_headers(&path).unwrap()[0];
/// assert_eq!(header.plane, plane);
/// assert_eq!(header.trigger_time_ms, Some(32.5));
/// assert_eq!(load_frame(&path, 0)?[[2, 3]], 2.0 * 23.0 - 100.0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
///
/// # Errors
/// [`GeometryError::ShapeMismatch`] for pixels of the wrong size, [`GeometryError::Io`] when
/// writing fails.
pub fn write_mr_image(
    path: &Path,
    image: &MrImage,
    pixels: &Array2<u16>,
) -> Result<(), GeometryError> {
    let io = |action: &'static str, source: std::io::Error| GeometryError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let file = image
        .to_dataset(pixels)?
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| io("preparing the file meta group of", std::io::Error::other(e)))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| io("encoding", std::io::Error::other(e)))?;
    crate::atomic::write_bytes(path, &bytes)
}

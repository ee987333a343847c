//! DICOM output: one MR Image Storage file per image, Explicit VR Little Endian, with the
//! patient/study/series/instance identity, geometry and cine timing a reader needs.

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::manifest::Manifest;
use crate::subject::CineSeries;
use crate::PhantomError;

/// MR Image Storage SOP Class.
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
/// Explicit VR Little Endian transfer syntax.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
/// ImplementationClassUID written in the file meta group (a fixed `2.25` UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.203544175069938128377315931375858301271";
const IMPLEMENTATION_VERSION: &str = "CMRPHANTOM_01";

/// A decimal string (DS) of at most 16 characters that parses back to `v` within 1e-9
/// relative to its magnitude (positions here are rounded to 1e-6 mm before writing).
pub(crate) fn ds(v: f64) -> String {
    for decimals in (0..=12).rev() {
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".to_string();
        }
        if s.len() <= 16 {
            return s;
        }
    }
    // Unreachable for the magnitudes written here (|v| < 1e15); keep a valid DS anyway.
    format!("{v:.3e}")
}

fn text(tag: Tag, vr: VR, value: impl Into<String>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value.into()))
}

fn multi(tag: Tag, vr: VR, values: &[String]) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    )
}

fn us(tag: Tag, value: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

/// Encodes one image of a series as a DICOM file in memory.
pub(crate) fn encode_image(
    manifest: &Manifest,
    series: &CineSeries,
    phase: usize,
    sop_instance_uid: &str,
) -> Result<Vec<u8>, String> {
    let p = &series.planned;
    let plane = &p.plane;
    let (rows, cols) = (plane.rows(), plane.cols());
    let frame = series.images.index_axis(ndarray::Axis(0), phase);
    let pixels: Vec<u16> = frame.iter().copied().collect();
    let max = pixels.iter().copied().max().unwrap_or(0);
    let trigger = manifest.trigger_times_ms[phase];
    let slice_location = plane.origin().dot(plane.normal());
    let study_date = "20260101";
    let patient_name = format!("Phantom^{}", manifest.subject_id);
    let mut obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        multi(
            tags::IMAGE_TYPE,
            VR::CS,
            &["ORIGINAL".into(), "PRIMARY".into(), "M".into(), "ND".into()],
        ),
        text(tags::SOP_CLASS_UID, VR::UI, MR_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, sop_instance_uid),
        text(tags::STUDY_DATE, VR::DA, study_date),
        text(tags::SERIES_DATE, VR::DA, study_date),
        text(tags::CONTENT_DATE, VR::DA, study_date),
        text(tags::STUDY_TIME, VR::TM, "090000"),
        text(
            tags::SERIES_TIME,
            VR::TM,
            format!("09{:02}00", p.series_number.min(59)),
        ),
        text(tags::CONTENT_TIME, VR::TM, "090000"),
        text(tags::ACCESSION_NUMBER, VR::SH, ""),
        text(tags::MODALITY, VR::CS, "MR"),
        text(tags::MANUFACTURER, VR::LO, "cmr-phantom (synthetic)"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        text(tags::STUDY_DESCRIPTION, VR::LO, "Synthetic cine CMR"),
        text(tags::SERIES_DESCRIPTION, VR::LO, p.description.clone()),
        text(tags::PATIENT_NAME, VR::PN, patient_name),
        text(tags::PATIENT_ID, VR::LO, manifest.patient_id.clone()),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::PATIENT_SEX, VR::CS, "O"),
        text(tags::SCANNING_SEQUENCE, VR::CS, "GR"),
        text(tags::SEQUENCE_VARIANT, VR::CS, "SS"),
        text(tags::SCAN_OPTIONS, VR::CS, "CG"),
        text(tags::MR_ACQUISITION_TYPE, VR::CS, "2D"),
        text(tags::SEQUENCE_NAME, VR::SH, "bSSFP_cine"),
        text(tags::SLICE_THICKNESS, VR::DS, ds(p.slice_thickness_mm)),
        text(tags::REPETITION_TIME, VR::DS, "2.6"),
        text(tags::ECHO_TIME, VR::DS, "1.1"),
        text(tags::ECHO_TRAIN_LENGTH, VR::IS, "1"),
        text(tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5"),
        text(tags::FLIP_ANGLE, VR::DS, "80"),
        text(tags::TRIGGER_TIME, VR::DS, ds(trigger)),
        text(
            tags::CARDIAC_NUMBER_OF_IMAGES,
            VR::IS,
            manifest.phases.to_string(),
        ),
        text(tags::PATIENT_POSITION, VR::CS, "HFS"),
        text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            manifest.study_instance_uid.clone(),
        ),
        text(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            series.series_instance_uid.clone(),
        ),
        text(tags::STUDY_ID, VR::SH, "1"),
        text(tags::SERIES_NUMBER, VR::IS, p.series_number.to_string()),
        text(tags::INSTANCE_NUMBER, VR::IS, (phase + 1).to_string()),
        multi(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &p.image_position.map(ds),
        ),
        multi(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            &p.image_orientation.map(ds),
        ),
        text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            manifest.frame_of_reference_uid.clone(),
        ),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        text(
            tags::SLICE_LOCATION,
            VR::DS,
            ds((slice_location * 1e6).round() / 1e6),
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        us(tags::ROWS, rows as u16),
        us(tags::COLUMNS, cols as u16),
        multi(
            tags::PIXEL_SPACING,
            VR::DS,
            &[
                ds(plane.spacing().between_rows),
                ds(plane.spacing().between_cols),
            ],
        ),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 12),
        us(tags::HIGH_BIT, 11),
        us(tags::PIXEL_REPRESENTATION, 0),
        text(tags::WINDOW_CENTER, VR::DS, ds(f64::from(max) / 2.0)),
        text(tags::WINDOW_WIDTH, VR::DS, ds(f64::from(max.max(1)))),
        text(
            tags::IMAGE_COMMENTS,
            VR::LT,
            "Synthetic image from cmr-phantom; not from a patient",
        ),
    ]);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(MR_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION)
        .build()
        .map_err(|e| e.to_string())?;
    let file = obj.with_exact_meta(meta);
    let mut out = Vec::with_capacity(rows * cols * 2 + 4096);
    file.write_all(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes `bytes` to `path` atomically and durably (cmr-geometry's helper: temporary file,
/// fsync, rename, folder fsync).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PhantomError> {
    cmr_geometry::atomic::write_bytes(path, bytes).map_err(|e| match e {
        cmr_geometry::GeometryError::Io {
            action,
            path,
            source,
        } => PhantomError::io(action, path, source),
        other => PhantomError::Geometry {
            what: path.display().to_string(),
            source: other,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_and_round_trip() {
        for v in [
            0.0,
            -0.0,
            1.8,
            8.0,
            -123.456789,
            1234.567891,
            -0.7071067123,
            0.1234567891,
            -9999.999999,
            12.345678000000001,
        ] {
            let s = ds(v);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= 1e-9 * v.abs().max(1.0), "{v} -> {s}");
        }
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(8.0), "8");
        assert_eq!(ds(1.8), "1.8");
    }
}

//! Reading what the study model needs from one DICOM file's header, without its pixels.
//!
//! A classic MR image yields one [`ImageHeader`]; a multi-frame (enhanced) MR image yields
//! one per frame, each with the geometry of its own functional groups.

use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::file::OpenFileOptions;
use serde::{Deserialize, Serialize};

use super::attrs::{first_item, float, int, items, text, FrameScope, Obj};
use crate::report::SkipReason;
use crate::ImagePlane;

/// Media Storage SOP Class of a DICOMDIR.
pub const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// SOP classes of MR objects that are not images.
const MR_NON_IMAGE_CLASSES: [&str; 2] = [
    "1.2.840.10008.5.1.4.1.1.4.2", // MR Spectroscopy Storage
    "1.2.840.10008.5.1.4.1.1.66",  // Raw Data Storage
];

/// The first tag after everything a classic image's geometry needs: group 0x0029 holds the
/// (often large) Siemens CSA private headers, which are never parsed when the file has no
/// functional groups.
const CLASSIC_STOP: Tag = Tag(0x0029, 0x0000);

/// What the study model needs to know about one 2-D image (one frame of a file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageHeader {
    /// The file.
    pub path: PathBuf,
    /// 0-based frame within the file (0 for single-frame files).
    pub frame: u32,
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// SeriesDescription (empty when absent).
    pub series_description: String,
    /// ProtocolName (empty when absent).
    pub protocol_name: String,
    /// PatientID.
    pub patient_id: Option<String>,
    /// The image plane.
    pub plane: ImagePlane,
    /// TriggerTime (or NominalCardiacTriggerDelayTime for enhanced MR), ms.
    pub trigger_time_ms: Option<f64>,
    /// InstanceNumber.
    pub instance_number: Option<i64>,
    /// The file's transfer syntax UID.
    pub transfer_syntax_uid: String,
    /// ImageType's first value is `DERIVED` (a reconstruction or post-processed image).
    pub derived: bool,
}

fn has_dicm_magic(path: &Path) -> bool {
    let mut buf = [0u8; 132];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut buf).unwrap_or(0);
    (n >= 132 && &buf[128..132] == b"DICM") || (n >= 4 && &buf[..4] == b"DICM")
}

fn open(path: &Path, stop: Tag) -> Result<dicom_object::DefaultDicomObject, SkipReason> {
    OpenFileOptions::new()
        .read_until(stop)
        .open_file(path)
        .map_err(|e| {
            if has_dicm_magic(path) {
                SkipReason::Unreadable {
                    error: error_chain(&e),
                }
            } else {
                SkipReason::NotDicom
            }
        })
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

fn no_geometry(detail: impl Into<String>) -> SkipReason {
    SkipReason::NoGeometry {
        detail: detail.into(),
    }
}

/// Reads the image headers of one file: one per frame. Files that are not MR images are
/// `Err` with the reason they are skipped.
///
/// Only the header is read: up to group 0x0029 for classic images, up to PixelData for
/// multi-frame ones (whose functional groups come late in the data set).
///
/// # Errors
/// The [`SkipReason`] for a file that is not DICOM, a DICOMDIR, not MR, not an image, has no
/// usable geometry, or cannot be parsed.
pub fn read_image_headers(path: &Path) -> Result<Vec<ImageHeader>, SkipReason> {
    let mut obj = open(path, CLASSIC_STOP)?;
    let meta = obj.meta();
    let ms_class = meta.media_storage_sop_class_uid.trim_end_matches('\0');
    if ms_class == MEDIA_STORAGE_DIRECTORY {
        return Err(SkipReason::Dicomdir);
    }
    let transfer_syntax_uid = meta
        .transfer_syntax
        .trim_end_matches(['\0', ' '])
        .to_string();
    let sop_class = text(&obj, tags::SOP_CLASS_UID).unwrap_or_else(|| ms_class.to_string());
    match text(&obj, tags::MODALITY) {
        Some(m) if m != "MR" => return Err(SkipReason::NotMr { modality: m }),
        None if !sop_class.starts_with("1.2.840.10008.5.1.4.1.1.4") => {
            return Err(SkipReason::NotMr {
                modality: "(absent)".into(),
            })
        }
        _ => {}
    }
    if MR_NON_IMAGE_CLASSES.contains(&sop_class.as_str()) || int(&obj, tags::ROWS).is_none() {
        return Err(SkipReason::NotAnImage {
            sop_class_uid: sop_class,
        });
    }
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    if frames > 1 || sop_class.starts_with("1.2.840.10008.5.1.4.1.1.4.") {
        // Multi-frame: the functional groups (group 0x5200) come after the private groups.
        obj = open(path, tags::PIXEL_DATA)?;
    }
    let study_uid = text(&obj, tags::STUDY_INSTANCE_UID)
        .ok_or_else(|| no_geometry("StudyInstanceUID is missing"))?;
    let series_uid = text(&obj, tags::SERIES_INSTANCE_UID)
        .ok_or_else(|| no_geometry("SeriesInstanceUID is missing"))?;
    let rows = int(&obj, tags::ROWS).unwrap_or(0);
    let cols = int(&obj, tags::COLUMNS).unwrap_or(0);
    if rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535 {
        return Err(no_geometry(format!("Rows {rows}, Columns {cols}")));
    }
    let per_frame = items(&obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let shared = first_item(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    if !per_frame.is_empty() && per_frame.len() as i64 != frames {
        return Err(no_geometry(format!(
            "{} per-frame functional group items for {frames} frames",
            per_frame.len()
        )));
    }
    let series_number = int(&obj, tags::SERIES_NUMBER);
    let series_description = text(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default();
    let protocol_name = text(&obj, tags::PROTOCOL_NAME).unwrap_or_default();
    let patient_id = text(&obj, tags::PATIENT_ID);
    let instance_number = int(&obj, tags::INSTANCE_NUMBER);
    let trigger_time = float(&obj, tags::TRIGGER_TIME);
    let frame_time = float(&obj, tags::FRAME_TIME);
    let derived = text(&obj, tags::IMAGE_TYPE).is_some_and(|t| t.starts_with("DERIVED"));
    (0..frames as u32)
        .map(|f| {
            let scope = FrameScope {
                per_frame: per_frame.get(f as usize),
                shared,
                root: &obj,
            };
            let plane = frame_plane(&scope, rows as usize, cols as usize)?;
            let trigger_time_ms = if per_frame.is_empty() {
                // Classic image: TriggerTime; classic multi-frame cine: plus FrameTime steps.
                let step = frame_time.map(|ft| ft * f as f64);
                match (trigger_time, step) {
                    (Some(t), step) => Some(t + step.unwrap_or(0.0)),
                    (None, step) if frames > 1 => step,
                    _ => None,
                }
            } else {
                scope.float(
                    tags::CARDIAC_SYNCHRONIZATION_SEQUENCE,
                    tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME,
                )
            };
            Ok(ImageHeader {
                path: path.to_path_buf(),
                frame: f,
                study_uid: study_uid.clone(),
                series_uid: series_uid.clone(),
                series_number,
                series_description: series_description.clone(),
                protocol_name: protocol_name.clone(),
                patient_id: patient_id.clone(),
                plane,
                trigger_time_ms,
                instance_number,
                transfer_syntax_uid: transfer_syntax_uid.clone(),
                derived,
            })
        })
        .collect()
}

fn fixed<const N: usize>(
    scope: &FrameScope<'_>,
    group: Tag,
    attr: Tag,
    name: &str,
) -> Result<[f64; N], SkipReason> {
    let v = scope
        .floats(group, attr)
        .map_err(|value| no_geometry(format!("{name} is not numeric: {value:?}")))?
        .ok_or_else(|| no_geometry(format!("{name} is missing")))?;
    <[f64; N]>::try_from(v.as_slice())
        .map_err(|_| no_geometry(format!("{name} has {} values, expected {N}", v.len())))
}

fn frame_plane(scope: &FrameScope<'_>, rows: usize, cols: usize) -> Result<ImagePlane, SkipReason> {
    let ipp = fixed::<3>(
        scope,
        tags::PLANE_POSITION_SEQUENCE,
        tags::IMAGE_POSITION_PATIENT,
        "ImagePositionPatient",
    )?;
    let iop = fixed::<6>(
        scope,
        tags::PLANE_ORIENTATION_SEQUENCE,
        tags::IMAGE_ORIENTATION_PATIENT,
        "ImageOrientationPatient",
    )?;
    let ps = fixed::<2>(
        scope,
        tags::PIXEL_MEASURES_SEQUENCE,
        tags::PIXEL_SPACING,
        "PixelSpacing",
    )?;
    ImagePlane::from_dicom(ipp, iop, ps, rows, cols).map_err(|e| no_geometry(e.to_string()))
}

/// Rescale slope and intercept of one frame (functional groups, then root; default 1 and 0).
pub(crate) fn frame_rescale(obj: &Obj, frame: u32) -> (f64, f64) {
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let scope = FrameScope {
        per_frame: per_frame.get(frame as usize),
        shared: first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE),
        root: obj,
    };
    let g = tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE;
    (
        scope.float(g, tags::RESCALE_SLOPE).unwrap_or(1.0),
        scope.float(g, tags::RESCALE_INTERCEPT).unwrap_or(0.0),
    )
}

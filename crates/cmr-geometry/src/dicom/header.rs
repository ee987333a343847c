//! Reading what the study model needs from one DICOM file's header, without its pixels.
//!
//! A classic MR image yields one [`ImageHeader`]; a multi-frame (enhanced) MR image yields
//! one per frame, each with the geometry of its own functional groups.

use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::file::{OpenFileOptions, ReadPreamble};
use serde::{Deserialize, Serialize};

use super::attrs::{first_item, float, int, items, text, FrameScope, Obj};
use super::guard::{self, ByteSource, FileSource, GuardError, PixelDataExtent, Structure};
use crate::limits::{LoadLimits, OverLimit};
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
    /// SOPInstanceUID (the identity of the image; two files with the same one are copies).
    pub sop_instance_uid: Option<String>,
    /// The file's transfer syntax UID.
    pub transfer_syntax_uid: String,
    /// ImageType's first value is `DERIVED` (a reconstruction or post-processed image).
    pub derived: bool,
}

fn has_dicm_magic(bytes: &mut impl ByteSource) -> bool {
    [128u64, 0].into_iter().any(|at| {
        let mut m = [0u8; 4];
        bytes.read_at(at, &mut m).unwrap_or(false) && &m == b"DICM"
    })
}

/// The skip reason for a structure the guard refused.
pub(crate) fn guard_skip(e: GuardError) -> SkipReason {
    match e {
        GuardError::Corrupt(detail) => SkipReason::Corrupt { detail },
        GuardError::OverLimit(o) => SkipReason::OverLimit {
            detail: o.to_string(),
        },
        GuardError::Io(error) => SkipReason::Unreadable { error },
    }
}

fn over_limit(o: OverLimit) -> SkipReason {
    SkipReason::OverLimit {
        detail: o.to_string(),
    }
}

/// The data set of a DICOM file in memory, after the preamble when there is one.
pub(crate) fn dicom_body(bytes: &[u8]) -> &[u8] {
    match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ => bytes,
    }
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
/// `Err` with the reason they are skipped. Uses [`LoadLimits::default`]; see
/// [`read_image_headers_with`].
///
/// # Errors
/// As [`read_image_headers_with`].
pub fn read_image_headers(path: &Path) -> Result<Vec<ImageHeader>, SkipReason> {
    read_image_headers_with(path, &LoadLimits::default())
}

/// Reads the image headers of one file: one per frame.
///
/// The file's structure is checked first (every declared length against the file size,
/// sequence depth, `limits`), so a corrupt or hostile file is refused before the parser
/// allocates anything. Then only the header is parsed: up to group 0x0029 for classic images,
/// up to PixelData for multi-frame ones (whose functional groups come late in the data set).
/// Rows, Columns and NumberOfFrames are checked against `limits` and, for native pixel data,
/// against the size of the PixelData element.
///
/// # Errors
/// The [`SkipReason`] for a file that is unreadable, corrupt or truncated, over a limit, not
/// DICOM, a DICOMDIR, not MR, not an image, or without usable geometry.
pub fn read_image_headers_with(
    path: &Path,
    limits: &LoadLimits,
) -> Result<Vec<ImageHeader>, SkipReason> {
    let unreadable = |e: std::io::Error| SkipReason::Unreadable {
        error: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    let mut src = FileSource::new(file, len);
    let structure = guard::check(&mut src, limits).map_err(guard_skip)?;
    let is_dicm = has_dicm_magic(&mut src);
    let open = |stop: Tag| {
        OpenFileOptions::new()
            .read_until(stop)
            .open_file(path)
            .map_err(|e| parse_skip(&e, is_dicm))
    };
    headers_of(path, open, &structure, limits)
}

/// [`read_image_headers_with`] on a file's bytes in memory (`path` only names it in the
/// headers).
///
/// ```
/// use cmr_geometry::dicom::image_headers_from_bytes;
/// use cmr_geometry::{LoadLimits, SkipReason};
/// use std::path::Path;
/// let r = image_headers_from_bytes(b"not a DICOM file", Path::new("x"), &LoadLimits::default());
/// assert_eq!(r, Err(SkipReason::NotDicom));
/// ```
///
/// # Errors
/// As [`read_image_headers_with`].
pub fn image_headers_from_bytes(
    bytes: &[u8],
    path: &Path,
    limits: &LoadLimits,
) -> Result<Vec<ImageHeader>, SkipReason> {
    let mut src = bytes;
    let structure = guard::check(&mut src, limits).map_err(guard_skip)?;
    let is_dicm = has_dicm_magic(&mut src);
    let body = dicom_body(bytes);
    let open = |stop: Tag| {
        OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .read_until(stop)
            .from_reader(body)
            .map_err(|e| parse_skip(&e, is_dicm))
    };
    headers_of(path, open, &structure, limits)
}

fn parse_skip(e: &dicom_object::ReadError, is_dicm: bool) -> SkipReason {
    if is_dicm {
        SkipReason::Unreadable {
            error: error_chain(e),
        }
    } else {
        SkipReason::NotDicom
    }
}

/// Bytes of native pixel data that Rows x Columns x frames of one sample need.
pub(crate) fn native_bytes_needed(rows: u64, cols: u64, frames: u64, bits: u64) -> u64 {
    let bits_total = rows
        .saturating_mul(cols)
        .saturating_mul(frames)
        .saturating_mul(bits.max(1));
    bits_total.div_ceil(8)
}

/// Why a header's pixel claims are refused.
pub(crate) enum PixelClaimError {
    /// Over a limit.
    Over(OverLimit),
    /// Contradicted by the PixelData element.
    Corrupt(String),
}

impl From<PixelClaimError> for SkipReason {
    fn from(e: PixelClaimError) -> Self {
        match e {
            PixelClaimError::Over(o) => over_limit(o),
            PixelClaimError::Corrupt(detail) => SkipReason::Corrupt { detail },
        }
    }
}

/// Checks what the header claims about the pixels against the limits and the PixelData the
/// structure walk found.
pub(crate) fn check_pixel_claims(
    obj: &Obj,
    structure: &Structure,
    limits: &LoadLimits,
) -> Result<(), PixelClaimError> {
    let rows = int(obj, tags::ROWS).unwrap_or(0).max(0) as u64;
    let cols = int(obj, tags::COLUMNS).unwrap_or(0).max(0) as u64;
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as u64;
    let samples = int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1) as u64;
    limits
        .check_image(rows, cols, frames, samples)
        .map_err(PixelClaimError::Over)?;
    match structure.pixel_data {
        Some(PixelDataExtent::Native(len)) if samples == 1 => {
            let bits = int(obj, tags::BITS_ALLOCATED).unwrap_or(16).max(1) as u64;
            let need = native_bytes_needed(rows, cols, frames, bits);
            if len < need {
                return Err(PixelClaimError::Corrupt(format!(
                    "PixelData holds {len} bytes but {rows} rows x {cols} columns x \
                         {frames} frame(s) of {bits} bits need {need}"
                )));
            }
        }
        Some(PixelDataExtent::Fragments(n)) if n > 0 && frames > n => {
            return Err(PixelClaimError::Corrupt(format!(
                "NumberOfFrames is {frames} but the encapsulated pixel data holds only {n} \
                     fragment(s) (each frame needs at least one)"
            )));
        }
        _ => {}
    }
    Ok(())
}

fn headers_of(
    path: &Path,
    open: impl Fn(Tag) -> Result<dicom_object::DefaultDicomObject, SkipReason>,
    structure: &Structure,
    limits: &LoadLimits,
) -> Result<Vec<ImageHeader>, SkipReason> {
    let mut obj = open(CLASSIC_STOP)?;
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
        obj = open(tags::PIXEL_DATA)?;
    }
    check_pixel_claims(&obj, structure, limits).map_err(SkipReason::from)?;
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
    let sop_instance_uid = text(&obj, tags::SOP_INSTANCE_UID);
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
                sop_instance_uid: sop_instance_uid.clone(),
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
///
/// # Errors
/// `(attribute, value text)` for a RescaleSlope or RescaleIntercept that is present but not a
/// finite number (a NaN slope must not silently become 1).
pub(crate) fn frame_rescale(obj: &Obj, frame: u32) -> Result<(f64, f64), (&'static str, String)> {
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let scope = FrameScope {
        per_frame: per_frame.get(frame as usize),
        shared: first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE),
        root: obj,
    };
    let g = tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE;
    let one = |tag, name: &'static str, default: f64| match scope.floats(g, tag) {
        Err(text) => Err((name, text)),
        Ok(None) => Ok(default),
        Ok(Some(v)) => match v.first() {
            Some(x) if x.is_finite() => Ok(*x),
            _ => Err((name, format!("{v:?}"))),
        },
    };
    Ok((
        one(tags::RESCALE_SLOPE, "RescaleSlope", 1.0)?,
        one(tags::RESCALE_INTERCEPT, "RescaleIntercept", 0.0)?,
    ))
}

//! Decoding one frame of a DICOM image to `f32` modality values.
//!
//! Supported transfer syntaxes are those the dicom-rs registry built here can decode:
//! implicit/explicit VR little endian, explicit VR big endian, deflated explicit VR little
//! endian, RLE lossless, JPEG baseline/extended/lossless (`jpeg-decoder`) and JPEG 2000
//! (pure-Rust `openjp2`). Anything else (JPEG-LS, JPEG XL, video, ...) is
//! [`GeometryError::UnsupportedTransferSyntax`] naming the syntax.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::file::{OpenFileOptions, ReadPreamble};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use ndarray::Array2;

use super::attrs::int;
use super::guard::{self, GuardError};
use super::header::{check_pixel_claims, dicom_body, error_chain, frame_rescale, PixelClaimError};
use crate::error::GeometryError;
use crate::limits::LoadLimits;

/// Checks that the pixel data of a file in transfer syntax `uid` can be decoded here.
///
/// # Errors
/// [`GeometryError::UnsupportedTransferSyntax`] with the syntax's name.
pub fn check_transfer_syntax(path: &Path, uid: &str) -> Result<(), GeometryError> {
    let uid = uid.trim_end_matches(['\0', ' ']);
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) if ts.can_decode_all() => Ok(()),
        found => Err(GeometryError::UnsupportedTransferSyntax {
            path: path.to_path_buf(),
            uid: uid.to_string(),
            name: found.map_or("unknown", |ts| ts.name()).to_string(),
        }),
    }
}

/// Decodes frame `frame` (0-based) of a DICOM image as `[rows, cols]` `f32` modality values,
/// with [`LoadLimits::default`]; see [`load_frame_with`].
///
/// # Errors
/// As [`load_frame_with`].
pub fn load_frame(path: &Path, frame: u32) -> Result<Array2<f32>, GeometryError> {
    load_frame_with(path, frame, &LoadLimits::default())
}

/// Decodes frame `frame` (0-based) of a DICOM image as `[rows, cols]` `f32` modality values:
/// stored values times RescaleSlope plus RescaleIntercept (from the frame's functional groups
/// for enhanced images; slope 1 and intercept 0 when absent).
///
/// Only single-sample (monochrome) images are loaded; colour images are
/// [`GeometryError::UnsupportedImage`]. The file's size, structure and pixel claims are
/// checked against `limits` before anything large is allocated.
///
/// # Errors
/// [`GeometryError::Io`], [`GeometryError::LimitExceeded`], [`GeometryError::Corrupt`],
/// [`GeometryError::DicomRead`], [`GeometryError::UnsupportedTransferSyntax`],
/// [`GeometryError::UnsupportedImage`], [`GeometryError::BadAttribute`] (a RescaleSlope or
/// RescaleIntercept that is not a finite number) or [`GeometryError::PixelDecode`], each
/// naming the file.
pub fn load_frame_with(
    path: &Path,
    frame: u32,
    limits: &LoadLimits,
) -> Result<Array2<f32>, GeometryError> {
    let io = |source| GeometryError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > limits.max_file_bytes {
        return Err(GeometryError::LimitExceeded {
            path: path.to_path_buf(),
            limit: "file size",
            value: len,
            max: limits.max_file_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    decode_frame_from_bytes(&bytes, path, frame, limits)
}

/// [`load_frame_with`] on a file's bytes in memory (`path` only names it in errors).
///
/// ```
/// use cmr_geometry::dicom::decode_frame_from_bytes;
/// use cmr_geometry::{GeometryError, LoadLimits};
/// use std::path::Path;
/// let e = decode_frame_from_bytes(b"DICM", Path::new("x.dcm"), 0, &LoadLimits::default());
/// assert!(matches!(e, Err(GeometryError::DicomRead { .. })));
/// ```
///
/// # Errors
/// As [`load_frame_with`].
pub fn decode_frame_from_bytes(
    bytes: &[u8],
    path: &Path,
    frame: u32,
    limits: &LoadLimits,
) -> Result<Array2<f32>, GeometryError> {
    let structure = guard::check(&mut &bytes[..], limits).map_err(|e| match e {
        GuardError::OverLimit(o) => GeometryError::LimitExceeded {
            path: path.to_path_buf(),
            limit: o.limit,
            value: o.value,
            max: o.max,
        },
        GuardError::Corrupt(detail) => GeometryError::Corrupt {
            path: path.to_path_buf(),
            detail,
        },
        GuardError::Io(message) => GeometryError::Io {
            action: "reading",
            path: path.to_path_buf(),
            source: std::io::Error::other(message),
        },
    })?;
    let body = dicom_body(bytes);
    let open = |stop: Option<Tag>| {
        let opts = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
        match stop {
            Some(t) => opts.read_until(t).from_reader(body),
            None => opts.from_reader(body),
        }
        .map_err(|e| GeometryError::DicomRead {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    };
    // Check what the header promises before parsing the pixel data: a corrupt or
    // non-image file is refused without decoding (or allocating) anything large.
    let header = open(Some(Tag(0x0029, 0x0000)))?;
    check_transfer_syntax(path, &header.meta().transfer_syntax)?;
    let unsupported = |reason: String| GeometryError::UnsupportedImage {
        path: path.to_path_buf(),
        reason,
    };
    let samples = int(&header, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples != 1 {
        return Err(unsupported(format!(
            "{samples} samples per pixel (colour); only monochrome images are loaded"
        )));
    }
    let (rows, cols) = (
        int(&header, tags::ROWS).unwrap_or(0),
        int(&header, tags::COLUMNS).unwrap_or(0),
    );
    if rows <= 0 || cols <= 0 {
        return Err(unsupported(format!("Rows {rows}, Columns {cols}")));
    }
    check_pixel_claims(&header, &structure, limits).map_err(|e| match e {
        PixelClaimError::Over(o) => GeometryError::LimitExceeded {
            path: path.to_path_buf(),
            limit: o.limit,
            value: o.value,
            max: o.max,
        },
        PixelClaimError::Corrupt(detail) => GeometryError::Corrupt {
            path: path.to_path_buf(),
            detail,
        },
    })?;
    let frames = int(&header, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    if i64::from(frame) >= frames {
        return Err(GeometryError::PixelDecode {
            path: path.to_path_buf(),
            frame,
            message: format!("the image has {frames} frame(s)"),
        });
    }
    let obj = open(None)?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(unsupported("no PixelData".into()));
    }
    let decode_err = |message: String| GeometryError::PixelDecode {
        path: path.to_path_buf(),
        frame,
        message,
    };
    let (slope, intercept) =
        frame_rescale(&obj, frame).map_err(|(attribute, value)| GeometryError::BadAttribute {
            path: path.to_path_buf(),
            attribute,
            value,
        })?;
    // Third-party codecs can panic on malformed streams; such a file is a decode error, not
    // a crash of the caller.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let px = obj.decode_pixel_data_frame(frame)?;
        let opts = ConvertOptions::new().with_modality_lut(ModalityLutOption::None);
        px.to_vec_frame_with_options::<f32>(0, &opts)
    }))
    .map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        decode_err(format!("the decoder panicked: {msg}"))
    })?
    .map_err(|e| decode_err(error_chain(&e)))?;
    let (rows, cols) = (rows as usize, cols as usize);
    if decoded.len() != rows * cols {
        return Err(decode_err(format!(
            "decoded {} values for {rows}x{cols} pixels",
            decoded.len()
        )));
    }
    let (slope, intercept) = (slope as f32, intercept as f32);
    let mut image =
        Array2::from_shape_vec((rows, cols), decoded).map_err(|e| decode_err(e.to_string()))?;
    if slope != 1.0 || intercept != 0.0 {
        image.mapv_inplace(|v| v * slope + intercept);
    }
    Ok(image)
}

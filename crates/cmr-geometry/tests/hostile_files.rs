//! Files that claim more than they hold: every one is refused with a typed error before the
//! loaders allocate what it claims. A counting global allocator records the largest single
//! allocation, so these tests fail if a guard is removed (the dicom-rs parser reserves and
//! zero-fills a declared element length before reading it; NIfTI readers reserve the volume
//! size from the header).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use cmr_geometry::dicom::{load_frame, load_frame_with, read_image_headers_with, MrImage};
use cmr_geometry::nifti_file::{read_geometry, read_volume, write_volume, NiftiWriteOptions};
use cmr_geometry::{GeometryError, ImagePlane, LoadLimits, SkipReason};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::FileMetaTableBuilder;
use ndarray::{Array2, Array4};

mod peak_alloc;

use peak_alloc::{PeakAlloc, LARGEST};

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

/// Tests share the counter, so they take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let out = f();
    (out, LARGEST.load(Ordering::Relaxed))
}

/// Nothing a 4 kB test file legitimately needs comes near this.
const SMALL: usize = 1 << 20;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmr-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn image() -> MrImage {
    MrImage {
        study_uid: "1.2.3".into(),
        series_uid: "1.2.3.4".into(),
        sop_instance_uid: "1.2.3.4.5".into(),
        series_number: 1,
        series_description: "cine_sa".into(),
        patient_id: "P".into(),
        instance_number: 1,
        trigger_time_ms: None,
        plane: ImagePlane::from_dicom(
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0],
            4,
            4,
        )
        .unwrap(),
        rescale: None,
    }
}

/// Writes a 4x4 MR image with `extra` elements added (or replacing the writer's).
fn write_with(path: &Path, extra: Vec<DataElement<dicom_object::InMemDicomObject>>) {
    let mut ds = image().to_dataset(&Array2::zeros((4, 4))).unwrap();
    for e in extra {
        ds.put(e);
    }
    ds.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(path)
        .unwrap();
}

/// Sets the 32-bit length of the first element whose 8 header bytes are `header`.
fn patch_length(path: &Path, header: &[u8; 8], len: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == header)
        .expect("element present");
    bytes[at + 8..at + 12].copy_from_slice(&len.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_dicom_element_claiming_half_a_gigabyte_is_refused_before_allocating() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("element");
    let path = d.join("im.dcm");
    // A private OB element before group 0x0029 (so even the header-only parse reaches it),
    // then its length patched to 512 MiB in a file of ~1 kB.
    write_with(
        &path,
        vec![DataElement::new(
            dicom_core::Tag(0x0009, 0x1010),
            VR::OB,
            PrimitiveValue::U8(vec![7; 16].into()),
        )],
    );
    patch_length(&path, b"\x09\x00\x10\x10OB\x00\x00", 512 << 20);
    let (headers, peak) =
        largest_allocation(|| read_image_headers_with(&path, &Default::default()));
    match headers {
        Err(SkipReason::Corrupt { detail }) => {
            assert!(detail.contains("(0009,1010)"), "{detail}");
            assert!(
                detail.contains(&format!("declares {} bytes", 512u32 << 20)),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(peak < SMALL, "header scan allocated {peak} bytes");
    let (pixels, peak) = largest_allocation(|| load_frame(&path, 0));
    assert!(
        matches!(&pixels, Err(GeometryError::Corrupt { path: p, .. }) if *p == path),
        "{pixels:?}"
    );
    assert!(peak < SMALL, "pixel loading allocated {peak} bytes");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn absurd_rows_columns_and_frame_counts_are_refused_before_allocating() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("claims");
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let is = |tag, v: &str| DataElement::new(tag, VR::IS, PrimitiveValue::from(v));
    // 65535 x 65535 pixels (8 GiB of 16-bit data) in 32 bytes of pixel data.
    let huge = d.join("huge.dcm");
    write_with(&huge, vec![us(tags::ROWS, 65535), us(tags::COLUMNS, 65535)]);
    let (r, peak) = largest_allocation(|| read_image_headers_with(&huge, &Default::default()));
    assert!(
        matches!(&r, Err(SkipReason::OverLimit { detail }) if detail.starts_with("Rows is 65535")),
        "{r:?}"
    );
    assert!(peak < SMALL);
    let (r, peak) = largest_allocation(|| load_frame(&huge, 0));
    assert!(
        matches!(
            r,
            Err(GeometryError::LimitExceeded {
                limit: "Rows",
                value: 65535,
                max: 16384,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(peak < SMALL);
    // Within a raised limit, the claim still has to fit the PixelData element.
    let wide = LoadLimits {
        max_image_side: 65535,
        max_decoded_bytes: u64::MAX,
        ..LoadLimits::default()
    };
    let (r, peak) = largest_allocation(|| load_frame_with(&huge, 0, &wide));
    assert!(
        matches!(&r, Err(GeometryError::Corrupt { detail, .. }) if detail.contains("PixelData holds 32 bytes")),
        "{r:?}"
    );
    assert!(peak < SMALL);
    // Five million frames of 4x4 pixels in one frame's worth of data.
    let frames = d.join("frames.dcm");
    write_with(&frames, vec![is(tags::NUMBER_OF_FRAMES, "5000000")]);
    let (r, peak) = largest_allocation(|| read_image_headers_with(&frames, &Default::default()));
    assert!(
        matches!(&r, Err(SkipReason::OverLimit { detail }) if detail.contains("images in the file is 5000000")),
        "{r:?}"
    );
    assert!(peak < SMALL);
    let many = LoadLimits {
        max_images_per_file: u64::MAX,
        max_decoded_bytes: u64::MAX,
        ..LoadLimits::default()
    };
    let (r, peak) = largest_allocation(|| read_image_headers_with(&frames, &many));
    assert!(matches!(r, Err(SkipReason::Corrupt { .. })), "{r:?}");
    assert!(peak < SMALL, "{peak}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_nan_rescale_slope_is_an_error_not_a_slope_of_one() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("nan");
    let path = d.join("im.dcm");
    write_with(
        &path,
        vec![
            DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("NaN")),
            DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, PrimitiveValue::from("0")),
        ],
    );
    let r = load_frame(&path, 0);
    assert!(
        matches!(
            &r,
            Err(GeometryError::BadAttribute {
                attribute: "RescaleSlope",
                ..
            })
        ),
        "{r:?}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

fn nifti_file(d: &Path, name: &str) -> PathBuf {
    let planes: Vec<ImagePlane> = (0..2)
        .map(|k| {
            ImagePlane::from_dicom(
                [0.0, 0.0, 8.0 * k as f64],
                [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0, 1.0],
                4,
                5,
            )
            .unwrap()
        })
        .collect();
    let path = d.join(name);
    let data = Array4::<f32>::from_elem((3, 2, 4, 5), 1.5);
    write_volume(&path, &planes, data.view(), &NiftiWriteOptions::default()).unwrap();
    path
}

#[test]
fn nifti_headers_claiming_more_than_the_file_holds_are_refused_before_allocating() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = dir("nifti");
    let path = nifti_file(&d, "v.nii");
    assert_eq!(read_volume(&path).unwrap().1.dim(), (3, 2, 4, 5));
    let original = std::fs::read(&path).unwrap();
    // dim[1..=4] are i16 at byte 42: claim 16384 x 16384 x 2 x 3 voxels (6 GiB of f32).
    let mut big = original.clone();
    big[42..44].copy_from_slice(&16384i16.to_le_bytes());
    big[44..46].copy_from_slice(&16384i16.to_le_bytes());
    std::fs::write(&path, &big).unwrap();
    let (r, peak) = largest_allocation(|| read_volume(&path));
    assert!(
        matches!(
            &r,
            Err(GeometryError::LimitExceeded {
                limit: "decoded pixel bytes",
                ..
            })
        ),
        "{r:?}"
    );
    assert!(peak < SMALL, "{peak}");
    let (r, peak) = largest_allocation(|| read_volume_with_limits(&path, u64::MAX));
    assert!(
        matches!(&r, Err(GeometryError::Corrupt { detail, .. }) if detail.contains("truncated")),
        "{r:?}"
    );
    assert!(peak < SMALL, "{peak}");
    // A truncated file: the header is intact, the voxels are cut.
    std::fs::write(&path, &original[..original.len() - 10]).unwrap();
    assert!(matches!(
        read_geometry(&path),
        Err(GeometryError::Corrupt { .. })
    ));
    // A header extension whose size would never advance the reader.
    let mut ext = original[..348].to_vec();
    ext[108..112].copy_from_slice(&(352.0f32 + 16.0).to_le_bytes()); // vox_offset
    ext.extend_from_slice(&[1, 0, 0, 0]); // extender: extensions follow
    ext.extend_from_slice(&0i32.to_le_bytes()); // esize 0
    ext.extend_from_slice(&[0; 12]);
    ext.extend_from_slice(&original[352..]);
    std::fs::write(&path, &ext).unwrap();
    let r = read_volume(&path);
    assert!(
        matches!(&r, Err(GeometryError::Corrupt { detail, .. }) if detail.contains("extension")),
        "{r:?}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

fn read_volume_with_limits(
    path: &Path,
    max: u64,
) -> Result<(cmr_geometry::nifti_file::NiftiGeometry, Array4<f32>), GeometryError> {
    let limits = LoadLimits {
        max_decoded_bytes: max,
        max_file_bytes: max,
        ..LoadLimits::default()
    };
    cmr_geometry::nifti_file::read_volume_with(path, &limits)
}

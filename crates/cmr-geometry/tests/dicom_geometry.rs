//! DICOM files built here with dicom-object (not with this crate's writer), whose geometry is
//! known by hand: where pixels land, which line two of them share, and what parallel ones
//! give.

use std::path::{Path, PathBuf};

use approx::assert_abs_diff_eq;
use cmr_geometry::assemble::assemble_studies;
use cmr_geometry::dicom::{load_frame, read_image_headers};
use cmr_geometry::{GeometryError, PlaneIntersection, Vec3, View, ViewRules};
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmr-geometry-dcm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn strs(v: &[&str]) -> PrimitiveValue {
    PrimitiveValue::Strs(v.iter().map(|s| s.to_string()).collect())
}

fn el(tag: dicom_core::Tag, vr: VR, v: PrimitiveValue) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, v)
}

/// A classic MR image with the given DICOM attribute strings and 16-bit pixels.
#[allow(clippy::too_many_arguments)]
fn write_classic(
    path: &Path,
    series: &str,
    ipp: &[&str; 3],
    iop: &[&str; 6],
    spacing: &[&str; 2],
    rows: u16,
    cols: u16,
    pixels: Vec<u16>,
    rescale: Option<(&str, &str)>,
) {
    let mut obj = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, uids::MR_IMAGE_STORAGE.into()),
        el(tags::SOP_INSTANCE_UID, VR::UI, format!("{series}.1").into()),
        el(tags::MODALITY, VR::CS, "MR".into()),
        el(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.826.0.1.7".into()),
        el(tags::SERIES_INSTANCE_UID, VR::UI, series.into()),
        el(tags::SERIES_DESCRIPTION, VR::LO, "hand built".into()),
        el(tags::IMAGE_POSITION_PATIENT, VR::DS, strs(ipp)),
        el(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, strs(iop)),
        el(tags::PIXEL_SPACING, VR::DS, strs(spacing)),
        el(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        el(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
        el(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        el(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2".into(),
        ),
        el(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        el(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
        el(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
        el(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        el(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
    ]);
    if let Some((slope, intercept)) = rescale {
        obj.put(el(tags::RESCALE_SLOPE, VR::DS, slope.into()));
        obj.put(el(tags::RESCALE_INTERCEPT, VR::DS, intercept.into()));
    }
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(path)
        .unwrap();
}

// An oblique plane: row direction (2, 2, 1)/3, column direction (-2, 1, 2)/3, 0.5 mm between
// rows and 2 mm between columns, origin (10, -20, 30).
const OBLIQUE_IOP: [&str; 6] = [
    "0.66666666666667",
    "0.66666666666667",
    "0.33333333333333",
    "-0.6666666666667",
    "0.33333333333333",
    "0.66666666666667",
];

#[test]
fn pixels_land_on_hand_computed_world_points() {
    let dir = tmpdir("points");
    let path = dir.join("oblique.dcm");
    let (rows, cols) = (6u16, 9u16);
    let pixels: Vec<u16> = (0..rows as u32 * cols as u32)
        .map(|i| (i * 7) as u16)
        .collect();
    write_classic(
        &path,
        "1.2.826.0.1.7.1",
        &["10", "-20", "30"],
        &OBLIQUE_IOP,
        &["0.5", "2"],
        rows,
        cols,
        pixels.clone(),
        Some(("2.5", "-100")),
    );
    let headers = read_image_headers(&path).unwrap();
    assert_eq!(headers.len(), 1);
    let plane = headers[0].plane;
    assert_eq!((plane.rows(), plane.cols()), (6, 9));
    // Pixel (r, c) = origin + c * 2 mm * row_dir + r * 0.5 mm * col_dir, worked by hand:
    // (r 3, c 5): (10, -20, 30) + 10 (2, 2, 1)/3 + 1.5 (-2, 1, 2)/3 = (47/3, -77/6, 103/3).
    for ((r, c), expected) in [
        ((0.0, 0.0), Vec3::new(10.0, -20.0, 30.0)),
        ((3.0, 5.0), Vec3::new(47.0 / 3.0, -77.0 / 6.0, 103.0 / 3.0)),
        // (r 5, c 0): 2.5 mm along the column direction.
        (
            (5.0, 0.0),
            Vec3::new(10.0 - 5.0 / 3.0, -20.0 + 2.5 / 3.0, 30.0 + 5.0 / 3.0),
        ),
        // (r 0, c 8): 16 mm along the row direction.
        (
            (0.0, 8.0),
            Vec3::new(10.0 + 32.0 / 3.0, -20.0 + 32.0 / 3.0, 30.0 + 16.0 / 3.0),
        ),
    ] {
        let w = plane.pixel_to_world(r, c);
        assert_abs_diff_eq!((w - expected).norm(), 0.0, epsilon = 1e-9);
    }
    // Swapping the spacing convention would put (r 3, c 5) elsewhere: 0.5 mm columns and 2 mm
    // rows give (10 + 2.5 (2,2,1)/3 + 6 (-2,1,2)/3) = (7.667, -16.333, 34.833).
    let wrong = Vec3::new(
        10.0 + 5.0 / 3.0 - 4.0,
        -20.0 + 5.0 / 3.0 + 2.0,
        30.0 + 2.5 / 3.0 + 4.0,
    );
    assert!((plane.pixel_to_world(3.0, 5.0) - wrong).norm() > 1.0);
    // Pixels: [rows, cols] in DICOM order, rescaled.
    let img = load_frame(&path, 0).unwrap();
    assert_eq!(img.dim(), (6, 9));
    for (r, c) in [(0usize, 0usize), (2, 7), (5, 8)] {
        let stored = pixels[r * 9 + c] as f32;
        assert_eq!(img[[r, c]], 2.5 * stored - 100.0);
    }
    assert!(matches!(
        load_frame(&path, 1),
        Err(GeometryError::PixelDecode { frame: 1, .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_files_meet_in_the_known_line_and_parallel_files_do_not() {
    let dir = tmpdir("lines");
    let px = |n: usize| vec![0u16; n];
    let a = dir.join("a.dcm");
    write_classic(
        &a,
        "1.2.826.0.1.7.2",
        &["10", "-20", "30"],
        &OBLIQUE_IOP,
        &["0.5", "2"],
        64,
        64,
        px(4096),
        None,
    );
    // An axial plane at z = 32.
    let b = dir.join("b.dcm");
    let axial = ["1", "0", "0", "0", "1", "0"];
    write_classic(
        &b,
        "1.2.826.0.1.7.3",
        &["-50", "-60", "32"],
        &axial,
        &["1", "1"],
        16,
        16,
        px(256),
        None,
    );
    // A copy of the oblique plane moved 6 mm along its normal (2, 2, 1) x (-2, 1, 2) / 9 =
    // (1, -2, 2)/3.
    let c = dir.join("c.dcm");
    write_classic(
        &c,
        "1.2.826.0.1.7.4",
        &["12", "-24", "34"],
        &OBLIQUE_IOP,
        &["0.5", "2"],
        8,
        8,
        px(64),
        None,
    );
    let pa = read_image_headers(&a).unwrap()[0].plane;
    let pb = read_image_headers(&b).unwrap()[0].plane;
    let pc = read_image_headers(&c).unwrap()[0].plane;

    // By hand: in plane a, a point is (10, -20, 30) + u (2, 2, 1)/3 + v (-2, 1, 2)/3; z = 32
    // means u + 2v = 6. So the line passes (10, -20, 30) + 6 (2, 2, 1)/3 = (14, -16, 32) and
    // runs along 2 row - col = (2, 1, 0).
    let line = pa.intersection_line(&pb).unwrap();
    assert_abs_diff_eq!(
        line.distance_to(Vec3::new(14.0, -16.0, 32.0)),
        0.0,
        epsilon = 1e-9
    );
    let d = Vec3::new(2.0, 1.0, 0.0) * (1.0 / 5f64.sqrt());
    assert_abs_diff_eq!(line.direction.dot(d).abs(), 1.0, epsilon = 1e-12);
    // Its trace in image b (1 mm pixels from (-50, -60)) passes pixel (row 44, col 64).
    let pl = pb.project_line(&line).unwrap();
    let t = (64.0 - pl.point.col) / pl.direction.col;
    assert_abs_diff_eq!(pl.at(t).row, 44.0, epsilon = 1e-9);

    match pa.intersect(&pc) {
        PlaneIntersection::Parallel { separation_mm } => {
            assert_abs_diff_eq!(separation_mm, 6.0, epsilon = 1e-9)
        }
        other => panic!("expected parallel planes, got {other:?}"),
    }
    assert!(matches!(
        pa.intersection_line(&pc),
        Err(GeometryError::ParallelPlanes { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_geometry_is_reported_not_fatal() {
    let dir = tmpdir("badgeom");
    let path = dir.join("bad.dcm");
    // Row and column directions not orthogonal.
    write_classic(
        &path,
        "1.2.826.0.1.7.5",
        &["0", "0", "0"],
        &["1", "0", "0", "0.6", "0.8", "0"],
        &["1", "1"],
        2,
        2,
        vec![0; 4],
        None,
    );
    match read_image_headers(&path) {
        Err(cmr_geometry::SkipReason::NoGeometry { detail }) => {
            assert!(detail.contains("orthogonal"), "{detail}")
        }
        other => panic!("expected NoGeometry, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An enhanced MR image: 2 slice positions x 2 cardiac phases in 4 frames, geometry and
/// rescale in functional groups.
#[test]
fn enhanced_mr_frames_get_their_own_geometry_timing_and_rescale() {
    let dir = tmpdir("enhanced");
    let path = dir.join("enhanced.dcm");
    let item = |elements: Vec<DataElement<InMemDicomObject>>| {
        InMemDicomObject::from_element_iter(elements)
    };
    let seq = |tag, items: Vec<InMemDicomObject>| {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    };
    let shared = item(vec![
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![el(
                tags::PIXEL_SPACING,
                VR::DS,
                strs(&["1.5", "0.75"]),
            )])],
        ),
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![el(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                strs(&["0", "1", "0", "0", "0", "-1"]),
            )])],
        ),
    ]);
    // Frames: (slice x position, trigger time, rescale slope), deliberately out of order.
    let frames = [
        ("4", "450", "1"),
        ("-4", "0", "2"),
        ("4", "0", "3"),
        ("-4", "450", "4"),
    ];
    let per_frame: Vec<InMemDicomObject> = frames
        .iter()
        .map(|(x, t, slope)| {
            item(vec![
                seq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(vec![el(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::DS,
                        strs(&[x, "-30", "40"]),
                    )])],
                ),
                seq(
                    tags::CARDIAC_SYNCHRONIZATION_SEQUENCE,
                    vec![item(vec![el(
                        tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME,
                        VR::FD,
                        PrimitiveValue::from(t.parse::<f64>().unwrap()),
                    )])],
                ),
                seq(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    vec![item(vec![
                        el(tags::RESCALE_SLOPE, VR::DS, (*slope).into()),
                        el(tags::RESCALE_INTERCEPT, VR::DS, "0".into()),
                    ])],
                ),
            ])
        })
        .collect();
    let (rows, cols) = (3u16, 4u16);
    let pixels: Vec<u16> = (0..4 * 12).map(|i| i as u16).collect();
    let obj = InMemDicomObject::from_element_iter([
        el(
            tags::SOP_CLASS_UID,
            VR::UI,
            uids::ENHANCED_MR_IMAGE_STORAGE.into(),
        ),
        el(tags::SOP_INSTANCE_UID, VR::UI, "1.2.826.0.1.7.9.1".into()),
        el(tags::MODALITY, VR::CS, "MR".into()),
        el(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.826.0.1.7".into()),
        el(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.826.0.1.7.9".into()),
        el(tags::SERIES_DESCRIPTION, VR::LO, "cine_4ch".into()),
        el(tags::NUMBER_OF_FRAMES, VR::IS, "4".into()),
        el(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        el(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
        el(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        el(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2".into(),
        ),
        el(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        el(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
        el(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
        el(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
        el(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
    ]);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(&path)
        .unwrap();

    let headers = read_image_headers(&path).unwrap();
    assert_eq!(headers.len(), 4);
    for (h, (x, t, _)) in headers.iter().zip(frames) {
        assert_eq!(h.plane.origin(), Vec3::new(x.parse().unwrap(), -30.0, 40.0));
        assert_eq!(h.plane.spacing().between_rows, 1.5);
        assert_eq!(h.plane.spacing().between_cols, 0.75);
        assert_eq!(h.trigger_time_ms, Some(t.parse().unwrap()));
    }
    // Frame 3 is the fourth 12-pixel block, times its own slope 4.
    let img = load_frame(&path, 3).unwrap();
    assert_eq!(img[[0, 0]], 4.0 * 36.0);
    assert_eq!(img[[2, 3]], 4.0 * 47.0);

    // Assembled: one 4Ch series of two slices (x = -4, then 4: the normal is (0,1,0) x
    // (0,0,-1) = (-1, 0, 0), so x = 4 comes first), each with frames in trigger order.
    let studies = assemble_studies(headers, &ViewRules::default());
    let series = &studies[0].series[0];
    assert_eq!(series.view, View::FourChamber);
    assert_eq!(series.slices.len(), 2);
    assert_eq!(series.slices[0].plane.origin().x, 4.0);
    let frame_numbers: Vec<Vec<u32>> = series
        .slices
        .iter()
        .map(|s| {
            s.frames
                .iter()
                .map(|f| match &f.image {
                    cmr_geometry::PixelRef::Dicom { frame, .. } => *frame,
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(frame_numbers, vec![vec![2, 0], vec![1, 3]]);
    assert_abs_diff_eq!(series.spacing.as_ref().unwrap().median_mm, 8.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// JPEG baseline has no monochrome file in the pydicom corpus, so make one: an 8-bit
/// monochrome MR image encoded here with dicom-pixeldata's JPEG encoder (default quality), then
/// decoded by `load_frame`. Lossy, so compare within a tolerance; the rescale still applies.
#[test]
fn jpeg_baseline_monochrome_decodes_close_to_the_original() {
    use dicom_pixeldata::Transcode;
    use dicom_transfer_syntax_registry::entries::JPEG_BASELINE;
    let dir = tmpdir("jpeg");
    let path = dir.join("jpeg.dcm");
    let (rows, cols) = (32u16, 40u16);
    // A smooth image (JPEG's favourite): a blob on a gradient.
    let original: Vec<u8> = (0..rows as usize * cols as usize)
        .map(|i| {
            let (r, c) = ((i / cols as usize) as f64, (i % cols as usize) as f64);
            (40.0 + 2.0 * c + 150.0 * (-((r - 16.0).powi(2) + (c - 20.0).powi(2)) / 60.0).exp())
                as u8
        })
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, uids::MR_IMAGE_STORAGE.into()),
        el(tags::SOP_INSTANCE_UID, VR::UI, "1.2.826.0.1.7.20.1".into()),
        el(tags::MODALITY, VR::CS, "MR".into()),
        el(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        el(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
        el(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        el(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2".into(),
        ),
        el(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8u16)),
        el(tags::BITS_STORED, VR::US, PrimitiveValue::from(8u16)),
        el(tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16)),
        el(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        el(tags::RESCALE_SLOPE, VR::DS, "2".into()),
        el(tags::RESCALE_INTERCEPT, VR::DS, "-10".into()),
        el(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(original.clone().into()),
        ),
    ]);
    let mut file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    file.transcode(&JPEG_BASELINE.erased()).unwrap();
    assert_eq!(file.meta().transfer_syntax(), uids::JPEG_BASELINE8_BIT);
    file.write_to_file(&path).unwrap();

    let img = load_frame(&path, 0).unwrap();
    assert_eq!(img.dim(), (32, 40));
    let mut max_err = 0f32;
    for (v, o) in img.iter().zip(&original) {
        // Back from modality values to stored values.
        max_err = max_err.max(((v + 10.0) / 2.0 - f32::from(*o)).abs());
    }
    println!("JPEG baseline: largest error {max_err} grey levels");
    assert!(max_err <= 4.0, "JPEG error {max_err} grey levels");
    std::fs::remove_dir_all(&dir).unwrap();
}

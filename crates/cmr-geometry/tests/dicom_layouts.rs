//! Folder layouts as scanners and archives write them, grouped into studies.

use std::path::{Path, PathBuf};

use approx::assert_abs_diff_eq;
use cmr_geometry::dicom::{write_mr_image, MrImage};
use cmr_geometry::{
    DicomFolder, ImagePlane, PixelRef, ScanOptions, SkipReason, StudySource, Vec3, View,
};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::Array2;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmr-geometry-layout-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const STUDY: &str = "1.2.826.0.1.3680043.2.1";
const PHASES: usize = 5;

/// A short-axis plane at position `k` along the (oblique) SA normal, 10 mm apart.
fn sa_plane(k: usize) -> ImagePlane {
    let base = ImagePlane::from_dicom(
        [-93.5, -121.25, 118.375],
        [0.6, 0.8, 0.0, -0.48, 0.36, -0.8],
        [1.75, 1.75],
        12,
        10,
    )
    .unwrap();
    ImagePlane::new(
        base.origin() + base.normal() * (10.0 * k as f64),
        base.row_dir(),
        base.col_dir(),
        base.spacing(),
        12,
        10,
    )
    .unwrap()
}

fn la_plane(view: View) -> ImagePlane {
    let a: f64 = match view {
        View::TwoChamber => 0.2,
        View::ThreeChamber => 0.9,
        _ => 1.5,
    };
    ImagePlane::new(
        Vec3::new(-40.0, -100.0, 130.0),
        Vec3::new(a.cos(), a.sin(), 0.0),
        Vec3::new(0.0, 0.0, -1.0),
        cmr_geometry::PixelSpacing::from_dicom([1.5, 1.5]),
        12,
        10,
    )
    .unwrap()
}

/// Pixel values encode (slice, phase) so ordering can be checked from the pixels too.
fn pixels(slice: usize, phase: usize) -> Array2<u16> {
    Array2::from_elem((12, 10), (100 * slice + phase) as u16)
}

struct Writer<'a> {
    dir: &'a Path,
    files: usize,
}

impl Writer<'_> {
    #[allow(clippy::too_many_arguments)]
    fn image(
        &mut self,
        series_uid: &str,
        series_number: i64,
        description: &str,
        plane: ImagePlane,
        instance: i64,
        trigger: f64,
        value: Array2<u16>,
    ) {
        self.files += 1;
        // Archive-style opaque file names, so order comes from headers, not names.
        let name = format!(
            "{:08x}.dcm",
            (self.files as u64 * 2_654_435_761) % (1 << 32)
        );
        let image = MrImage {
            study_uid: STUDY.into(),
            series_uid: series_uid.into(),
            sop_instance_uid: format!("{series_uid}.{instance}"),
            series_number,
            series_description: description.into(),
            patient_id: "UKB-LIKE-1".into(),
            instance_number: instance,
            trigger_time_ms: Some(trigger),
            plane,
            rescale: None,
        };
        write_mr_image(&self.dir.join(name), &image, &value).unwrap();
    }
}

/// UK Biobank layout: one series per SA slice (`CINE_segmented_SAX_b<k>`), one per LA view,
/// `PHASES` cine frames each; written slice order shuffled; `skip_slice` leaves a gap.
fn write_biobank_like(dir: &Path, skip_slice: Option<usize>) {
    let mut w = Writer { dir, files: 0 };
    for k in [3usize, 0, 5, 1, 4, 2] {
        if Some(k) == skip_slice {
            continue;
        }
        let uid = format!("{STUDY}.10{k}");
        for t in [2usize, 0, 4, 1, 3] {
            w.image(
                &uid,
                10 + k as i64,
                &format!("CINE_segmented_SAX_b{}", k + 1),
                sa_plane(k),
                t as i64 + 1,
                40.0 * t as f64,
                pixels(k, t),
            );
        }
    }
    for (i, (view, name)) in [
        (View::TwoChamber, "CINE_segmented_LAX_2Ch"),
        (View::ThreeChamber, "CINE_segmented_LAX_3Ch"),
        (View::FourChamber, "CINE_segmented_LAX_4Ch"),
    ]
    .into_iter()
    .enumerate()
    {
        let uid = format!("{STUDY}.20{i}");
        for t in 0..PHASES {
            w.image(
                &uid,
                2 + i as i64,
                name,
                la_plane(view),
                t as i64 + 1,
                40.0 * t as f64,
                pixels(50 + i, t),
            );
        }
    }
}

fn frame_value(folder: &DicomFolder, r: &PixelRef) -> f32 {
    folder.load_image(r).unwrap()[[0, 0]]
}

#[test]
fn biobank_like_folder_groups_into_one_study_with_ordered_views() {
    let dir = tmpdir("ukb");
    write_biobank_like(&dir, None);
    // Things a real folder also holds: notes, a CT image, a DICOMDIR.
    std::fs::write(dir.join("notes.txt"), "not DICOM").unwrap();
    write_other(&dir.join("ct.dcm"), "CT", uids::CT_IMAGE_STORAGE);
    write_other(&dir.join("DICOMDIR"), "", "1.2.840.10008.1.3.10");

    for threads in [Some(1), None] {
        let folder = DicomFolder::open_with(
            &dir,
            &ScanOptions {
                threads,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(folder.studies().len(), 1);
        let study = &folder.studies()[0];
        assert_eq!(study.uid, STUDY);
        assert_eq!(study.patient_id.as_deref(), Some("UKB-LIKE-1"));
        assert_eq!(
            study.views(),
            vec![
                View::ShortAxis,
                View::TwoChamber,
                View::ThreeChamber,
                View::FourChamber
            ]
        );
        assert!(study.dropped.is_empty(), "{:?}", study.dropped);

        let sa = study.view(View::ShortAxis).unwrap();
        assert_eq!(sa.slices.len(), 6, "one stack from six single-slice series");
        assert_eq!(sa.source_uids.len(), 6);
        let sp = sa.spacing.as_ref().unwrap();
        assert_abs_diff_eq!(sp.median_mm, 10.0, epsilon = 1e-6);
        assert!(!sp.irregular && sp.gaps_after.is_empty());
        for (k, slice) in sa.slices.iter().enumerate() {
            // Sorted along the normal: slice k is the k-th position.
            assert_abs_diff_eq!(
                (slice.plane.origin() - sa_plane(k).origin()).norm(),
                0.0,
                epsilon = 1e-6
            );
            assert_eq!(slice.frames.len(), PHASES);
            for (t, f) in slice.frames.iter().enumerate() {
                assert_eq!(f.trigger_time_ms, Some(40.0 * t as f64));
                assert_eq!(frame_value(&folder, &f.image), (100 * k + t) as f32);
            }
        }
        for (i, view) in [View::TwoChamber, View::ThreeChamber, View::FourChamber]
            .into_iter()
            .enumerate()
        {
            let la = study.view(view).unwrap();
            assert_eq!(la.slices.len(), 1);
            let (a, b) = (la.slices[0].plane, la_plane(view));
            assert_abs_diff_eq!((a.origin() - b.origin()).norm(), 0.0, epsilon = 1e-9);
            assert_abs_diff_eq!((a.row_dir() - b.row_dir()).norm(), 0.0, epsilon = 1e-9);
            assert_abs_diff_eq!((a.col_dir() - b.col_dir()).norm(), 0.0, epsilon = 1e-9);
            let values: Vec<f32> = la.slices[0]
                .frames
                .iter()
                .map(|f| frame_value(&folder, &f.image))
                .collect();
            let expected: Vec<f32> = (0..PHASES).map(|t| (100 * (50 + i) + t) as f32).collect();
            assert_eq!(values, expected);
        }
        // Every file is accounted for.
        let skipped: Vec<(String, SkipReason)> = folder
            .report()
            .iter()
            .filter_map(|r| {
                r.skip_reason().map(|s| {
                    (
                        r.path.file_name().unwrap().to_string_lossy().into_owned(),
                        s.clone(),
                    )
                })
            })
            .collect();
        assert_eq!(folder.report().len(), 6 * PHASES + 3 * PHASES + 3);
        assert!(skipped.contains(&("notes.txt".into(), SkipReason::NotDicom)));
        assert!(skipped.contains(&(
            "ct.dcm".into(),
            SkipReason::NotMr {
                modality: "CT".into()
            }
        )));
        assert!(skipped.contains(&("DICOMDIR".into(), SkipReason::Dicomdir)));
        assert_eq!(skipped.len(), 3);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A minimal non-MR DICOM file (or a DICOMDIR when the SOP class says so).
fn write_other(path: &Path, modality: &str, sop_class: &str) {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(sop_class)),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.999"),
        ),
    ]);
    if !modality.is_empty() {
        obj.put(DataElement::new(
            tags::MODALITY,
            VR::CS,
            PrimitiveValue::from(modality),
        ));
    }
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(path)
        .unwrap();
}

#[test]
fn a_missing_slice_is_reported_as_a_gap() {
    let dir = tmpdir("gap");
    write_biobank_like(&dir, Some(3));
    let folder = DicomFolder::open(&dir).unwrap();
    let sa = folder.studies()[0].view(View::ShortAxis).unwrap();
    assert_eq!(sa.slices.len(), 5);
    let sp = sa.spacing.as_ref().unwrap();
    assert_eq!(sp.gaps_after, vec![2]);
    assert!(sp.irregular);
    assert_abs_diff_eq!(sp.max_mm, 20.0, epsilon = 1e-6);
    assert!(sa.notes.iter().any(|n| n.contains("gap")), "{:?}", sa.notes);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_series_with_all_positions_and_phases_is_split_by_position() {
    let dir = tmpdir("oneseries");
    let mut w = Writer {
        dir: &dir,
        files: 0,
    };
    let uid = format!("{STUDY}.30");
    // Instance numbers run slice-major, as many scanners write them.
    for k in 0..4 {
        for t in 0..3 {
            w.image(
                &uid,
                7,
                "sa_cine_retro",
                sa_plane(k),
                (k * 3 + t + 1) as i64,
                30.0 * t as f64,
                pixels(k, t),
            );
        }
    }
    let folder = DicomFolder::open(&dir).unwrap();
    let study = &folder.studies()[0];
    assert_eq!(study.series.len(), 1);
    let sa = study.view(View::ShortAxis).unwrap();
    assert_eq!(sa.slices.len(), 4);
    assert_eq!(sa.frames_per_slice(), Some(3));
    for (k, s) in sa.slices.iter().enumerate() {
        let values: Vec<f32> = s
            .frames
            .iter()
            .map(|f| frame_value(&folder, &f.image))
            .collect();
        assert_eq!(
            values,
            vec![(100 * k) as f32, (100 * k + 1) as f32, (100 * k + 2) as f32]
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicate_views_keep_a_documented_choice_and_say_what_was_dropped() {
    let dir = tmpdir("dupes");
    let mut w = Writer {
        dir: &dir,
        files: 0,
    };
    // Two 4Ch acquisitions at different positions, the second a repeat (later SeriesNumber),
    // and a 2Ch with fewer frames than another 2Ch.
    // A parallel plane `d` mm along the normal.
    let moved = |p: ImagePlane, d: f64| {
        ImagePlane::new(
            p.origin() + p.normal() * d,
            p.row_dir(),
            p.col_dir(),
            p.spacing(),
            p.rows(),
            p.cols(),
        )
        .unwrap()
    };
    for t in 0..3 {
        w.image(
            &format!("{STUDY}.41"),
            41,
            "cine 4ch",
            la_plane(View::FourChamber),
            t + 1,
            30.0 * t as f64,
            pixels(1, t as usize),
        );
        w.image(
            &format!("{STUDY}.42"),
            42,
            "cine 4ch",
            moved(la_plane(View::FourChamber), 5.0),
            t + 1,
            30.0 * t as f64,
            pixels(2, t as usize),
        );
        w.image(
            &format!("{STUDY}.43"),
            43,
            "cine 2ch",
            la_plane(View::TwoChamber),
            t + 1,
            30.0 * t as f64,
            pixels(3, t as usize),
        );
    }
    for t in 0..5 {
        w.image(
            &format!("{STUDY}.44"),
            44,
            "cine 2ch",
            moved(la_plane(View::TwoChamber), 3.0),
            t + 1,
            30.0 * t as f64,
            pixels(4, t as usize),
        );
    }
    // And a 4Ch at exactly the first 4Ch's position, earlier series number: same position,
    // so merged single-slice handling drops it in favour of the later one.
    for t in 0..3 {
        w.image(
            &format!("{STUDY}.40"),
            40,
            "cine 4ch",
            la_plane(View::FourChamber),
            t + 1,
            30.0 * t as f64,
            pixels(0, t as usize),
        );
    }
    let folder = DicomFolder::open(&dir).unwrap();
    let study = &folder.studies()[0];
    // 4Ch: .40 and .41 share a position (the later, .41, is kept); .41 and .42 are parallel
    // single slices 5 mm apart, merged into a 2-slice 4Ch stack.
    let four = study.view(View::FourChamber).unwrap();
    assert_eq!(
        four.source_uids,
        vec![format!("{STUDY}.41"), format!("{STUDY}.42")]
    );
    assert_eq!(four.slices.len(), 2);
    let dropped_40 = study
        .dropped
        .iter()
        .find(|d| d.uid == format!("{STUDY}.40"))
        .unwrap();
    assert_eq!(dropped_40.kept_uid, format!("{STUDY}.41"));
    assert!(dropped_40.reason.contains("same slice position"));
    // 2Ch: .43 and .44 are 3 mm apart and parallel, so they also merge (3 + 5 frames); the
    // unequal frame counts are noted.
    let two = study.view(View::TwoChamber).unwrap();
    assert_eq!(two.slices.len(), 2);
    assert!(
        two.notes.iter().any(|n| n.contains("frame counts")),
        "{:?}",
        two.notes
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn competing_stacks_keep_the_larger_and_report_the_other() {
    let dir = tmpdir("stacks");
    let mut w = Writer {
        dir: &dir,
        files: 0,
    };
    for k in 0..5 {
        w.image(
            &format!("{STUDY}.51"),
            51,
            "sax stack",
            sa_plane(k),
            k as i64 + 1,
            0.0,
            pixels(k, 0),
        );
    }
    for k in 0..3 {
        w.image(
            &format!("{STUDY}.52"),
            52,
            "sax stack repeat",
            sa_plane(k),
            k as i64 + 1,
            0.0,
            pixels(k, 0),
        );
    }
    // An unnamed series that is geometrically a stack: classified SA by geometry, then
    // dropped in favour of the 5-slice one.
    for k in 0..4 {
        w.image(
            &format!("{STUDY}.53"),
            53,
            "cine_retro_iPAT",
            sa_plane(k),
            k as i64 + 1,
            0.0,
            pixels(k, 0),
        );
    }
    let folder = DicomFolder::open(&dir).unwrap();
    let study = &folder.studies()[0];
    let sa = study.view(View::ShortAxis).unwrap();
    assert_eq!(sa.uid, format!("{STUDY}.51"));
    let reasons: Vec<(String, String)> = study
        .dropped
        .iter()
        .map(|d| (d.uid.clone(), d.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons
        .iter()
        .any(|(u, r)| u.ends_with(".52") && r.contains("3 slices")));
    assert!(reasons
        .iter()
        .any(|(u, r)| u.ends_with(".53") && r.contains("4 slices")));
    std::fs::remove_dir_all(&dir).unwrap();
}

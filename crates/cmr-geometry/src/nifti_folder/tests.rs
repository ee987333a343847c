use super::*;
use crate::source::MemorySource;
use approx::assert_abs_diff_eq;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmr-geometry-ukbb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A pixel value that identifies view, slice, frame, row and column.
fn value(view: usize, k: usize, t: usize, r: usize, c: usize) -> f32 {
    (view * 100_000 + k * 10_000 + t * 1000 + r * 10 + c) as f32 + 0.25
}

fn sa_plane(k: usize) -> ImagePlane {
    let base = ImagePlane::from_dicom(
        [-93.5, -121.3, 118.4],
        [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
        [1.8, 1.6],
        6,
        5,
    )
    .unwrap();
    ImagePlane::new(
        base.origin() + base.normal() * (8.0 * k as f64),
        base.row_dir(),
        base.col_dir(),
        base.spacing(),
        6,
        5,
    )
    .unwrap()
}

fn la_plane(view: View) -> ImagePlane {
    let tilt: f64 = match view {
        View::TwoChamber => 0.3,
        View::ThreeChamber => 0.9,
        _ => 1.6,
    };
    ImagePlane::new(
        crate::Vec3::new(-40.0, -100.0, 120.0),
        crate::Vec3::new(tilt.cos(), tilt.sin(), 0.0),
        crate::Vec3::new(0.0, 0.0, -1.0),
        crate::plane::PixelSpacing {
            between_rows: 1.4,
            between_cols: 1.5,
        },
        7,
        4,
    )
    .unwrap()
}

/// An in-memory study: SA 3 slices and 2Ch/4Ch single slices, 4 frames, ED = 0, ES = 2,
/// labels on ED/ES frames.
fn memory_study() -> MemorySource {
    let mut src = MemorySource::default();
    let mut series = Vec::new();
    for (vi, view) in [View::ShortAxis, View::TwoChamber, View::FourChamber]
        .into_iter()
        .enumerate()
    {
        let planes: Vec<ImagePlane> = if view == View::ShortAxis {
            (0..3).map(sa_plane).collect()
        } else {
            vec![la_plane(view)]
        };
        let slices = planes
            .iter()
            .enumerate()
            .map(|(k, plane)| {
                let frames = (0..4)
                    .map(|t| {
                        let img = Array2::from_shape_fn((plane.rows(), plane.cols()), |(r, c)| {
                            value(vi, k, t, r, c)
                        });
                        let mut f = Frame::new(src.push_image(img));
                        f.trigger_time_ms = Some(25.0 * t as f64);
                        f.phase = match t {
                            0 => Some(CardiacPhase::EndDiastole),
                            2 => Some(CardiacPhase::EndSystole),
                            _ => None,
                        };
                        if f.phase.is_some() {
                            let lab =
                                Array2::from_shape_fn((plane.rows(), plane.cols()), |(r, c)| {
                                    ((r + c + t + k) % 4) as u8
                                });
                            f.label = Some(src.push_label(lab));
                        }
                        f
                    })
                    .collect();
                Slice {
                    plane: *plane,
                    frames,
                }
            })
            .collect();
        series.push(Series::new(
            view,
            view.file_stem(),
            view.to_string(),
            slices,
        ));
    }
    src.push_study(Study {
        uid: "subject1".into(),
        patient_id: None,
        series,
        dropped: vec![],
    });
    src
}

#[test]
fn ukbb_layout_round_trips_geometry_frames_phases_and_labels() {
    let root = tmpdir("roundtrip");
    let src = memory_study();
    let study = &src.studies()[0];
    let written =
        write_ukbb_study(&root.join("subject1"), study, &src, &Default::default()).unwrap();
    let mut names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = Vec::new();
    for stem in ["sa", "la_2ch", "la_4ch"] {
        expected.push(format!("{stem}.nii.gz"));
        for ph in ["ED", "ES"] {
            expected.push(format!("{stem}_{ph}.nii.gz"));
            expected.push(format!("label_{stem}_{ph}.nii.gz"));
        }
    }
    expected.sort();
    assert_eq!(names, expected);

    let folder = NiftiFolder::open(&root).unwrap();
    assert!(
        folder.report().iter().all(|r| r.skip_reason().is_none()),
        "{:?}",
        folder.report()
    );
    assert_eq!(folder.studies().len(), 1);
    let back = &folder.studies()[0];
    assert_eq!(back.uid, "subject1");
    assert_eq!(
        back.views(),
        vec![View::ShortAxis, View::TwoChamber, View::FourChamber]
    );
    for (orig, read) in study.series.iter().zip(&back.series) {
        assert_eq!(orig.view, read.view);
        assert_eq!(read.slices.len(), orig.slices.len());
        assert_eq!(read.frames_per_slice(), Some(4));
        assert_eq!(read.phase_index(CardiacPhase::EndDiastole), Some(0));
        assert_eq!(read.phase_index(CardiacPhase::EndSystole), Some(2));
        for (so, sr) in orig.slices.iter().zip(&read.slices) {
            let (a, b) = (so.plane, sr.plane);
            assert_abs_diff_eq!((a.origin() - b.origin()).norm(), 0.0, epsilon = 1e-4);
            assert_abs_diff_eq!((a.row_dir() - b.row_dir()).norm(), 0.0, epsilon = 1e-6);
            assert_abs_diff_eq!((a.col_dir() - b.col_dir()).norm(), 0.0, epsilon = 1e-6);
            assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()));
            for (fo, fr) in so.frames.iter().zip(&sr.frames) {
                assert_eq!(fr.phase, fo.phase);
                assert_abs_diff_eq!(
                    fr.trigger_time_ms.unwrap(),
                    fo.trigger_time_ms.unwrap(),
                    epsilon = 1e-4
                );
                assert_eq!(
                    folder.load_image(&fr.image).unwrap(),
                    src.load_image(&fo.image).unwrap()
                );
                assert_eq!(fr.label.is_some(), fo.label.is_some());
                if let (Some(lo), Some(lr)) = (&fo.label, &fr.label) {
                    assert_eq!(folder.load_label(lr).unwrap(), src.load_label(lo).unwrap());
                    // The label is attached to the frame it was written for.
                    assert!(matches!(lr, PixelRef::Nifti { path, .. }
                        if path.to_string_lossy().ends_with(&format!("_{}.nii.gz", fr.phase.unwrap().short_name()))));
                }
            }
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn phase_frames_are_found_by_pixels_when_there_is_no_hint() {
    let root = tmpdir("match");
    let planes: Vec<ImagePlane> = (0..2).map(sa_plane).collect();
    let cine = Array4::from_shape_fn((5, 2, 6, 5), |(t, k, r, c)| value(0, k, t, r, c));
    let plain = NiftiWriteOptions::default();
    write_volume(&root.join("sa.nii.gz"), &planes, cine.view(), &plain).unwrap();
    // ES is frame 3, written without a frame hint.
    let es = cine.index_axis(Axis(0), 3).insert_axis(Axis(0)).to_owned();
    write_volume(&root.join("sa_ES.nii.gz"), &planes, es.view(), &plain).unwrap();
    // ED matches no frame.
    let ed = es.mapv(|v| v + 0.5);
    write_volume(&root.join("sa_ED.nii.gz"), &planes, ed.view(), &plain).unwrap();
    let labels = Array4::<u8>::from_elem((1, 2, 6, 5), 3);
    write_volume(
        &root.join("label_sa_ES.nii.gz"),
        &planes,
        labels.view(),
        &plain,
    )
    .unwrap();
    // Something else, and a label whose geometry is wrong.
    write_volume(&root.join("seg_sa.nii.gz"), &planes, labels.view(), &plain).unwrap();
    let wrong: Vec<ImagePlane> = (1..3).map(sa_plane).collect();
    write_volume(
        &root.join("label_sa_ED.nii.gz"),
        &wrong,
        labels.view(),
        &plain,
    )
    .unwrap();

    let folder = NiftiFolder::open(&root).unwrap();
    let study = &folder.studies()[0];
    let sa = study.view(View::ShortAxis).unwrap();
    // 5 cine frames + the unmatched ED as an extra frame.
    assert_eq!(sa.frames_per_slice(), Some(6));
    assert_eq!(sa.phase_index(CardiacPhase::EndSystole), Some(3));
    assert_eq!(sa.phase_index(CardiacPhase::EndDiastole), Some(5));
    let es_frame = &sa.slices[1].frames[3];
    assert_eq!(
        folder.load_label(es_frame.label.as_ref().unwrap()).unwrap(),
        Array2::from_elem((6, 5), 3)
    );
    assert!(sa.slices[1].frames[5].label.is_none());
    assert_eq!(
        folder.load_image(&sa.slices[1].frames[5].image).unwrap(),
        ed.index_axis(Axis(0), 0).index_axis(Axis(0), 1)
    );
    let outcome = |name: &str| {
        folder
            .report()
            .iter()
            .find(|r| r.path.file_name().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} not reported"))
            .outcome
            .clone()
    };
    assert!(matches!(
        outcome("sa_ED.nii.gz"),
        FileOutcome::Used { note: Some(_), .. }
    ));
    assert!(matches!(
        outcome("sa_ES.nii.gz"),
        FileOutcome::Used {
            note: None,
            images: 2
        }
    ));
    assert_eq!(
        outcome("seg_sa.nii.gz"),
        FileOutcome::Skipped(SkipReason::NotInLayout)
    );
    assert!(matches!(
        outcome("label_sa_ED.nii.gz"),
        FileOutcome::Skipped(SkipReason::Inconsistent { .. })
    ));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn phase_images_alone_form_a_two_frame_series() {
    let root = tmpdir("phases-only");
    let plane = [la_plane(View::FourChamber)];
    let opts = NiftiWriteOptions::default();
    for (t, ph) in ["ED", "ES"].into_iter().enumerate() {
        let img = Array4::from_shape_fn((1, 1, 7, 4), |(_, k, r, c)| value(1, k, t, r, c));
        write_volume(
            &root.join(format!("la_4ch_{ph}.nii.gz")),
            &plane,
            img.view(),
            &opts,
        )
        .unwrap();
    }
    let folder = NiftiFolder::open(&root).unwrap();
    let la = folder.studies()[0].view(View::FourChamber).unwrap();
    assert_eq!(la.frames_per_slice(), Some(2));
    assert_eq!(la.phase_index(CardiacPhase::EndDiastole), Some(0));
    assert_eq!(la.phase_index(CardiacPhase::EndSystole), Some(1));
    assert_eq!(
        folder.load_image(&la.slices[0].frames[1].image).unwrap()[[6, 3]],
        value(1, 0, 1, 6, 3)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn non_integer_labels_are_a_typed_error() {
    let root = tmpdir("badlabel");
    let plane = [la_plane(View::TwoChamber)];
    let opts = NiftiWriteOptions::default();
    let img = Array4::<f32>::zeros((2, 1, 7, 4));
    write_volume(&root.join("la_2ch.nii.gz"), &plane, img.view(), &opts).unwrap();
    let lab = Array4::<f32>::from_elem((2, 1, 7, 4), 1.5);
    write_volume(&root.join("label_la_2ch.nii.gz"), &plane, lab.view(), &opts).unwrap();
    let folder = NiftiFolder::open(&root).unwrap();
    let f = &folder.studies()[0].series[0].slices[0].frames[1];
    assert!(matches!(
        folder.load_label(f.label.as_ref().unwrap()),
        Err(GeometryError::BadLabelValue { value, .. }) if value == 1.5
    ));
    assert!(matches!(
        folder.load_image(&PixelRef::Memory { index: 0 }),
        Err(GeometryError::ForeignPixelRef { .. })
    ));
    std::fs::remove_dir_all(&root).unwrap();
}

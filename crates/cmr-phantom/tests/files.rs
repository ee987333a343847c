//! A written study reads back: every DICOM file (with dicom-rs, independently of the writer's
//! in-memory objects) and the UK Biobank-style NIfTI files (with cmr-geometry's reader), with
//! the manifest's geometry and the in-memory pixels and labels.

use std::path::{Path, PathBuf};

use cmr_geometry::{CardiacPhase, DicomFolder, ImagePlane, NiftiFolder, StudySource, View};
use cmr_phantom::{
    write_study, OutputFormats, PhantomConfig, SeriesRecord, Subject, SyntheticStudy,
    EXPLICIT_VR_LITTLE_ENDIAN, MR_IMAGE_STORAGE,
};
use dicom_dictionary_std::tags;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("cmr-phantom-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn record_plane(r: &SeriesRecord) -> ImagePlane {
    ImagePlane::from_dicom(
        r.image_position_patient,
        r.image_orientation_patient,
        r.pixel_spacing_mm,
        r.rows,
        r.columns,
    )
    .unwrap()
}

/// Largest distance between the pixel positions of two planes at the image corners, mm.
fn plane_distance(a: &ImagePlane, b: &ImagePlane) -> f64 {
    assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()));
    let (r, c) = ((a.rows() - 1) as f64, (a.cols() - 1) as f64);
    [(0.0, 0.0), (r, 0.0), (0.0, c), (r, c)]
        .iter()
        .map(|&(r, c)| (a.pixel_to_world(r, c) - b.pixel_to_world(r, c)).norm())
        .fold(0.0, f64::max)
}

fn study() -> (Subject, SyntheticStudy) {
    let config = PhantomConfig {
        sa_slice_range: [8, 9],
        ..PhantomConfig::small(3)
    };
    let subject = Subject::new(&config, 9, 2).unwrap();
    let study = subject.render();
    (subject, study)
}

fn check_dicom(dir: &Path, study: &SyntheticStudy, m: &cmr_phantom::Manifest) {
    let mut sop_uids = std::collections::HashSet::new();
    for (series, record) in study.series.iter().zip(&m.series) {
        for (phase, file) in record.dicom_files.iter().enumerate() {
            let path = dir.join(file);
            let obj = dicom_object::open_file(&path).unwrap();
            assert_eq!(
                obj.meta().transfer_syntax().trim_end_matches('\0'),
                EXPLICIT_VR_LITTLE_ENDIAN
            );
            assert_eq!(
                obj.meta()
                    .media_storage_sop_class_uid()
                    .trim_end_matches('\0'),
                MR_IMAGE_STORAGE
            );
            let s = |tag| {
                obj.element(tag)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim()
                    .to_string()
            };
            assert_eq!(s(tags::SOP_CLASS_UID), MR_IMAGE_STORAGE);
            assert_eq!(s(tags::MODALITY), "MR");
            assert_eq!(s(tags::SERIES_DESCRIPTION), record.description);
            assert_eq!(s(tags::SERIES_INSTANCE_UID), record.series_instance_uid);
            assert_eq!(s(tags::STUDY_INSTANCE_UID), m.study_instance_uid);
            assert_eq!(s(tags::FRAME_OF_REFERENCE_UID), m.frame_of_reference_uid);
            assert_eq!(s(tags::PATIENT_ID), m.patient_id);
            let sop = s(tags::SOP_INSTANCE_UID);
            assert_eq!(
                sop,
                obj.meta()
                    .media_storage_sop_instance_uid()
                    .trim_end_matches('\0')
            );
            assert!(sop_uids.insert(sop), "duplicate SOPInstanceUID");
            let f = |tag| obj.element(tag).unwrap().to_multi_float64().unwrap();
            let int = |tag| obj.element(tag).unwrap().to_int::<i64>().unwrap();
            let ipp = f(tags::IMAGE_POSITION_PATIENT);
            let iop = f(tags::IMAGE_ORIENTATION_PATIENT);
            let ps = f(tags::PIXEL_SPACING);
            for (a, b) in ipp.iter().zip(record.image_position_patient) {
                assert!((a - b).abs() < 1e-6, "IPP {a} vs {b}");
            }
            for (a, b) in iop.iter().zip(record.image_orientation_patient) {
                assert!((a - b).abs() < 1e-9, "IOP {a} vs {b}");
            }
            assert_eq!(ps, record.pixel_spacing_mm);
            let plane = ImagePlane::from_dicom(
                [ipp[0], ipp[1], ipp[2]],
                [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]],
                [ps[0], ps[1]],
                int(tags::ROWS) as usize,
                int(tags::COLUMNS) as usize,
            )
            .unwrap();
            assert!(plane_distance(&plane, &record_plane(record)) < 1e-4);
            assert!(plane_distance(&plane, series.plane()) < 1e-4);
            assert_eq!(f(tags::SLICE_THICKNESS)[0], record.slice_thickness_mm);
            assert!((f(tags::TRIGGER_TIME)[0] - m.trigger_times_ms[phase]).abs() < 1e-6);
            assert_eq!(int(tags::INSTANCE_NUMBER), phase as i64 + 1);
            assert_eq!(int(tags::SERIES_NUMBER), i64::from(record.series_number));
            assert_eq!(int(tags::CARDIAC_NUMBER_OF_IMAGES), m.phases as i64);
            assert_eq!(int(tags::BITS_ALLOCATED), 16);
            let bytes = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
            let pixels: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            let expected: Vec<u16> = series
                .images
                .index_axis(ndarray::Axis(0), phase)
                .iter()
                .copied()
                .collect();
            assert_eq!(pixels, expected, "{}", path.display());
        }
    }
}

/// cmr-geometry's DICOM loader finds one study: the SA series merged into one stack, the three
/// long-axis views classified from their descriptions, with the manifest's planes and every
/// phase in trigger-time order.
fn check_dicom_with_cmr_geometry(dir: &Path, study: &SyntheticStudy, m: &cmr_phantom::Manifest) {
    let folder = DicomFolder::open(dir).unwrap();
    assert_eq!(folder.studies().len(), 1, "{:?}", folder.report());
    let loaded = &folder.studies()[0];
    assert_eq!(loaded.uid, m.study_instance_uid);
    for record in &m.series {
        let series = loaded.view(record.view).unwrap();
        let slice = series
            .slices
            .iter()
            .find(|s| plane_distance(&s.plane, &record_plane(record)) < 1e-4)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no slice with the manifest geometry",
                    record.description
                )
            });
        assert_eq!(slice.frames.len(), m.phases);
        let memory = study
            .series
            .iter()
            .find(|s| s.series_instance_uid == record.series_instance_uid)
            .unwrap();
        for (t, frame) in slice.frames.iter().enumerate() {
            let trigger = frame.trigger_time_ms.unwrap();
            assert!((trigger - m.trigger_times_ms[t]).abs() < 1e-6);
            assert_eq!(
                folder.load_image(&frame.image).unwrap(),
                memory.image_f32(t)
            );
        }
    }
    let sa = loaded.view(View::ShortAxis).unwrap();
    let n_sa = m
        .series
        .iter()
        .filter(|r| r.view == View::ShortAxis)
        .count();
    assert_eq!(sa.slices.len(), n_sa);
    let spacing = sa.spacing.as_ref().unwrap();
    assert!((spacing.median_mm - m.config.sa_slice_spacing_mm).abs() < 1e-4);
    assert!(!spacing.irregular);
}

fn check_nifti(dir: &Path, study: &SyntheticStudy, m: &cmr_phantom::Manifest) {
    let folder = NiftiFolder::open(dir).unwrap();
    assert_eq!(folder.studies().len(), 1, "{:?}", folder.report());
    let loaded = &folder.studies()[0];
    // Short axis: one stack whose slices are the SA series, in some order along the normal.
    let sa = loaded.view(View::ShortAxis).unwrap();
    let sa_records: Vec<&SeriesRecord> = m
        .series
        .iter()
        .filter(|r| r.view == View::ShortAxis)
        .collect();
    assert_eq!(sa.slices.len(), sa_records.len());
    for slice in &sa.slices {
        let (k, record) = sa_records
            .iter()
            .enumerate()
            .min_by(|a, b| {
                plane_distance(&slice.plane, &record_plane(a.1))
                    .total_cmp(&plane_distance(&slice.plane, &record_plane(b.1)))
            })
            .unwrap();
        assert!(plane_distance(&slice.plane, &record_plane(record)) < 1e-4);
        let memory = study.short_axis().nth(k).unwrap();
        assert_eq!(slice.frames.len(), m.phases);
        for (t, frame) in slice.frames.iter().enumerate() {
            let img = folder.load_image(&frame.image).unwrap();
            assert_eq!(img, memory.image_f32(t));
        }
        let es = slice
            .frames
            .iter()
            .position(|f| f.phase == Some(CardiacPhase::EndSystole))
            .unwrap();
        assert_eq!(es, m.es_phase);
        let label = folder
            .load_label(slice.frames[es].label.as_ref().unwrap())
            .unwrap();
        assert_eq!(label, memory.label(es));
    }
    for view in [View::TwoChamber, View::ThreeChamber, View::FourChamber] {
        let series = loaded.view(view).unwrap();
        let record = m.series.iter().find(|r| r.view == view).unwrap();
        assert_eq!(series.slices.len(), 1);
        let slice = &series.slices[0];
        assert!(plane_distance(&slice.plane, &record_plane(record)) < 1e-4);
        let ed = &slice.frames[0];
        assert_eq!(ed.phase, Some(CardiacPhase::EndDiastole));
        let label = folder.load_label(ed.label.as_ref().unwrap()).unwrap();
        assert_eq!(label, study.long_axis(view).unwrap().label(0));
    }
}

#[test]
fn written_study_reads_back_as_dicom_and_nifti_with_the_manifest_geometry() {
    let tmp = TempDir::new("files");
    let (_, study) = study();
    let written = write_study(&study, &tmp.0, OutputFormats::default()).unwrap();
    let n_series = study.series.len();
    assert_eq!(written.dicom_files, n_series * 3);
    let names: Vec<String> = written
        .nifti_files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for stem in ["sa", "la_2ch", "la_3ch", "la_4ch"] {
        for name in [
            format!("{stem}.nii.gz"),
            format!("{stem}_ED.nii.gz"),
            format!("{stem}_ES.nii.gz"),
            format!("label_{stem}_ED.nii.gz"),
            format!("label_{stem}_ES.nii.gz"),
            format!("label_{stem}.nii.gz"),
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }
    // The manifest on disk is the in-memory one; what a reader parses back from it is used
    // for every geometry check below.
    let bytes = std::fs::read(tmp.0.join("manifest.json")).unwrap();
    assert_eq!(bytes, serde_json::to_vec_pretty(&study.manifest).unwrap());
    let manifest: cmr_phantom::Manifest = serde_json::from_slice(&bytes).unwrap();
    check_dicom(&tmp.0, &study, &manifest);
    check_dicom_with_cmr_geometry(&tmp.0.join("dicom"), &study, &manifest);
    check_nifti(&tmp.0.join("nifti"), &study, &manifest);
    // No temporary files left behind.
    let leftovers = walk(&tmp.0)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn without_dicom_the_manifest_lists_no_dicom_files_and_none_are_written() {
    let tmp = TempDir::new("no-dicom");
    let config = PhantomConfig {
        sa_slice_range: [8, 8],
        ..PhantomConfig::small(2)
    };
    let study = Subject::new(&config, 4, 0).unwrap().render();
    let formats = OutputFormats {
        dicom: false,
        nifti: false,
    };
    let written = write_study(&study, &tmp.0, formats).unwrap();
    assert_eq!(written.dicom_files, 0);
    assert!(written.nifti_files.is_empty());
    assert!(!tmp.0.join("dicom").exists() && !tmp.0.join("nifti").exists());
    let manifest: cmr_phantom::Manifest =
        serde_json::from_slice(&std::fs::read(tmp.0.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.series.iter().all(|s| s.dicom_files.is_empty()));
    assert_eq!(manifest.series.len(), study.series.len());
}

//! Segmentation of whole studies: the volume code against the phantom's analytic volumes, and
//! a tiny trained model end to end (label volumes in the study geometry, report).

mod support;

use cmr_geometry::nifti_file::read_volume;
use cmr_geometry::{StudySource, View};
use cmr_metrics::SaLabels;
use cmr_phantom::{PhantomConfig, Subject};
use cmr_pretext::TransferStrategy;
use cmr_train::segment::{
    cardiac_function, reference_labels, segment_study, write_reports, write_study_outputs,
    SegmentationModel, StudyReport,
};
use cmr_train::{
    finetune, Dataset, DatasetOptions, FinetuneConfig, FrameSelection, LabelOverlayStyle,
    RecordingReporter, RunDir, TaskConfig, TrainError,
};

#[test]
fn volumes_of_the_ground_truth_labels_match_the_phantom_manifest() {
    // The phantom's manifest holds the analytic LV/RV volumes. Disc summation over its 10 mm
    // SA stack differs from them by the sampling of the moving base and the breath-hold
    // shifts between slices (cmr-phantom's tests/ground_truth.rs measured up to ~0.1 in EF for
    // single subjects, ~0.03 on average), so single subjects are checked loosely and the mean
    // tightly; the voxel volume and the LV volumes are checked exactly against a count on the
    // rendered labels.
    let config = PhantomConfig::small(4);
    let mut ef_errors = Vec::new();
    for index in 0..4 {
        let study = Subject::new(&config, 37, index).unwrap().render();
        let m = &study.manifest;
        let source = study.to_memory_source();
        let s = &source.studies()[0];
        let sa = reference_labels(&source, s, View::ShortAxis)
            .unwrap()
            .expect("the phantom labels every image");
        assert_eq!(sa.frames(), 4);
        let g = sa.stack_geometry().unwrap();
        let voxel = config.pixel_spacing_mm.powi(2) * config.sa_slice_spacing_mm / 1000.0;
        assert!(
            (g.voxel_ml().unwrap() - voxel).abs() < 1e-6 * voxel,
            "{g:?}"
        );
        let f = cardiac_function(sa.labels.view(), &g, &SaLabels::default()).unwrap();
        for (phase, v) in f.lv_volume_per_frame_ml.iter().enumerate() {
            let count: usize = study
                .short_axis()
                .map(|s| s.label(phase).iter().filter(|&&l| l == 1).count())
                .sum();
            assert!(
                (v - count as f64 * voxel).abs() < 1e-6 * v,
                "{v} vs {count} x {voxel}"
            );
        }
        assert_eq!(f.es_frame, m.es_phase, "subject {index}: {f:?}");
        let v = &m.volumes;
        let ef = f.measures.lv_ef_percent / 100.0;
        assert!(
            (f.measures.lv_edv_ml - v.lv_edv_ml).abs() / v.lv_edv_ml < 0.15,
            "subject {index}: EDV {:.1} vs {:.1}",
            f.measures.lv_edv_ml,
            v.lv_edv_ml
        );
        assert!(
            (ef - v.lv_ef).abs() < 0.1,
            "subject {index}: EF {ef:.3} vs {:.3}",
            v.lv_ef
        );
        assert!(
            (f.measures.lv_mass_g - v.lv_mass_g).abs() / v.lv_mass_g < 0.25,
            "subject {index}: LV mass {:.1} vs {:.1}",
            f.measures.lv_mass_g,
            v.lv_mass_g
        );
        ef_errors.push((ef - v.lv_ef).abs());
    }
    let mean = ef_errors.iter().sum::<f64>() / ef_errors.len() as f64;
    assert!(mean < 0.04, "mean |EF error| {mean:.3} ({ef_errors:?})");
}

#[test]
fn a_tiny_model_segments_a_study_into_volumes_in_its_geometry() {
    let source = support::cohort(2, 2, 41);
    let labelled = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::Labelled,
            ..DatasetOptions::default()
        },
    )
    .unwrap()
    .with_studies(&[0]);
    let dir = support::temp_dir("segment");
    let run = RunDir::fresh(dir.join("run"));
    let config = FinetuneConfig {
        strategy: TransferStrategy::Scratch,
        init: None,
        network: support::tiny_net(),
        task: TaskConfig::default(),
        train: support::tiny_train(6),
    };
    finetune(
        &config,
        &labelled,
        None,
        None,
        &run,
        &mut RecordingReporter::default(),
    )
    .unwrap();

    // A pretraining run or a missing folder is not a segmentation model.
    assert!(matches!(
        SegmentationModel::load(&dir.join("nowhere"), tch::Device::Cpu),
        Err(TrainError::Model { .. })
    ));
    let model = SegmentationModel::load(&run.path, tch::Device::Cpu).unwrap();
    assert_eq!(model.preprocess(), &config.train.preprocess);
    assert!(model.label_set(View::ShortAxis).is_some());
    assert!(model.label_set(View::ThreeChamber).is_none());

    let seg = segment_study(&model, &source, 1, 8).unwrap();
    let study = &source.studies()[1];
    let views: Vec<View> = seg.views.iter().map(|v| v.view).collect();
    assert_eq!(
        views,
        [View::ShortAxis, View::TwoChamber, View::FourChamber],
        "3Ch has no head"
    );
    for v in &seg.views {
        let series = study.view(v.view).unwrap();
        assert_eq!(
            v.labels.dim(),
            (
                2,
                series.slices.len(),
                series.slices[0].plane.rows(),
                series.slices[0].plane.cols()
            )
        );
        let max = model.label_set(v.view).unwrap().max_label();
        assert!(v.labels.iter().all(|&l| l <= max));
    }
    let references: Vec<_> = [View::ShortAxis, View::TwoChamber, View::FourChamber]
        .into_iter()
        .filter_map(|v| reference_labels(&source, study, v).unwrap())
        .collect();
    let mut report = StudyReport::new(
        "s1",
        &seg,
        &SaLabels::default(),
        references.iter().find(|r| r.view == View::ShortAxis),
    );
    let out = dir.join("out");
    let written = write_study_outputs(
        &out,
        &source,
        study,
        &seg,
        &references,
        &mut report,
        LabelOverlayStyle::default(),
    )
    .unwrap();
    assert_eq!((written.labels.len(), written.overlays.len()), (3, 3));
    write_reports(&out, std::slice::from_ref(&report), serde_json::json!({})).unwrap();

    // The NIfTI volumes hold the predicted labels in the study's planes.
    for (path, v) in written.labels.iter().zip(&seg.views) {
        let (geometry, data) = read_volume(path).unwrap();
        assert_eq!(data.mapv(|x| x as u8), v.labels, "{}", path.display());
        let planes = geometry.planes().unwrap();
        let series = study.view(v.view).unwrap();
        assert_eq!(planes.len(), series.slices.len());
        for (p, s) in planes.iter().zip(&series.slices) {
            let q = &s.plane;
            assert!(
                (p.origin() - q.origin()).norm() < 1e-3,
                "{}",
                path.display()
            );
            assert!((p.row_dir() - q.row_dir()).norm() < 1e-5);
            assert!((p.col_dir() - q.col_dir()).norm() < 1e-5);
            assert!((p.spacing().between_rows - q.spacing().between_rows).abs() < 1e-5);
            assert_eq!((p.rows(), p.cols()), (q.rows(), q.cols()));
        }
    }
    for png in &written.overlays {
        assert!(std::fs::metadata(png).unwrap().len() > 100);
    }
    // The report parses back and its reference volumes are those of the study's labels.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let back: Vec<StudyReport> = serde_json::from_value(json["studies"].clone()).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].views[0].labels.as_deref(),
        Some(std::path::Path::new("labels/s1_sa.nii.gz"))
    );
    let reference = back[0].reference.as_ref().expect("the phantom has labels");
    assert!(reference.measures.lv_edv_ml > 20.0, "{reference:?}");
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), row.len());
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    let ref_edv: f64 = col("ref_lv_edv_ml").parse().unwrap();
    assert!((ref_edv - reference.measures.lv_edv_ml).abs() < 0.01);
    let _ = std::fs::remove_dir_all(&dir);
}

//! The data pipeline on phantom studies: LV-centred crops, positions and labels in agreement,
//! cache round trips, and loader determinism.

mod support;

use std::sync::Arc;

use cmr_geometry::View;
use cmr_pretext::{PositionTask, PretextTarget, PretextTask};
use cmr_train::{
    centre_crop, prepare, AugmentConfig, BatchPlanner, BatchSource, CacheMode, Dataset,
    DatasetOptions, FrameSelection, LoaderConfig, Prefetcher, PreprocessConfig, SampleStore,
    StreamPlan, TrainingSample,
};

#[test]
fn crops_are_centred_on_the_lv_and_positions_sit_on_the_anatomy() {
    let source = support::cohort(1, 2, 21);
    let data = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::EdEs,
            ..DatasetOptions::default()
        },
    )
    .unwrap();
    let config = PreprocessConfig::default();
    let task = PositionTask::default();
    let sa: Vec<_> = data
        .items()
        .iter()
        .filter(|i| i.view == View::ShortAxis && i.frame == 0)
        .copied()
        .collect();
    let mid = sa[sa.len() / 2];
    let s = prepare(&data, &mid, &config, Some(&task)).unwrap();
    assert!(s.centred_on_lv);
    let seg = s.segmentation.as_ref().unwrap();
    let n = seg.nrows();
    // The region centre lies in the LV blood pool (label 1).
    assert_eq!(
        seg[[n / 2, n / 2]],
        1,
        "region centre is not in the LV blood pool"
    );
    // The centre position tile (label 1) is mostly blood pool; the first ring along the
    // 4Ch line toward the RV (label 2) mostly myocardium or RV.
    let Some(PretextTarget::Classes { labels, .. }) = &s.pretext else {
        panic!("no position target on a mid SA slice")
    };
    let share = |pos: u8, anatomy: &[u8]| {
        let (mut hit, mut all) = (0usize, 0usize);
        for (p, l) in labels.iter().zip(seg.iter()) {
            if *p == pos {
                all += 1;
                hit += usize::from(anatomy.contains(l));
            }
        }
        hit as f64 / all.max(1) as f64
    };
    assert!(
        share(1, &[1]) > 0.8,
        "centre tile in blood pool: {}",
        share(1, &[1])
    );
    // RV blood pool appears in the tiles toward the RV (2, 3), not in the lateral (4, 5),
    // inferior (6, 7) or anterior (8, 9) ones: the anatomical signs are right.
    let rv_side = share(2, &[3]).max(share(3, &[3]));
    assert!(rv_side > 0.2, "RV in RV-side tiles: {rv_side}");
    for pos in 4..=9 {
        assert!(
            share(pos, &[3]) < 0.05,
            "RV in tile {pos}: {}",
            share(pos, &[3])
        );
    }
    // Every position is on the crop.
    let crop = centre_crop(&s, config.crop);
    let Some(PretextTarget::Classes { labels, .. }) = &crop.pretext else {
        panic!()
    };
    assert!((1..=9).all(|k| labels.iter().any(|&v| v == k)));

    // 4Ch: both atria fall inside the 96 x 96 crop of 2 mm (area within 10 %).
    let four = data
        .items()
        .iter()
        .find(|i| i.view == View::FourChamber && i.frame == 0)
        .unwrap();
    let s = prepare(&data, four, &config, Some(&task)).unwrap();
    let crop = centre_crop(&s, config.crop);
    let original = source_label(&data, four);
    let sp = s.original.spacing();
    for atrium in [1u8, 2] {
        let in_crop = crop
            .segmentation
            .as_ref()
            .unwrap()
            .iter()
            .filter(|&&v| v == atrium)
            .count() as f64
            * 4.0;
        let truth = original.iter().filter(|&&v| v == atrium).count() as f64
            * sp.between_rows
            * sp.between_cols;
        assert!(truth > 200.0, "atrium {atrium} too small: {truth} mm2");
        assert!(
            (in_crop / truth - 1.0).abs() < 0.1,
            "atrium {atrium}: {in_crop} mm2 in the crop of {truth} mm2"
        );
    }
}

#[test]
fn labels_survive_the_round_trip_to_the_crop_and_back() {
    // What evaluation does to predictions (crop grid -> original grid), applied to the
    // resampled truth itself: the structures come back nearly unchanged.
    let source = support::cohort(1, 2, 24);
    let data = Dataset::new(&source, &DatasetOptions::default()).unwrap();
    let config = PreprocessConfig::default();
    for view in [View::ShortAxis, View::FourChamber] {
        let items: Vec<_> = data
            .items()
            .iter()
            .filter(|i| i.view == view && i.frame == 0)
            .copied()
            .collect();
        let item = items[items.len() / 2];
        let s = prepare(&data, &item, &config, None).unwrap();
        let crop = centre_crop(&s, config.crop);
        let classes = if view == View::ShortAxis { 4 } else { 3 };
        let back =
            cmr_train::crop_labels_to_original(&s, crop.segmentation.as_ref().unwrap(), classes)
                .unwrap();
        let truth = source_label(&data, &item);
        assert_eq!(back.dim(), truth.dim());
        for label in 1..classes as u8 {
            let (p, t) = (back.mapv(|v| v == label), truth.mapv(|v| v == label));
            if !t.iter().any(|&v| v) {
                continue;
            }
            let d = cmr_metrics::dice(&p, &t).unwrap();
            assert!(
                d > 0.85,
                "{view} label {label}: Dice {d:.3} after the round trip"
            );
        }
    }
}

fn source_label(data: &Dataset<'_>, item: &cmr_train::ImageItem) -> ndarray::Array2<u8> {
    let f = data.frame(item).unwrap();
    data.source().load_label(f.label.as_ref().unwrap()).unwrap()
}

#[test]
fn disk_cache_round_trips_and_is_reused() {
    let source = support::cohort(1, 2, 22);
    let data = Dataset::new(&source, &DatasetOptions::default()).unwrap();
    let data = data.filter(|i| i.frame == 0 && i.slice < 2);
    let dir = support::temp_dir("disk-cache");
    let task: Arc<dyn PretextTask> = Arc::new(PositionTask::default());
    let config = PreprocessConfig {
        crop: 32,
        spacing_mm: 4.0,
        ..PreprocessConfig::default()
    };
    let memory = SampleStore::new(
        data.clone(),
        config.clone(),
        Some(task.clone()),
        CacheMode::Memory,
    )
    .unwrap();
    let disk = SampleStore::new(
        data.clone(),
        config.clone(),
        Some(task.clone()),
        CacheMode::Disk(dir.clone()),
    )
    .unwrap();
    for i in 0..data.len() {
        assert_eq!(*disk.get(i).unwrap(), *memory.get(i).unwrap());
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, data.len());
    // A second store reads the files (same result) and writes nothing new.
    let again = SampleStore::new(
        data.clone(),
        config.clone(),
        Some(task),
        CacheMode::Disk(dir.clone()),
    )
    .unwrap();
    for i in 0..data.len() {
        assert_eq!(*again.get(i).unwrap(), *memory.get(i).unwrap());
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), files);
    // Another preprocessing gets other files.
    let other = SampleStore::new(
        data.clone(),
        PreprocessConfig { crop: 40, ..config },
        None,
        CacheMode::Disk(dir.clone()),
    )
    .unwrap();
    other.get(0).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), files + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batches_do_not_depend_on_worker_count_or_where_a_run_starts() {
    let source = support::cohort(1, 2, 23);
    let data = Dataset::new(&source, &DatasetOptions::default())
        .unwrap()
        .filter(|i| i.frame == 0);
    let task: Arc<dyn PretextTask> = Arc::new(PositionTask::default());
    let store = SampleStore::new(
        data,
        PreprocessConfig {
            crop: 24,
            spacing_mm: 5.0,
            ..PreprocessConfig::default()
        },
        Some(task),
        CacheMode::Memory,
    )
    .unwrap();
    let source = BatchSource {
        planner: BatchPlanner::new(
            5,
            vec![StreamPlan {
                len: store.len(),
                per_batch: 3,
                id: 0,
            }],
        ),
        stores: vec![&store],
        augment: AugmentConfig::default(),
        crop: 24,
    };
    let produce = |s: u64| source.produce(s);
    let collect = |workers: usize, range: std::ops::Range<u64>| -> Vec<Vec<TrainingSample>> {
        std::thread::scope(|scope| {
            let mut pf = Prefetcher::spawn(
                scope,
                &produce,
                range,
                LoaderConfig {
                    workers,
                    prefetch: 2,
                },
            );
            let mut out = Vec::new();
            while let Some(b) = pf.next_batch() {
                out.push(b.unwrap());
            }
            out
        })
    };
    let one = collect(1, 0..8);
    let three = collect(3, 0..8);
    assert_eq!(one, three);
    assert_eq!(collect(2, 5..8), one[5..8].to_vec());
    // Augmentation really varies between steps.
    assert_ne!(one[0][0].image, one[1][0].image);
}

//! DICOM header scan (files/s) and pixel decode (MB/s), one thread and all threads, on a
//! generated folder of 2,000 scanner-like MR files (4 subjects x 10 SA slices x 50 cine
//! phases, 208 x 176 pixels, uncompressed, with Siemens-like private CSA blobs in group
//! 0x0029, as UK Biobank files have).
//!
//! Run: `cargo bench --bench dicom_scan`, or `cargo xtask bench-scan` to also time pydicom on
//! the same folder (`benches/peers/pydicom_scan.py`) and print the ratio.
//!
//! The folder is written once to `target/bench-data/dicom-scan-2000/` and reused.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use cmr_ssl::geometry::dicom::{load_frame, scan, MrImage};
use cmr_ssl::geometry::{ImagePlane, Vec3};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::FileMetaTableBuilder;
use ndarray::Array2;

const SUBJECTS: usize = 4;
const SLICES: usize = 10;
const PHASES: usize = 50;
const ROWS: usize = 208;
const COLS: usize = 176;
/// Files decoded per decode iteration.
const DECODE_FILES: usize = 200;

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data").join("dicom-scan-2000")
}

/// Writes the folder unless a complete one is there (marked by `complete`).
fn ensure_folder() -> PathBuf {
    let dir = data_dir();
    if dir.join("complete").is_file() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let base = ImagePlane::from_dicom(
        [-93.5, -121.3, 118.4],
        [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
        [1.8269, 1.8269],
        ROWS,
        COLS,
    )
    .expect("valid plane");
    // Deterministic "image-like" pixels: a smooth blob plus texture.
    let pixels = Array2::from_shape_fn((ROWS, COLS), |(r, c)| {
        let (dr, dc) = (r as f64 - 104.0, c as f64 - 88.0);
        (800.0 * (-(dr * dr + dc * dc) / 2000.0).exp() + ((r * 7 + c * 13) % 97) as f64) as u16
    });
    let csa_image = vec![0x43u8; 9_000];
    let csa_series = vec![0x53u8; 64_000];
    let mut n = 0usize;
    for s in 0..SUBJECTS {
        let sub = dir.join(format!("subject{s}"));
        std::fs::create_dir_all(&sub).expect("create bench folder");
        let study = format!("1.2.826.0.1.3680043.9.7.{s}");
        for k in 0..SLICES {
            let plane = ImagePlane::new(
                base.origin() + base.normal() * (10.0 * k as f64) + Vec3::new(s as f64, 0.0, 0.0),
                base.row_dir(),
                base.col_dir(),
                base.spacing(),
                ROWS,
                COLS,
            )
            .expect("valid plane");
            let series = format!("{study}.{}", k + 1);
            for t in 0..PHASES {
                n += 1;
                let image = MrImage {
                    study_uid: study.clone(),
                    series_uid: series.clone(),
                    sop_instance_uid: format!("{series}.{}", t + 1),
                    series_number: k as i64 + 10,
                    series_description: format!("CINE_segmented_SAX_b{}", k + 1),
                    patient_id: format!("BENCH{s}"),
                    instance_number: t as i64 + 1,
                    trigger_time_ms: Some(t as f64 * 19.6),
                    plane,
                    rescale: None,
                };
                let mut obj = image.to_dataset(&pixels).expect("dataset");
                // What a scanner adds: identification, acquisition and private elements.
                for (tag, vr, v) in [
                    (tags::STUDY_DATE, VR::DA, "20150301"),
                    (tags::SERIES_DATE, VR::DA, "20150301"),
                    (tags::STUDY_TIME, VR::TM, "101500.000000"),
                    (tags::MANUFACTURER, VR::LO, "SIEMENS"),
                    (tags::INSTITUTION_NAME, VR::LO, "Imaging Centre"),
                    (tags::MANUFACTURER_MODEL_NAME, VR::LO, "Aera"),
                    (tags::PATIENT_NAME, VR::PN, "Bench^Subject"),
                    (tags::PATIENT_BIRTH_DATE, VR::DA, "19600101"),
                    (tags::PATIENT_SEX, VR::CS, "F"),
                    (tags::BODY_PART_EXAMINED, VR::CS, "HEART"),
                    (tags::SCANNING_SEQUENCE, VR::CS, "GR"),
                    (tags::SEQUENCE_VARIANT, VR::CS, "SK\\SS"),
                    (tags::MR_ACQUISITION_TYPE, VR::CS, "2D"),
                    (tags::SLICE_THICKNESS, VR::DS, "8"),
                    (tags::REPETITION_TIME, VR::DS, "2.7"),
                    (tags::ECHO_TIME, VR::DS, "1.1"),
                    (tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5"),
                    (tags::PROTOCOL_NAME, VR::LO, "CINE_segmented_SAX"),
                    (tags::FLIP_ANGLE, VR::DS, "80"),
                    (tags::SLICE_LOCATION, VR::DS, "12.5"),
                    (tags::WINDOW_CENTER, VR::DS, "400"),
                    (tags::WINDOW_WIDTH, VR::DS, "900"),
                ] {
                    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
                }
                obj.put(DataElement::new(
                    Tag(0x0029, 0x0010),
                    VR::LO,
                    PrimitiveValue::from("SIEMENS CSA HEADER"),
                ));
                obj.put(DataElement::new(
                    Tag(0x0029, 0x1010),
                    VR::OB,
                    PrimitiveValue::from(csa_image.clone()),
                ));
                obj.put(DataElement::new(
                    Tag(0x0029, 0x1020),
                    VR::OB,
                    PrimitiveValue::from(csa_series.clone()),
                ));
                obj.with_meta(
                    FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN),
                )
                .expect("meta")
                .write_to_file(sub.join(format!("{n:06}.dcm")))
                .expect("write bench file");
            }
        }
    }
    std::fs::write(dir.join("complete"), format!("{n} files\n")).expect("marker");
    dir
}

fn dicom_files(dir: &Path) -> Vec<PathBuf> {
    scan::list_files(dir)
        .expect("list")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = ensure_folder();
    let files = dicom_files(&dir);
    assert_eq!(files.len(), SUBJECTS * SLICES * PHASES);
    let threads = rayon::current_num_threads();

    let mut group = c.benchmark_group("dicom_scan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(files.len() as u64));
    for (name, t) in [("headers_1_thread", Some(1)), ("headers_all_threads", None)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let scan = scan::read_headers(black_box(&files), t).expect("scan");
                assert_eq!(scan.headers.len(), files.len());
                scan
            })
        });
    }
    group.finish();

    // Decode throughput in MB of stored pixel data (2 bytes per pixel) per second.
    let subset: Vec<PathBuf> = files
        .iter()
        .step_by(files.len() / DECODE_FILES)
        .cloned()
        .collect();
    let mut group = c.benchmark_group("dicom_decode");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((subset.len() * ROWS * COLS * 2) as u64));
    group.bench_function("frames_1_thread", |b| {
        b.iter(|| {
            subset
                .iter()
                .map(|p| load_frame(p, 0).expect("decode").sum())
                .sum::<f32>()
        })
    });
    group.bench_function("frames_all_threads", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            subset
                .par_iter()
                .map(|p| load_frame(p, 0).expect("decode").sum())
                .sum::<f32>()
        })
    });
    group.finish();
    eprintln!(
        "dicom_scan: {} files in {} ({threads} threads available)",
        files.len(),
        dir.display()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Every file shipped in the `pydicom==3.0.2` wheel's test data (installed by
//! `cargo xtask setup`, found through `$CMR_SSL_PYDICOM_TEST_FILES`): each one's header is read
//! and its first frame decoded; each either loads or gives a typed outcome, none panics.
//!
//! Reference values come from independent readers: pydicom 3.0.2 for uncompressed data and
//! SimpleITK 2.5 (GDCM) for compressed data, both run on these files when this test was
//! written.
//!
//! When the folder is missing the tests print why and pass, unless `CMR_SSL_REQUIRE_CORPUS=1`
//! (set by `cargo xtask test` and `cargo xtask ci`), where they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use approx::assert_abs_diff_eq;
use cmr_geometry::dicom::{load_frame, read_image_headers, scan::list_files};
use cmr_geometry::{DicomFolder, GeometryError, SkipReason, StudySource, Vec3};
use ndarray::Array2;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("CMR_SSL_PYDICOM_TEST_FILES").map(PathBuf::from);
    match dir {
        Some(d) if d.join("MR_small.dcm").is_file() => Some(d),
        other => {
            let msg = format!(
                "pydicom test files not found (CMR_SSL_PYDICOM_TEST_FILES = {other:?}); run \
                 `cargo xtask setup` to install them"
            );
            if std::env::var("CMR_SSL_REQUIRE_CORPUS").as_deref() == Ok("1") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

fn sum(a: &Array2<f32>) -> f64 {
    a.iter().map(|v| f64::from(*v)).sum()
}

/// A short description of an error's kind, for the summary table.
fn kind(e: &GeometryError) -> String {
    match e {
        GeometryError::UnsupportedTransferSyntax { name, .. } => {
            format!("unsupported syntax: {name}")
        }
        GeometryError::UnsupportedImage { reason, .. } => format!("unsupported image: {reason}"),
        GeometryError::PixelDecode { message, .. } => {
            format!(
                "decode error: {}",
                message.chars().take(70).collect::<String>()
            )
        }
        GeometryError::DicomRead { .. } => "not readable as DICOM".into(),
        other => format!("{other}"),
    }
}

#[test]
fn every_corpus_file_loads_or_gives_a_typed_outcome() {
    let Some(dir) = corpus() else { return };
    let files = list_files(&dir).unwrap();
    assert!(files.len() > 80, "{} files", files.len());
    let mut loaded = 0;
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut lines = Vec::new();
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let header = match read_image_headers(path) {
            Ok(h) => format!("MR image, {} frame(s)", h.len()),
            Err(reason) => format!("skipped ({reason})"),
        };
        // Decode every file's first frame, MR or not: the decoder must cope with all of them.
        let pixels = match load_frame(path, 0) {
            Ok(img) => {
                loaded += 1;
                format!("decoded {:?}", img.dim())
            }
            Err(e) => {
                let syntax = transfer_syntax_name(path);
                failures
                    .entry(syntax)
                    .or_default()
                    .push(format!("{name}: {}", kind(&e)));
                kind(&e)
            }
        };
        lines.push(format!("{name:55} | {header:60} | {pixels}"));
    }
    println!("{}", lines.join("\n"));
    println!(
        "\n{loaded} of {} files decoded; failures by transfer syntax:",
        files.len()
    );
    for (syntax, list) in &failures {
        println!("  {syntax}: {} file(s)", list.len());
        for l in list {
            println!("    {l}");
        }
    }
    // Every monochrome MR/CT/NM/OT image in a supported syntax decodes: at least these.
    assert!(loaded >= 45, "only {loaded} files decoded");
}

/// The transfer syntax of a file, by name, read with this crate's registry.
fn transfer_syntax_name(path: &Path) -> String {
    use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
    match dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::SOP_CLASS_UID)
        .open_file(path)
    {
        Ok(obj) => {
            let uid = obj
                .meta()
                .transfer_syntax
                .trim_end_matches('\0')
                .to_string();
            TransferSyntaxRegistry
                .get(&uid)
                .map_or(uid.clone(), |ts| ts.name().to_string())
        }
        Err(_) => "(no file meta)".into(),
    }
}

#[test]
fn mr_small_and_its_compressed_variants_decode_to_the_same_pixels() {
    let Some(dir) = corpus() else { return };
    let reference = load_frame(&dir.join("MR_small.dcm"), 0).unwrap();
    // pydicom 3.0.2: 64x64 int16, sum 2125338, [0,0] 905, [10,20] 316, [63,63] 862, no rescale.
    assert_eq!(reference.dim(), (64, 64));
    assert_eq!(sum(&reference), 2_125_338.0);
    assert_eq!(
        [reference[[0, 0]], reference[[10, 20]], reference[[63, 63]]],
        [905.0, 316.0, 862.0]
    );
    for variant in [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_implicit.dcm",
        "MR_small_padded.dcm",
    ] {
        let img = load_frame(&dir.join(variant), 0).unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert_eq!(img, reference, "{variant}");
    }
    match load_frame(&dir.join("MR_small_jpeg_ls_lossless.dcm"), 0) {
        Err(GeometryError::UnsupportedTransferSyntax { uid, name, .. }) => {
            assert_eq!(uid, "1.2.840.10008.1.2.4.80");
            assert!(name.contains("JPEG-LS"), "{name}");
        }
        other => panic!("expected UnsupportedTransferSyntax, got {other:?}"),
    }
    assert!(load_frame(&dir.join("MR_truncated.dcm"), 0).is_err());
    // Geometry as pydicom reads it: IPP (-83.9063, -91.2, 6.6406), axial, 0.3125 mm.
    let h = &read_image_headers(&dir.join("MR_small.dcm")).unwrap()[0];
    assert_abs_diff_eq!(
        (h.plane.origin() - Vec3::new(-83.9063, -91.2, 6.6406)).norm(),
        0.0,
        epsilon = 1e-9
    );
    assert_eq!(h.plane.normal(), Vec3::new(0.0, 0.0, 1.0));
    assert_eq!(h.plane.spacing().between_rows, 0.3125);
    for variant in [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
    ] {
        assert_eq!(
            read_image_headers(&dir.join(variant)).unwrap()[0].plane,
            h.plane,
            "{variant}"
        );
    }
}

#[test]
fn other_codecs_match_independent_decoders() {
    let Some(dir) = corpus() else { return };
    // SimpleITK (GDCM) sums, rescale applied.
    for (file, dim, expected) in [
        ("image_dfl.dcm", (512, 512), 33_322_688.0), // deflated explicit VR LE
        ("JPEG2000.dcm", (1024, 256), 3_527_976.0),  // JPEG 2000
        ("693_J2KI.dcm", (512, 512), -270_617_240.0), // JPEG 2000, CT rescale -1024
        ("SC_rgb_rle_16bit.dcm", (0, 0), f64::NAN),  // colour: refused, typed
    ] {
        let got = load_frame(&dir.join(file), 0);
        if expected.is_nan() {
            assert!(
                matches!(got, Err(GeometryError::UnsupportedImage { .. })),
                "{file}: {got:?}"
            );
            continue;
        }
        let img = got.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(img.dim(), dim, "{file}");
        assert_eq!(sum(&img), expected, "{file}");
    }
    // 12-bit JPEG extended (lossy): GDCM's sum is 3767007. A different IDCT may round a few
    // pixels differently, so agree within 0.1 %, or refuse with a typed decode error.
    match load_frame(&dir.join("JPEG-lossy.dcm"), 0) {
        Ok(img) => assert!(
            (sum(&img) - 3_767_007.0).abs() < 3_767.0,
            "sum {}",
            sum(&img)
        ),
        Err(e) => assert!(matches!(e, GeometryError::PixelDecode { .. }), "{e}"),
    }
}

#[test]
fn scanning_the_whole_corpus_finds_its_mr_series_and_skips_the_rest() {
    let Some(dir) = corpus() else { return };
    let folder = DicomFolder::open(&dir).unwrap();
    let reasons = |pred: &dyn Fn(&SkipReason) -> bool| {
        folder
            .report()
            .iter()
            .filter(|r| r.skip_reason().is_some_and(pred))
            .count()
    };
    assert!(reasons(&|r| matches!(r, SkipReason::Dicomdir)) >= 7);
    assert!(reasons(&|r| matches!(r, SkipReason::NotMr { .. })) >= 10);
    assert!(reasons(&|r| matches!(r, SkipReason::NotDicom)) >= 2);
    // The dicomdirtests MR studies are found (pydicom lists MR1, MR2 and MR700 series).
    let mr_images: usize = folder.studies().iter().map(|s| s.frame_count()).sum();
    assert!(mr_images >= 12, "{mr_images} MR images");
    // MR_small.dcm and its seven re-encodings (RLE, big endian, implicit VR, JPEG 2000,
    // JPEG-LS, ...) are one image (one SOPInstanceUID): used once, the copies reported.
    let copies: Vec<String> = folder
        .report()
        .iter()
        .filter(|r| {
            matches!(r.skip_reason(), Some(SkipReason::Duplicate { of, .. })
                if of.ends_with("MR_small.dcm"))
        })
        .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(copies.len(), 7, "{copies:?}");
    assert!(copies.iter().all(|c| c.starts_with("MR_small_")));
    // MR_truncated (pixel data cut short) is refused while scanning, before any parsing:
    // its PixelData element claims more bytes than the file has left.
    let truncated = folder
        .report()
        .iter()
        .find(|r| r.path.ends_with("MR_truncated.dcm"))
        .unwrap();
    assert!(
        matches!(truncated.skip_reason(), Some(SkipReason::Corrupt { detail })
            if detail.contains("(7FE0,0010)") && detail.contains("remain")),
        "{truncated:?}"
    );
    // Every image of every study decodes (MR_small's JPEG-LS copy, unsupported, is a
    // duplicate and not used).
    let mut refused = Vec::new();
    for study in folder.studies() {
        println!(
            "study {} ({:?}): {} series",
            study.uid,
            study.patient_id,
            study.series.len()
        );
        for s in &study.series {
            println!(
                "  {} {:?}: {} slice(s), {:?}",
                s.view,
                s.description,
                s.slices.len(),
                s.notes
            );
            for (_, f) in s.frames() {
                match folder.load_image(&f.image) {
                    Ok(_) => {}
                    Err(
                        GeometryError::UnsupportedTransferSyntax { path, .. }
                        | GeometryError::DicomRead { path, .. },
                    ) => refused.push(path.file_name().unwrap().to_string_lossy().into_owned()),
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
    refused.sort();
    assert!(refused.is_empty(), "{refused:?}");
}

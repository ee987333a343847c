//! Writes the seed corpora of the fuzz targets into `<out>/<target>/`:
//!
//! * `dicom_header`, `dicom_pixels`: one image of each series of a small phantom study (real
//!   scanner-like DICOM from cmr-phantom), and small hand-built MR images (with and without
//!   rescale, odd sizes);
//! * `nifti_read`: the phantom's UK Biobank-style `.nii.gz` files and small uncompressed
//!   volumes of several voxel types;
//! * `position_labels`: the plane parameters of an analytic heart's SA, 2Ch, 3Ch and 4Ch
//!   planes, encoded as the target reads them.
//!
//! The pydicom test files are added by `cargo xtask fuzz`, which runs this.

use std::path::{Path, PathBuf};

use cmr_geometry::dicom::{write_mr_image, MrImage};
use cmr_geometry::nifti_file::{write_volume, NiftiWriteOptions};
use cmr_geometry::positions::example_heart;
use cmr_geometry::ImagePlane;
use cmr_phantom::{write_study, OutputFormats, PhantomConfig, Subject};
use ndarray::{Array2, Array4};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: seeds OUT_DIR")?);
    let dicom = out.join("dicom_header");
    let nifti = out.join("nifti_read");
    let positions = out.join("position_labels");
    for d in [&dicom, &nifti, &positions, &out.join("dicom_pixels")] {
        std::fs::create_dir_all(d)?;
    }
    phantom(&out, &dicom, &nifti)?;
    small_dicom(&dicom)?;
    small_nifti(&nifti)?;
    plane_seeds(&positions)?;
    // The pixel target reads the same files.
    for e in std::fs::read_dir(&dicom)? {
        let e = e?;
        std::fs::copy(e.path(), out.join("dicom_pixels").join(e.file_name()))?;
    }
    let count = |d: &Path| std::fs::read_dir(d).map(|r| r.count()).unwrap_or(0);
    println!(
        "seeds: dicom {}, nifti {}, positions {}",
        count(&dicom),
        count(&nifti),
        count(&positions)
    );
    Ok(())
}

/// The first image of each series of a 3-slice, 2-phase phantom, and its NIfTI files.
fn phantom(out: &Path, dicom: &Path, nifti: &Path) -> Result<()> {
    let config = PhantomConfig {
        sa_slice_range: [3, 3],
        ..PhantomConfig::small(2)
    };
    let study = Subject::new(&config, 11, 0)?.render();
    let dir = out.join("phantom-study");
    let _ = std::fs::remove_dir_all(&dir);
    let written = write_study(&study, &dir, OutputFormats::default())?;
    let mut series_dirs: Vec<PathBuf> = std::fs::read_dir(dir.join("dicom"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    series_dirs.sort();
    for (i, s) in series_dirs.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(s)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        if let Some(f) = files.first() {
            std::fs::copy(f, dicom.join(format!("phantom-{i:02}.dcm")))?;
        }
    }
    for f in &written.nifti_files {
        let name = f.file_name().ok_or("nifti file name")?;
        std::fs::copy(f, nifti.join(format!("phantom-{}", name.to_string_lossy())))?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn small_dicom(dicom: &Path) -> Result<()> {
    let cases: [(usize, usize, Option<(f64, f64)>, [f64; 6]); 3] = [
        (4, 4, None, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        (3, 5, Some((2.0, -100.0)), [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
        (1, 7, Some((0.5, 3.0)), [0.6, 0.8, 0.0, 0.0, 0.0, -1.0]),
    ];
    for (i, (rows, cols, rescale, iop)) in cases.into_iter().enumerate() {
        let plane = ImagePlane::from_dicom([-10.5, 20.0, 3.25], iop, [1.25, 0.75], rows, cols)?;
        let image = MrImage {
            study_uid: "1.2.3".into(),
            series_uid: format!("1.2.3.{i}"),
            sop_instance_uid: format!("1.2.3.{i}.1"),
            series_number: i as i64 + 1,
            series_description: ["cine_sa", "CINE_segmented_LAX_4Ch", "2ch"][i].into(),
            patient_id: "P1".into(),
            instance_number: 1,
            trigger_time_ms: Some(12.5),
            plane,
            rescale,
        };
        let pixels = Array2::from_shape_fn((rows, cols), |(r, c)| (r * 31 + c * 7) as u16);
        write_mr_image(&dicom.join(format!("small-{i}.dcm")), &image, &pixels)?;
    }
    Ok(())
}

fn small_nifti(nifti: &Path) -> Result<()> {
    let planes: Vec<ImagePlane> = (0..2)
        .map(|k| {
            ImagePlane::from_dicom(
                [1.0, 2.0, 8.0 * k as f64],
                [0.6, 0.8, 0.0, 0.0, 0.0, -1.0],
                [1.5, 1.25],
                3,
                4,
            )
        })
        .collect::<std::result::Result<_, _>>()?;
    let f = Array4::from_shape_fn((2, 2, 3, 4), |(t, s, r, c)| (t + 2 * s + 3 * r + c) as f32);
    let opts = NiftiWriteOptions {
        frame_interval_ms: Some(40.0),
        description: "frame 1".into(),
        ..NiftiWriteOptions::default()
    };
    write_volume(&nifti.join("small-f32.nii"), &planes, f.view(), &opts)?;
    write_volume(
        &nifti.join("small-u8.nii"),
        &planes,
        f.mapv(|v| v as u8).view(),
        &opts,
    )?;
    write_volume(
        &nifti.join("small-i16.nii"),
        &planes,
        f.mapv(|v| v as i16).view(),
        &opts,
    )?;
    write_volume(&nifti.join("small-f32.nii.gz"), &planes, f.view(), &opts)?;
    Ok(())
}

fn push_plane(bytes: &mut Vec<u8>, p: &ImagePlane) {
    let (o, r, c, s) = (p.origin(), p.row_dir(), p.col_dir(), p.spacing());
    for v in [
        o.x,
        o.y,
        o.z,
        r.x,
        r.y,
        r.z,
        c.x,
        c.y,
        c.z,
        s.between_rows,
        s.between_cols,
    ] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.push((p.rows() - 1).min(95) as u8);
    bytes.push((p.cols() - 1).min(95) as u8);
}

/// Target, then 2Ch, 4Ch, 3Ch, then SA planes, as `position_labels` decodes them.
fn plane_seeds(dir: &Path) -> Result<()> {
    let h = example_heart(64, 4.5);
    let (two, four, three) = (
        h.two_chamber.ok_or("2Ch")?,
        h.four_chamber.ok_or("4Ch")?,
        h.three_chamber.ok_or("3Ch")?,
    );
    let sa = &h.short_axis;
    // flags: bit 0 2Ch, bit 1 4Ch, bit 2 3Ch; bits 4-5 the target's view (SA, 2Ch, 3Ch, 4Ch).
    let cases = [
        (0b0000_0111u8, sa[sa.len() / 2]),
        (0b0000_0011, sa[1]),
        (0b0011_0111, four),
        (0b0001_0111, two),
        (0b0010_0111, three),
    ];
    for (i, (flags, target)) in cases.into_iter().enumerate() {
        let mut b = vec![flags];
        push_plane(&mut b, &target);
        push_plane(&mut b, &two);
        push_plane(&mut b, &four);
        if flags & 4 != 0 {
            push_plane(&mut b, &three);
        }
        for p in sa.iter().step_by(2) {
            push_plane(&mut b, p);
        }
        std::fs::write(dir.join(format!("heart-{i}")), b)?;
    }
    Ok(())
}

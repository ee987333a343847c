//! Point at a folder of cardiac MR studies (DICOM in any layout, or UK Biobank-style NIfTI)
//! and print what was found: studies, views, stacks, frames, skipped files, dropped series,
//! and where the long-axis planes cut the middle short-axis slice.
//!
//! Run: `cargo run --example scan_study -- <folder> [--nifti-out DIR]`
//!
//! Without a folder it writes a small UK Biobank-like DICOM study (one series per SA slice,
//! 2Ch/3Ch/4Ch, 8 phases) to `target/examples-data/scan_study/` and scans that.
//! `--nifti-out DIR` also writes each study in the UK Biobank NIfTI layout under `DIR/<n>/`.

use std::path::{Path, PathBuf};

use cmr_ssl::geometry::dicom::{write_mr_image, MrImage};
use cmr_ssl::geometry::{
    write_ukbb_study, DicomFolder, GeometryError, ImagePlane, NiftiFolder, PixelSpacing,
    StudySource, UkbbWriteOptions, View,
};
use ndarray::Array2;

fn main() -> Result<(), GeometryError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nifti_out = args
        .iter()
        .position(|a| a == "--nifti-out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let folder = match args.first().filter(|a| !a.starts_with("--")) {
        Some(f) => PathBuf::from(f),
        None => write_demo_folder()?,
    };

    let start = std::time::Instant::now();
    let dicom = DicomFolder::open(&folder)?;
    let source: Box<dyn StudySource> = if dicom.studies().is_empty() {
        let nifti = NiftiFolder::open(&folder)?;
        println!("{}: no DICOM studies; read as NIfTI", folder.display());
        print_report(nifti.report().iter().map(|r| (&r.path, r.skip_reason())));
        Box::new(nifti)
    } else {
        print_report(dicom.report().iter().map(|r| (&r.path, r.skip_reason())));
        Box::new(dicom)
    };
    println!(
        "scanned {} in {:.2} s",
        folder.display(),
        start.elapsed().as_secs_f64()
    );

    for (n, study) in source.studies().iter().enumerate() {
        println!(
            "\nstudy {} (patient {:?}): {} images",
            study.uid,
            study.patient_id,
            study.frame_count()
        );
        for s in &study.series {
            let spacing = s
                .spacing
                .as_ref()
                .map(|sp| {
                    format!(
                        ", spacing {:.2} mm (min {:.2}, max {:.2})",
                        sp.median_mm, sp.min_mm, sp.max_mm
                    )
                })
                .unwrap_or_default();
            let p = s.slices[0].plane;
            println!(
                "  {:5} {:28} {:2} slice(s) x {:?} frames, {}x{} px at {:.2}x{:.2} mm{spacing}",
                s.view.to_string(),
                format!("{:?}", s.description),
                s.slices.len(),
                s.frames_per_slice(),
                p.rows(),
                p.cols(),
                p.spacing().between_rows,
                p.spacing().between_cols,
            );
            for note in &s.notes {
                println!("        note: {note}");
            }
        }
        for d in &study.dropped {
            println!(
                "  dropped {} {:?} ({}): {}; kept {}",
                d.view, d.description, d.uid, d.reason, d.kept_uid
            );
        }
        print_intersections(study);
        if let Some(out) = &nifti_out {
            let dir = out.join(n.to_string());
            let files =
                write_ukbb_study(&dir, study, source.as_ref(), &UkbbWriteOptions::default())?;
            println!("  wrote {} NIfTI files to {}", files.len(), dir.display());
        }
    }
    Ok(())
}

fn print_report<'a>(
    lines: impl Iterator<Item = (&'a PathBuf, Option<&'a cmr_ssl::geometry::SkipReason>)>,
) {
    let (mut used, mut skipped) = (0, Vec::new());
    for (path, reason) in lines {
        match reason {
            None => used += 1,
            Some(r) => skipped.push(format!("{}: {r}", path.display())),
        }
    }
    println!("{used} files used, {} skipped", skipped.len());
    for s in skipped.iter().take(10) {
        println!("  skipped {s}");
    }
}

/// Where each long-axis plane cuts the middle SA slice, as a segment in its pixel grid.
fn print_intersections(study: &cmr_ssl::geometry::Study) {
    let Some(sa) = study.view(View::ShortAxis) else {
        return;
    };
    let mid = &sa.slices[sa.slices.len() / 2].plane;
    for view in [View::TwoChamber, View::ThreeChamber, View::FourChamber] {
        let Some(la) = study.view(view) else { continue };
        let la_plane = &la.slices[0].plane;
        match mid.intersection_line(la_plane) {
            Ok(line) => match mid.project_line(&line).ok().and_then(|l| l.clipped_segment(mid)) {
                Some((a, b)) => println!(
                    "  {view} plane cuts the middle SA slice from (r {:.1}, c {:.1}) to (r {:.1}, c {:.1})",
                    a.row, a.col, b.row, b.col
                ),
                None => println!("  {view} plane misses the middle SA slice's field of view"),
            },
            Err(e) => println!("  {view}: {e}"),
        }
    }
}

/// A small UK Biobank-like study: 6 SA slices (one series each), 2Ch/3Ch/4Ch, 8 phases.
fn write_demo_folder() -> Result<PathBuf, GeometryError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/examples-data/scan_study");
    std::fs::create_dir_all(&dir).map_err(|source| GeometryError::Io {
        action: "creating",
        path: dir.clone(),
        source,
    })?;
    let (rows, cols) = (96, 80);
    let sa = ImagePlane::from_dicom(
        [-93.5, -121.3, 118.4],
        [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
        [1.8, 1.8],
        rows,
        cols,
    )?;
    let centre = sa.center() + sa.normal() * 25.0;
    // Long-axis planes containing the SA normal (the LV long axis), rotated about it.
    let la = |angle_deg: f64| -> Result<ImagePlane, GeometryError> {
        let a = angle_deg.to_radians();
        let row = sa.row_dir() * a.cos() + sa.col_dir() * a.sin();
        let col = -sa.normal();
        let spacing = PixelSpacing {
            between_rows: 1.8,
            between_cols: 1.8,
        };
        let origin = centre
            - row * (spacing.between_cols * (cols as f64 - 1.0) / 2.0)
            - col * (spacing.between_rows * (rows as f64 - 1.0) / 2.0);
        ImagePlane::new(origin, row, col, spacing, rows, cols)
    };
    let study = "1.2.826.0.1.3680043.9.7.99";
    let mut n = 0;
    let mut write =
        |series: String, number: i64, desc: &str, plane: ImagePlane| -> Result<(), GeometryError> {
            for t in 0..8 {
                n += 1;
                let img = MrImage {
                    study_uid: study.into(),
                    sop_instance_uid: format!("{series}.{}", t + 1),
                    series_uid: series.clone(),
                    series_number: number,
                    series_description: desc.into(),
                    patient_id: "DEMO".into(),
                    instance_number: t + 1,
                    trigger_time_ms: Some(t as f64 * 40.0),
                    plane,
                    rescale: None,
                };
                let px = Array2::from_shape_fn((rows, cols), |(r, c)| {
                    ((r * 3 + c * 5 + t as usize * 7) % 400) as u16
                });
                write_mr_image(&dir.join(format!("IM{n:05}.dcm")), &img, &px)?;
            }
            Ok(())
        };
    for k in 0..6 {
        let plane = ImagePlane::new(
            sa.origin() + sa.normal() * (10.0 * k as f64),
            sa.row_dir(),
            sa.col_dir(),
            sa.spacing(),
            rows,
            cols,
        )?;
        write(
            format!("{study}.1{k}"),
            10 + k as i64,
            &format!("CINE_segmented_SAX_b{}", k + 1),
            plane,
        )?;
    }
    for (i, (name, angle)) in [
        ("CINE_segmented_LAX_2Ch", 90.0),
        ("CINE_segmented_LAX_3Ch", 140.0),
        ("CINE_segmented_LAX_4Ch", 20.0),
    ]
    .into_iter()
    .enumerate()
    {
        write(format!("{study}.2{i}"), 2 + i as i64, name, la(angle)?)?;
    }
    Ok(dir)
}

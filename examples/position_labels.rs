//! Derive anatomical position labels for a study and save them: label volumes and ignore masks
//! as NIfTI in the study geometry, and one overlay PNG per slice.
//!
//! ```text
//! cargo run --release --example position_labels -- --out positions/            # a phantom subject
//! cargo run --release --example position_labels -- --study DIR --out positions/ # your DICOM/NIfTI
//! ```

use std::path::PathBuf;

use cmr_ssl::geometry::positions::{overlay::OverlayStyle, write_study_positions, CrossLayout};
use cmr_ssl::geometry::{DicomFolder, NiftiFolder, StudySource};
use cmr_ssl::phantom::{PhantomConfig, Subject};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut study_dir: Option<PathBuf> = None;
    let mut out = PathBuf::from("positions");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--study" => study_dir = args.next().map(PathBuf::from),
            "--out" => {
                out = args
                    .next()
                    .map(PathBuf::from)
                    .ok_or("--out needs a folder")?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    // A folder of UK Biobank-style NIfTI files (sa.nii.gz, la_*.nii.gz) or of DICOM files, or a
    // phantom subject rendered in memory.
    let source: Box<dyn StudySource> = match &study_dir {
        Some(dir) if dir.join("sa.nii.gz").exists() => Box::new(NiftiFolder::open(dir)?),
        Some(dir) => Box::new(DicomFolder::open(dir)?),
        None => Box::new(
            Subject::new(&PhantomConfig::default(), 1, 0)?
                .render()
                .to_memory_source(),
        ),
    };
    let layout = CrossLayout::default();
    for (i, study) in source.studies().iter().enumerate() {
        let dir = out.join(format!("study{i:03}"));
        let written = write_study_positions(
            &dir,
            study,
            source.as_ref(),
            &layout,
            OverlayStyle::default(),
        )?;
        println!(
            "study {} ({:?}): {} volumes, {} overlays in {}",
            study.uid,
            study.views(),
            written.volumes.len(),
            written.overlays.len(),
            dir.display()
        );
        for (view, slice, why) in &written.failed {
            println!("  no positions on {view:?} slice {slice}: {why}");
        }
    }
    Ok(())
}

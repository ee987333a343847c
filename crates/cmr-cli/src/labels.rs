//! `cmr-ssl labels`: anatomical position labels for every study of a folder (or a phantom
//! cohort), written as NIfTI label volumes + ignore masks in the study geometry and overlay PNGs.

use std::path::PathBuf;

use anyhow::Context;
use cmr_geometry::positions::{
    overlay::OverlayStyle, write_study_positions, CrossLayout, LatticeLayout, PositionLayout,
};

use crate::training_common::{load, refuse_non_empty, DataArgs};

/// Which position layout to derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutChoice {
    /// Cross of 9 tiles along the LA lines (SA) / three levels of 3 (LA): the default.
    Cross,
    /// 3 x 3 lattice of square cells around the LV centre.
    Lattice,
}

/// Options of `cmr-ssl labels`.
#[derive(Debug, clap::Args)]
pub struct LabelsArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Output folder: one sub-folder per study.
    #[arg(long)]
    out: PathBuf,
    /// Position layout.
    #[arg(long, value_enum, default_value_t = LayoutChoice::Cross)]
    layout: LayoutChoice,
    /// Tile side (cross) or cell side (lattice), mm.
    #[arg(long)]
    tile_mm: Option<f64>,
    /// Distance between tile centres along a line (cross), mm.
    #[arg(long)]
    step_mm: Option<f64>,
    /// Overlay magnification (output pixels per image pixel).
    #[arg(long, default_value_t = 3)]
    scale: u32,
    /// Seed of the phantom cohort (with --phantom).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write into a non-empty --out.
    #[arg(long)]
    force: bool,
}

/// Derives and writes the labels, printing one line per study.
pub fn run(args: &LabelsArgs) -> anyhow::Result<()> {
    if !args.force {
        refuse_non_empty(&args.out, "pass --force to write into it")?;
    }
    let layout: Box<dyn PositionLayout> = match args.layout {
        LayoutChoice::Cross => {
            let d = CrossLayout::default();
            Box::new(CrossLayout {
                tile_side_mm: args.tile_mm.unwrap_or(d.tile_side_mm),
                tile_step_mm: args.step_mm.unwrap_or(d.tile_step_mm),
                ..d
            })
        }
        LayoutChoice::Lattice => Box::new(LatticeLayout {
            cell_mm: args.tile_mm.unwrap_or(LatticeLayout::default().cell_mm),
            ..LatticeLayout::default()
        }),
    };
    let loaded = load(&args.data, args.seed)?;
    let source = loaded.source();
    let style = OverlayStyle {
        scale: args.scale.max(1),
        ..OverlayStyle::default()
    };
    let studies = source.studies();
    for (i, study) in studies.iter().enumerate() {
        let name = study
            .patient_id
            .clone()
            .unwrap_or_else(|| format!("study{i:04}"));
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = args.out.join(format!("{i:04}_{safe}"));
        let written = write_study_positions(&dir, study, source, layout.as_ref(), style)
            .with_context(|| format!("writing position labels of study {}", study.uid))?;
        println!(
            "{}/{}  {}  views {:?}: {} volumes, {} overlays{}",
            i + 1,
            studies.len(),
            dir.display(),
            study.views(),
            written.volumes.len(),
            written.overlays.len(),
            if written.failed.is_empty() {
                String::new()
            } else {
                format!(", {} slices without positions", written.failed.len())
            }
        );
        for (view, slice, why) in &written.failed {
            println!("    {view:?} slice {slice}: {why}");
        }
    }
    Ok(())
}

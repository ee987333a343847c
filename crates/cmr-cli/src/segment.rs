//! `cmr-ssl segment`: segments every SA and LA image of the studies of a folder (or of one
//! phantom subject) with a fine-tuned run, and writes label volumes (NIfTI, in the study
//! geometry), overlay PNGs and a report of LV/RV volumes, ejection fractions and LV mass.

use std::path::PathBuf;

use anyhow::{bail, Context};
use cmr_geometry::View;
use cmr_phantom::Subject;
use cmr_train::segment::{
    reference_labels, sa_labels_of, segment_study, write_reports, write_study_outputs,
    SegmentationModel, StudyReport,
};
use cmr_train::LabelOverlayStyle;

use crate::training_common::{load, phantom_config, refuse_non_empty, DataArgs, Format, Loaded};

/// Options of `cmr-ssl segment`.
#[derive(Debug, clap::Args)]
pub struct SegmentArgs {
    /// The fine-tuned run folder of `cmr-ssl finetune` (best.safetensors + run.json), or a
    /// checkpoint inside one.
    #[arg(long)]
    model: PathBuf,
    /// Folder of DICOM files or UK Biobank-style NIfTI studies (searched recursively).
    #[arg(
        long,
        required_unless_present = "phantom_subject",
        conflicts_with = "phantom_subject"
    )]
    study: Option<PathBuf>,
    /// Reader for --study.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Segment phantom subject K (rendered in memory) instead of --study.
    #[arg(long, value_name = "K")]
    phantom_subject: Option<u64>,
    /// Cohort seed of --phantom-subject.
    #[arg(long, default_value_t = 0)]
    phantom_seed: u64,
    /// Cine phases of --phantom-subject.
    #[arg(long, default_value_t = 5)]
    phantom_phases: usize,
    /// UK Biobank-like 192 x 208 phantom matrices instead of 112 x 112.
    #[arg(long)]
    phantom_full: bool,
    /// Output folder: labels/, overlays/, report.json, report.csv.
    #[arg(long)]
    out: PathBuf,
    /// Write into a non-empty --out.
    #[arg(long)]
    force: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Overlay magnification (output pixels per image pixel).
    #[arg(long, default_value_t = 2)]
    scale: u32,
    /// libtorch threads (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
    /// Run on the CPU even when a GPU is present.
    #[arg(long)]
    cpu: bool,
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Segments every study and writes the outputs, printing one line per study.
pub fn run(args: &SegmentArgs) -> anyhow::Result<()> {
    if !args.force {
        refuse_non_empty(&args.out, "pass --force to write into it")?;
    }
    if let Some(t) = args.threads {
        if t < 1 {
            bail!("--threads must be at least 1");
        }
        tch::set_num_threads(t);
    }
    let device = if args.cpu {
        tch::Device::Cpu
    } else {
        cmr_unet::default_device()
    };
    let model = SegmentationModel::load(&args.model, device)
        .with_context(|| format!("loading --model {}", args.model.display()))?;
    // The phantom's analytic volumes (its manifest), printed and reported beside the measures.
    let mut phantom_truth = None;
    let loaded = match (args.phantom_subject, &args.study) {
        (Some(k), _) => {
            let config = phantom_config(args.phantom_full, args.phantom_phases)?;
            let study = Subject::new(&config, args.phantom_seed, k)?.render();
            phantom_truth = Some(study.manifest.volumes.clone());
            Loaded::Memory(study.to_memory_source())
        }
        (None, Some(dir)) => load(
            &DataArgs {
                data: Some(dir.clone()),
                format: args.format,
                phantom: None,
                phantom_seed: None,
                phantom_phases: args.phantom_phases,
                phantom_full: false,
                views: View::CARDIAC.to_vec(),
            },
            0,
        )?,
        (None, None) => bail!("give --study DIR or --phantom-subject K"),
    };
    let source = loaded.source();
    let sa_labels = model
        .label_set(View::ShortAxis)
        .map(sa_labels_of)
        .transpose()?
        .unwrap_or_default();
    let style = LabelOverlayStyle {
        scale: args.scale.max(1),
        ..LabelOverlayStyle::default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let studies = source.studies();
    let mut reports = Vec::new();
    for (i, study) in studies.iter().enumerate() {
        let name = format!("{i:04}_{}", safe_name(&cmr_train::subject_id(study)));
        let segmentation = segment_study(&model, source, i, args.batch)
            .with_context(|| format!("segmenting study {}", study.uid))?;
        let references = segmentation
            .views
            .iter()
            .filter_map(|v| reference_labels(source, study, v.view).transpose())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading the labels of study {}", study.uid))?;
        let mut report = StudyReport::new(
            &name,
            &segmentation,
            &sa_labels,
            references.iter().find(|r| r.view == View::ShortAxis),
        );
        let written = write_study_outputs(
            &args.out,
            source,
            study,
            &segmentation,
            &references,
            &mut report,
            style,
        )
        .with_context(|| format!("writing the outputs of study {}", study.uid))?;
        let function = match (&report.function, &report.reference) {
            (Some(f), reference) => {
                let m = &f.measures;
                let mut line = format!(
                    "LV EDV {:.1} ml, ESV {:.1} ml (frame {}), EF {:.1} %, mass {:.1} g; RV EDV \
                     {:.1} ml, ESV {:.1} ml, EF {:.1} %",
                    m.lv_edv_ml,
                    m.lv_esv_ml,
                    f.es_frame,
                    m.lv_ef_percent,
                    m.lv_mass_g,
                    m.rv_edv_ml,
                    m.rv_esv_ml,
                    m.rv_ef_percent
                );
                if let Some(r) = reference {
                    line.push_str(&format!(
                        " | from the study's labels: LV EF {:.1} %, RV EF {:.1} %",
                        r.measures.lv_ef_percent, r.measures.rv_ef_percent
                    ));
                }
                if let Some(t) = &phantom_truth {
                    line.push_str(&format!(
                        " | phantom truth: LV EDV {:.1} ml, ESV {:.1} ml, EF {:.1} %, mass {:.1} g, \
                         RV EF {:.1} %",
                        t.lv_edv_ml,
                        t.lv_esv_ml,
                        100.0 * t.lv_ef,
                        t.lv_mass_g,
                        100.0 * t.rv_ef
                    ));
                }
                line
            }
            (None, _) => report.notes.join("; "),
        };
        println!(
            "{}/{}  {name}  {} volumes, {} overlays  {function}",
            i + 1,
            studies.len(),
            written.labels.len(),
            written.overlays.len()
        );
        reports.push(report);
    }
    let run = serde_json::json!({
        "model": args.model,
        "checkpoint": model.checkpoint(),
        "study": args.study,
        "phantom_subject": args.phantom_subject.map(|k| serde_json::json!({
            "index": k, "seed": args.phantom_seed, "phases": args.phantom_phases,
            "full": args.phantom_full,
            "manifest_volumes": phantom_truth,
        })),
        "preprocess": model.preprocess(),
        "label_sets": model.label_sets(),
        "versions": { "cmr-ssl": env!("CARGO_PKG_VERSION") },
    });
    write_reports(&args.out, &reports, run)?;
    println!(
        "labels/, overlays/, report.json and report.csv in {}",
        args.out.display()
    );
    Ok(())
}

//! `cmr-ssl phantom`: generates a synthetic cine CMR cohort (cmr-phantom) into a folder: per
//! subject one DICOM file per image, UK Biobank-style NIfTI and a JSON manifest of the true
//! geometry and volumes, plus `cohort.json`.

use std::path::PathBuf;

use anyhow::Context;
use cmr_phantom::{write_cohort, CohortSpec, OutputFormats, PhantomConfig, ProgressReporter};
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `cmr-ssl phantom`.
#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Number of subjects.
    #[arg(long, default_value_t = 10)]
    subjects: usize,
    /// Output folder (created; one sub-folder per subject).
    #[arg(long)]
    out: PathBuf,
    /// Cohort seed: the same seed, index and options give the same subject.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Index of the first subject (to extend a cohort).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Cine phases per cardiac cycle.
    #[arg(long, default_value_t = 25)]
    phases: usize,
    /// 112 x 112 matrices instead of the UK Biobank-like 192 x 208 / 208 x 192 (quick looks).
    #[arg(long)]
    small: bool,
    /// Do not write DICOM files.
    #[arg(long)]
    no_dicom: bool,
    /// Do not write NIfTI files.
    #[arg(long)]
    no_nifti: bool,
    /// Write into a non-empty --out (replacing subjects of the same index). Not needed with
    /// --first > 0, which extends a cohort.
    #[arg(long)]
    force: bool,
}

/// Shows cohort progress as an indicatif bar.
struct Bar(ProgressBar);

impl ProgressReporter for Bar {
    fn started(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn subject_written(&self, done: usize, _total: usize, subject_id: &str) {
        self.0.set_position(done as u64);
        self.0.set_message(subject_id.to_string());
    }
}

/// Generates the cohort and prints where it went.
pub fn run(args: &PhantomArgs) -> anyhow::Result<()> {
    if !args.force && args.first == 0 {
        crate::training_common::refuse_non_empty(
            &args.out,
            "pass --force to replace its subjects, or --first N to extend the cohort",
        )?;
    }
    let base = if args.small {
        PhantomConfig::small(args.phases)
    } else {
        PhantomConfig::default()
    };
    let spec = CohortSpec {
        subjects: args.subjects,
        seed: args.seed,
        first_index: args.first,
        config: PhantomConfig {
            phases: args.phases,
            ..base
        },
        formats: OutputFormats {
            dicom: !args.no_dicom,
            nifti: !args.no_nifti,
        },
    };
    let bar = ProgressBar::new(args.subjects as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} phantom [{bar:30}] {pos}/{len} subjects ({per_sec}, eta {eta}) {msg}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let summary = write_cohort(&spec, &args.out, &Bar(bar.clone()))
        .with_context(|| format!("generating the phantom cohort in {}", args.out.display()))?;
    bar.finish();
    let files: usize = summary
        .subjects
        .iter()
        .map(|s| s.dicom_files + s.nifti_files.len())
        .sum();
    println!(
        "{} subjects ({} files) in {}: {:.1} s, {:.2} subjects/s; cohort.json lists them",
        summary.subjects.len(),
        files,
        args.out.display(),
        summary.seconds,
        summary.subjects.len() as f64 / summary.seconds.max(1e-9)
    );
    Ok(())
}

//! What `cmr-ssl pretrain` and `cmr-ssl finetune` share: where the studies come from (a
//! DICOM or NIfTI folder, or an in-memory phantom cohort), the training options, the subject
//! split, the output folder policy and the progress bar.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use cmr_geometry::{DicomFolder, MemorySource, NiftiFolder, StudySource, View};
use cmr_phantom::{PhantomConfig, Subject};
use cmr_train::{
    AugmentConfig, CacheMode, Control, DeviceChoice, EpochRecord, LoaderConfig, OutputMode,
    PreprocessConfig, Reporter, RunDir, RunStart, StepRecord, TrainConfig,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Which reader opens `--data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// DICOM if the folder holds DICOM studies, else NIfTI.
    Auto,
    /// DICOM files.
    Dicom,
    /// UK Biobank-style NIfTI folders.
    Nifti,
}

/// Where the studies come from.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Folder of DICOM files or UK Biobank-style NIfTI studies (searched recursively).
    #[arg(long, required_unless_present = "phantom", conflicts_with = "phantom")]
    pub data: Option<PathBuf>,
    /// Reader for --data.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Use an in-memory phantom cohort of N subjects instead of --data.
    #[arg(long, value_name = "N")]
    pub phantom: Option<u64>,
    /// Cohort seed of the phantom (default: --seed).
    #[arg(long)]
    pub phantom_seed: Option<u64>,
    /// Cine phases of each phantom subject.
    #[arg(long, default_value_t = 5)]
    pub phantom_phases: usize,
    /// UK Biobank-like 192 x 208 phantom matrices instead of 112 x 112.
    #[arg(long)]
    pub phantom_full: bool,
    /// Views to use: any of sa, 2ch, 3ch, 4ch (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "sa,2ch,3ch,4ch", value_parser = parse_view)]
    pub views: Vec<View>,
}

fn parse_view(s: &str) -> Result<View, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "sa" | "sax" => Ok(View::ShortAxis),
        "2ch" | "la_2ch" => Ok(View::TwoChamber),
        "3ch" | "la_3ch" => Ok(View::ThreeChamber),
        "4ch" | "la_4ch" => Ok(View::FourChamber),
        other => Err(format!(
            "unknown view `{other}` (expected sa, 2ch, 3ch or 4ch)"
        )),
    }
}

/// A loaded study source of any kind.
pub enum Loaded {
    Dicom(DicomFolder),
    Nifti(NiftiFolder),
    Memory(MemorySource),
}

impl Loaded {
    pub fn source(&self) -> &(dyn StudySource + Sync) {
        match self {
            Loaded::Dicom(s) => s,
            Loaded::Nifti(s) => s,
            Loaded::Memory(s) => s,
        }
    }
}

/// The phantom configuration of the `--phantom-full` / `--phantom-phases` options: UK
/// Biobank-like matrices or the small 112 x 112 ones, with that many cine phases, validated.
pub fn phantom_config(full: bool, phases: usize) -> anyhow::Result<PhantomConfig> {
    let base = if full {
        PhantomConfig::default()
    } else {
        PhantomConfig::small(phases)
    };
    let config = PhantomConfig { phases, ..base };
    config.validate().context("phantom configuration")?;
    Ok(config)
}

/// Opens `--data` or renders `--phantom` subjects.
pub fn load(args: &DataArgs, seed: u64) -> anyhow::Result<Loaded> {
    if let Some(n) = args.phantom {
        if n == 0 {
            bail!("--phantom needs at least one subject");
        }
        let config = phantom_config(args.phantom_full, args.phantom_phases)?;
        let cohort_seed = args.phantom_seed.unwrap_or(seed);
        let bar = bar(
            n,
            "phantom",
            "{spinner} rendering [{bar:30}] {pos}/{len} subjects {msg}",
        )?;
        let mut sources = Vec::with_capacity(n as usize);
        for i in 0..n {
            let subject = Subject::new(&config, cohort_seed, i)?;
            sources.push(subject.render().to_memory_source());
            bar.inc(1);
        }
        bar.finish_and_clear();
        return Ok(Loaded::Memory(cmr_train::merge_into_memory(sources)?));
    }
    let dir = args
        .data
        .as_ref()
        .expect("clap requires --data or --phantom");
    if !dir.is_dir() {
        bail!("--data {}: not a folder", dir.display());
    }
    let dicom = || -> anyhow::Result<DicomFolder> {
        DicomFolder::open(dir).with_context(|| format!("scanning DICOM files in {}", dir.display()))
    };
    let nifti = || -> anyhow::Result<NiftiFolder> {
        NiftiFolder::open(dir)
            .with_context(|| format!("reading NIfTI studies in {}", dir.display()))
    };
    let loaded = match args.format {
        Format::Dicom => Loaded::Dicom(dicom()?),
        Format::Nifti => Loaded::Nifti(nifti()?),
        Format::Auto => {
            let d = dicom()?;
            if d.studies().is_empty() {
                Loaded::Nifti(nifti()?)
            } else {
                Loaded::Dicom(d)
            }
        }
    };
    if loaded.source().studies().is_empty() {
        bail!(
            "no cardiac study found in {} (as {:?}); check the folder and --format",
            dir.display(),
            args.format
        );
    }
    Ok(loaded)
}

/// Options every training run takes.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Output folder of the run (checkpoints, logs, run.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an earlier run in --out.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Continue the interrupted run in --out (same options).
    #[arg(long)]
    pub resume: bool,
    /// Seed of initialisation, subject split, data order and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Optimiser steps.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Images per batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Peak learning rate (Adam, cosine decay).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Steps between validations (default: one pass over the training images).
    #[arg(long)]
    pub epoch_steps: Option<u64>,
    /// Epochs without improvement before stopping (0: never stop early).
    #[arg(long, default_value_t = 10)]
    pub patience: u64,
    /// Network input side, pixels.
    #[arg(long, default_value_t = 96)]
    pub crop: usize,
    /// Network input pixel spacing, mm.
    #[arg(long, default_value_t = 2.0)]
    pub spacing: f64,
    /// No augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Loader threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// libtorch threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Prepared-sample cache: `memory`, `none`, or a folder.
    #[arg(long, default_value = "memory")]
    pub cache: String,
    /// Run on the CPU even when a GPU is present.
    #[arg(long)]
    pub cpu: bool,
}

impl TrainArgs {
    /// The training configuration these options describe.
    pub fn config(&self, default_steps: u64) -> anyhow::Result<TrainConfig> {
        if let Some(t) = self.threads {
            if t < 1 {
                bail!("--threads must be at least 1");
            }
            tch::set_num_threads(t);
        }
        let cache = match self.cache.as_str() {
            "memory" => CacheMode::Memory,
            "none" => CacheMode::None,
            dir => CacheMode::Disk(PathBuf::from(dir)),
        };
        let config = TrainConfig {
            steps: self.steps.unwrap_or(default_steps),
            batch_size: self.batch,
            unlabelled_per_batch: self.batch,
            optimizer: cmr_train::AdamConfig {
                lr: self.lr,
                ..Default::default()
            },
            epoch_steps: self.epoch_steps,
            early_stopping: (self.patience > 0).then_some(cmr_train::EarlyStopping {
                patience: self.patience,
                min_delta: 1e-4,
            }),
            seed: self.seed,
            device: if self.cpu {
                DeviceChoice::Cpu
            } else {
                DeviceChoice::Auto
            },
            loader: LoaderConfig {
                workers: self.workers.max(1),
                prefetch: 2,
            },
            preprocess: PreprocessConfig {
                spacing_mm: self.spacing,
                crop: self.crop,
                ..PreprocessConfig::default()
            },
            augment: if self.no_augment {
                AugmentConfig::none()
            } else {
                AugmentConfig::default()
            },
            cache,
            ..TrainConfig::default()
        };
        config.validate().context("training options")?;
        Ok(config)
    }

    /// The output folder, refusing to touch a non-empty one unless --force or --resume.
    pub fn run_dir(&self) -> anyhow::Result<RunDir> {
        let mode = if self.resume {
            if !self.out.join("resume.safetensors").exists() {
                bail!(
                    "--resume: {} holds no interrupted run (no resume.safetensors)",
                    self.out.display()
                );
            }
            OutputMode::Resume
        } else if self.force {
            OutputMode::Overwrite
        } else {
            if let Some(entry) = first_entry(&self.out)? {
                bail!(
                    "--out {} is not empty (it holds {entry}); pass --resume to continue that run or --force to replace it",
                    self.out.display()
                );
            }
            OutputMode::Fresh
        };
        Ok(RunDir::new(&self.out, mode))
    }
}

/// Refuses an output folder that already holds something, naming what and how to proceed.
pub fn refuse_non_empty(dir: &Path, how_to_proceed: &str) -> anyhow::Result<()> {
    match first_entry(dir)? {
        Some(entry) => bail!(
            "--out {} is not empty (it holds {entry}); {how_to_proceed}",
            dir.display()
        ),
        None => Ok(()),
    }
}

fn first_entry(dir: &Path) -> anyhow::Result<Option<String>> {
    if !dir.exists() {
        return Ok(None);
    }
    if !dir.is_dir() {
        bail!("--out {} exists and is not a folder", dir.display());
    }
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    Ok(entries
        .next()
        .transpose()?
        .map(|e| e.file_name().to_string_lossy().into_owned()))
}

/// Positions `0..n` shuffled by `seed` (the subject split).
pub fn shuffled_studies(n: usize, seed: u64) -> Vec<usize> {
    cmr_train::shuffle_studies(&(0..n).collect::<Vec<_>>(), seed)
}

fn bar(len: u64, _what: &str, template: &str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// Shows training as an indicatif bar (loss, images/s) and prints epochs and notes above it.
pub struct BarReporter {
    bar: ProgressBar,
    label: &'static str,
}

impl BarReporter {
    pub fn new(label: &'static str) -> Self {
        Self {
            bar: ProgressBar::hidden(),
            label,
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// A line above the bar (plain stdout when the bar is not drawn, e.g. output to a file).
    fn line(&self, text: String) {
        if self.bar.is_hidden() {
            println!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

impl Reporter for BarReporter {
    fn start(&mut self, start: &RunStart) {
        let template = format!(
            "{{spinner}} {} [{{bar:30}}] {{pos}}/{{len}} steps ({{eta}}) {{msg}}",
            self.label
        );
        if let Ok(b) = bar(start.total_steps, self.label, &template) {
            b.set_position(start.first_step);
            b.reset_eta();
            self.bar = b;
        }
    }

    fn step(&mut self, r: &StepRecord) -> Control {
        self.bar.set_position(r.step + 1);
        self.bar.set_message(format!(
            "loss {:.4}  {:.0} images/s",
            r.loss, r.images_per_s
        ));
        Control::Continue
    }

    fn epoch(&mut self, e: &EpochRecord) {
        let heads: Vec<String> = e
            .head_dice
            .iter()
            .map(|(h, d)| format!("{h} {d:.3}"))
            .collect();
        self.line(format!(
            "epoch {:3}  step {:6}  train loss {:.4}  validation {:.4}{}{}",
            e.epoch,
            e.step,
            e.train_loss,
            e.metric,
            if heads.is_empty() {
                String::new()
            } else {
                format!(" ({})", heads.join(", "))
            },
            if e.improved { "  best" } else { "" }
        ));
    }

    fn note(&mut self, message: &str) {
        self.line(message.to_string());
    }
}

/// Prints the end of a run.
pub fn print_outcome(outcome: &cmr_train::RunOutcome) {
    println!(
        "{:?} after {} of {} steps; {:.1} images/s into the model, {:.1} s waiting for data",
        outcome.status,
        outcome.steps,
        outcome.total_steps,
        outcome.timing.images_per_s,
        outcome.timing.data_wait_s
    );
    if let Some(b) = outcome.best {
        println!(
            "best validation {:.4} at step {} (epoch {})",
            b.metric, b.step, b.epoch
        );
    }
    println!("best checkpoint: {}", outcome.best_checkpoint.display());
    println!("last checkpoint: {}", outcome.last_checkpoint.display());
}

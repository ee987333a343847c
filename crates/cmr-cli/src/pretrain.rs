//! `cmr-ssl pretrain`: anatomical-position pretraining (cmr-train) on the studies of a DICOM or
//! NIfTI folder, or of an in-memory phantom cohort. No labels are used.

use anyhow::Context;
use cmr_train::{Dataset, DatasetOptions, FrameSelection, PretrainConfig, TaskConfig};
use cmr_unet::UNetConfig;

use crate::training_common::{
    load, print_outcome, shuffled_studies, BarReporter, DataArgs, TrainArgs,
};

/// Which pretext task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Task {
    /// Anatomical positions, 10-class cross-entropy (Bai et al. 2019).
    Positions,
    /// Regression of Gaussian ridges on the long-axis lines.
    Heatmaps,
}

/// Options of `cmr-ssl pretrain`.
#[derive(Debug, clap::Args)]
pub struct PretrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Pretext task.
    #[arg(long, value_enum, default_value_t = Task::Positions)]
    task: Task,
    /// Background weight of the position cross-entropy (positions weigh 1).
    #[arg(long, default_value_t = 0.1)]
    background_weight: f64,
    /// Ridge width of the heatmap task, mm.
    #[arg(long, default_value_t = 5.0)]
    sigma: f64,
    /// Use every N-th cine frame.
    #[arg(long, default_value_t = 1)]
    every_frame: usize,
    /// Subjects held out for validation (default: a tenth, at least one when there are five
    /// or more).
    #[arg(long)]
    val_subjects: Option<usize>,
    /// U-Net resolution levels.
    #[arg(long, default_value_t = 5)]
    levels: usize,
    /// Channels of the first level.
    #[arg(long, default_value_t = 16)]
    width: i64,
}

/// Runs the pretraining and prints where the checkpoints went.
pub fn run(args: &PretrainArgs) -> anyhow::Result<()> {
    let train = args.train.config(2000)?;
    let run = args.train.run_dir()?;
    let loaded = load(&args.data, args.train.seed)?;
    let source = loaded.source();
    let data = Dataset::new(
        source,
        &DatasetOptions {
            views: args.data.views.clone(),
            frames: FrameSelection::EveryNth {
                n: args.every_frame.max(1),
            },
            use_labels: false,
            ..DatasetOptions::default()
        },
    )?;
    let studies = data.studies();
    let n = studies.len();
    let val_n = args
        .val_subjects
        .unwrap_or(if n >= 5 { (n / 10).max(1) } else { 0 })
        .min(n.saturating_sub(1));
    let order: Vec<usize> = shuffled_studies(n, args.train.seed)
        .into_iter()
        .map(|k| studies[k])
        .collect();
    let (val_ids, train_ids) = order.split_at(val_n);
    let train_data = data.with_studies(train_ids);
    let val_data = data.with_studies(val_ids).filter(|i| i.frame == 0);
    println!(
        "{} studies: {} for training ({} images), {} for validation ({} images); torch threads {}",
        n,
        train_ids.len(),
        train_data.len(),
        val_ids.len(),
        val_data.len(),
        tch::get_num_threads()
    );
    let task = match args.task {
        Task::Positions => TaskConfig::Positions {
            layout: Default::default(),
            class_weights: Some(TaskConfig::background_weighted(args.background_weight)),
        },
        Task::Heatmaps => TaskConfig::LineHeatmaps {
            sigma_mm: args.sigma,
        },
    };
    let config = PretrainConfig {
        network: UNetConfig {
            levels: args.levels,
            base_channels: args.width,
            ..UNetConfig::default()
        },
        task,
        train,
    };
    let mut reporter = BarReporter::new("pretrain");
    let outcome = cmr_train::pretrain(
        &config,
        &train_data,
        (!val_data.is_empty()).then_some(&val_data),
        &run,
        &mut reporter,
    )
    .with_context(|| format!("pretraining into {}", run.path.display()))?;
    reporter.finish();
    print_outcome(&outcome);
    Ok(())
}

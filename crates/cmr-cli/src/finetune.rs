//! `cmr-ssl finetune`: segmentation fine-tuning (cmr-train) on N labelled subjects with one of
//! the transfer strategies, from a pretrained checkpoint; optionally evaluated on held-out
//! subjects on the original image grids.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use cmr_pretext::TransferStrategy;
use cmr_train::{
    evaluate_segmentation, Dataset, DatasetOptions, EvalOptions, FinetuneConfig, FrameSelection,
    TaskConfig,
};
use cmr_unet::{UNet, UNetConfig};

use crate::training_common::{
    load, print_outcome, shuffled_studies, BarReporter, DataArgs, TrainArgs,
};

/// Options of `cmr-ssl finetune`.
#[derive(Debug, clap::Args)]
pub struct FinetuneArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Number of labelled subjects (drawn with --seed).
    #[arg(long)]
    labels: usize,
    /// Transfer strategy: scratch, ssl-decoder, ssl-all, ssl-multitask[:LAMBDA].
    #[arg(long, default_value = "ssl-multitask")]
    strategy: TransferStrategy,
    /// Pretrained checkpoint (RUN/best.safetensors of `cmr-ssl pretrain`); required except for
    /// scratch.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Labelled subjects held out for validation and early stopping.
    #[arg(long, default_value_t = 1)]
    val_subjects: usize,
    /// Subjects held out for the final test (metrics on the original grids, test_metrics.csv).
    #[arg(long, default_value_t = 0)]
    test_subjects: usize,
    /// Labelled frames used: ED and ES only (UK Biobank), or every labelled frame.
    #[arg(long)]
    all_frames: bool,
    /// Background weight of the pretext loss for ssl-multitask (positions weigh 1).
    #[arg(long, default_value_t = 0.1)]
    background_weight: f64,
    /// U-Net levels when training from scratch without --init.
    #[arg(long, default_value_t = 5)]
    levels: usize,
    /// U-Net width when training from scratch without --init.
    #[arg(long, default_value_t = 16)]
    width: i64,
}

/// Runs the fine-tuning, then the test evaluation when asked.
pub fn run(args: &FinetuneArgs) -> anyhow::Result<()> {
    if args.strategy.needs_pretrained() && args.init.is_none() {
        bail!(
            "--strategy {} needs --init (a pretrained checkpoint)",
            args.strategy
        );
    }
    if let Some(init) = &args.init {
        if !init.is_file() {
            bail!("--init {}: no such file", init.display());
        }
    }
    if args.labels == 0 {
        bail!("--labels must be at least 1");
    }
    let train = args.train.config(1000)?;
    let run = args.train.run_dir()?;
    let loaded = load(&args.data, args.train.seed)?;
    let source = loaded.source();
    let frames = if args.all_frames {
        FrameSelection::Labelled
    } else {
        FrameSelection::EdEs
    };
    let options = DatasetOptions {
        views: args.data.views.clone(),
        frames,
        ..DatasetOptions::default()
    };
    let labelled_frames = Dataset::new(source, &options)?;
    let all_frames = Dataset::new(
        source,
        &DatasetOptions {
            frames: FrameSelection::All,
            use_labels: false,
            ..options.clone()
        },
    )?;
    let with_labels: Vec<usize> = labelled_frames.labelled_only().studies();
    let needed = args.labels + args.val_subjects + args.test_subjects;
    if with_labels.len() < needed {
        bail!(
            "{} labelled subjects found, {} needed (--labels {} + --val-subjects {} + --test-subjects {})",
            with_labels.len(),
            needed,
            args.labels,
            args.val_subjects,
            args.test_subjects
        );
    }
    let order: Vec<usize> = shuffled_studies(with_labels.len(), args.train.seed)
        .into_iter()
        .map(|k| with_labels[k])
        .collect();
    let (labelled_ids, rest) = order.split_at(args.labels);
    let (val_ids, rest) = rest.split_at(args.val_subjects);
    let (test_ids, _) = rest.split_at(args.test_subjects);
    let held: Vec<usize> = labelled_ids
        .iter()
        .chain(val_ids)
        .chain(test_ids)
        .copied()
        .collect();
    let unlabelled = all_frames.filter(|i| !held.contains(&i.study));
    let labelled = labelled_frames.with_studies(labelled_ids);
    let validation = labelled_frames.with_studies(val_ids);
    let test = labelled_frames.with_studies(test_ids);
    let names = |ids: &[usize]| -> Vec<String> {
        ids.iter().map(|&s| labelled_frames.subject_id(s)).collect()
    };
    println!(
        "labelled: {:?} ({} images); validation: {:?}; test: {:?}; unlabelled pool: {} images",
        names(labelled_ids),
        labelled.labelled_count(),
        names(val_ids),
        names(test_ids),
        unlabelled.len()
    );
    let config = FinetuneConfig {
        strategy: args.strategy,
        init: args.init.clone(),
        network: UNetConfig {
            levels: args.levels,
            base_channels: args.width,
            ..UNetConfig::default()
        },
        task: TaskConfig::Positions {
            layout: Default::default(),
            class_weights: Some(TaskConfig::background_weighted(args.background_weight)),
        },
        train,
    };
    let mut reporter = BarReporter::new(args.strategy.short_name());
    let outcome = cmr_train::finetune(
        &config,
        &labelled,
        Some(&unlabelled),
        (!validation.is_empty()).then_some(&validation),
        &run,
        &mut reporter,
    )
    .with_context(|| format!("fine-tuning into {}", run.path.display()))?;
    reporter.finish();
    print_outcome(&outcome);
    if test.is_empty() || outcome.status == cmr_train::RunStatus::Interrupted {
        return Ok(());
    }
    let net = UNet::from_checkpoint(&outcome.best_checkpoint, config.train.device.device())
        .context("loading the best checkpoint")?;
    let records = evaluate_segmentation(
        &net,
        &test,
        &config.train.preprocess,
        &EvalOptions::default(),
    )?;
    let path = run.path.join("test_metrics.csv");
    let mut csv = String::from("subject,view,frame,phase,structure,dice,hd95_mm,assd_mm,mcd_mm\n");
    for r in &records {
        let m = &r.metrics;
        csv.push_str(&format!(
            "{},{},{},{},{},{:.4},{:.2},{:.2},{:.2}\n",
            r.subject,
            r.view,
            r.frame,
            r.phase.map_or("", |p| p.short_name()),
            r.structure,
            m.dice,
            m.hausdorff_percentile,
            m.assd,
            m.mean_contour_distance
        ));
    }
    let mut f =
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(csv.as_bytes())?;
    let mut by_structure: std::collections::BTreeMap<(String, String), Vec<f64>> =
        Default::default();
    for r in &records {
        by_structure
            .entry((r.view.to_string(), r.structure.clone()))
            .or_default()
            .push(r.metrics.dice);
    }
    println!(
        "test Dice on the original grids ({} volumes):",
        records.len()
    );
    for ((view, structure), d) in by_structure {
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        println!("  {view:>3} {structure:<15} {mean:.3} (n = {})", d.len());
    }
    println!("per-volume metrics: {}", path.display());
    Ok(())
}

//! The one-call entry points: [`pretrain`] and [`finetune`].

use cmr_geometry::View;
use cmr_unet::{Checkpoint, HeadSpec, UNetConfig};

use crate::config::{FinetuneConfig, PretrainConfig, RunDir, TrainConfig};
use crate::dataset::Dataset;
use crate::report::Reporter;
use crate::seeds::fnv1a;
use crate::store::SampleStore;
use crate::trainer::{build_network, RunOutcome, Session};
use crate::TrainError;

/// A short identity of a dataset's images (for resume checks).
fn signature(d: &Dataset<'_>) -> String {
    let uids: Vec<&str> = d
        .studies()
        .iter()
        .map(|&s| d.source().studies()[s].uid.as_str())
        .collect();
    format!(
        "{} images, {:016x}",
        d.len(),
        fnv1a(format!("{:?}{uids:?}", d.items()).as_bytes())
    )
}

/// The training streams of `data` and their images per batch: one stream, or the short-axis
/// images and the long-axis images apart when `train.long_axis_per_batch` is set.
fn view_streams<'a>(data: &Dataset<'a>, train: &TrainConfig) -> Vec<(Dataset<'a>, usize)> {
    match train.long_axis_per_batch {
        None => vec![(data.clone(), train.batch_size)],
        Some(k) => vec![
            (data.filter(|i| i.view == View::ShortAxis), train.batch_size),
            (data.filter(|i| i.view != View::ShortAxis), k),
        ],
    }
}

/// The parts of a training configuration that change results (not threads, caching or
/// checkpoint cadence).
fn result_relevant(train: &TrainConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(train).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["loader", "cache", "checkpoint_every"] {
            o.remove(k);
        }
    }
    v
}

/// Pretrains a U-Net on the pretext task over the images of `train` (labels, if any, are not
/// used), validating on `validation` (pretext Dice for classification tasks, minus the loss
/// for regression) once per epoch. Writes `best.safetensors` (best validation),
/// `last.safetensors`, `resume.safetensors`, `log.csv`, `epochs.csv` and `run.json` into `run`.
///
/// The network is `config.network` with one head, the task's (`positions`, 10 channels, by
/// default); its initialisation, the data order and the augmentation all follow
/// `config.train.seed`.
///
/// # Errors
/// [`TrainError::Invalid`] for a bad configuration or no training image;
/// [`TrainError::OutputExists`] / [`TrainError::Resume`] for the output folder; the errors of
/// loading and preparing images; [`TrainError::NonFiniteLoss`] with the step.
pub fn pretrain(
    config: &PretrainConfig,
    train: &Dataset<'_>,
    validation: Option<&Dataset<'_>>,
    run: &RunDir,
    reporter: &mut dyn Reporter,
) -> Result<RunOutcome, TrainError> {
    config.train.validate()?;
    if train.is_empty() {
        return Err(TrainError::Invalid {
            what: "training data",
            reason: "no image selected".into(),
        });
    }
    let task = config.task.build()?;
    let network = UNetConfig {
        heads: vec![HeadSpec::new(task.name(), task.output_channels())],
        ..config.network.clone()
    };
    let device = config.train.device.device();
    let net = build_network(&network, config.train.seed, device)?;
    let pp = config.train.preprocess.clone();
    let cache = config.train.cache.clone();
    let train_stores = view_streams(&train.without_labels(), &config.train)
        .into_iter()
        .map(|(d, per)| {
            Ok((
                SampleStore::new(d, pp.clone(), Some(task.clone()), cache.clone())?,
                per,
            ))
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let val_store = validation
        .map(|v| {
            SampleStore::new(
                v.without_labels(),
                pp.clone(),
                Some(task.clone()),
                cache.clone(),
            )
        })
        .transpose()?;
    let identity = serde_json::json!({
        "kind": "pretrain",
        "network": network,
        "task": task.describe(),
        "train": result_relevant(&config.train),
        "data": signature(train),
        "validation": validation.map(signature),
    });
    let description = serde_json::json!({
        "config": config,
        "train_images": train.len(),
        "validation_images": validation.map(Dataset::len),
    });
    Session {
        net,
        kind: "pretrain",
        task: Some(task),
        pretext_weight: 1.0,
        segment: false,
        label_sets: train.label_sets().clone(),
        streams: train_stores.iter().map(|(s, per)| (s, *per)).collect(),
        validation: val_store.as_ref(),
        config: config.train.clone(),
        run: run.clone(),
        identity: identity.to_string(),
        description,
    }
    .run(reporter)
}

/// Fine-tunes a segmentation network on the labelled images of `labelled` with
/// `config.strategy` (see [`cmr_pretext::TransferStrategy`] for what each one loads, freezes and
/// re-initialises), validating mean foreground Dice on the labelled images of `validation`
/// once per epoch (early stopping and `best.safetensors` follow it).
///
/// The network has one segmentation head per label set that `labelled` uses (`seg_sa`,
/// `seg_2ch`, `seg_4ch`: the label sets come with the data), plus the pretext head for
/// `SslMultiTask`, whose batches add `config.train.unlabelled_per_batch` images of
/// `unlabelled` (pretext loss only) to the `batch_size` labelled ones (segmentation +
/// `lambda` x pretext loss). With `config.train.long_axis_per_batch = Some(k)`, the labelled
/// part of every batch is `batch_size` short-axis images plus `k` long-axis ones. The
/// architecture is the checkpoint's when `config.init` is given (for every strategy, so that
/// all of them train the same network), else `config.network`. Outputs as [`pretrain`].
///
/// # Errors
/// As [`pretrain`]; [`TrainError::Network`] when the checkpoint cannot be read;
/// [`TrainError::Pretext`] when it does not fit the strategy.
pub fn finetune(
    config: &FinetuneConfig,
    labelled: &Dataset<'_>,
    unlabelled: Option<&Dataset<'_>>,
    validation: Option<&Dataset<'_>>,
    run: &RunDir,
    reporter: &mut dyn Reporter,
) -> Result<RunOutcome, TrainError> {
    config.train.validate()?;
    config.strategy.validate()?;
    let labelled = labelled.labelled_only();
    if labelled.is_empty() {
        return Err(TrainError::Invalid {
            what: "training data",
            reason: "no labelled image selected".into(),
        });
    }
    let sets = labelled.used_label_sets();
    let task = config.task.build()?;
    let pretext_head = HeadSpec::new(task.name(), task.output_channels());
    let checkpoint = config.init.as_ref().map(Checkpoint::read).transpose()?;
    if config.strategy.needs_pretrained() && checkpoint.is_none() {
        return Err(TrainError::Invalid {
            what: "initialisation",
            reason: format!("strategy {} needs a pretrained checkpoint", config.strategy),
        });
    }
    let arch = checkpoint
        .as_ref()
        .and_then(|c| c.config().cloned())
        .unwrap_or_else(|| config.network.clone());
    let network = UNetConfig {
        heads: config.strategy.heads(&sets.head_specs(), &pretext_head),
        ..arch
    };
    let device = config.train.device.device();
    let mut net = build_network(&network, config.train.seed, device)?;
    let report = config
        .strategy
        .apply(&mut net, checkpoint.as_ref(), task.name())?;
    if let Some(r) = &report {
        reporter.note(&r.to_string());
    }
    let lambda = config.strategy.pretext_weight();
    let pp = config.train.preprocess.clone();
    let cache = config.train.cache.clone();
    let pretext_task = lambda.map(|_| task.clone());
    let labelled_stores = view_streams(&labelled, &config.train)
        .into_iter()
        .map(|(d, per)| {
            Ok((
                SampleStore::new(d, pp.clone(), pretext_task.clone(), cache.clone())?,
                per,
            ))
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let unlabelled_store = match (lambda, unlabelled) {
        (Some(_), Some(u)) if config.train.unlabelled_per_batch > 0 && !u.is_empty() => {
            Some(SampleStore::new(
                u.without_labels(),
                pp.clone(),
                pretext_task.clone(),
                cache.clone(),
            )?)
        }
        _ => None,
    };
    let val_store = validation
        .map(|v| {
            SampleStore::new(
                v.labelled_only(),
                pp.clone(),
                pretext_task.clone(),
                cache.clone(),
            )
        })
        .transpose()?;
    let mut streams: Vec<(&SampleStore<'_>, usize)> =
        labelled_stores.iter().map(|(s, per)| (s, *per)).collect();
    if let Some(u) = &unlabelled_store {
        streams.push((u, config.train.unlabelled_per_batch));
    }
    let identity = serde_json::json!({
        "kind": "finetune",
        "strategy": config.strategy,
        "init": config.init,
        "network": network,
        "task": task.describe(),
        "train": result_relevant(&config.train),
        "labelled": signature(&labelled),
        "unlabelled": unlabelled_store.as_ref().map(|s| signature(s.dataset())),
        "validation": validation.map(signature),
    });
    let description = serde_json::json!({
        "config": config,
        "labelled_images": labelled.len(),
        "labelled_subjects": labelled.studies().iter().map(|&s| labelled.subject_id(s)).collect::<Vec<_>>(),
        "unlabelled_images": unlabelled_store.as_ref().map(|s| s.len()),
        "validation_images": validation.map(|v| v.labelled_count()),
        "load_report": report.map(|r| r.to_string()),
    });
    Session {
        net,
        kind: "finetune",
        task: pretext_task,
        pretext_weight: lambda.unwrap_or(0.0),
        segment: true,
        label_sets: labelled.label_sets().clone(),
        streams,
        validation: val_store.as_ref(),
        config: config.train.clone(),
        run: run.clone(),
        identity: identity.to_string(),
        description,
    }
    .run(reporter)
}

/// The strategy names accepted by [`cmr_pretext::TransferStrategy`]'s parser, for help texts.
pub const STRATEGY_NAMES: &str = "scratch, ssl-decoder, ssl-all, ssl-multitask[:LAMBDA]";

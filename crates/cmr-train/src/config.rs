//! Run configurations: what every training run shares ([`TrainConfig`]), pretraining
//! ([`PretrainConfig`]) and fine-tuning ([`FinetuneConfig`]), the pretext task
//! ([`TaskConfig`]) and the output folder ([`RunDir`]).

use std::path::PathBuf;
use std::sync::Arc;

use cmr_geometry::positions::CrossLayout;
use cmr_pretext::{LineHeatmapTask, PositionTask, PretextTask, TransferStrategy};
use cmr_unet::{HeadSpec, UNetConfig};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::augment::AugmentConfig;
use crate::loader::LoaderConfig;
use crate::optim::{AdamConfig, LrSchedule};
use crate::preprocess::PreprocessConfig;
use crate::store::CacheMode;
use crate::TrainError;

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// The first CUDA device when libtorch sees one, else the CPU.
    #[default]
    Auto,
    /// The CPU (bitwise reproducible, given the same number of threads).
    Cpu,
    /// CUDA device `n`.
    Cuda(usize),
}

impl DeviceChoice {
    /// The tch device.
    pub fn device(self) -> Device {
        match self {
            Self::Auto => cmr_unet::default_device(),
            Self::Cpu => Device::Cpu,
            Self::Cuda(n) => Device::Cuda(n),
        }
    }
}

/// Stop when the validation metric has not improved by `min_delta` for `patience` epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: u64,
    /// Smallest improvement that counts.
    pub min_delta: f64,
}

/// The fewest steps of an epoch whose length is left to the data.
pub const MIN_EPOCH_STEPS: u64 = 25;

/// Everything a training run shares, pretraining or fine-tuning: the budget, the optimiser and
/// schedule, the data pipeline, validation and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimiser steps (the budget; the same for every strategy of a comparison).
    pub steps: u64,
    /// Images per batch (labelled images when fine-tuning).
    pub batch_size: usize,
    /// Unlabelled images added to every batch by the multi-task strategy (ignored otherwise).
    pub unlabelled_per_batch: usize,
    /// When set, long-axis images (2Ch, 3Ch, 4Ch) are drawn from a stream of their own: every
    /// batch takes `batch_size` images of the other views (short axis) and this many
    /// long-axis images, so that views with few images (one LA image per view and frame
    /// against ~10 SA slices) still get a fixed share of every step and of the loss. `None`:
    /// one stream over all views, in proportion to their images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_axis_per_batch: Option<usize>,
    /// Adam.
    pub optimizer: AdamConfig,
    /// Learning-rate schedule over `steps`.
    pub schedule: LrSchedule,
    /// Steps between validations ("epochs"); `None`: one pass over the training images, but
    /// at least [`MIN_EPOCH_STEPS`] (a single labelled subject is a pass of 2-3 steps, and
    /// validating and checkpointing that often would cost more than the training).
    pub epoch_steps: Option<u64>,
    /// Early stopping on the validation metric (needs validation data).
    pub early_stopping: Option<EarlyStopping>,
    /// Steps between resume checkpoints (also written at every epoch end and at the end).
    pub checkpoint_every: u64,
    /// At most this many validation images (evenly spaced over the validation set).
    pub validation_images: Option<usize>,
    /// Seed of the weights' initialisation, the data order and the augmentation.
    pub seed: u64,
    /// Device.
    pub device: DeviceChoice,
    /// Loader threads and queue depth.
    pub loader: LoaderConfig,
    /// Preprocessing.
    pub preprocess: PreprocessConfig,
    /// Augmentation of training images.
    pub augment: AugmentConfig,
    /// Cache of prepared samples.
    pub cache: CacheMode,
}

impl Default for TrainConfig {
    /// 2000 steps of 8 images, Adam 1e-3 with cosine decay, validation every pass, early
    /// stopping after 10 epochs without improvement, checkpoints every 200 steps.
    fn default() -> Self {
        Self {
            steps: 2000,
            batch_size: 8,
            unlabelled_per_batch: 8,
            long_axis_per_batch: None,
            optimizer: AdamConfig::default(),
            schedule: LrSchedule::default(),
            epoch_steps: None,
            early_stopping: Some(EarlyStopping {
                patience: 10,
                min_delta: 1e-4,
            }),
            checkpoint_every: 200,
            validation_images: Some(512),
            seed: 0,
            device: DeviceChoice::Auto,
            loader: LoaderConfig::default(),
            preprocess: PreprocessConfig::default(),
            augment: AugmentConfig::default(),
            cache: CacheMode::Memory,
        }
    }
}

impl TrainConfig {
    /// A configuration for tests and quick looks: `steps` steps of 4 images of 32 x 32 pixels
    /// at 4 mm, one loader thread, no early stopping, CPU.
    pub fn tiny(steps: u64) -> Self {
        Self {
            steps,
            batch_size: 4,
            unlabelled_per_batch: 4,
            epoch_steps: None,
            early_stopping: None,
            checkpoint_every: 1000,
            validation_images: Some(64),
            device: DeviceChoice::Cpu,
            loader: LoaderConfig {
                workers: 1,
                prefetch: 2,
            },
            preprocess: PreprocessConfig {
                spacing_mm: 4.0,
                crop: 32,
                ..PreprocessConfig::default()
            },
            ..Self::default()
        }
    }

    /// Checks every part.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the first bad value.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what, reason: String| Err(TrainError::Invalid { what, reason });
        if self.steps == 0 {
            return bad("steps", "0".into());
        }
        if self.batch_size == 0 {
            return bad("batch size", "0".into());
        }
        if self.long_axis_per_batch == Some(0) {
            return bad(
                "long-axis images per batch",
                "0 (use None for one stream)".into(),
            );
        }
        if self.checkpoint_every == 0 || self.epoch_steps == Some(0) {
            return bad("checkpoint or epoch interval", "0 steps".into());
        }
        if let Some(e) = self.early_stopping {
            if e.patience == 0 || !(e.min_delta.is_finite() && e.min_delta >= 0.0) {
                return bad("early stopping", format!("{e:?}"));
            }
        }
        if self.validation_images == Some(0) {
            return bad("validation images", "0".into());
        }
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.preprocess.validate()?;
        self.augment.validate()
    }
}

/// The pretext task, as configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum TaskConfig {
    /// Anatomical positions of a [`CrossLayout`] (10 classes), optional class weights.
    Positions {
        /// The layout.
        layout: CrossLayout,
        /// Per-class weights, background first.
        class_weights: Option<Vec<f64>>,
    },
    /// Line heatmaps of the 2Ch, 3Ch and 4Ch planes.
    LineHeatmaps {
        /// Ridge width, mm.
        sigma_mm: f64,
    },
}

impl Default for TaskConfig {
    /// Positions of the default cross layout, background weighted 0.1 and every position 1.
    /// The tiles cover about a tenth of a crop; unweighted, a small U-Net on the phantom
    /// settled on predicting background (held-out position Dice 0.02 after 600 steps), while
    /// with these weights it reached 0.34 after 100 steps (`examples/pretrain_positions.rs`).
    fn default() -> Self {
        Self::Positions {
            layout: CrossLayout::default(),
            class_weights: Some(Self::background_weighted(0.1)),
        }
    }
}

impl TaskConfig {
    /// Weights of the 10 position classes: `background` for class 0, 1 for the positions.
    pub fn background_weighted(background: f64) -> Vec<f64> {
        std::iter::once(background)
            .chain(std::iter::repeat_n(1.0, 9))
            .collect()
    }

    /// The task.
    ///
    /// # Errors
    /// [`TrainError::Pretext`] for bad weights or sigma.
    pub fn build(&self) -> Result<Arc<dyn PretextTask>, TrainError> {
        Ok(match self {
            Self::Positions {
                layout,
                class_weights,
            } => {
                let task = PositionTask::new(*layout, format!("{layout:?}"));
                match class_weights {
                    Some(w) => Arc::new(task.with_class_weights(w.clone())?),
                    None => Arc::new(task),
                }
            }
            Self::LineHeatmaps { sigma_mm } => Arc::new(LineHeatmapTask::new(*sigma_mm)?),
        })
    }

    /// The task's head.
    ///
    /// # Errors
    /// As [`TaskConfig::build`].
    pub fn head(&self) -> Result<HeadSpec, TrainError> {
        let t = self.build()?;
        Ok(HeadSpec::new(t.name(), t.output_channels()))
    }
}

/// Pretraining on the pretext task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// The network (its heads are replaced by the task's head).
    pub network: UNetConfig,
    /// The pretext task.
    pub task: TaskConfig,
    /// The run.
    pub train: TrainConfig,
}

/// Fine-tuning for segmentation with one of the transfer strategies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    /// The transfer strategy.
    pub strategy: TransferStrategy,
    /// The pretrained checkpoint (required by the SSL strategies; for `Scratch`, when given,
    /// only its architecture is used so that every strategy trains the same network).
    pub init: Option<PathBuf>,
    /// The architecture when there is no checkpoint (its heads are replaced).
    pub network: UNetConfig,
    /// The pretext task (for the multi-task strategy; must match the checkpoint's head).
    pub task: TaskConfig,
    /// The run.
    pub train: TrainConfig,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            strategy: TransferStrategy::SslMultiTask { lambda: 1.0 },
            init: None,
            network: UNetConfig::default(),
            task: TaskConfig::default(),
            train: TrainConfig {
                steps: 1000,
                ..TrainConfig::default()
            },
        }
    }
}

/// How an output folder is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// Start a new run; the folder must be missing or empty.
    #[default]
    Fresh,
    /// Start a new run, replacing the files of an earlier one.
    Overwrite,
    /// Continue the run whose resume state the folder holds (an error if there is none).
    Resume,
    /// Continue if the folder holds a resume state, else start a new run: the folder must then
    /// be missing, empty, or hold only a run's own files (a run killed before its first
    /// checkpoint), which are replaced.
    ResumeOrFresh,
}

/// A run's output folder: `best.safetensors`, `last.safetensors`, `resume.safetensors`,
/// `log.csv`, `epochs.csv`, `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
    /// How to treat it.
    pub mode: OutputMode,
}

impl RunDir {
    /// A fresh run in `path`.
    pub fn fresh(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            mode: OutputMode::Fresh,
        }
    }

    /// `path` with `mode`.
    pub fn new(path: impl Into<PathBuf>, mode: OutputMode) -> Self {
        Self {
            path: path.into(),
            mode,
        }
    }

    /// The best checkpoint.
    pub fn best(&self) -> PathBuf {
        self.path.join("best.safetensors")
    }

    /// The last checkpoint.
    pub fn last(&self) -> PathBuf {
        self.path.join("last.safetensors")
    }

    /// The resume state.
    pub fn resume_state(&self) -> PathBuf {
        self.path.join("resume.safetensors")
    }
}

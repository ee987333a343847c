//! Data pipeline, training loop and evaluation for cmr-ssl: from any
//! [`StudySource`](cmr_geometry::StudySource) to a pretrained U-Net and to fine-tuned
//! segmentation networks, one call each.
//!
//! # Data flow
//!
//! 1. [`Dataset`]: which images (study, view, slice, frame), with each view's segmentation
//!    [`LabelSet`] carried by the data ([`LabelSets`]); split by subject
//!    ([`Dataset::with_studies`], [`Dataset::without_labels`]).
//! 2. [`prepare`] ([`PreprocessConfig`]): normalise ([`Normalization`]), resample to a fixed
//!    spacing on a square region centred on the LV that the view geometry gives (no labels
//!    needed), labels by nearest neighbour, the pretext target derived exactly on the region's
//!    plane. [`SampleStore`] keeps prepared samples ([`CacheMode`]: none, memory, disk).
//! 3. [`augment`] ([`AugmentConfig`]): rotation, scaling, translation, gamma and bias, the
//!    same geometry for image, labels and targets; no flips.
//! 4. [`BatchPlanner`] + [`Prefetcher`]: the samples of every step are a pure function of
//!    `(seed, step)`; loader threads prepare them ahead of the model step in bounded queues;
//!    [`Batch`] stacks them as tensors.
//! 5. [`pretrain`] / [`finetune`]: [`Adam`] (state in the checkpoint) with an
//!    [`LrSchedule`], validation per epoch, early stopping, best/last checkpoints written
//!    atomically, resume with the same result as an uninterrupted run, NaN/inf detection,
//!    progress through a [`Reporter`], `log.csv`/`epochs.csv`/`run.json` per run.
//! 6. [`evaluate_segmentation`] (per-structure metrics on the original grids),
//!    [`evaluate_pretext`] (pretext Dice).
//! 7. [`experiment`]: the few-shot experiment of the paper end to end (split, pretraining,
//!    every n x draw x strategy, evaluation, `results.csv`, `summary.md`, plot, overlays),
//!    resumable.
//! 8. [`segment`]: segmentation of new studies, label volumes in the study geometry, overlays
//!    and LV/RV volumes, EF and LV mass.
//!
//! ```
//! use cmr_train::{LrSchedule, TrainConfig};
//! let config = TrainConfig::tiny(20);
//! config.validate()?;
//! assert_eq!(config.preprocess.crop, 32);
//! assert!(LrSchedule::default().factor(19, 20) < 0.1);
//! # Ok::<(), cmr_train::TrainError>(())
//! ```

#![warn(missing_docs)]

mod augment;
mod config;
mod dataset;
mod error;
mod evaluate;
pub mod experiment;
mod loader;
mod machine;
mod normalize;
mod optim;
mod overlay;
mod preprocess;
mod report;
mod resample;
mod runs;
mod seeds;
pub mod segment;
mod serde_f64;
mod store;
mod tensorfile;
mod text;
mod trainer;

pub use augment::{augment, centre_crop, AugmentConfig, AugmentDraw, TrainingSample};
pub use config::{
    DeviceChoice, EarlyStopping, FinetuneConfig, OutputMode, PretrainConfig, RunDir, TaskConfig,
    TrainConfig, MIN_EPOCH_STEPS,
};
pub use dataset::{
    merge_into_memory, shuffle_studies, subject_id, Dataset, DatasetOptions, FrameSelection,
    ImageItem, LabelSet, LabelSets,
};
pub use error::TrainError;
pub use evaluate::{
    crop_labels_to_original, evaluate_pretext, evaluate_segmentation, predict_on_original,
    EvalOptions, EvalRecord, PretextScore,
};
pub use loader::{
    Batch, BatchPlanner, BatchSource, LoaderConfig, PlannedSample, Prefetcher, SegmentationBatch,
    StreamPlan,
};
pub use machine::{process_cpu_seconds, MachineInfo};
pub use normalize::{
    percentile, percentile_normalize, stack_image_refs, stack_images, Normalization,
};
pub use optim::{Adam, AdamConfig, LrSchedule};
pub use overlay::{panel_grid, render_labels, save_png, LabelOverlayStyle, LABEL_COLOURS};
pub use preprocess::{prepare, LaCentre, PreparedSample, PreprocessConfig};
pub use report::{
    Control, EpochRecord, NoReport, RecordingReporter, Reporter, RunStart, StepRecord,
};
pub use resample::{warp_bilinear, warp_nearest, Affine2};
pub use runs::{finetune, pretrain, STRATEGY_NAMES};
pub use seeds::{derive_seed, mix64};
pub use store::{CacheMode, SampleStore};
pub use text::{figure_font, FONT_ENV};
pub use trainer::{build_network, BestRecord, RunOutcome, RunStatus, Timing};

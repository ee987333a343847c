//! What an experiment runs: [`ExperimentConfig`] and its two presets.

use cmr_geometry::View;
use cmr_pretext::TransferStrategy;
use cmr_unet::UNetConfig;
use serde::{Deserialize, Serialize};

use crate::config::{DeviceChoice, TaskConfig, TrainConfig};
use crate::dataset::FrameSelection;
use crate::evaluate::EvalOptions;
use crate::loader::LoaderConfig;
use crate::optim::AdamConfig;
use crate::preprocess::PreprocessConfig;
use crate::TrainError;

/// How subjects are divided between the roles. No subject has two roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Labelled subjects held out for the final evaluation (fixed for the whole experiment).
    pub test_subjects: usize,
    /// Labelled subjects for validation during fine-tuning (best checkpoint) and for choosing
    /// hyper-parameters (never the test subjects).
    pub validation_subjects: usize,
    /// Labelled subjects the labelled training sets are drawn from; `None`: every remaining
    /// labelled subject.
    pub labelled_pool: Option<usize>,
    /// Subjects of the unlabelled pool (pretraining, and the unlabelled share of multi-task
    /// batches), taken from everything left (labelled subjects' labels unused); `None`: all
    /// of it.
    pub unlabelled_subjects: Option<usize>,
}

/// Which held-out subjects the runs are scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationSet {
    /// The test subjects: the results to report.
    #[default]
    Test,
    /// The validation subjects: for choosing hyper-parameters without looking at the test set.
    Validation,
}

/// How runs are executed: changes speed, not results (see [`ExperimentConfig::execution`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// Fine-tuning runs trained at the same time (each in its own thread).
    pub parallel_runs: usize,
    /// libtorch intra-op threads per run; `None`: libtorch's default. On the CPU the result
    /// of a run depends on this number (the order of floating-point sums), so it is part of
    /// the experiment's identity.
    pub torch_threads: Option<i32>,
}

/// The few-shot experiment of Bai et al. (MICCAI 2019): pretrain once on the unlabelled pool,
/// then for every number of labelled subjects `n`, every draw of `n` subjects and every
/// transfer strategy, fine-tune with the same budget and evaluate on the fixed test subjects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Where it came from: `quick`, `paper`, or `custom`.
    pub preset: String,
    /// Seed of the subject split, the labelled draws and the runs' seeds.
    pub seed: u64,
    /// The subject split.
    pub split: SplitConfig,
    /// Numbers of labelled subjects (those larger than the labelled pool are skipped).
    pub labelled_subjects: Vec<usize>,
    /// Draws per number of labelled subjects: different labelled subjects and run seeds; the
    /// strategies share each draw, so they are compared pairwise.
    pub draws: usize,
    /// Strategies compared (the first [`TransferStrategy::Scratch`] one is the baseline).
    pub strategies: Vec<TransferStrategy>,
    /// Views used (segmentation on those with a label set: SA, 2Ch, 4Ch).
    pub views: Vec<View>,
    /// The U-Net (its heads are set by the task and the label sets).
    pub network: UNetConfig,
    /// The pretext task.
    pub task: TaskConfig,
    /// Pretraining run (its `seed` is replaced by one derived from [`Self::seed`]).
    pub pretrain: TrainConfig,
    /// Cine frames of the unlabelled pool used for pretraining.
    pub pretrain_frames: FrameSelection,
    /// Every fine-tuning run: the same budget, optimiser and schedule for every strategy
    /// (`seed` is replaced per draw).
    pub finetune: TrainConfig,
    /// Labelled frames used for fine-tuning, validation and evaluation.
    pub finetune_frames: FrameSelection,
    /// Metric conventions of the evaluation.
    pub evaluation: EvalOptions,
    /// Test or validation subjects.
    pub evaluate_on: EvaluationSet,
    /// Parallelism.
    pub execution: Execution,
}

impl ExperimentConfig {
    /// The quick preset: ~10 minutes on 2 CPU cores for a phantom cohort of
    /// [`ExperimentConfig::QUICK_PHANTOM_SUBJECTS`] small subjects.
    ///
    /// 8 test, 2 validation, 24 labelled-pool and the rest (16) unlabelled subjects;
    /// n = 1, 5, 20 labelled subjects x 3 draws x the four strategies (36 runs); a 4-level
    /// U-Net of width 8 on 64 x 64 crops of 3 mm. Pretraining: 600 steps of 8 images from
    /// every cine frame of the unlabelled pool. Fine-tuning: 150 steps of 8 short-axis + 4
    /// long-axis labelled images (ED and ES frames), plus 4 unlabelled images for the
    /// multi-task strategy, Adam 2e-3 with cosine decay, the best of 3 validations. One
    /// libtorch thread per run and 2 runs at a time: on 2 cores this is about twice as fast
    /// as one run on 2 threads, and on a shared machine far steadier.
    pub fn quick() -> Self {
        let preprocess = PreprocessConfig {
            spacing_mm: 3.0,
            crop: 64,
            ..PreprocessConfig::default()
        };
        let base = TrainConfig {
            device: DeviceChoice::Auto,
            loader: LoaderConfig {
                workers: 1,
                prefetch: 2,
            },
            early_stopping: None,
            checkpoint_every: 100,
            preprocess,
            ..TrainConfig::default()
        };
        Self {
            preset: "quick".into(),
            seed: 2019,
            split: SplitConfig {
                test_subjects: 8,
                validation_subjects: 2,
                labelled_pool: Some(24),
                unlabelled_subjects: None,
            },
            labelled_subjects: vec![1, 5, 20],
            draws: 3,
            strategies: TransferStrategy::ALL.to_vec(),
            views: View::CARDIAC.to_vec(),
            network: UNetConfig {
                levels: 4,
                base_channels: 8,
                ..UNetConfig::default()
            },
            task: TaskConfig::default(),
            pretrain: TrainConfig {
                steps: 600,
                batch_size: 8,
                epoch_steps: Some(100),
                validation_images: Some(64),
                optimizer: AdamConfig {
                    lr: 2e-3,
                    ..AdamConfig::default()
                },
                ..base.clone()
            },
            pretrain_frames: FrameSelection::All,
            finetune: TrainConfig {
                steps: 150,
                batch_size: 8,
                unlabelled_per_batch: 4,
                long_axis_per_batch: Some(4),
                epoch_steps: Some(50),
                validation_images: Some(64),
                optimizer: AdamConfig {
                    lr: 2e-3,
                    ..AdamConfig::default()
                },
                ..base
            },
            finetune_frames: FrameSelection::EdEs,
            evaluation: EvalOptions::default(),
            evaluate_on: EvaluationSet::Test,
            execution: Execution {
                parallel_runs: 2,
                torch_threads: Some(1),
            },
        }
    }

    /// Phantom subjects the quick preset is sized for (8 + 2 + 24 + 16).
    pub const QUICK_PHANTOM_SUBJECTS: usize = 50;

    /// Phantom subjects the paper preset is sized for (40 + 10 + 150 + 100).
    pub const PAPER_PHANTOM_SUBJECTS: usize = 300;

    /// The paper preset, for a GPU: n = 1, 2, 5, 10, 20, 50, 100 labelled subjects x 5 draws
    /// x the four strategies (140 runs), the default U-Net (5 levels, 16-256 channels, as
    /// Bai et al.'s UK Biobank networks) on 128 x 128 crops of 1.8 mm; 40 test, 10
    /// validation and 150 labelled-pool subjects, every other subject unlabelled. Pretraining
    /// 20,000 steps of 16 images; fine-tuning 3,000 steps of 16 short-axis + 4 long-axis
    /// images (+ 8 unlabelled for the multi-task strategy), Adam 1e-3 with cosine decay,
    /// validation every 250 steps. The device is CUDA when libtorch sees one.
    pub fn paper() -> Self {
        let preprocess = PreprocessConfig {
            spacing_mm: 1.8,
            crop: 128,
            ..PreprocessConfig::default()
        };
        let base = TrainConfig {
            device: DeviceChoice::Auto,
            loader: LoaderConfig {
                workers: 4,
                prefetch: 4,
            },
            early_stopping: None,
            checkpoint_every: 500,
            preprocess,
            ..TrainConfig::default()
        };
        Self {
            preset: "paper".into(),
            seed: 2019,
            split: SplitConfig {
                test_subjects: 40,
                validation_subjects: 10,
                labelled_pool: Some(150),
                unlabelled_subjects: None,
            },
            labelled_subjects: vec![1, 2, 5, 10, 20, 50, 100],
            draws: 5,
            strategies: TransferStrategy::ALL.to_vec(),
            views: View::CARDIAC.to_vec(),
            network: UNetConfig::default(),
            task: TaskConfig::default(),
            pretrain: TrainConfig {
                steps: 20_000,
                batch_size: 16,
                epoch_steps: Some(1000),
                validation_images: Some(512),
                ..base.clone()
            },
            pretrain_frames: FrameSelection::All,
            finetune: TrainConfig {
                steps: 3000,
                batch_size: 16,
                unlabelled_per_batch: 8,
                long_axis_per_batch: Some(4),
                epoch_steps: Some(250),
                validation_images: Some(512),
                ..base
            },
            finetune_frames: FrameSelection::EdEs,
            evaluation: EvalOptions::default(),
            evaluate_on: EvaluationSet::Test,
            execution: Execution {
                parallel_runs: 1,
                torch_threads: None,
            },
        }
    }

    /// The preset called `name` (`quick` or `paper`).
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for another name.
    pub fn preset(name: &str) -> Result<Self, TrainError> {
        match name {
            "quick" => Ok(Self::quick()),
            "paper" => Ok(Self::paper()),
            other => Err(TrainError::Invalid {
                what: "experiment preset",
                reason: format!("`{other}` (expected quick or paper)"),
            }),
        }
    }

    /// Checks every part.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the first bad value.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what, reason: String| Err(TrainError::Invalid { what, reason });
        if self.labelled_subjects.is_empty() || self.labelled_subjects.contains(&0) {
            return bad(
                "labelled subject counts",
                format!("{:?}: at least one, none 0", self.labelled_subjects),
            );
        }
        let mut sorted = self.labelled_subjects.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != self.labelled_subjects {
            return bad(
                "labelled subject counts",
                format!("{:?}: must increase", self.labelled_subjects),
            );
        }
        if self.draws == 0 {
            return bad("draws", "0".into());
        }
        if self.strategies.is_empty() {
            return bad("strategies", "none".into());
        }
        let names: Vec<String> = self.strategies.iter().map(strategy_slug).collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return bad("strategies", format!("{n} appears twice"));
            }
        }
        for s in &self.strategies {
            s.validate()?;
        }
        if self.split.test_subjects == 0 && self.evaluate_on == EvaluationSet::Test {
            return bad("split", "no test subject".into());
        }
        if self.split.validation_subjects == 0 && self.evaluate_on == EvaluationSet::Validation {
            return bad("split", "no validation subject to evaluate on".into());
        }
        if self.views.is_empty() {
            return bad("views", "none".into());
        }
        if self.execution.parallel_runs == 0 {
            return bad("parallel runs", "0".into());
        }
        if self.execution.torch_threads.is_some_and(|t| t < 1) {
            return bad(
                "torch threads",
                format!("{:?}", self.execution.torch_threads),
            );
        }
        self.network.validate()?;
        self.pretrain.validate()?;
        self.finetune.validate()?;
        let m = self.network.size_multiple() as usize;
        for (what, t) in [("pretrain", &self.pretrain), ("finetune", &self.finetune)] {
            if t.preprocess.crop % m != 0 {
                return bad(
                    "crop size",
                    format!(
                        "{what}: {} px is not a multiple of {m} (2^(levels - 1))",
                        t.preprocess.crop
                    ),
                );
            }
        }
        if self.pretrain.preprocess != self.finetune.preprocess {
            return bad(
                "preprocessing",
                "pretraining and fine-tuning must see the same grid".into(),
            );
        }
        self.task.build().map(|_| ())
    }

    /// The baseline strategy (the first `Scratch`), if any.
    pub fn baseline(&self) -> Option<TransferStrategy> {
        self.strategies
            .iter()
            .copied()
            .find(|s| *s == TransferStrategy::Scratch)
    }
}

/// A file-name-safe name of a strategy: `scratch`, `ssl-decoder`, `ssl-all`,
/// `ssl-multitask` (with `-LAMBDA` when lambda is not 1).
pub fn strategy_slug(s: &TransferStrategy) -> String {
    s.to_string().replace(':', "-")
}

/// The name of a strategy in tables: Scratch, SSL+Decoder, SSL+All, SSL+MultiTask
/// (with the lambda when it is not 1).
pub fn strategy_label(s: &TransferStrategy) -> String {
    match s {
        TransferStrategy::Scratch => "Scratch".into(),
        TransferStrategy::SslDecoder => "SSL+Decoder".into(),
        TransferStrategy::SslAll => "SSL+All".into(),
        TransferStrategy::SslMultiTask { lambda } if *lambda != 1.0 => {
            format!("SSL+MultiTask (λ={lambda})")
        }
        TransferStrategy::SslMultiTask { .. } => "SSL+MultiTask".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_sized_as_documented() {
        let q = ExperimentConfig::quick();
        q.validate().unwrap();
        let s = &q.split;
        assert_eq!(
            s.test_subjects + s.validation_subjects + s.labelled_pool.unwrap() + 16,
            ExperimentConfig::QUICK_PHANTOM_SUBJECTS
        );
        assert_eq!(q.labelled_subjects.len() * q.draws * q.strategies.len(), 36);
        let p = ExperimentConfig::paper();
        p.validate().unwrap();
        assert_eq!(p.finetune.device, DeviceChoice::Auto);
        assert_eq!(p.labelled_subjects, vec![1, 2, 5, 10, 20, 50, 100]);
        let s = &p.split;
        assert_eq!(
            s.test_subjects + s.validation_subjects + s.labelled_pool.unwrap() + 100,
            ExperimentConfig::PAPER_PHANTOM_SUBJECTS
        );
        assert!(ExperimentConfig::preset("slow").is_err());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = ExperimentConfig::quick();
        c.labelled_subjects = vec![5, 1];
        assert!(c.validate().is_err());
        let mut c = ExperimentConfig::quick();
        c.finetune.preprocess.crop = 60;
        c.pretrain.preprocess.crop = 60;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("multiple of 8"), "{e}");
        let mut c = ExperimentConfig::quick();
        c.strategies.push(TransferStrategy::Scratch);
        assert!(c.validate().is_err());
        let mut c = ExperimentConfig::quick();
        c.pretrain.preprocess.spacing_mm = 2.0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn strategy_names() {
        let m = TransferStrategy::SslMultiTask { lambda: 0.5 };
        assert_eq!(strategy_slug(&m), "ssl-multitask-0.5");
        assert_eq!(strategy_label(&m), "SSL+MultiTask (λ=0.5)");
        assert_eq!(strategy_slug(&TransferStrategy::SslAll), "ssl-all");
    }
}

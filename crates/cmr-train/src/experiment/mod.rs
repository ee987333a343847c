//! The few-shot experiment of Bai et al. (MICCAI 2019), end to end: does anatomical-position
//! pretraining help when only a few subjects are labelled?
//!
//! [`run_experiment`] splits the subjects of any [`StudySource`](cmr_geometry::StudySource)
//! into a fixed test set, a validation set, a labelled pool and an unlabelled pool
//! ([`SubjectSplit`]), pretrains once on the unlabelled pool, then for every number of
//! labelled subjects `n`, every draw of `n` subjects from the pool and every transfer strategy
//! fine-tunes with the same budget, optimiser and schedule, and evaluates on the test subjects
//! at ED and ES on the original image grids. It writes, into one folder:
//!
//! | file | content |
//! |---|---|
//! | `results.csv` | one row per run, evaluated volume and structure: Dice, HD95, ASSD, MCD |
//! | `summary.md` | mean ± sd Dice per n and strategy (SA and LA), paired comparisons with Scratch (paired t-test over draws, sign test over volumes), what the numbers say |
//! | `dice_vs_n.png` | Dice against n, one line per strategy, error bars |
//! | `overlays/` | predictions against the reference on one test subject, per n |
//! | `run.json` | configuration, split, machine, timings, scores |
//! | `experiment.json`, `pretrain/`, `runs/<run>/` | identity, and every run's checkpoints, logs and metrics |
//!
//! Runs are written as they finish: calling [`run_experiment`] again with the same
//! configuration and data skips finished runs and resumes an interrupted one bit for bit.
//!
//! Two presets: [`ExperimentConfig::quick`] (about 10 minutes on 2 CPU cores) and
//! [`ExperimentConfig::paper`] (for a GPU).
//!
//! ```no_run
//! use cmr_phantom::{PhantomConfig, Subject};
//! use cmr_train::experiment::{run_experiment, ExperimentConfig, Provenance, QuietExperiment};
//! let phantom = PhantomConfig::small(10);
//! let source = cmr_train::merge_into_memory((0..50).map(|i| {
//!     Subject::new(&phantom, 2019, i).unwrap().render().to_memory_source()
//! }))?;
//! let outcome = run_experiment(
//!     &ExperimentConfig::quick(),
//!     &source,
//!     std::path::Path::new("target/experiment"),
//!     &Provenance { data: "phantom cohort of 50 subjects".into(), ..Provenance::default() },
//!     &QuietExperiment,
//! )?;
//! println!("{} runs; see {}/summary.md", outcome.records.len(), outcome.out.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod figures;
mod plot;
mod results;
mod runner;
mod scores;
mod split;
mod stats;
mod summary;

pub use config::{
    strategy_label, strategy_slug, EvaluationSet, Execution, ExperimentConfig, SplitConfig,
};
pub use results::MetricRow;
pub use runner::{
    run_experiment, ExperimentOutcome, ExperimentPlan, ExperimentReporter, ExperimentStatus,
    PlannedRun, Provenance, QuietExperiment, RunKind, RunSummary, SplitSummary, Timings,
};
pub use scores::{Cell, Comparison, RunRecord, Scores, ViewGroup};
pub use split::SubjectSplit;
pub use stats::{
    incomplete_beta, ln_gamma, mean_sd, paired_t_test, sign_test_p, t_two_sided_p, PairedT,
};

//! [`run_experiment`]: the subject split, pretraining once, every fine-tuning run (in
//! parallel when asked), evaluation, and the output files, resumable at any point.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use cmr_geometry::StudySource;
use cmr_pretext::TransferStrategy;
use cmr_unet::UNet;
use serde::{Deserialize, Serialize};

use crate::config::{FinetuneConfig, OutputMode, PretrainConfig, RunDir};
use crate::dataset::{Dataset, DatasetOptions, FrameSelection, LabelSets};
use crate::evaluate::evaluate_segmentation;
use crate::experiment::config::{strategy_slug, EvaluationSet, ExperimentConfig};
use crate::experiment::results::{
    metrics_csv, parse_metrics_csv, MetricRow, METRIC_HEADER, RESULTS_HEADER,
};
use crate::experiment::scores::{RunRecord, Scores, ViewGroup};
use crate::experiment::split::SubjectSplit;
use crate::machine::{process_cpu_seconds, MachineInfo};
use crate::report::{NoReport, Reporter};
use crate::seeds::{derive_seed, fnv1a};
use crate::tensorfile::write_atomically;
use crate::trainer::RunStatus;
use crate::TrainError;

/// What kind of training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunKind {
    /// The one pretraining run.
    Pretrain,
    /// A fine-tuning run.
    Finetune {
        /// Labelled subjects.
        n: usize,
        /// Draw index.
        draw: usize,
        /// Strategy.
        strategy: TransferStrategy,
    },
}

/// One training run of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Id and folder name under the output folder (`pretrain`, `runs/n005-d1-ssl-all`).
    pub id: String,
    /// What it is.
    pub kind: RunKind,
    /// Its seed.
    pub seed: u64,
    /// Optimiser steps.
    pub steps: u64,
    /// Labelled subjects (fine-tuning).
    pub subjects: Vec<String>,
}

/// Subject ids of every role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SplitSummary {
    /// Test subjects.
    pub test: Vec<String>,
    /// Validation subjects.
    pub validation: Vec<String>,
    /// The labelled pool.
    pub labelled_pool: Vec<String>,
    /// The unlabelled pool.
    pub unlabelled: Vec<String>,
    /// Images of the unlabelled pool used for pretraining.
    pub unlabelled_images: usize,
    /// Labelled images (all views) of the evaluated subjects.
    pub evaluated_images: usize,
}

/// What will run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentPlan {
    /// The pretraining run.
    pub pretrain: PlannedRun,
    /// Whether it had finished before this call.
    pub pretrain_finished: bool,
    /// The fine-tuning runs, in order (n, draw, strategy).
    pub runs: Vec<PlannedRun>,
    /// Indices of the runs that finished before this call (skipped).
    pub finished: Vec<usize>,
    /// Numbers of labelled subjects left out because the labelled pool is smaller.
    pub skipped_counts: Vec<usize>,
    /// The subject split.
    pub split: SplitSummary,
}

/// How a fine-tuning run ended, for progress reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Training status.
    pub status: RunStatus,
    /// Mean short-axis Dice on the evaluated subjects.
    pub sa_dice: Option<f64>,
    /// Mean long-axis Dice.
    pub la_dice: Option<f64>,
    /// Seconds of training in this process.
    pub train_s: f64,
    /// Seconds of evaluation.
    pub eval_s: f64,
}

/// Receives an experiment's progress. Fine-tuning runs may run in parallel threads, hence
/// `Sync` and `&self`; every method has a default that does nothing.
pub trait ExperimentReporter: Sync {
    /// The plan is known (before pretraining).
    fn planned(&self, plan: &ExperimentPlan) {
        let _ = plan;
    }
    /// A short message.
    fn note(&self, message: &str) {
        let _ = message;
    }
    /// A training run starts: the reporter its steps go to.
    fn run_started(&self, run: &PlannedRun) -> Box<dyn Reporter + Send + '_> {
        let _ = run;
        Box::new(NoReport)
    }
    /// A fine-tuning run finished training and evaluation.
    fn run_finished(&self, run: &PlannedRun, summary: &RunSummary) {
        let _ = (run, summary);
    }
}

/// An [`ExperimentReporter`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietExperiment;

impl ExperimentReporter for QuietExperiment {}

/// Where the data came from and how the experiment was started, recorded in `run.json` and
/// `summary.md`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// The data (`phantom cohort of 50 subjects, seed 2019, ...` or a folder).
    pub data: String,
    /// The command line, if any.
    pub command: Option<String>,
    /// Anything else the caller wants kept (git commit, ...).
    pub extra: BTreeMap<String, String>,
}

/// How the experiment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Every run finished; the summary is written.
    Completed,
    /// A reporter interrupted a run; call again to resume.
    Interrupted,
}

/// What [`run_experiment`] produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentOutcome {
    /// The output folder.
    pub out: PathBuf,
    /// How it ended.
    pub status: ExperimentStatus,
    /// Every finished fine-tuning run (with its metric rows).
    pub records: Vec<RunRecord>,
    /// Aggregated scores (when completed).
    pub scores: Option<Scores>,
    /// Runs trained by this call (the others were finished before).
    pub trained_now: usize,
    /// Wall-clock seconds of this call.
    pub wall_s: f64,
    /// CPU seconds of this call (all threads), where the platform reports them.
    pub cpu_s: Option<f64>,
}

/// A finished run's `result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ResultFile {
    experiment: String,
    record: RunRecord,
    summary: RunSummary,
}

/// The label sets of segmentation (the project convention).
fn label_sets() -> LabelSets {
    LabelSets::default()
}

/// The identity of an experiment: configuration (without what only changes speed) and data.
fn fingerprint(config: &ExperimentConfig, source: &dyn StudySource) -> String {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    if let Some(e) = v.get_mut("execution").and_then(|e| e.as_object_mut()) {
        e.remove("parallel_runs");
    }
    for t in ["pretrain", "finetune"] {
        if let Some(o) = v.get_mut(t).and_then(|e| e.as_object_mut()) {
            for k in ["loader", "cache", "checkpoint_every"] {
                o.remove(k);
            }
        }
    }
    let uids: Vec<&str> = source.studies().iter().map(|s| s.uid.as_str()).collect();
    format!("{:016x}", fnv1a(format!("{v}{uids:?}").as_bytes()))
}

/// Checks or creates the output folder; writes `experiment.json`.
fn prepare_output(
    out: &Path,
    fingerprint: &str,
    description: &serde_json::Value,
) -> Result<(), TrainError> {
    let marker = out.join("experiment.json");
    if marker.exists() {
        let text = std::fs::read_to_string(&marker).map_err(TrainError::io(&marker))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| TrainError::Resume {
            path: marker.clone(),
            reason: e.to_string(),
        })?;
        if v.get("fingerprint").and_then(|f| f.as_str()) != Some(fingerprint) {
            return Err(TrainError::Resume {
                path: marker,
                reason: "the folder holds an experiment with another configuration or other \
                         data; choose another folder, or remove this one to start again"
                    .into(),
            });
        }
        return Ok(());
    }
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(TrainError::io(out))?;
        if let Some(e) = entries.next() {
            let name = e
                .map_err(TrainError::io(out))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            return Err(TrainError::OutputExists {
                path: out.to_path_buf(),
                found: name,
            });
        }
    }
    std::fs::create_dir_all(out.join("runs")).map_err(TrainError::io(out))?;
    let json = serde_json::json!({
        "format": "cmr-train experiment 1",
        "fingerprint": fingerprint,
        "experiment": description,
    });
    write_json(&marker, &json)
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, text.as_bytes())
}

/// Reads a finished run (its `result.json` of this experiment and `test_metrics.csv`).
fn read_finished(dir: &Path, fingerprint: &str) -> Option<(RunRecord, RunSummary)> {
    let text = std::fs::read_to_string(dir.join("result.json")).ok()?;
    let file: ResultFile = serde_json::from_str(&text).ok()?;
    if file.experiment != fingerprint {
        return None;
    }
    let path = dir.join("test_metrics.csv");
    let csv = std::fs::read_to_string(&path).ok()?;
    let rows = parse_metrics_csv(&csv, &path).ok()?;
    Some((
        RunRecord {
            rows,
            ..file.record
        },
        file.summary,
    ))
}

/// `results.csv`: every finished run's rows, in plan order.
fn results_csv(records: &BTreeMap<usize, RunRecord>) -> String {
    let mut s = format!("{RESULTS_HEADER},{METRIC_HEADER}\n");
    for r in records.values() {
        let head = format!(
            "{},{},{},{},{},{}",
            r.id,
            r.n,
            r.draw,
            strategy_slug(&r.strategy),
            r.seed,
            r.subjects.join(";").replace(',', "_")
        );
        for row in &r.rows {
            s.push_str(&head);
            s.push(',');
            s.push_str(&row.csv());
            s.push('\n');
        }
    }
    s
}

/// Everything a worker needs to train and evaluate one run.
struct Shared<'s, 'a> {
    config: &'s ExperimentConfig,
    out: &'s Path,
    fingerprint: &'s str,
    init: PathBuf,
    labelled_all: &'s Dataset<'a>,
    unlabelled: &'s Dataset<'a>,
    validation: &'s Dataset<'a>,
    evaluated: &'s Dataset<'a>,
    split: &'s SubjectSplit,
}

impl Shared<'_, '_> {
    /// Trains (or resumes) and evaluates one run; writes its `test_metrics.csv` and
    /// `result.json`. `None` when the reporter interrupted it.
    fn run_one(
        &self,
        run: &PlannedRun,
        reporter: &mut dyn Reporter,
    ) -> Result<Option<(RunRecord, RunSummary)>, TrainError> {
        let RunKind::Finetune { n, draw, strategy } = run.kind else {
            unreachable!("only fine-tuning runs are scheduled")
        };
        if let Some(t) = self.config.execution.torch_threads {
            // Per thread: libtorch's OpenMP thread count is a per-thread setting.
            tch::set_num_threads(t);
        }
        let studies = self.split.draw(n, draw, self.config.seed);
        let labelled = self.labelled_all.with_studies(&studies);
        let ft = FinetuneConfig {
            strategy,
            init: Some(self.init.clone()),
            network: self.config.network.clone(),
            task: self.config.task.clone(),
            train: crate::config::TrainConfig {
                seed: run.seed,
                ..self.config.finetune.clone()
            },
        };
        let dir = self.out.join(&run.id);
        let t0 = Instant::now();
        let outcome = crate::runs::finetune(
            &ft,
            &labelled,
            Some(self.unlabelled),
            (!self.validation.is_empty()).then_some(self.validation),
            &RunDir::new(&dir, OutputMode::ResumeOrFresh),
            reporter,
        )?;
        let train_s = t0.elapsed().as_secs_f64();
        if outcome.status == RunStatus::Interrupted {
            return Ok(None);
        }
        let t1 = Instant::now();
        let net = UNet::from_checkpoint(&outcome.best_checkpoint, ft.train.device.device())?;
        let records = evaluate_segmentation(
            &net,
            self.evaluated,
            &ft.train.preprocess,
            &self.config.evaluation,
        )?;
        let rows: Vec<MetricRow> = records.iter().map(MetricRow::from).collect();
        let eval_s = t1.elapsed().as_secs_f64();
        let record = RunRecord {
            id: run.id.clone(),
            n,
            draw,
            strategy,
            seed: run.seed,
            subjects: run.subjects.clone(),
            rows,
        };
        let summary = RunSummary {
            status: outcome.status,
            sa_dice: record.dice(ViewGroup::ShortAxis),
            la_dice: record.dice(ViewGroup::LongAxis),
            train_s,
            eval_s,
        };
        write_atomically(
            &dir.join("test_metrics.csv"),
            metrics_csv(&record.rows).as_bytes(),
        )?;
        write_json(
            &dir.join("result.json"),
            &ResultFile {
                experiment: self.fingerprint.to_string(),
                record: RunRecord {
                    rows: Vec::new(),
                    ..record.clone()
                },
                summary: summary.clone(),
            },
        )?;
        Ok(Some((record, summary)))
    }
}

/// Runs the few-shot experiment on the studies of `source` into `out`:
///
/// 1. splits the subjects ([`SubjectSplit`]: test, validation, labelled pool, unlabelled
///    pool; `experiment.json` records the configuration and the split);
/// 2. pretrains once on the unlabelled pool (`out/pretrain`);
/// 3. for every n of [`ExperimentConfig::labelled_subjects`] that the labelled pool allows,
///    every draw and every strategy, fine-tunes from the pretrained network with the same
///    budget (`out/runs/n005-d1-ssl-all`, ...), then evaluates the best checkpoint (by
///    validation Dice) on the evaluated subjects at ED and ES on the original image grids
///    (`test_metrics.csv`, `result.json` in the run folder), rewriting `results.csv` after
///    every run;
/// 4. writes `summary.md`, `dice_vs_n.png`, `overlays/` and `run.json`.
///
/// Calling it again on the same folder with the same configuration and data resumes:
/// finished runs are skipped, an interrupted run continues where its last checkpoint was
/// (with the result of an uninterrupted run). A folder holding anything else is refused.
///
/// # Errors
/// [`TrainError::Invalid`] for a bad configuration or too few subjects;
/// [`TrainError::OutputExists`] / [`TrainError::Resume`] for the output folder; the errors of
/// training, evaluation and writing.
pub fn run_experiment<R: ExperimentReporter>(
    config: &ExperimentConfig,
    source: &(dyn StudySource + Sync),
    out: &Path,
    provenance: &Provenance,
    reporter: &R,
) -> Result<ExperimentOutcome, TrainError> {
    let clock = Instant::now();
    let cpu0 = process_cpu_seconds();
    config.validate()?;
    if let Some(t) = config.execution.torch_threads {
        tch::set_num_threads(t);
    }
    let sets = label_sets().restricted_to(&config.views);
    let labelled_all = Dataset::new(
        source,
        &DatasetOptions {
            views: config.views.clone(),
            frames: config.finetune_frames,
            use_labels: true,
            label_sets: sets.clone(),
        },
    )?
    .labelled_only();
    let pool_all = Dataset::new(
        source,
        &DatasetOptions {
            views: config.views.clone(),
            frames: config.pretrain_frames,
            use_labels: false,
            label_sets: sets.clone(),
        },
    )?;
    let split = SubjectSplit::new(
        source,
        &labelled_all.studies(),
        &config.split,
        derive_seed(&[config.seed, 0x5B11]),
    )?;
    let unlabelled = pool_all.with_studies(&split.unlabelled);
    let validation = labelled_all.with_studies(&split.validation);
    let pretrain_validation = Dataset::new(
        source,
        &DatasetOptions {
            views: config.views.clone(),
            frames: FrameSelection::EdEs,
            use_labels: false,
            label_sets: sets.clone(),
        },
    )?
    .with_studies(&split.validation);
    let evaluated = match config.evaluate_on {
        EvaluationSet::Test => labelled_all.with_studies(&split.test),
        EvaluationSet::Validation => validation.clone(),
    };
    if unlabelled.is_empty() {
        return Err(TrainError::Invalid {
            what: "unlabelled pool",
            reason: "its subjects have no image of the selected views".into(),
        });
    }
    let ids =
        |v: &[usize]| -> Vec<String> { v.iter().map(|&s| labelled_all.subject_id(s)).collect() };
    let split_summary = SplitSummary {
        test: ids(&split.test),
        validation: ids(&split.validation),
        labelled_pool: ids(&split.labelled_pool),
        unlabelled: ids(&split.unlabelled),
        unlabelled_images: unlabelled.len(),
        evaluated_images: evaluated.len(),
    };
    let counts: Vec<usize> = config
        .labelled_subjects
        .iter()
        .copied()
        .filter(|&n| n <= split.labelled_pool.len())
        .collect();
    let skipped_counts: Vec<usize> = config
        .labelled_subjects
        .iter()
        .copied()
        .filter(|&n| n > split.labelled_pool.len())
        .collect();
    if counts.is_empty() {
        return Err(TrainError::Invalid {
            what: "labelled subject counts",
            reason: format!(
                "{:?}: the labelled pool holds only {} subjects",
                config.labelled_subjects,
                split.labelled_pool.len()
            ),
        });
    }
    let fp = fingerprint(config, source);
    prepare_output(
        out,
        &fp,
        &serde_json::json!({ "config": config, "split": split_summary, "provenance": provenance }),
    )?;

    // The plan.
    let pretrain_run = PlannedRun {
        id: "pretrain".into(),
        kind: RunKind::Pretrain,
        seed: derive_seed(&[config.seed, 0x9E7]),
        steps: config.pretrain.steps,
        subjects: Vec::new(),
    };
    let mut runs = Vec::new();
    for &n in &counts {
        for draw in 0..config.draws {
            let subjects = split.draw(n, draw, config.seed);
            for strategy in &config.strategies {
                runs.push(PlannedRun {
                    id: format!("runs/n{n:03}-d{draw}-{}", strategy_slug(strategy)),
                    kind: RunKind::Finetune {
                        n,
                        draw,
                        strategy: *strategy,
                    },
                    seed: derive_seed(&[config.seed, 0x5EED, n as u64, draw as u64]),
                    steps: config.finetune.steps,
                    subjects: ids(&subjects),
                });
            }
        }
    }
    let mut records: BTreeMap<usize, RunRecord> = BTreeMap::new();
    let mut summaries: BTreeMap<usize, RunSummary> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        if let Some((r, s)) = read_finished(&out.join(&run.id), &fp) {
            records.insert(i, r);
            summaries.insert(i, s);
        }
    }
    let pretrain_dir = RunDir::new(out.join("pretrain"), OutputMode::ResumeOrFresh);
    let plan = ExperimentPlan {
        pretrain: pretrain_run.clone(),
        pretrain_finished: pretrain_dir.path.join("run.json").exists()
            && pretrain_dir.best().exists(),
        runs: runs.clone(),
        finished: records.keys().copied().collect(),
        skipped_counts: skipped_counts.clone(),
        split: split_summary.clone(),
    };
    reporter.planned(&plan);

    // Pretraining.
    let t_pre = Instant::now();
    let pre = {
        let mut rep = reporter.run_started(&pretrain_run);
        crate::runs::pretrain(
            &PretrainConfig {
                network: config.network.clone(),
                task: config.task.clone(),
                train: crate::config::TrainConfig {
                    seed: pretrain_run.seed,
                    ..config.pretrain.clone()
                },
            },
            &unlabelled,
            (!pretrain_validation.is_empty()).then_some(&pretrain_validation),
            &pretrain_dir,
            rep.as_mut(),
        )?
    };
    let pretrain_s = t_pre.elapsed().as_secs_f64();
    let interrupted_outcome = |records: BTreeMap<usize, RunRecord>, trained_now| {
        Ok(ExperimentOutcome {
            out: out.to_path_buf(),
            status: ExperimentStatus::Interrupted,
            records: records.into_values().collect(),
            scores: None,
            trained_now,
            wall_s: clock.elapsed().as_secs_f64(),
            cpu_s: cpu0.and_then(|a| process_cpu_seconds().map(|b| b - a)),
        })
    };
    if pre.status == RunStatus::Interrupted {
        return interrupted_outcome(records, 0);
    }

    // Fine-tuning runs.
    let shared = Shared {
        config,
        out,
        fingerprint: &fp,
        init: pre.best_checkpoint.clone(),
        labelled_all: &labelled_all,
        unlabelled: &unlabelled,
        validation: &validation,
        evaluated: &evaluated,
        split: &split,
    };
    let todo: Vec<usize> = (0..runs.len())
        .filter(|i| !records.contains_key(i))
        .collect();
    let queue = Mutex::new(todo.into_iter());
    let stop = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let t_ft = Instant::now();
    let mut trained_now = 0;
    let mut first_error: Option<TrainError> = None;
    let workers = config.execution.parallel_runs.min(runs.len()).max(1);
    std::thread::scope(|scope| {
        let (tx, rx) =
            mpsc::channel::<(usize, Result<Option<(RunRecord, RunSummary)>, TrainError>)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, stop, interrupted, shared, runs) =
                (&queue, &stop, &interrupted, &shared, &runs);
            scope.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(i) = next else { break };
                let run = &runs[i];
                let mut rep = reporter.run_started(run);
                let result = shared.run_one(run, rep.as_mut());
                drop(rep);
                if matches!(result, Ok(None)) {
                    interrupted.store(true, Ordering::SeqCst);
                    stop.store(true, Ordering::SeqCst);
                }
                if result.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            match result {
                Ok(Some((record, summary))) => {
                    reporter.run_finished(&runs[i], &summary);
                    records.insert(i, record);
                    summaries.insert(i, summary);
                    trained_now += 1;
                    if let Err(e) =
                        write_atomically(&out.join("results.csv"), results_csv(&records).as_bytes())
                    {
                        stop.store(true, Ordering::SeqCst);
                        first_error.get_or_insert(e);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    if interrupted.load(Ordering::SeqCst) {
        return interrupted_outcome(records, trained_now);
    }
    let finetune_s = t_ft.elapsed().as_secs_f64();
    write_atomically(&out.join("results.csv"), results_csv(&records).as_bytes())?;

    // Reports.
    let t_rep = Instant::now();
    let all: Vec<RunRecord> = records.values().cloned().collect();
    let scores = Scores::new(&all, config.baseline());
    let title = format!(
        "{} Dice vs labelled subjects ({} preset, mean ± sd over {} draws)",
        match config.evaluate_on {
            EvaluationSet::Test => "test",
            EvaluationSet::Validation => "validation",
        },
        config.preset,
        config.draws
    );
    let plot_text = crate::experiment::plot::dice_vs_n(
        &out.join("dice_vs_n.png"),
        &scores,
        &config.strategies,
        &title,
    )?;
    reporter.note("drawing overlays");
    let overlays = crate::experiment::figures::write_overlays(out, config, &runs, &evaluated)?;
    let report_s = t_rep.elapsed().as_secs_f64();
    let cpu_s = cpu0.and_then(|a| process_cpu_seconds().map(|b| b - a));
    let wall_s = clock.elapsed().as_secs_f64();
    let machine = MachineInfo::current();
    let timing = Timings {
        wall_s,
        cpu_s,
        pretrain_s,
        finetune_s,
        report_s,
        trained_now,
        runs: runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| summaries.get(&i).map(|s| (r.id.clone(), s.clone())))
            .collect(),
    };
    let summary = crate::experiment::summary::markdown(&crate::experiment::summary::SummaryInput {
        config,
        provenance,
        split: &split_summary,
        skipped_counts: &skipped_counts,
        records: &all,
        scores: &scores,
        overlays: &overlays,
        plot_has_text: plot_text,
        machine: &machine,
        timings: &timing,
    });
    write_atomically(&out.join("summary.md"), summary.as_bytes())?;
    write_json(
        &out.join("run.json"),
        &serde_json::json!({
            "format": "cmr-train experiment 1",
            "fingerprint": fp,
            "config": config,
            "provenance": provenance,
            "split": split_summary,
            "skipped_counts": skipped_counts,
            "machine": machine,
            "timings": timing,
            "scores": scores,
            "pretrain": { "best": pre.best, "status": pre.status },
        }),
    )?;
    Ok(ExperimentOutcome {
        out: out.to_path_buf(),
        status: ExperimentStatus::Completed,
        records: all,
        scores: Some(scores),
        trained_now,
        wall_s,
        cpu_s,
    })
}

/// Wall-clock figures of one call of [`run_experiment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Whole call, seconds.
    pub wall_s: f64,
    /// CPU seconds of the call (all threads).
    pub cpu_s: Option<f64>,
    /// Pretraining (or checking that it had finished), seconds.
    pub pretrain_s: f64,
    /// All fine-tuning runs of this call, seconds.
    pub finetune_s: f64,
    /// Summary, plot and overlays, seconds.
    pub report_s: f64,
    /// Runs trained by this call.
    pub trained_now: usize,
    /// Per run: training and evaluation seconds (of the call that trained it).
    pub runs: Vec<(String, RunSummary)>,
}

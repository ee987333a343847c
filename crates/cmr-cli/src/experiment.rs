//! `cmr-ssl experiment`: the few-shot experiment of Bai et al. (MICCAI 2019) end to end
//! (cmr-train's `experiment` module) on a DICOM or NIfTI folder or an in-memory phantom
//! cohort. Progress goes to stderr, one line per finished run; the last line on stdout says
//! where `summary.md` is. Running the same command again resumes an interrupted experiment.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use cmr_train::experiment::{
    run_experiment, strategy_label, ExperimentConfig, ExperimentPlan, ExperimentReporter,
    ExperimentStatus, PlannedRun, Provenance, RunKind, RunSummary,
};
use cmr_train::{EpochRecord, NoReport, Reporter, RunStart};

use crate::training_common::{load, DataArgs};

/// Which preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// About 10 minutes on 2 CPU cores with `--phantom 50`.
    Quick,
    /// The paper's n = 1..100, for a GPU (`--phantom 300` or real data).
    Paper,
}

/// Options of `cmr-ssl experiment`.
#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Experiment size.
    #[arg(long, value_enum, default_value_t = Preset::Quick)]
    preset: Preset,
    /// Output folder. An experiment interrupted in it resumes when the same command runs
    /// again (finished runs are skipped); a folder holding anything else is refused.
    #[arg(long, required_unless_present = "print_config")]
    out: Option<PathBuf>,
    /// Seed of the split, the draws and the runs (default: the preset's); also the phantom
    /// cohort seed unless --phantom-seed is given.
    #[arg(long)]
    seed: Option<u64>,
    /// Fine-tuning runs trained at the same time (default: the preset's).
    #[arg(long)]
    parallel: Option<usize>,
    /// The whole experiment configuration as JSON (as `--print-config` writes it), used
    /// instead of the preset; --seed, --parallel and --finetune-steps still apply on top.
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// Optimiser steps of every fine-tuning run (default: the preset's or the config's).
    #[arg(long)]
    finetune_steps: Option<u64>,
    /// Print the configuration that would run, as JSON, and exit (edit it and pass it back
    /// with --config).
    #[arg(long)]
    print_config: bool,
}

/// Runs (or resumes) the experiment and prints where the summary is.
pub fn run(args: &ExperimentArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => read_config(path)?,
        None => match args.preset {
            Preset::Quick => ExperimentConfig::quick(),
            Preset::Paper => ExperimentConfig::paper(),
        },
    };
    if let Some(steps) = args.finetune_steps {
        config.finetune.steps = steps;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(p) = args.parallel {
        if p == 0 {
            bail!("--parallel must be at least 1");
        }
        config.execution.parallel_runs = p;
    }
    config.views = args.data.views.clone();
    config.validate().context("experiment configuration")?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    let out = args
        .out
        .as_deref()
        .context("--out is needed to run the experiment")?;
    if out.exists() && !out.is_dir() {
        bail!("--out {} exists and is not a folder", out.display());
    }
    let loaded = load(&args.data, config.seed)?;
    let source = loaded.source();
    let data = match (&args.data.data, args.data.phantom) {
        (_, Some(n)) => format!(
            "in-memory phantom cohort of {n} subjects (cohort seed {}, {} cine phases, {} matrices)",
            args.data.phantom_seed.unwrap_or(config.seed),
            args.data.phantom_phases,
            if args.data.phantom_full {
                "192 x 208"
            } else {
                "112 x 112"
            }
        ),
        (Some(dir), None) => format!("{} ({:?})", dir.display(), args.data.format),
        (None, None) => unreachable!("clap requires --data or --phantom"),
    };
    let provenance = Provenance {
        data,
        command: Some(std::env::args().collect::<Vec<_>>().join(" ")),
        extra: [(
            "cmr-ssl version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        )]
        .into_iter()
        .collect(),
    };
    let reporter = Progress::new();
    let outcome = run_experiment(&config, source, out, &provenance, &reporter)
        .with_context(|| format!("experiment in {}", out.display()))?;
    match outcome.status {
        ExperimentStatus::Completed => {
            eprintln!(
                "done: {} runs trained now ({} in all) in {}",
                outcome.trained_now,
                outcome.records.len(),
                duration(outcome.wall_s)
            );
            println!("{}", outcome.out.join("summary.md").display());
            Ok(())
        }
        ExperimentStatus::Interrupted => bail!(
            "interrupted after {} runs; run the same command again to resume",
            outcome.trained_now
        ),
    }
}

/// An experiment configuration from a JSON file, with the file named in every error.
fn read_config(path: &std::path::Path) -> anyhow::Result<ExperimentConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --config {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "--config {} is not an experiment configuration (write one with --print-config)",
            path.display()
        )
    })
}

/// `1h02m`, `3m07s`, `12s`.
fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// What the progress lines need to know.
struct State {
    /// Run id to its 1-based position in the plan.
    position: std::collections::HashMap<String, usize>,
    total: usize,
    /// Runs still to train when fine-tuning started.
    todo: usize,
    done_now: usize,
    started: Option<Instant>,
}

/// Prints the plan, pretraining epochs and one line per finished run to stderr.
struct Progress {
    state: Mutex<State>,
}

impl Progress {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                position: Default::default(),
                total: 0,
                todo: 0,
                done_now: 0,
                started: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ExperimentReporter for Progress {
    fn planned(&self, plan: &ExperimentPlan) {
        let s = &plan.split;
        eprintln!(
            "split: {} test, {} validation, {} labelled-pool, {} unlabelled subjects ({} unlabelled images)",
            s.test.len(),
            s.validation.len(),
            s.labelled_pool.len(),
            s.unlabelled.len(),
            s.unlabelled_images
        );
        if !plan.skipped_counts.is_empty() {
            eprintln!(
                "skipped n = {:?}: larger than the labelled pool",
                plan.skipped_counts
            );
        }
        eprintln!(
            "{} fine-tuning runs, {} finished before; pretraining {}",
            plan.runs.len(),
            plan.finished.len(),
            if plan.pretrain_finished {
                "finished before"
            } else {
                "first"
            }
        );
        let mut st = self.lock();
        st.position = plan
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i + 1))
            .collect();
        st.total = plan.runs.len();
        st.todo = plan.runs.len() - plan.finished.len();
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }

    fn run_started(&self, run: &PlannedRun) -> Box<dyn Reporter + Send + '_> {
        match run.kind {
            RunKind::Pretrain => Box::new(PretrainLines),
            RunKind::Finetune { .. } => {
                self.lock().started.get_or_insert_with(Instant::now);
                Box::new(NoReport)
            }
        }
    }

    fn run_finished(&self, run: &PlannedRun, summary: &RunSummary) {
        let RunKind::Finetune { n, draw, strategy } = run.kind else {
            return;
        };
        let mut st = self.lock();
        st.done_now += 1;
        let left = st.todo.saturating_sub(st.done_now);
        let eta = st.started.map(|t0| {
            let per_run = t0.elapsed().as_secs_f64() / st.done_now as f64;
            // Runs go several at a time; the elapsed time per finished run reflects that.
            duration(per_run * left as f64)
        });
        let dice = |d: Option<f64>| d.map_or("-".to_string(), |d| format!("{d:.3}"));
        eprintln!(
            "run {:>3}/{}  n={:<3} {:<14} draw {}  Dice SA {} LA {}  ({:.0} s)  ETA {}",
            st.position.get(&run.id).copied().unwrap_or(0),
            st.total,
            n,
            strategy_label(&strategy),
            draw,
            dice(summary.sa_dice),
            dice(summary.la_dice),
            summary.train_s + summary.eval_s,
            eta.unwrap_or_else(|| "?".into())
        );
    }
}

/// Pretraining: one stderr line per validated epoch.
struct PretrainLines;

impl Reporter for PretrainLines {
    fn start(&mut self, start: &RunStart) {
        if start.first_step >= start.total_steps {
            return;
        }
        eprintln!(
            "pretraining: steps {}..{} of {} images",
            start.first_step, start.total_steps, start.batch_images
        );
    }

    fn epoch(&mut self, e: &EpochRecord) {
        eprintln!(
            "pretrain epoch {:3}  step {:6}  train loss {:.4}  validation {:.4}{}",
            e.epoch,
            e.step,
            e.train_loss,
            e.metric,
            if e.improved { "  best" } else { "" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(12.4), "12s");
        assert_eq!(duration(187.0), "3m07s");
        assert_eq!(duration(3720.0), "1h02m");
    }
}

//! The few-shot experiment on a tiny configuration: every output exists and parses, a second
//! call skips every finished run, an interrupted experiment resumes to the same results as
//! an uninterrupted one (also when runs go two at a time), and bad folders are refused.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cmr_pretext::TransferStrategy;
use cmr_train::experiment::{
    run_experiment, EvaluationSet, Execution, ExperimentConfig, ExperimentPlan, ExperimentReporter,
    ExperimentStatus, PlannedRun, Provenance, QuietExperiment, RunKind, SplitConfig,
};
use cmr_train::{
    Control, DeviceChoice, FrameSelection, PreprocessConfig, Reporter, StepRecord, TrainError,
};

fn tiny_config() -> ExperimentConfig {
    let train = |steps| cmr_train::TrainConfig {
        device: DeviceChoice::Cpu,
        epoch_steps: Some(2),
        long_axis_per_batch: Some(1),
        unlabelled_per_batch: 2,
        batch_size: 2,
        preprocess: PreprocessConfig {
            spacing_mm: 4.0,
            crop: 32,
            ..PreprocessConfig::default()
        },
        ..support::tiny_train(steps)
    };
    ExperimentConfig {
        preset: "custom".into(),
        seed: 5,
        split: SplitConfig {
            test_subjects: 1,
            validation_subjects: 1,
            labelled_pool: Some(2),
            unlabelled_subjects: None,
        },
        labelled_subjects: vec![1, 2, 3],
        draws: 1,
        strategies: vec![
            TransferStrategy::Scratch,
            TransferStrategy::SslMultiTask { lambda: 1.0 },
        ],
        network: support::tiny_net(),
        pretrain: train(3),
        pretrain_frames: FrameSelection::All,
        finetune: train(4),
        finetune_frames: FrameSelection::EdEs,
        evaluate_on: EvaluationSet::Test,
        execution: Execution {
            parallel_runs: 1,
            torch_threads: Some(1),
        },
        ..ExperimentConfig::quick()
    }
}

/// Counts runs started and interrupts the fine-tuning run number `interrupt_run` (0-based,
/// counting this call's starts) at its second step.
#[derive(Default)]
struct Counting {
    planned: std::sync::Mutex<Option<ExperimentPlan>>,
    finetunes_started: AtomicUsize,
    interrupt_run: Option<usize>,
}

struct StepCounter {
    interrupt: bool,
}

impl Reporter for StepCounter {
    fn step(&mut self, r: &StepRecord) -> Control {
        if self.interrupt && r.step == 1 {
            Control::Interrupt
        } else {
            Control::Continue
        }
    }
}

impl ExperimentReporter for Counting {
    fn planned(&self, plan: &ExperimentPlan) {
        *self.planned.lock().unwrap() = Some(plan.clone());
    }
    fn run_started(&self, run: &PlannedRun) -> Box<dyn Reporter + Send + '_> {
        let mut interrupt = false;
        if matches!(run.kind, RunKind::Finetune { .. }) {
            let k = self.finetunes_started.fetch_add(1, Ordering::SeqCst);
            interrupt = self.interrupt_run == Some(k);
        }
        Box::new(StepCounter { interrupt })
    }
}

fn provenance() -> Provenance {
    Provenance {
        data: "tiny phantom cohort (test)".into(),
        ..Provenance::default()
    }
}

#[test]
fn tiny_experiment_writes_everything_resumes_and_skips_finished_runs() {
    // 5 subjects: 1 test, 1 validation, 2 in the labelled pool, 1 unlabelled.
    let source = support::cohort(5, 2, 17);
    let config = tiny_config();
    let root = support::temp_dir("experiment");
    let full = root.join("full");
    let rep = Counting::default();
    let outcome = run_experiment(&config, &source, &full, &provenance(), &rep).unwrap();
    assert_eq!(outcome.status, ExperimentStatus::Completed);
    let plan = rep.planned.lock().unwrap().clone().unwrap();
    // n = 3 is larger than the pool of 2: skipped; 2 counts x 1 draw x 2 strategies.
    assert_eq!(plan.skipped_counts, vec![3]);
    assert_eq!(plan.runs.len(), 4);
    assert_eq!(outcome.trained_now, 4);
    assert_eq!(plan.split.test.len(), 1);
    let mut roles: Vec<&String> = [
        &plan.split.test,
        &plan.split.validation,
        &plan.split.labelled_pool,
        &plan.split.unlabelled,
    ]
    .into_iter()
    .flatten()
    .collect();
    roles.sort();
    roles.dedup();
    assert_eq!(roles.len(), 5, "every subject in exactly one role");
    // Both strategies of a draw share its subjects.
    assert_eq!(plan.runs[0].subjects, plan.runs[1].subjects);

    for f in [
        "results.csv",
        "summary.md",
        "dice_vs_n.png",
        "run.json",
        "experiment.json",
        "pretrain/best.safetensors",
        "runs/n001-d0-scratch/test_metrics.csv",
        "runs/n002-d0-ssl-multitask/result.json",
    ] {
        assert!(full.join(f).is_file(), "{f} missing");
    }
    let overlays: Vec<_> = std::fs::read_dir(full.join("overlays")).unwrap().collect();
    assert_eq!(overlays.len(), 2, "one overlay per n");
    let png = image::open(full.join("dice_vs_n.png")).unwrap();
    assert!(png.width() > 500 && png.height() > 300);

    // results.csv: header + one row per run, evaluated volume and structure. The test
    // subject has SA at ED and ES (3 structures each), 2Ch (1) and 4Ch (2) at ED and ES.
    let csv = std::fs::read_to_string(full.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("run,n,draw,strategy,seed,subjects,subject,view"));
    let (sa_rows, two_ch_rows, four_ch_rows) = (2 * 3, 2, 2 * 2);
    assert_eq!(lines.len() - 1, 4 * (sa_rows + two_ch_rows + four_ch_rows));
    for l in &lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 16, "{l}");
        let dice: f64 = f[12].parse().unwrap();
        assert!((0.0..=1.0).contains(&dice), "{l}");
    }
    assert_eq!(outcome.records.len(), 4);
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["config"]["preset"], "custom");
    assert!(run_json["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
    assert_eq!(
        run_json["scores"]["cells"].as_array().unwrap().len(),
        2 * 2 * 2
    );
    let summary = std::fs::read_to_string(full.join("summary.md")).unwrap();
    for needle in [
        "| n | Scratch | SSL+MultiTask |",
        "## Paired comparison with Scratch",
        "## What the numbers say",
        "Skipped",
        "tiny phantom cohort (test)",
    ] {
        assert!(
            summary.contains(needle),
            "summary lacks {needle}:\n{summary}"
        );
    }

    // Again: nothing is trained, the results are the same.
    let again = Counting::default();
    let second = run_experiment(&config, &source, &full, &provenance(), &again).unwrap();
    assert_eq!(second.trained_now, 0);
    assert_eq!(again.finetunes_started.load(Ordering::SeqCst), 0);
    assert_eq!(
        again
            .planned
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .finished
            .len(),
        4
    );
    assert_eq!(
        std::fs::read_to_string(full.join("results.csv")).unwrap(),
        csv
    );

    // Interrupted in its third run, two runs at a time, then resumed: the same results as
    // the uninterrupted, one-at-a-time experiment.
    let parallel = ExperimentConfig {
        execution: Execution {
            parallel_runs: 2,
            torch_threads: Some(1),
        },
        ..config.clone()
    };
    let cut = root.join("cut");
    let stopper = Counting {
        interrupt_run: Some(2),
        ..Counting::default()
    };
    let first = run_experiment(&parallel, &source, &cut, &provenance(), &stopper).unwrap();
    assert_eq!(first.status, ExperimentStatus::Interrupted);
    assert!(first.trained_now < 4);
    assert!(!cut.join("summary.md").exists());
    let resumed =
        run_experiment(&parallel, &source, &cut, &provenance(), &QuietExperiment).unwrap();
    assert_eq!(resumed.status, ExperimentStatus::Completed);
    assert_eq!(first.trained_now + resumed.trained_now, 4);
    assert_eq!(
        std::fs::read_to_string(cut.join("results.csv")).unwrap(),
        csv
    );

    // Another configuration in the same folder is refused; so is a foreign folder.
    let other = ExperimentConfig {
        seed: 6,
        ..config.clone()
    };
    let err = run_experiment(&other, &source, &full, &provenance(), &QuietExperiment).unwrap_err();
    assert!(matches!(err, TrainError::Resume { .. }), "{err}");
    let foreign = root.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let err =
        run_experiment(&config, &source, &foreign, &provenance(), &QuietExperiment).unwrap_err();
    assert!(matches!(err, TrainError::OutputExists { .. }), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

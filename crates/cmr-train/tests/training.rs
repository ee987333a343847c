//! The training loop on a tiny network: every strategy learns a small fixed batch, runs
//! resume bit for bit, and failures are typed.

mod support;

use cmr_geometry::View;
use cmr_pretext::TransferStrategy;
use cmr_train::{
    evaluate_segmentation, finetune, pretrain, Dataset, DatasetOptions, EarlyStopping, EvalOptions,
    FinetuneConfig, FrameSelection, LrSchedule, OutputMode, PretrainConfig, RecordingReporter,
    RunDir, RunStatus, TaskConfig, TrainConfig, TrainError,
};
use cmr_unet::UNet;

fn pretrain_config(train: TrainConfig) -> PretrainConfig {
    PretrainConfig {
        network: support::tiny_net(),
        task: TaskConfig::default(),
        train,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn loss_decreases_on_a_small_fixed_batch_for_every_strategy() {
    let source = support::cohort(2, 2, 31);
    let all = Dataset::new(
        &source,
        &DatasetOptions {
            views: vec![View::ShortAxis],
            ..DatasetOptions::default()
        },
    )
    .unwrap();
    // Four labelled mid-ventricular SA images of subject 0 (the fixed batch), two unlabelled
    // images of subject 1 (the multi-task strategy's fixed unlabelled share).
    let labelled = all.filter(|i| i.study == 0 && i.frame == 0 && (2..6).contains(&i.slice));
    let unlabelled = all
        .filter(|i| i.study == 1 && i.frame == 0 && (3..5).contains(&i.slice))
        .without_labels();
    assert_eq!((labelled.len(), unlabelled.len()), (4, 2));
    let dir = support::temp_dir("every-strategy");
    let mut train = support::tiny_train(40);
    train.schedule = LrSchedule::Constant;
    train.optimizer.lr = 1e-2;
    train.unlabelled_per_batch = 2;
    let pre = pretrain(
        &pretrain_config(train.clone()),
        &all.with_studies(&[1]),
        None,
        &RunDir::fresh(dir.join("pretrain")),
        &mut RecordingReporter::default(),
    )
    .unwrap();
    assert_eq!(pre.status, RunStatus::Completed);
    for strategy in TransferStrategy::ALL {
        let config = FinetuneConfig {
            strategy,
            init: Some(pre.best_checkpoint.clone()),
            network: support::tiny_net(),
            task: TaskConfig::default(),
            train: train.clone(),
        };
        let mut rec = RecordingReporter::default();
        let out = finetune(
            &config,
            &labelled,
            Some(&unlabelled),
            None,
            &RunDir::fresh(dir.join(strategy.short_name())),
            &mut rec,
        )
        .unwrap();
        assert_eq!(out.steps, 40);
        let losses: Vec<f64> = rec.steps.iter().map(|s| s.loss).collect();
        let (first, last) = (mean(&losses[..3]), mean(&losses[losses.len() - 5..]));
        assert!(
            last < 0.6 * first,
            "{strategy}: loss {first:.3} -> {last:.3} ({losses:?})"
        );
        // The multi-task batches hold the unlabelled share; the others do not.
        let images = if strategy.pretext_weight().is_some() {
            6
        } else {
            4
        };
        assert!(rec.steps.iter().all(|s| s.images == images), "{strategy}");
        assert_eq!(
            rec.steps[0].pretext_loss.is_finite(),
            strategy.pretext_weight().is_some()
        );
        // The frozen encoder stayed the pretrained one.
        let net = UNet::from_checkpoint(&out.last_checkpoint, tch::Device::Cpu).unwrap();
        let pretrained = UNet::from_checkpoint(&pre.best_checkpoint, tch::Device::Cpu).unwrap();
        let name = "encoder.blocks.1.conv1.weight";
        let same = net.named_tensors()[name].equal(&pretrained.named_tensors()[name]);
        assert_eq!(same, strategy == TransferStrategy::SslDecoder, "{strategy}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The loss columns of a run's log (timing columns differ between runs).
fn losses(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(6).collect::<Vec<_>>().join(","))
        .collect()
}

fn assert_same_weights(a: &std::path::Path, b: &std::path::Path) {
    let (a, b) = (
        UNet::from_checkpoint(a, tch::Device::Cpu).unwrap(),
        UNet::from_checkpoint(b, tch::Device::Cpu).unwrap(),
    );
    let (ta, tb) = (a.named_tensors(), b.named_tensors());
    assert_eq!(ta.len(), tb.len());
    for (name, t) in &ta {
        assert!(t.equal(&tb[name]), "{name} differs");
    }
}

#[test]
fn interrupted_and_resumed_runs_end_bit_identical_to_straight_runs() {
    let source = support::cohort(3, 2, 32);
    let all = Dataset::new(&source, &DatasetOptions::default()).unwrap();
    let train_data = all.with_studies(&[0, 1]);
    let validation = all.with_studies(&[2]).filter(|i| i.frame == 0);
    let dir = support::temp_dir("resume");
    let mut train = TrainConfig {
        epoch_steps: Some(5),
        checkpoint_every: 3,
        ..TrainConfig::tiny(13)
    };
    train.augment = cmr_train::AugmentConfig::default();
    let config = pretrain_config(train.clone());
    let straight = pretrain(
        &config,
        &train_data,
        Some(&validation),
        &RunDir::fresh(dir.join("straight")),
        &mut RecordingReporter::default(),
    )
    .unwrap();
    assert_eq!(straight.status, RunStatus::Completed);
    assert_eq!(straight.epochs.len(), 3); // after steps 5, 10 and 13
                                          // Interrupted after 9 steps (last checkpoint at step 8), resumed with two loader threads.
    let cut = RunDir::fresh(dir.join("cut"));
    let mut killer = RecordingReporter {
        interrupt_after: Some(9),
        ..RecordingReporter::default()
    };
    let first = pretrain(&config, &train_data, Some(&validation), &cut, &mut killer).unwrap();
    assert_eq!(first.status, RunStatus::Interrupted);
    let mut more = config.clone();
    more.train.loader.workers = 2;
    let mut rec = RecordingReporter::default();
    let resumed = pretrain(
        &more,
        &train_data,
        Some(&validation),
        &RunDir::new(&cut.path, OutputMode::Resume),
        &mut rec,
    )
    .unwrap();
    assert_eq!(resumed.started_at, 8);
    assert_eq!(rec.steps.first().map(|s| s.step), Some(8));
    assert_eq!(resumed.status, RunStatus::Completed);
    assert_same_weights(&straight.last_checkpoint, &resumed.last_checkpoint);
    assert_same_weights(&straight.best_checkpoint, &resumed.best_checkpoint);
    assert_eq!(losses(&straight.dir), losses(&resumed.dir));
    assert_eq!(straight.epochs, resumed.epochs);
    // Resuming a finished run does nothing and reports the same outcome.
    let again = pretrain(
        &more,
        &train_data,
        Some(&validation),
        &RunDir::new(&cut.path, OutputMode::Resume),
        &mut RecordingReporter::default(),
    )
    .unwrap();
    assert_eq!((again.steps, again.started_at), (13, 13));

    // The same for multi-task fine-tuning: two streams, a loaded pretext head.
    let labelled = all.with_studies(&[0]).filter(|i| i.view == View::ShortAxis);
    let unlabelled = all.with_studies(&[1]).without_labels();
    let ft = FinetuneConfig {
        strategy: TransferStrategy::SslMultiTask { lambda: 0.5 },
        init: Some(straight.best_checkpoint.clone()),
        network: support::tiny_net(),
        task: TaskConfig::default(),
        train: TrainConfig {
            epoch_steps: Some(4),
            checkpoint_every: 2,
            ..TrainConfig::tiny(9)
        },
    };
    let val = all
        .with_studies(&[2])
        .filter(|i| i.view == View::ShortAxis && i.frame == 0);
    let run = |d: &RunDir, rec: &mut RecordingReporter| {
        finetune(&ft, &labelled, Some(&unlabelled), Some(&val), d, rec).unwrap()
    };
    let s = run(
        &RunDir::fresh(dir.join("ft-straight")),
        &mut RecordingReporter::default(),
    );
    let cut = RunDir::fresh(dir.join("ft-cut"));
    let i = run(
        &cut,
        &mut RecordingReporter {
            interrupt_after: Some(7),
            ..RecordingReporter::default()
        },
    );
    assert_eq!(i.status, RunStatus::Interrupted);
    let r = run(
        &RunDir::new(&cut.path, OutputMode::ResumeOrFresh),
        &mut RecordingReporter::default(),
    );
    assert_eq!(r.started_at, 6);
    assert_same_weights(&s.last_checkpoint, &r.last_checkpoint);
    assert_eq!(losses(&s.dir), losses(&r.dir));
    assert!(s
        .epochs
        .iter()
        .all(|e| e.head_dice.iter().any(|(h, _)| h == "seg_sa")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_runs_fail_with_typed_errors() {
    let source = support::cohort(1, 2, 33);
    let data = Dataset::new(&source, &DatasetOptions::default())
        .unwrap()
        .filter(|i| i.frame == 0);
    let dir = support::temp_dir("bad-runs");
    // A learning rate of 1e30 blows the weights up: the loss turns non-finite at some step
    // after the first, and the error says which.
    let mut train = support::tiny_train(20);
    train.optimizer.lr = 1e30;
    train.schedule = LrSchedule::Constant;
    match pretrain(
        &pretrain_config(train),
        &data,
        None,
        &RunDir::fresh(dir.join("nan")),
        &mut RecordingReporter::default(),
    ) {
        Err(TrainError::NonFiniteLoss { step, .. }) => assert!((1..20).contains(&step)),
        other => panic!("expected a non-finite loss, got {other:?}"),
    }
    // A non-empty folder is not overwritten; a missing resume state is an error; so is a
    // resume with another configuration.
    let ok = pretrain_config(support::tiny_train(3));
    let err = pretrain(
        &ok,
        &data,
        None,
        &RunDir::fresh(dir.join("nan")),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::OutputExists { .. }), "{err}");
    let err = pretrain(
        &ok,
        &data,
        None,
        &RunDir::new(dir.join("empty"), OutputMode::Resume),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::Resume { .. }), "{err}");
    // A folder with only a run's own files and no resume state (killed before its first
    // checkpoint) restarts under "resume or fresh"; a foreign file is never touched.
    let early = dir.join("early-kill");
    std::fs::create_dir_all(&early).unwrap();
    std::fs::write(early.join("log.csv"), "step,epoch\n0,0\n").unwrap();
    std::fs::write(early.join(".log.csv.tmp-1-0"), "partial").unwrap();
    let out = pretrain(
        &ok,
        &data,
        None,
        &RunDir::new(&early, OutputMode::ResumeOrFresh),
        &mut RecordingReporter::default(),
    )
    .unwrap();
    assert_eq!((out.status, out.started_at), (RunStatus::Completed, 0));
    assert!(!early.join(".log.csv.tmp-1-0").exists());
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let err = pretrain(
        &ok,
        &data,
        None,
        &RunDir::new(&foreign, OutputMode::ResumeOrFresh),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::OutputExists { .. }), "{err}");
    let done = RunDir::fresh(dir.join("done"));
    pretrain(&ok, &data, None, &done, &mut RecordingReporter::default()).unwrap();
    let mut other = ok.clone();
    other.train.optimizer.lr = 5e-4;
    let err = pretrain(
        &other,
        &data,
        None,
        &RunDir::new(&done.path, OutputMode::Resume),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("another configuration"), "{err}");
    // SSL strategies need a checkpoint; fine-tuning needs labels.
    let ft = FinetuneConfig {
        strategy: TransferStrategy::SslAll,
        init: None,
        network: support::tiny_net(),
        task: TaskConfig::default(),
        train: support::tiny_train(2),
    };
    let err = finetune(
        &ft,
        &data,
        None,
        None,
        &RunDir::fresh(dir.join("ft")),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Invalid {
                what: "initialisation",
                ..
            }
        ),
        "{err}"
    );
    let err = finetune(
        &FinetuneConfig {
            strategy: TransferStrategy::Scratch,
            ..ft
        },
        &data.without_labels(),
        None,
        None,
        &RunDir::fresh(dir.join("ft")),
        &mut RecordingReporter::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Invalid {
                what: "training data",
                ..
            }
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn early_stopping_and_evaluation_on_the_original_grid() {
    let source = support::cohort(2, 2, 34);
    let all = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::EdEs,
            ..DatasetOptions::default()
        },
    )
    .unwrap();
    let dir = support::temp_dir("early");
    // A learning rate too small to change any prediction: no epoch improves on the first, so
    // the run stops after `patience` further epochs.
    let mut train = support::tiny_train(50);
    train.optimizer.lr = 1e-12;
    train.epoch_steps = Some(2);
    train.early_stopping = Some(EarlyStopping {
        patience: 2,
        min_delta: 0.01,
    });
    let config = FinetuneConfig {
        strategy: TransferStrategy::Scratch,
        init: None,
        network: support::tiny_net(),
        task: TaskConfig::default(),
        train,
    };
    let out = finetune(
        &config,
        &all.with_studies(&[0]),
        None,
        Some(&all.with_studies(&[1])),
        &RunDir::fresh(dir.join("early")),
        &mut RecordingReporter::default(),
    )
    .unwrap();
    assert_eq!(out.status, RunStatus::StoppedEarly { epoch: 2 });
    assert_eq!(out.steps, 6);
    assert_eq!(out.best.unwrap().step, 2);
    // The network has one head per labelled view (SA, 2Ch, 4Ch), and evaluation gives one
    // record per volume and structure on the original grid.
    let net = UNet::from_checkpoint(&out.best_checkpoint, tch::Device::Cpu).unwrap();
    let heads: Vec<&str> = net.heads().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(heads, ["seg_sa", "seg_2ch", "seg_4ch"]);
    let test = all.with_studies(&[1]);
    let records = evaluate_segmentation(
        &net,
        &test,
        &config.train.preprocess,
        &EvalOptions::default(),
    )
    .unwrap();
    // ED and ES: SA 3 structures, 2Ch 1, 4Ch 2.
    assert_eq!(records.len(), 2 * (3 + 1 + 2));
    let sa = records.iter().find(|r| r.view == View::ShortAxis).unwrap();
    assert_eq!((sa.slices, sa.structure.as_str()), (7, "LV blood pool"));
    assert!(records
        .iter()
        .all(|r| (0.0..=1.0).contains(&r.metrics.dice)));
    std::fs::remove_dir_all(&dir).unwrap();
}

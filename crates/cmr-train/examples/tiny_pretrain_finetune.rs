//! The whole method on a tiny scale: pretrain a small U-Net on anatomical positions of an
//! unlabelled phantom cohort, fine-tune it for segmentation on two labelled subjects
//! (SSL+All), train the same network from scratch on the same budget, and print the Dice of
//! both on held-out subjects. A starting point for your own training code.
//!
//! ```text
//! cargo run --release -p cmr-train --example tiny_pretrain_finetune -- [PRETRAIN_STEPS] [FINETUNE_STEPS]
//! ```
//!
//! Defaults: 6 unlabelled, 2 labelled and 2 held-out subjects (3 cine phases, 112 x 112
//! pixels of 1.8 mm), 32 x 32 inputs at 5 mm, a 3-level U-Net of width 8, 150 pretraining
//! and 400 fine-tuning steps of 6 short-axis + 2 long-axis images, one libtorch thread: about
//! 16 s on 2 CPU cores (with libtorch's default threads, on a machine busy with other work, the
//! same run took minutes: its threads spin waiting for each other). Runs go to `target/tiny-pretrain-finetune/`. At this size the Dice values are a
//! smoke test of the pipeline (they vary with the seed and the budget), not the paper's
//! comparison: that is `cmr-ssl experiment`; `cmr-ssl segment` applies a fine-tuned run to
//! new studies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cmr_phantom::{PhantomConfig, Subject};
use cmr_pretext::TransferStrategy;
use cmr_train::{
    evaluate_segmentation, finetune, merge_into_memory, pretrain, Dataset, DatasetOptions,
    DeviceChoice, EvalOptions, FinetuneConfig, FrameSelection, NoReport, OutputMode,
    PreprocessConfig, PretrainConfig, RunDir, TaskConfig, TrainConfig,
};
use cmr_unet::{UNet, UNetConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let pretrain_steps = args.first().copied().unwrap_or(150);
    let finetune_steps = args.get(1).copied().unwrap_or(400);
    // Tiny tensors: one thread is faster than two competing ones.
    tch::set_num_threads(1);
    let clock = Instant::now();
    let (unlabelled_n, labelled_n, test_n) = (6usize, 2usize, 2usize);
    let phantom = PhantomConfig::small(3);
    let studies: Vec<_> = (0..(unlabelled_n + labelled_n + test_n) as u64)
        .map(|i| Subject::new(&phantom, 7, i).map(|s| s.render()))
        .collect::<Result<_, _>>()?;
    let source = merge_into_memory(studies.iter().map(|s| s.to_memory_source()))?;
    let ids = |from: usize, n: usize| (from..from + n).collect::<Vec<usize>>();
    let (unlabelled_ids, labelled_ids, test_ids) = (
        ids(0, unlabelled_n),
        ids(unlabelled_n, labelled_n),
        ids(unlabelled_n + labelled_n, test_n),
    );
    let every_frame = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::All,
            use_labels: false,
            ..DatasetOptions::default()
        },
    )?;
    let labelled_frames = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::Labelled,
            ..DatasetOptions::default()
        },
    )?;
    println!(
        "phantom: {unlabelled_n} unlabelled, {labelled_n} labelled, {test_n} held-out subjects, \
         rendered in {:.1} s",
        clock.elapsed().as_secs_f64()
    );

    let network = UNetConfig {
        levels: 3,
        base_channels: 8,
        ..UNetConfig::default()
    };
    let train = |steps: u64| TrainConfig {
        steps,
        batch_size: 6,
        long_axis_per_batch: Some(2),
        epoch_steps: Some(steps),
        early_stopping: None,
        validation_images: None,
        device: DeviceChoice::Cpu,
        optimizer: cmr_train::AdamConfig {
            lr: 3e-3,
            ..Default::default()
        },
        preprocess: PreprocessConfig {
            spacing_mm: 5.0,
            crop: 32,
            ..PreprocessConfig::default()
        },
        ..TrainConfig::default()
    };
    let dir = PathBuf::from("target/tiny-pretrain-finetune");
    let fresh = |name: &str| RunDir::new(dir.join(name), OutputMode::Overwrite);

    let t = Instant::now();
    let pre = pretrain(
        &PretrainConfig {
            network: network.clone(),
            task: TaskConfig::default(),
            train: train(pretrain_steps),
        },
        &every_frame.with_studies(&unlabelled_ids),
        None,
        &fresh("pretrain"),
        &mut NoReport,
    )?;
    println!(
        "pretrained on positions: {} steps in {:.1} s",
        pre.steps,
        t.elapsed().as_secs_f64()
    );

    let labelled = labelled_frames.with_studies(&labelled_ids);
    let test = labelled_frames
        .with_studies(&test_ids)
        .filter(|i| i.frame == 0 || i.phase.is_some());
    let mut dice: BTreeMap<(String, String), Vec<(&str, f64)>> = BTreeMap::new();
    for strategy in [TransferStrategy::Scratch, TransferStrategy::SslAll] {
        let t = Instant::now();
        let config = FinetuneConfig {
            strategy,
            init: Some(pre.best_checkpoint.clone()),
            network: network.clone(),
            task: TaskConfig::default(),
            train: train(finetune_steps),
        };
        let run = fresh(strategy.short_name());
        let out = finetune(&config, &labelled, None, None, &run, &mut NoReport)?;
        let net = UNet::from_checkpoint(&out.best_checkpoint, tch::Device::Cpu)?;
        let records = evaluate_segmentation(
            &net,
            &test,
            &config.train.preprocess,
            &EvalOptions::default(),
        )?;
        println!(
            "fine-tuned {strategy}: {} steps in {:.1} s",
            out.steps,
            t.elapsed().as_secs_f64()
        );
        let mut per: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
        for r in &records {
            per.entry((r.view.to_string(), r.structure.clone()))
                .or_default()
                .push(r.metrics.dice);
        }
        for (k, v) in per {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            dice.entry(k)
                .or_default()
                .push((strategy.short_name(), mean));
        }
    }
    println!("\nmean Dice on {test_n} held-out subjects (frames 0 and ES):");
    println!(
        "{:<4} {:<16} {:>8} {:>8}",
        "view", "structure", "scratch", "ssl-all"
    );
    for ((view, structure), v) in &dice {
        let cell = |name: &str| {
            v.iter()
                .find(|(n, _)| *n == name)
                .map_or("-".to_string(), |(_, d)| format!("{d:.3}"))
        };
        println!(
            "{view:<4} {structure:<16} {:>8} {:>8}",
            cell("scratch"),
            cell("ssl-all")
        );
    }

    println!(
        "total {:.1} s; runs in {}",
        clock.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

//! Does the anatomical-position pretext task learn? Pretrains a small U-Net on the positions of
//! a phantom cohort (no labels used) and prints the position Dice on held-out subjects before
//! training (an untrained network: chance level) and after, overall and per view.
//!
//! ```text
//! cargo run --release -p cmr-train --example pretrain_positions -- [TRAIN_SUBJECTS] [STEPS]
//! ```
//!
//! The run (checkpoints, `log.csv`, `epochs.csv`, `run.json`) goes to
//! `target/pretrain-positions/`. Defaults: 8 training and 4 held-out subjects (5 cine phases, 112 x 112 pixels of 1.8 mm),
//! 300 steps of 8 images of 48 x 48 pixels at 4 mm, a 4-level U-Net of width 8, the default
//! position task (background weight 0.1); a few minutes on 2 CPU cores.

use std::sync::Arc;
use std::time::Instant;

use cmr_geometry::View;
use cmr_phantom::{PhantomConfig, Subject};
use cmr_pretext::PretextTask;
use cmr_train::{
    build_network, evaluate_pretext, merge_into_memory, pretrain, Dataset, DatasetOptions,
    EarlyStopping, FrameSelection, OutputMode, PreprocessConfig, PretrainConfig, Reporter, RunDir,
    StepRecord, TaskConfig, TrainConfig,
};
use cmr_unet::{UNet, UNetConfig};

/// Prints a line every 100 steps.
struct Lines;

impl Reporter for Lines {
    fn step(&mut self, r: &StepRecord) -> cmr_train::Control {
        if r.step % 50 == 0 {
            println!(
                "step {:5}  loss {:.4}  lr {:.2e}  {:.0} images/s",
                r.step, r.loss, r.lr, r.images_per_s
            );
        }
        cmr_train::Control::Continue
    }
    fn epoch(&mut self, e: &cmr_train::EpochRecord) {
        println!(
            "epoch {:3}  step {:5}  train loss {:.4}  validation position Dice {:.3}{}",
            e.epoch,
            e.step,
            e.train_loss,
            e.metric,
            if e.improved { "  *" } else { "" }
        );
    }
}

fn score(
    label: &str,
    net: &UNet,
    task: &Arc<dyn PretextTask>,
    test: &Dataset<'_>,
    pp: &PreprocessConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let all = evaluate_pretext(net, task.clone(), test, pp, 16)?;
    let mut line = format!("{label:<10} all views {:.3}", all.mean_dice);
    for view in [
        View::ShortAxis,
        View::TwoChamber,
        View::ThreeChamber,
        View::FourChamber,
    ] {
        let s = evaluate_pretext(net, task.clone(), &test.filter(|i| i.view == view), pp, 16)?;
        line.push_str(&format!("  {view} {:.3}", s.mean_dice));
    }
    println!("{line}");
    let per: Vec<String> = all.class_dice[1..]
        .iter()
        .map(|d| format!("{d:.2}"))
        .collect();
    println!("{:<10} per position 1..9: {}", "", per.join(" "));
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let train_subjects = args.first().copied().unwrap_or(8);
    let steps = args.get(1).copied().unwrap_or(300);
    let test_subjects = 4;
    let start = Instant::now();
    let phantom = PhantomConfig::small(5);
    let source = merge_into_memory((0..train_subjects + test_subjects).map(|i| {
        Subject::new(&phantom, 2019, i)
            .expect("valid phantom configuration")
            .render()
            .to_memory_source()
    }))?;
    let data = Dataset::new(
        &source,
        &DatasetOptions {
            frames: FrameSelection::All,
            use_labels: false,
            ..DatasetOptions::default()
        },
    )?;
    let train_ids: Vec<usize> = (0..train_subjects as usize).collect();
    let test_ids: Vec<usize> =
        (train_subjects as usize..(train_subjects + test_subjects) as usize).collect();
    let train = data.with_studies(&train_ids);
    let test = data.with_studies(&test_ids).filter(|i| i.frame == 0);
    println!(
        "phantom cohort: {} training subjects ({} images), {} held-out subjects ({} images at ED), rendered in {:.1} s; torch threads {}",
        train_subjects,
        train.len(),
        test_subjects,
        test.len(),
        start.elapsed().as_secs_f64(),
        tch::get_num_threads()
    );

    let config = PretrainConfig {
        network: UNetConfig {
            levels: 4,
            base_channels: 8,
            ..UNetConfig::default()
        },
        task: TaskConfig::default(),
        train: TrainConfig {
            steps,
            batch_size: 8,
            epoch_steps: Some(50),
            early_stopping: Some(EarlyStopping {
                patience: 4,
                min_delta: 1e-3,
            }),
            checkpoint_every: 100,
            validation_images: Some(96),
            device: cmr_train::DeviceChoice::Cpu,
            optimizer: cmr_train::AdamConfig {
                lr: 2e-3,
                ..Default::default()
            },
            preprocess: PreprocessConfig {
                spacing_mm: 4.0,
                crop: 48,
                ..PreprocessConfig::default()
            },
            ..TrainConfig::default()
        },
    };
    let pp = config.train.preprocess.clone();
    let task = config.task.build()?;
    let untrained = build_network(
        &UNetConfig {
            heads: vec![config.task.head()?],
            ..config.network.clone()
        },
        config.train.seed,
        tch::Device::Cpu,
    )?;
    println!("\nposition Dice on held-out subjects (mean over the 9 positions, pooled pixels):");
    score("untrained", &untrained, &task, &test, &pp)?;

    let dir = std::path::PathBuf::from("target/pretrain-positions");
    // Validation: two training subjects' ED frames (the held-out ones stay untouched).
    let validation = data.with_studies(&train_ids[..2]).filter(|i| i.frame == 0);
    let t = Instant::now();
    let out = pretrain(
        &config,
        &train,
        Some(&validation),
        &RunDir::new(&dir, OutputMode::Overwrite),
        &mut Lines,
    )?;
    println!(
        "pretrained {} steps in {:.0} s ({:.1} images/s, waited {:.1} s for data); best epoch {:?}",
        out.steps,
        t.elapsed().as_secs_f64(),
        out.timing.images_per_s,
        out.timing.data_wait_s,
        out.best.map(|b| b.epoch)
    );
    let net = UNet::from_checkpoint(&out.best_checkpoint, tch::Device::Cpu)?;
    score("pretrained", &net, &task, &test, &pp)?;
    println!("run folder: {}", dir.display());
    Ok(())
}

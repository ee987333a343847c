//! Is the data pipeline fast enough? Prints, on the same machine and settings:
//!
//! 1. the loader alone: images/s that the loader threads deliver (LV-centred crops of
//!    prepared samples, augmented), with the sample cache cold (first pass: loading,
//!    normalisation, resampling, position labels) and warm;
//! 2. the bare model step: images/s of forward + loss + backward + Adam on one fixed batch;
//! 3. the whole training loop (`pretrain`): images/s into the model and the time it waited for
//!    data.
//!
//! ```text
//! cargo run --release -p cmr-train --example pipeline_throughput -- [STEPS] [WORKERS]
//! ```
//!
//! Defaults: 96 x 96 crops of 2 mm, batches of 8, the default U-Net (5 levels, width 16),
//! 30 steps, 2 loader threads, on the CPU.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use cmr_phantom::{PhantomConfig, Subject};
use cmr_pretext::PretextTask;
use cmr_train::{
    build_network, merge_into_memory, pretrain, Adam, AdamConfig, AugmentConfig, Batch,
    BatchPlanner, BatchSource, CacheMode, Dataset, DatasetOptions, DeviceChoice, LoaderConfig,
    NoReport, OutputMode, Prefetcher, PretrainConfig, RunDir, SampleStore, StreamPlan, TaskConfig,
    TrainConfig,
};
use cmr_unet::UNetConfig;
use tch::Tensor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let steps = args.first().copied().unwrap_or(30);
    let workers = args.get(1).copied().unwrap_or(2) as usize;
    let phantom = PhantomConfig::small(5);
    let source = merge_into_memory((0..4).map(|i| {
        Subject::new(&phantom, 7, i)
            .expect("valid phantom configuration")
            .render()
            .to_memory_source()
    }))?;
    let data = Dataset::new(&source, &DatasetOptions::default())?.without_labels();
    let task_config = TaskConfig::default();
    let task: Arc<dyn PretextTask> = task_config.build()?;
    let train = TrainConfig {
        steps,
        batch_size: 8,
        device: DeviceChoice::Cpu,
        loader: LoaderConfig {
            workers,
            prefetch: 2,
        },
        early_stopping: None,
        epoch_steps: Some(steps),
        ..TrainConfig::default()
    };
    let batch = train.batch_size;
    let crop = train.preprocess.crop;
    println!(
        "{} images of 4 phantom subjects; {crop} x {crop} crops of {} mm, batches of {batch}; \
         {workers} loader threads, {} torch threads",
        data.len(),
        train.preprocess.spacing_mm,
        tch::get_num_threads()
    );

    // 1. The loader alone.
    let store = SampleStore::new(
        data.clone(),
        train.preprocess.clone(),
        Some(task.clone()),
        CacheMode::Memory,
    )?;
    let source_of = |store| BatchSource {
        planner: BatchPlanner::new(
            1,
            vec![StreamPlan {
                len: data.len(),
                per_batch: batch,
                id: 0,
            }],
        ),
        stores: vec![store],
        augment: AugmentConfig::default(),
        crop,
    };
    let drain = |src: &BatchSource<'_, '_>, n: u64| -> Result<f64, cmr_train::TrainError> {
        let produce = |s: u64| src.produce(s);
        let t = Instant::now();
        std::thread::scope(|scope| {
            let mut pf = Prefetcher::spawn(scope, &produce, 0..n, train.loader);
            while let Some(b) = pf.next_batch() {
                b?;
            }
            Ok::<(), cmr_train::TrainError>(())
        })?;
        Ok((n as usize * batch) as f64 / t.elapsed().as_secs_f64())
    };
    let cold_steps = (data.len() / batch) as u64;
    let cold = drain(&source_of(&store), cold_steps)?;
    let warm = drain(&source_of(&store), 4 * cold_steps)?;
    println!("loader alone, cold cache (first pass): {cold:8.1} images/s");
    println!("loader alone, warm cache:              {warm:8.1} images/s");

    // 2. The bare model step on one fixed batch.
    let network = UNetConfig {
        heads: vec![task_config.head()?],
        ..UNetConfig::default()
    };
    let net = build_network(&network, 0, tch::Device::Cpu)?;
    let samples = source_of(&store).produce(0)?;
    let fixed = Batch::from_samples(&samples, data.label_sets(), true, tch::Device::Cpu)?;
    let targets = fixed.pretext.as_ref().expect("positions on every crop");
    let params: BTreeMap<String, Tensor> = net
        .named_tensors()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    let mut adam = Adam::new(AdamConfig::default());
    let mut step = || -> Result<(), Box<dyn std::error::Error>> {
        let out = net.forward_t(&fixed.images, true)?;
        let loss = task.loss(out.head(task.name())?, targets)?;
        loss.backward();
        adam.step(&params, 1e-3)?;
        Ok(())
    };
    step()?; // warm-up
    let n = steps.max(5);
    let t = Instant::now();
    for _ in 0..n {
        step()?;
    }
    let model = (n as usize * batch) as f64 / t.elapsed().as_secs_f64();
    println!("bare model step (fwd+bwd+Adam):        {model:8.1} images/s");

    // 3. The whole loop.
    let dir = std::path::PathBuf::from("target/pipeline-throughput");
    let out = pretrain(
        &PretrainConfig {
            network: UNetConfig::default(),
            task: task_config,
            train,
        },
        &data,
        None,
        &RunDir::new(&dir, OutputMode::Overwrite),
        &mut NoReport,
    )?;
    println!(
        "training loop (cold cache, {} steps):  {:8.1} images/s, waited {:.2} s of {:.1} s for data",
        out.steps, out.timing.images_per_s, out.timing.data_wait_s, out.timing.wall_s
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

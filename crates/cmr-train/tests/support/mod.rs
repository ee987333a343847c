//! Shared helpers of the integration tests: a small phantom cohort and tiny configurations.

#![allow(dead_code)]

use cmr_geometry::MemorySource;
use cmr_phantom::{PhantomConfig, Subject};
use cmr_train::{merge_into_memory, AugmentConfig, TrainConfig};
use cmr_unet::UNetConfig;

/// A fast protocol: 112 x 112 pixels of 1.8 mm, `phases` phases, 7 SA slices, 2 sub-samples
/// per pixel.
pub fn phantom_config(phases: usize) -> PhantomConfig {
    PhantomConfig {
        sa_slice_range: [7, 7],
        samples_per_pixel: 2,
        ..PhantomConfig::small(phases)
    }
}

/// `n` phantom subjects of cohort seed `seed` in one source.
pub fn cohort(n: u64, phases: usize, seed: u64) -> MemorySource {
    one_thread();
    let config = phantom_config(phases);
    merge_into_memory((0..n).map(|i| {
        Subject::new(&config, seed, i)
            .unwrap()
            .render()
            .to_memory_source()
    }))
    .unwrap()
}

/// A 3-level U-Net of width 4.
pub fn tiny_net() -> UNetConfig {
    UNetConfig {
        levels: 3,
        base_channels: 4,
        ..UNetConfig::default()
    }
}

/// `steps` steps of 4 images of 32 x 32 at 4 mm on the CPU, no augmentation, one epoch.
pub fn tiny_train(steps: u64) -> TrainConfig {
    one_thread();
    TrainConfig {
        augment: AugmentConfig::none(),
        epoch_steps: Some(steps),
        ..TrainConfig::tiny(steps)
    }
}

/// One libtorch thread: the tests run in parallel on a small shared machine, where libtorch's
/// own threads would only contend.
pub fn one_thread() {
    tch::set_num_threads(1);
}

/// A fresh temporary folder.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cmr-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

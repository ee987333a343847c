//! `cmr-ssl demo`: the smallest end-to-end run of the stack. Synthetic short-axis slices
//! (an ellipsoidal LV imaged on oblique planes with noise, from cmr-phantom and cmr-geometry)
//! train a small U-Net (cmr-unet) with a cross-entropy loss (cmr-pretext), and the held-out
//! Dice is measured with cmr-metrics.

use anyhow::Context;
use cmr_geometry::{ImagePlane, Vec3};
use cmr_phantom::Ellipsoid;
use cmr_unet::{HeadSpec, UNet, UNetConfig};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

/// Options of `cmr-ssl demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Training images.
    #[arg(long, default_value_t = 32)]
    train: usize,
    /// Held-out images.
    #[arg(long, default_value_t = 16)]
    test: usize,
    /// Optimiser steps.
    #[arg(long, default_value_t = 150)]
    steps: usize,
    /// Image side in pixels.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Random seed (data and weights).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// One synthetic slice: a 1.8 mm grid on an oblique plane through a random ellipsoid.
fn synthetic_slice(
    rng: &mut ChaCha8Rng,
    size: usize,
) -> anyhow::Result<(Array2<f32>, Array2<bool>)> {
    let spacing = 1.8;
    let centre = Vec3::new(
        rng.random_range(-12.0..12.0),
        rng.random_range(-12.0..12.0),
        rng.random_range(-5.0..5.0),
    );
    let semi = [
        rng.random_range(14.0..26.0),
        rng.random_range(14.0..26.0),
        rng.random_range(30.0..45.0),
    ];
    let lv = Ellipsoid::axis_aligned(centre, semi);
    let tilt: f64 = rng.random_range(-0.3..0.3);
    let (s, c) = tilt.sin_cos();
    let row = Vec3::new(1.0, 0.0, 0.0);
    let col = Vec3::new(0.0, c, s);
    let half = (size as f64 - 1.0) / 2.0 * spacing;
    let origin = Vec3::default() - row * half - col * half;
    let plane = ImagePlane::new(
        origin,
        row,
        col,
        cmr_geometry::PixelSpacing {
            between_rows: spacing,
            between_cols: spacing,
        },
        size,
        size,
    )
    .context("building the demo image plane")?;
    let mask = lv.mask_on(&plane);
    let image = Array2::from_shape_fn((size, size), |(r, c)| {
        let signal = if mask[[r, c]] { 1.0 } else { 0.35 };
        signal + rng.random_range(-0.35..0.35) as f32
    });
    Ok((image, mask))
}

fn batch(items: &[(Array2<f32>, Array2<bool>)]) -> anyhow::Result<(Tensor, Tensor)> {
    let images: Vec<Array2<f32>> = items.iter().map(|(i, _)| i.clone()).collect();
    let x = cmr_train::stack_images(&images)?;
    let (h, w) = items[0].1.dim();
    let labels: Vec<i64> = items
        .iter()
        .flat_map(|(_, m)| m.iter().map(|&v| i64::from(v)))
        .collect();
    let y = Tensor::from_slice(&labels).view([items.len() as i64, h as i64, w as i64]);
    Ok((x, y))
}

/// Runs the demo and prints what it measured.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.train > 0 && args.test > 0,
        "--train and --test must be positive"
    );
    let start = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    tch::manual_seed(args.seed as i64);
    let data: Vec<_> = (0..args.train + args.test)
        .map(|_| synthetic_slice(&mut rng, args.size))
        .collect::<anyhow::Result<_>>()?;
    let (train, test) = data.split_at(args.train);
    println!(
        "cmr-ssl demo: {} train / {} test synthetic slices of {}x{} px, torch threads: {}",
        train.len(),
        test.len(),
        args.size,
        args.size,
        tch::get_num_threads()
    );

    let device = cmr_unet::default_device();
    let config = UNetConfig {
        levels: 3,
        base_channels: 8,
        heads: vec![HeadSpec::new("segmentation", 2)],
        ..UNetConfig::default()
    };
    let net = UNet::new(&config, device)?;
    let mut opt = nn::Adam::default().build(net.var_store(), 3e-3)?;
    let (x_train, y_train) = batch(train)?;
    let (x_train, y_train) = (x_train.to_device(device), y_train.to_device(device));
    let batch_size = 8.min(train.len()) as i64;
    for step in 0..args.steps {
        let idx = Tensor::randint(train.len() as i64, [batch_size], (Kind::Int64, device));
        let logits = net.forward_t(&x_train.index_select(0, &idx), true)?;
        let loss = cmr_pretext::masked_cross_entropy(
            logits.head("segmentation")?,
            &y_train.index_select(0, &idx),
            None,
            2,
            None,
        )?;
        opt.backward_step(&loss);
        if step % 25 == 0 || step + 1 == args.steps {
            println!("step {step:4}  loss {:.4}", loss.double_value(&[]));
        }
    }

    let (x_test, _) = batch(test)?;
    let pred = tch::no_grad(|| net.forward_t(&x_test.to_device(device), false))?
        .head("segmentation")?
        .argmax(1, false)
        .to_device(Device::Cpu);
    let mut dices = Vec::with_capacity(test.len());
    for (i, (_, truth)) in test.iter().enumerate() {
        let p: Vec<i64> = Vec::<i64>::try_from(pred.get(i as i64).flatten(0, -1))?;
        let p = Array2::from_shape_vec(truth.dim(), p.into_iter().map(|v| v == 1).collect())?;
        dices.push(cmr_metrics::dice(&p, truth)?);
    }
    let mean = dices.iter().sum::<f64>() / dices.len() as f64;
    println!(
        "held-out Dice (LV, {} slices): mean {mean:.3}, min {:.3}; {:.1} s on {:?}",
        dices.len(),
        dices.iter().copied().fold(f64::INFINITY, f64::min),
        start.elapsed().as_secs_f64(),
        device
    );
    Ok(())
}

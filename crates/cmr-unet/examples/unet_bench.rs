//! The Rust half of `cargo xtask bench-unet`: training-step throughput and inference latency
//! of the default U-Net (5 levels, 16-256 channels, a 10-channel "positions" head), compared
//! with the identical PyTorch model (`peers/unet_bench.py`) on the same machine and threads.
//!
//! ```text
//! cargo run --release -p cmr-unet --example unet_bench -- [--threads 2] [--seconds 3]
//! cargo run --release -p cmr-unet --example unet_bench -- --serve [--threads 2]
//! ```
//!
//! Cases, for each memory format (contiguous, channels-last): training step = zero grads,
//! forward in training mode, cross-entropy, backward, Adam step (batch 8, 1x128x128 and
//! 1x192x192); inference = eval forward without gradients (batch 1, same sizes).
//!
//! Standalone it times each case (two warm-up steps, then for `--seconds`, at least 5 steps)
//! and prints the median and fastest step. With `--serve` it runs steps on request, one line
//! per command on stdin (`case <format> <train|infer> <batch> <size>` builds a case and warms it
//! up, answering `ready`; `step` runs one step and answers its seconds; `quit`), so that
//! `peers/unet_bench.py` can alternate PyTorch and cmr-unet step by step: on a machine shared
//! with other work, both then see the same background load.

use std::io::{BufRead, Write};
use std::time::Instant;

use cmr_unet::{HeadSpec, MemoryFormat, UNet, UNetConfig, UNetError};
use tch::nn::{Optimizer, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

/// The cases of the comparison: (train or infer, batch, image side).
const CASES: [(&str, i64, i64); 4] = [
    ("train", 8, 128),
    ("train", 8, 192),
    ("infer", 1, 128),
    ("infer", 1, 192),
];

/// One benchmark case, ready to step.
struct Case {
    net: UNet,
    x: Tensor,
    /// Labels and optimiser for training cases.
    training: Option<(Tensor, Optimizer)>,
}

impl Case {
    fn new(format: MemoryFormat, train: bool, batch: i64, size: i64) -> Result<Self, UNetError> {
        tch::manual_seed(0);
        let config = UNetConfig {
            heads: vec![HeadSpec::new("positions", 10)],
            ..UNetConfig::default()
        };
        let mut net = UNet::new(&config, Device::Cpu)?;
        net.set_memory_format(format)?;
        let x = Tensor::randn([batch, 1, size, size], (Kind::Float, Device::Cpu));
        let training = if train {
            let y = Tensor::randint(10, [batch, size, size], (Kind::Int64, Device::Cpu));
            let opt = tch::nn::Adam::default()
                .build(net.var_store(), 1e-3)
                .map_err(|source| UNetError::Torch {
                    context: "building Adam".into(),
                    source,
                })?;
            Some((y, opt))
        } else {
            None
        };
        let mut case = Self { net, x, training };
        for _ in 0..2 {
            case.step()?;
        }
        Ok(case)
    }

    /// One step; returns its wall time in seconds.
    fn step(&mut self) -> Result<f64, UNetError> {
        let start = Instant::now();
        match &mut self.training {
            Some((y, opt)) => {
                let logits = self.net.forward_t(&self.x, true)?.into_head("positions")?;
                let loss = logits.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0);
                opt.backward_step(&loss);
            }
            None => {
                tch::no_grad(|| self.net.forward_t(&self.x, false))?;
            }
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

fn memory_format(name: &str) -> Result<MemoryFormat, String> {
    match name {
        "contiguous" => Ok(MemoryFormat::Contiguous),
        "channels_last" => Ok(MemoryFormat::ChannelsLast),
        other => Err(format!("unknown memory format {other}")),
    }
}

/// `--serve`: the step-by-step protocol on stdin/stdout.
fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let mut case: Option<Case> = None;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["case", format, kind, batch, size] => {
                drop(case.take()); // free the previous case first
                case = Some(Case::new(
                    memory_format(format)?,
                    *kind == "train",
                    batch.parse()?,
                    size.parse()?,
                )?);
                writeln!(out, "ready")?;
            }
            ["step"] => {
                let seconds = case.as_mut().ok_or("`step` before `case`")?.step()?;
                writeln!(out, "{seconds}")?;
            }
            ["quit"] => break,
            _ => return Err(format!("unknown command `{line}`").into()),
        }
        out.flush()?;
    }
    Ok(())
}

fn standalone(seconds: f64) -> Result<(), Box<dyn std::error::Error>> {
    for format in ["contiguous", "channels_last"] {
        for (kind, batch, size) in CASES {
            let mut case = Case::new(memory_format(format)?, kind == "train", batch, size)?;
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < 5 || start.elapsed().as_secs_f64() < seconds {
                times.push(case.step()?);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "cmr-unet  {format:13} {kind}_b{batch}_{size:<5} median {:8.2} ms ({:6.1} images/s), fastest {:8.2} ms ({} steps)",
                median * 1e3,
                batch as f64 / median,
                times[0] * 1e3,
                times.len()
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: unet_bench [--threads N] [--seconds S] [--serve]";
    let (mut threads, mut seconds, mut serve_mode) = (2, 3.0, false);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--threads" => threads = it.next().ok_or(usage)?.parse()?,
            "--seconds" => seconds = it.next().ok_or(usage)?.parse()?,
            "--serve" => serve_mode = true,
            _ => return Err(usage.into()),
        }
    }
    tch::set_num_threads(threads);
    if serve_mode {
        serve()
    } else {
        standalone(seconds)
    }
}

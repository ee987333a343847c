//! The Rust half of `cargo xtask bench-unet`: training-step throughput and inference latency
//! of the default U-Net (5 levels, 16-256 channels, a 10-channel "positions" head), to compare
//! with the identical PyTorch model (`peers/unet_bench.py`) on the same machine and threads.
//!
//! ```text
//! cargo run --release -p cmr-unet --example unet_bench -- [--threads 2] [--seconds 3] [--json PATH]
//! ```
//!
//! For each memory format (contiguous, channels-last) and each case it times iterations after
//! two warm-up ones until `--seconds` have passed (at least 5 iterations) and reports the
//! median, the fastest iteration and the mean CPU time per iteration (the last two are the
//! least disturbed by other work on a shared machine): training = zero grads, forward in training mode, cross-entropy, backward, Adam
//! step (batch 8, 1x128x128 and 1x192x192); inference = eval forward without gradients
//! (batch 1). Figures go to stdout and, with `--json`, to a file the PyTorch script compares.

use std::time::Instant;

use cmr_unet::{HeadSpec, MemoryFormat, UNet, UNetConfig, UNetError};
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Reduction, Tensor};

struct Args {
    threads: i32,
    seconds: f64,
    json: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        threads: 2,
        seconds: 3.0,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => args.threads = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => args.seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--json" => args.json = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// CPU time (user + system, all threads) this process has used, from `/proc/self/stat`
/// (Linux; clock ticks of 1/100 s, the USER_HZ of every mainstream Linux build).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    // Fields 14 (utime) and 15 (stime) of proc(5), counted from field 3 (state) here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// What [`time`] measured.
struct Timing {
    median: f64,
    fastest: f64,
    /// Mean CPU seconds (all threads) per call: insensitive to time spent preempted.
    cpu: Option<f64>,
    iterations: usize,
}

/// Times `step` after two warm-up calls, for `seconds` and at least 5 calls.
fn time(
    seconds: f64,
    mut step: impl FnMut() -> Result<(), UNetError>,
) -> Result<Timing, UNetError> {
    for _ in 0..2 {
        step()?;
    }
    let mut times = Vec::new();
    let cpu_start = process_cpu_seconds();
    let start = Instant::now();
    while times.len() < 5 || start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        step()?;
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = process_cpu_seconds()
        .zip(cpu_start)
        .map(|(end, begin)| (end - begin) / times.len() as f64);
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        median: times[times.len() / 2],
        fastest: times[0],
        cpu,
        iterations: times.len(),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()
        .map_err(|e| format!("{e}\nusage: unet_bench [--threads N] [--seconds S] [--json PATH]"))?;
    tch::set_num_threads(args.threads);
    let device = Device::Cpu;
    let config = UNetConfig {
        heads: vec![HeadSpec::new("positions", 10)],
        ..UNetConfig::default()
    };
    let mut rows = Vec::new();
    for (format, format_name) in [
        (MemoryFormat::Contiguous, "contiguous"),
        (MemoryFormat::ChannelsLast, "channels_last"),
    ] {
        for (kind, batch, size) in [
            ("train", 8, 128),
            ("train", 8, 192),
            ("infer", 1, 128),
            ("infer", 1, 192),
        ] {
            tch::manual_seed(0);
            let mut net = UNet::new(&config, device)?;
            net.set_memory_format(format)?;
            let x = Tensor::randn([batch, 1, size, size], (Kind::Float, device));
            let timing = if kind == "train" {
                let y = Tensor::randint(10, [batch, size, size], (Kind::Int64, device));
                let mut opt = tch::nn::Adam::default().build(net.var_store(), 1e-3)?;
                time(args.seconds, || {
                    let logits = net.forward_t(&x, true)?.into_head("positions")?;
                    let loss =
                        logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
                    opt.backward_step(&loss);
                    Ok(())
                })?
            } else {
                time(args.seconds, || {
                    tch::no_grad(|| net.forward_t(&x, false)).map(|_| ())
                })?
            };
            let name = format!("{kind}_b{batch}_{size}");
            println!(
                "cmr-unet  {format_name:13} {name:15} median {:8.2} ms ({:6.1} images/s), fastest {:8.2} ms, CPU {:8.2} ms/iter ({} iterations)",
                timing.median * 1e3,
                batch as f64 / timing.median,
                timing.fastest * 1e3,
                timing.cpu.unwrap_or(f64::NAN) * 1e3,
                timing.iterations
            );
            rows.push(serde_json::json!({
                "memory_format": format_name,
                "case": name,
                "batch": batch,
                "median_s": timing.median,
                "min_s": timing.fastest,
                "cpu_s": timing.cpu,
                "images_per_s": batch as f64 / timing.median,
                "iterations": timing.iterations,
            }));
        }
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "implementation": "cmr-unet",
            "threads": tch::get_num_threads(),
            "results": rows,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}

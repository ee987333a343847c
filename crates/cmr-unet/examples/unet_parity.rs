//! The Rust half of `cargo xtask unet-parity` (PyTorch parity of cmr-unet).
//!
//! ```text
//! cargo run -p cmr-unet --example unet_parity -- export DIR   # ours_<case>{,_io}.safetensors
//! cargo run -p cmr-unet --example unet_parity -- check DIR    # replays torch_<case>{,_io}
//! ```
//!
//! `export` builds each case's network (random weights, perturbed BatchNorm parameters and
//! statistics), saves it, and records what it computes (see `tests/support/parity.rs`);
//! `peers/unet_parity.py` loads those weights into the PyTorch model, compares, and writes
//! `torch_<case>` files from PyTorch-initialised models, which `check` loads into ours and
//! compares. Exits non-zero when a difference exceeds the tolerance.

#[path = "../tests/support/parity.rs"]
mod parity;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cmr_unet::{Downsample, HeadSpec, UNet, UNetConfig, UNetError, Upsample};
use tch::{Device, Kind, Tensor};

/// The cases: (name, configuration, input shape). Small enough for committed fixtures, with
/// input sizes that need padding, both resampling variants and several heads.
fn cases() -> Vec<(&'static str, UNetConfig, [i64; 4])> {
    vec![
        (
            "maxpool_transposed",
            UNetConfig {
                levels: 3,
                base_channels: 4,
                heads: vec![
                    HeadSpec::new("positions", 10),
                    HeadSpec::new("segmentation", 4),
                ],
                ..UNetConfig::default()
            },
            [2, 1, 13, 11],
        ),
        (
            "strided_bilinear",
            UNetConfig {
                in_channels: 2,
                levels: 4,
                base_channels: 2,
                downsample: Downsample::StridedConv,
                upsample: Upsample::Bilinear,
                heads: vec![HeadSpec::new("positions", 10)],
            },
            [2, 2, 11, 14],
        ),
    ]
}

fn export(dir: &Path) -> Result<(), UNetError> {
    for (i, (name, config, shape)) in cases().into_iter().enumerate() {
        tch::manual_seed(100 + i as i64);
        let net = UNet::new(&config, Device::Cpu)?;
        // Move BatchNorm parameters and statistics away from their 1 / 0 initial values so
        // that loading them wrongly would show.
        tch::no_grad(|| {
            for (tensor_name, mut t) in net.named_tensors() {
                if tensor_name.contains(".bn") {
                    let noise = Tensor::rand(t.size(), (Kind::Float, Device::Cpu)) * 0.5 + 0.75;
                    t.copy_(&(&t * &noise + (&noise - 1.0)));
                }
            }
        });
        let input = Tensor::randn(shape, (Kind::Float, Device::Cpu));
        net.save(dir.join(format!("ours_{name}.safetensors")))?;
        let recorded = parity::record(&net, &input)?;
        let io = dir.join(format!("ours_{name}_io.safetensors"));
        let named: Vec<(String, Tensor)> = recorded.into_iter().collect();
        Tensor::write_safetensors(&named, &io).map_err(|source| UNetError::Torch {
            context: format!("writing {}", io.display()),
            source,
        })?;
        println!("exported case {name}: {} tensors recorded", named.len());
    }
    Ok(())
}

fn check(dir: &Path) -> Result<bool, UNetError> {
    let mut all_agree = true;
    for (name, _, _) in cases() {
        let weights = dir.join(format!("torch_{name}.safetensors"));
        let io = dir.join(format!("torch_{name}_io.safetensors"));
        let c = parity::compare(&weights, &io)?;
        let (worst_key, worst) = c.worst();
        let eval = c
            .max_abs
            .iter()
            .filter(|(k, _)| k.starts_with("eval."))
            .fold(0.0f64, |a, (_, &v)| a.max(v));
        println!(
            "PyTorch -> cmr-unet  {name:20} eval max|diff| {eval:.2e}; over all {} recorded \
             tensors (train logits, gradients, BN statistics) {worst:.2e} ({worst_key}){}",
            c.max_abs.len(),
            if c.missing.is_empty() {
                String::new()
            } else {
                format!("; unmatched keys {:?}", c.missing)
            }
        );
        all_agree &= c.agrees();
    }
    Ok(all_agree)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, dir) = match args.as_slice() {
        [cmd, dir] => (cmd.as_str(), PathBuf::from(dir)),
        _ => {
            eprintln!("usage: unet_parity export|check DIR");
            return ExitCode::from(2);
        }
    };
    tch::set_num_threads(1);
    let result = match cmd {
        "export" => std::fs::create_dir_all(&dir)
            .map_err(|source| UNetError::Io {
                path: dir.clone(),
                source,
            })
            .and_then(|_| export(&dir))
            .map(|_| true),
        "check" => check(&dir),
        other => {
            eprintln!("unknown command `{other}`; usage: unet_parity export|check DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "cmr-unet and PyTorch disagree beyond {:e}",
                parity::TOLERANCE
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! A 2-D U-Net on libtorch (through `tch`), split into an [`Encoder`], a [`Decoder`] and named
//! 1x1 heads, so one trunk can be pretrained on one task and reused for another, with
//! checkpoints PyTorch reads and writes.
//!
//! - Architecture ([`UNetConfig`]): `levels` resolution levels of width
//!   `base_channels * 2^i` (default 5 levels, 16-32-64-128-256, as Bai et al.'s UK Biobank
//!   networks), two 3x3 conv + BatchNorm + ReLU per level, max-pool or strided-conv down,
//!   transposed-conv or bilinear up with skip concatenation, any input size (padded to a
//!   multiple of `2^(levels-1)` and cropped back).
//! - Heads ([`HeadSpec`]): e.g. `"positions"` (10 channels) and `"segmentation"` (K);
//!   [`UNet::add_head`], [`UNet::replace_head`].
//! - Checkpoints: [`UNet::save`] (safetensors, atomic), [`UNet::from_checkpoint`],
//!   [`UNet::load`] with a [`LoadScope`] (everything, encoder only, all but the heads, name
//!   prefixes) returning a [`LoadReport`]; [`UNet::load_from`] copies from another network.
//! - Transfer: [`UNet::freeze_encoder`] (no gradients, BatchNorm statistics held),
//!   [`UNet::unfreeze_encoder`]; [`UNet::parameter_counts`]; [`UNet::to_device`],
//!   [`UNet::set_kind`], [`default_device`], [`UNet::set_memory_format`] (channels-last is
//!   faster on CPUs).
//!
//! Parameter names follow PyTorch's dotted convention (`encoder.blocks.0.conv1.weight`); the
//! same network in PyTorch is `crates/cmr-unet/peers/unet_torch.py`, and
//! `cargo xtask unet-parity` checks that both compute the same outputs from the same weights.
//!
//! ```
//! use cmr_unet::{HeadSpec, LoadScope, UNet, UNetConfig};
//! use tch::{nn::OptimizerConfig, Device, Kind, Tensor};
//!
//! let dir = std::env::temp_dir().join(format!("cmr-unet-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! tch::manual_seed(0);
//! // Pretext network: 10 anatomical-position classes.
//! let config = UNetConfig {
//!     levels: 3,
//!     base_channels: 4,
//!     heads: vec![HeadSpec::new("positions", 10)],
//!     ..UNetConfig::default()
//! };
//! let pretrained = UNet::new(&config, Device::Cpu)?;
//! let x = Tensor::randn([2, 1, 50, 70], (Kind::Float, Device::Cpu));
//! // 50x70 is not a multiple of 4: the input is padded and the outputs cropped back.
//! assert_eq!(pretrained.forward_t(&x, false)?.head("positions")?.size(), [2, 10, 50, 70]);
//! pretrained.save(dir.join("pretext.safetensors"))?;
//!
//! // Fine-tuning network: same trunk, a 4-class segmentation head, encoder frozen.
//! let mut net = UNet::new(
//!     &UNetConfig { heads: vec![HeadSpec::new("segmentation", 4)], ..config },
//!     Device::Cpu,
//! )?;
//! let report = net.load(dir.join("pretext.safetensors"), &LoadScope::AllButHeads)?;
//! assert_eq!(report.skipped, ["heads.segmentation.bias", "heads.segmentation.weight"]);
//! assert_eq!(report.unused, ["heads.positions.bias", "heads.positions.weight"]);
//! net.freeze_encoder();
//! let counts = net.parameter_counts();
//! assert_eq!(counts.trainable, counts.decoder + counts.heads);
//! let mut opt = tch::nn::Adam::default().build(net.var_store(), 1e-3).unwrap();
//! let logits = net.forward_t(&x, true)?.into_head("segmentation")?;
//! opt.backward_step(&logits.mean(Kind::Float));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), cmr_unet::UNetError>(())
//! ```

#![warn(missing_docs)]

mod blocks;
mod checkpoint;
mod config;
mod decoder;
mod encoder;
mod error;
mod heads;
mod layers;
mod net;

pub use checkpoint::{Checkpoint, LoadReport, LoadScope, CONFIG_METADATA_KEY};
pub use config::{Downsample, HeadSpec, UNetConfig, Upsample};
pub use decoder::{Decoder, UNetDecoder};
pub use encoder::{Encoder, UNetEncoder};
pub use error::UNetError;
pub use net::{
    default_device, MemoryFormat, ParameterCounts, UNet, UNetOutput, DECODER_PREFIX,
    ENCODER_PREFIX, HEADS_PREFIX,
};

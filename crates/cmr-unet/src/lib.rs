//! A 2-D U-Net on libtorch (through `tch`), split into an encoder, a decoder and named 1x1
//! heads, so one trunk can be pretrained on one task and reused for another.
//!
//! Parameter names follow PyTorch's dotted convention (`encoder.blocks.0.conv1.weight`), so a
//! [`tch::nn::VarStore`] saved as safetensors loads in PyTorch too.
//!
//! ```
//! use cmr_unet::{HeadSpec, UNet, UNetConfig};
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let config = UNetConfig {
//!     levels: 3,
//!     base_channels: 4,
//!     heads: vec![HeadSpec::new("positions", 10)],
//!     ..UNetConfig::default()
//! };
//! let net = UNet::new(&vs.root(), &config)?;
//! // 50x70 is not a multiple of 2^(levels-1): the input is padded and the output cropped back.
//! let x = Tensor::randn([2, 1, 50, 70], (Kind::Float, Device::Cpu));
//! let out = net.forward_t(&x, false)?;
//! assert_eq!(out.head("positions")?.size(), vec![2, 10, 50, 70]);
//! # Ok::<(), cmr_unet::UNetError>(())
//! ```

#![warn(missing_docs)]

mod blocks;
mod error;

use std::collections::BTreeMap;

use tch::nn::{self, ModuleT};
use tch::Tensor;

pub use error::UNetError;

use blocks::{ConvBlock, Down, Up};

/// One output head: a 1x1 convolution from the decoder's last feature map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadSpec {
    /// Head name (used in parameter names: `heads.<name>.weight`).
    pub name: String,
    /// Output channels (classes).
    pub channels: i64,
}

impl HeadSpec {
    /// A head with `channels` outputs.
    pub fn new(name: impl Into<String>, channels: i64) -> Self {
        Self {
            name: name.into(),
            channels,
        }
    }
}

/// How the encoder halves the resolution between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Downsample {
    /// 2x2 max pooling.
    #[default]
    MaxPool,
    /// A 3x3 convolution with stride 2 (+ BatchNorm + ReLU).
    StridedConv,
}

/// How the decoder doubles the resolution between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Upsample {
    /// 2x2 transposed convolution with stride 2.
    #[default]
    TransposedConv,
    /// Bilinear interpolation followed by a 1x1 convolution.
    Bilinear,
}

/// U-Net hyper-parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UNetConfig {
    /// Input channels (1 for MR magnitude images).
    pub in_channels: i64,
    /// Channels of the first level; level `i` has `base_channels * 2^i`.
    pub base_channels: i64,
    /// Number of resolution levels (the default 5 gives 16-32-64-128-256 as Bai et al.'s UK
    /// Biobank networks).
    pub levels: usize,
    /// Encoder downsampling.
    pub downsample: Downsample,
    /// Decoder upsampling.
    pub upsample: Upsample,
    /// Output heads; at least one.
    pub heads: Vec<HeadSpec>,
}

impl Default for UNetConfig {
    fn default() -> Self {
        Self {
            in_channels: 1,
            base_channels: 16,
            levels: 5,
            downsample: Downsample::MaxPool,
            upsample: Upsample::TransposedConv,
            heads: vec![HeadSpec::new("segmentation", 4)],
        }
    }
}

impl UNetConfig {
    /// Channels at each level, from full resolution down.
    pub fn widths(&self) -> Vec<i64> {
        (0..self.levels).map(|i| self.base_channels << i).collect()
    }

    /// Input height and width must be multiples of this (otherwise they are padded).
    pub fn size_multiple(&self) -> i64 {
        1 << (self.levels.saturating_sub(1))
    }

    fn validate(&self) -> Result<(), UNetError> {
        let bad = |reason: String| Err(UNetError::InvalidConfig { reason });
        if self.levels == 0 || self.levels > 8 {
            return bad(format!("levels must be 1..=8, got {}", self.levels));
        }
        if self.in_channels < 1 || self.base_channels < 1 {
            return bad(format!(
                "in_channels ({}) and base_channels ({}) must be positive",
                self.in_channels, self.base_channels
            ));
        }
        if self.heads.is_empty() {
            return bad("at least one head is needed".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for h in &self.heads {
            if h.channels < 1 {
                return bad(format!("head `{}` has {} channels", h.name, h.channels));
            }
            if h.name.is_empty() || h.name.contains('.') || !seen.insert(h.name.as_str()) {
                return bad(format!(
                    "head names must be unique, non-empty and dot-free, got `{}`",
                    h.name
                ));
            }
        }
        Ok(())
    }
}

/// The contracting path: a conv block per level, downsampling between levels.
#[derive(Debug)]
pub struct Encoder {
    blocks: Vec<ConvBlock>,
    downs: Vec<Down>,
}

impl Encoder {
    fn new(vs: &nn::Path, config: &UNetConfig) -> Self {
        let widths = config.widths();
        let blocks_vs = vs / "blocks";
        let downs_vs = vs / "downs";
        let mut blocks = Vec::with_capacity(widths.len());
        let mut downs = Vec::with_capacity(widths.len().saturating_sub(1));
        let mut in_ch = config.in_channels;
        for (i, &w) in widths.iter().enumerate() {
            if i > 0 {
                downs.push(Down::new(&downs_vs / (i - 1), in_ch, config.downsample));
            }
            blocks.push(ConvBlock::new(&blocks_vs / i, in_ch, w));
            in_ch = w;
        }
        Self { blocks, downs }
    }

    /// Feature maps of every level, full resolution first (the last is the bottleneck).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Vec<Tensor> {
        let mut features: Vec<Tensor> = Vec::with_capacity(self.blocks.len());
        for (i, block) in self.blocks.iter().enumerate() {
            let input = match features.last() {
                None => xs.shallow_clone(),
                Some(prev) => self.downs[i - 1].forward_t(prev, train),
            };
            features.push(block.forward_t(&input, train));
        }
        features
    }
}

/// The expanding path: upsample, concatenate the skip connection, conv block.
#[derive(Debug)]
pub struct Decoder {
    ups: Vec<Up>,
    blocks: Vec<ConvBlock>,
}

impl Decoder {
    fn new(vs: &nn::Path, config: &UNetConfig) -> Self {
        let widths = config.widths();
        let ups_vs = vs / "ups";
        let blocks_vs = vs / "blocks";
        // Level i (from the bottom up) maps widths[i + 1] -> widths[i].
        let mut ups = Vec::new();
        let mut blocks = Vec::new();
        for (j, i) in (0..widths.len().saturating_sub(1)).rev().enumerate() {
            ups.push(Up::new(
                &ups_vs / j,
                widths[i + 1],
                widths[i],
                config.upsample,
            ));
            blocks.push(ConvBlock::new(&blocks_vs / j, 2 * widths[i], widths[i]));
        }
        Self { ups, blocks }
    }

    /// Full-resolution features from the encoder's per-level features.
    pub fn forward_t(&self, features: &[Tensor], train: bool) -> Tensor {
        let mut x = features
            .last()
            .expect("the encoder yields one feature map per level (levels >= 1)")
            .shallow_clone();
        for (j, (up, block)) in self.ups.iter().zip(&self.blocks).enumerate() {
            let skip = &features[features.len() - 2 - j];
            let upsampled = up.forward_t(&x, train);
            x = block.forward_t(&Tensor::cat(&[skip, &upsampled], 1), train);
        }
        x
    }
}

/// The outputs of every head, by name, each `[N, channels, H, W]` at the input's size.
#[derive(Debug)]
pub struct UNetOutput {
    heads: BTreeMap<String, Tensor>,
}

impl UNetOutput {
    /// The logits of one head.
    ///
    /// # Errors
    /// [`UNetError::UnknownHead`] when no head has that name.
    pub fn head(&self, name: &str) -> Result<&Tensor, UNetError> {
        self.heads.get(name).ok_or_else(|| UNetError::UnknownHead {
            name: name.to_string(),
            available: self.heads.keys().cloned().collect(),
        })
    }

    /// Consumes the output, returning all heads.
    pub fn into_heads(self) -> BTreeMap<String, Tensor> {
        self.heads
    }
}

/// The U-Net: encoder, decoder and named heads.
#[derive(Debug)]
pub struct UNet {
    config: UNetConfig,
    encoder: Encoder,
    decoder: Decoder,
    heads: BTreeMap<String, nn::Conv2D>,
}

impl UNet {
    /// Creates the network's variables under `vs` (`encoder.*`, `decoder.*`, `heads.*`).
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for an unusable configuration.
    pub fn new(vs: &nn::Path, config: &UNetConfig) -> Result<Self, UNetError> {
        config.validate()?;
        let encoder = Encoder::new(&(vs / "encoder"), config);
        let decoder = Decoder::new(&(vs / "decoder"), config);
        let heads_vs = vs / "heads";
        let heads = config
            .heads
            .iter()
            .map(|h| {
                let conv = nn::conv2d(
                    &heads_vs / h.name.as_str(),
                    config.base_channels,
                    h.channels,
                    1,
                    Default::default(),
                );
                (h.name.clone(), conv)
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            encoder,
            decoder,
            heads,
        })
    }

    /// The configuration the network was built with.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The decoder.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Runs the network on `[N, in_channels, H, W]` input. Any `H`, `W` >= 1 works: the input is
    /// zero-padded to a multiple of [`UNetConfig::size_multiple`] and the outputs cropped back.
    ///
    /// # Errors
    /// [`UNetError::InputShape`] when the input is not 4-D with `in_channels` channels.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<UNetOutput, UNetError> {
        let size = xs.size();
        if size.len() != 4 || size[1] != self.config.in_channels || size[2] < 1 || size[3] < 1 {
            return Err(UNetError::InputShape {
                expected: format!("[N, {}, H, W]", self.config.in_channels),
                got: size,
            });
        }
        let (h, w) = (size[2], size[3]);
        let m = self.config.size_multiple();
        let (pad_h, pad_w) = ((m - h % m) % m, (m - w % m) % m);
        let (top, left) = (pad_h / 2, pad_w / 2);
        let padded = if pad_h == 0 && pad_w == 0 {
            xs.shallow_clone()
        } else {
            // constant_pad_nd takes (left, right, top, bottom) for the last two dimensions.
            xs.constant_pad_nd([left, pad_w - left, top, pad_h - top])
        };
        let features = self.encoder.forward_t(&padded, train);
        let trunk = self.decoder.forward_t(&features, train);
        let trunk = if pad_h == 0 && pad_w == 0 {
            trunk
        } else {
            trunk.narrow(2, top, h).narrow(3, left, w)
        };
        let heads = self
            .heads
            .iter()
            .map(|(name, conv)| (name.clone(), conv.forward_t(&trunk, train)))
            .collect();
        Ok(UNetOutput { heads })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn small(levels: usize) -> UNetConfig {
        UNetConfig {
            levels,
            base_channels: 4,
            heads: vec![
                HeadSpec::new("segmentation", 4),
                HeadSpec::new("positions", 10),
            ],
            ..UNetConfig::default()
        }
    }

    #[test]
    fn forward_gives_every_head_at_input_size() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = UNet::new(&vs.root(), &small(4)).unwrap();
        for (h, w) in [(32, 32), (37, 45), (1, 1)] {
            let x = Tensor::randn([3, 1, h, w], (Kind::Float, Device::Cpu));
            let out = net.forward_t(&x, false).unwrap();
            assert_eq!(out.head("segmentation").unwrap().size(), vec![3, 4, h, w]);
            assert_eq!(out.head("positions").unwrap().size(), vec![3, 10, h, w]);
            assert!(matches!(
                out.head("atria"),
                Err(UNetError::UnknownHead { .. })
            ));
        }
    }

    #[test]
    fn parameter_names_and_count_match_the_architecture() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = UNetConfig {
            levels: 2,
            base_channels: 2,
            heads: vec![HeadSpec::new("seg", 3)],
            ..UNetConfig::default()
        };
        UNet::new(&vs.root(), &config).unwrap();
        let vars = vs.variables();
        // Hand count for widths [2, 4], 1 input channel, 3x3 convs without bias; each BatchNorm
        // has C weights + C biases (trainable) and C running means + C running vars (buffers):
        // enc block0: 1*2*9 + 2*2*9 + 2*(2+2) = 18 + 36 + 8 = 62 trainable, 8 buffers
        // enc block1: 2*4*9 + 4*4*9 + 2*(4+4) = 72 + 144 + 16 = 232 trainable, 16 buffers
        // dec up0 (transposed 2x2, 4->2, bias): 4*2*4 + 2 = 34
        // dec block0 (4->2): 4*2*9 + 2*2*9 + 2*(2+2) = 72 + 36 + 8 = 116 trainable, 8 buffers
        // head (1x1, 2->3, bias): 6 + 3 = 9
        let trainable: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        assert_eq!(trainable, 62 + 232 + 34 + 116 + 9);
        let total: i64 = vars.values().map(|t| t.numel() as i64).sum();
        assert_eq!(total, trainable + 8 + 16 + 8);
        for name in [
            "encoder.blocks.0.conv1.weight",
            "encoder.blocks.1.bn2.running_var",
            "decoder.ups.0.weight",
            "decoder.blocks.0.conv2.weight",
            "heads.seg.bias",
        ] {
            assert!(vars.contains_key(name), "missing {name}: {:?}", vars.keys());
        }
    }

    #[test]
    fn bad_input_and_config_are_typed_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = UNet::new(&vs.root(), &small(3)).unwrap();
        let x = Tensor::zeros([1, 2, 16, 16], (Kind::Float, Device::Cpu));
        assert!(matches!(
            net.forward_t(&x, false),
            Err(UNetError::InputShape { .. })
        ));
        let mut dup = small(3);
        dup.heads.push(HeadSpec::new("positions", 2));
        assert!(matches!(
            UNet::new(&(vs.root() / "other"), &dup),
            Err(UNetError::InvalidConfig { .. })
        ));
    }

    #[test]
    fn padding_does_not_leak_between_batch_items() {
        // In eval mode each image's output depends only on that image.
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = UNet::new(&vs.root(), &small(3)).unwrap();
        let a = Tensor::randn([1, 1, 21, 19], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([1, 1, 21, 19], (Kind::Float, Device::Cpu));
        let both = net
            .forward_t(&Tensor::cat(&[&a, &b], 0), false)
            .unwrap()
            .into_heads()
            .remove("positions")
            .unwrap();
        let alone = net
            .forward_t(&a, false)
            .unwrap()
            .into_heads()
            .remove("positions")
            .unwrap();
        let diff = (both.narrow(0, 0, 1) - alone).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "batch items interact: {diff}");
    }
}

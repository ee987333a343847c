//! The contracting path: the [`Encoder`] seam and the standard U-Net encoder.

use tch::{nn, Tensor};

use crate::blocks::{ConvBlock, Down};
use crate::{UNetConfig, UNetError};

/// The contracting path of a U-Net: an image in, one feature map per resolution level out.
///
/// This is the seam that lets an encoder be pretrained, frozen or swapped: [`crate::UNet`]
/// builds its encoder under the parameter path `encoder` (so every encoder parameter is named
/// `encoder.*`), freezes it by name, and builds its decoder from [`Encoder::feature_channels`].
/// Use [`crate::UNet::with_encoder`] to plug in another implementation.
///
/// Contract: feature map `i` of `forward_t` has `feature_channels()[i]` channels and exactly
/// `1 / 2^i` of the input's height and width, for inputs whose height and width are
/// multiples of [`Encoder::size_multiple`].
pub trait Encoder: std::fmt::Debug + Send {
    /// Channels of the input images.
    fn in_channels(&self) -> i64;

    /// Channels of every feature map, full resolution first (at least one).
    fn feature_channels(&self) -> Vec<i64>;

    /// Input height and width must be multiples of this (the network pads to it).
    fn size_multiple(&self) -> i64 {
        1 << self.feature_channels().len().saturating_sub(1)
    }

    /// The feature maps of every level, full resolution first; the last is the bottleneck.
    /// `train` selects batch statistics (and running-statistics updates) in BatchNorm layers.
    ///
    /// # Errors
    /// [`UNetError::Torch`] when libtorch rejects an operation.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Vec<Tensor>, UNetError>;
}

/// The standard U-Net encoder: a conv block (two 3x3 conv + BatchNorm + ReLU: `conv1`, `bn1`,
/// `conv2`, `bn2`) per level (`blocks.<i>`), downsampling between
/// levels (`downs.<i>`, parameters only for [`crate::Downsample::StridedConv`]).
#[derive(Debug)]
pub struct UNetEncoder {
    in_channels: i64,
    widths: Vec<i64>,
    blocks: Vec<ConvBlock>,
    downs: Vec<Down>,
}

impl UNetEncoder {
    /// Creates the encoder's parameters under `vs` for `config` (levels, widths, downsampling).
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for an unusable configuration, [`UNetError::Torch`] when
    /// a parameter cannot be created (for example an existing name with another shape).
    pub fn new(vs: &nn::Path, config: &UNetConfig) -> Result<Self, UNetError> {
        config.validate()?;
        let widths = config.widths();
        let build = || -> Result<Self, tch::TchError> {
            let mut blocks = Vec::with_capacity(widths.len());
            let mut downs = Vec::with_capacity(widths.len() - 1);
            let mut in_ch = config.in_channels;
            for (i, &w) in widths.iter().enumerate() {
                if i > 0 {
                    downs.push(Down::new(
                        &(vs / "downs" / (i - 1)),
                        in_ch,
                        config.downsample,
                    )?);
                }
                blocks.push(ConvBlock::new(&(vs / "blocks" / i), in_ch, w)?);
                in_ch = w;
            }
            Ok(Self {
                in_channels: config.in_channels,
                widths: widths.clone(),
                blocks,
                downs,
            })
        };
        build().map_err(|source| UNetError::Torch {
            context: "creating the encoder's parameters".into(),
            source,
        })
    }
}

impl Encoder for UNetEncoder {
    fn in_channels(&self) -> i64 {
        self.in_channels
    }

    fn feature_channels(&self) -> Vec<i64> {
        self.widths.clone()
    }

    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Vec<Tensor>, UNetError> {
        let mut features: Vec<Tensor> = Vec::with_capacity(self.blocks.len());
        for (i, block) in self.blocks.iter().enumerate() {
            let torch = |source| UNetError::Torch {
                context: format!("encoder level {i}"),
                source,
            };
            let level = match features.last() {
                None => block.forward_t(xs, train),
                Some(prev) => self.downs[i - 1]
                    .forward_t(prev, train)
                    .and_then(|down| block.forward_t(&down, train)),
            }
            .map_err(torch)?;
            features.push(level);
        }
        Ok(features)
    }
}

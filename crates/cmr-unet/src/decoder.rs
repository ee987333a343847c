//! The expanding path: the [`Decoder`] seam and the standard U-Net decoder.

use tch::{nn, Tensor};

use crate::blocks::{ConvBlock, Up};
use crate::{UNetError, Upsample};

/// The expanding path of a U-Net: the encoder's feature maps in, one full-resolution feature
/// map out (which the 1x1 heads read).
pub trait Decoder: std::fmt::Debug + Send {
    /// Channels of the output feature map.
    fn out_channels(&self) -> i64;

    /// The full-resolution feature map from the encoder's per-level feature maps (full
    /// resolution first, as [`crate::Encoder::forward_t`] returns them).
    ///
    /// # Errors
    /// [`UNetError::FeatureMaps`] when the number of maps differs from what the decoder was
    /// built for, [`UNetError::Torch`] when libtorch rejects an operation (for example
    /// channel counts that do not match).
    fn forward_t(&self, features: &[Tensor], train: bool) -> Result<Tensor, UNetError>;
}

/// The standard U-Net decoder. Going up from the bottleneck, step `j` (`ups.<j>`,
/// `blocks.<j>`) upsamples to the next finer level's size and channel count, concatenates the
/// skip connection first (`cat([skip, upsampled], dim = 1)`), and applies a conv block from
/// twice that channel count to it.
#[derive(Debug)]
pub struct UNetDecoder {
    levels: usize,
    out_channels: i64,
    ups: Vec<Up>,
    blocks: Vec<ConvBlock>,
}

impl UNetDecoder {
    /// Creates the decoder's parameters under `vs` for an encoder with these
    /// `feature_channels` (full resolution first).
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for an empty or non-positive channel list,
    /// [`UNetError::Torch`] when a parameter cannot be created.
    pub fn new(
        vs: &nn::Path,
        feature_channels: &[i64],
        upsample: Upsample,
    ) -> Result<Self, UNetError> {
        if feature_channels.is_empty() || feature_channels.iter().any(|&c| c < 1) {
            return Err(UNetError::InvalidConfig {
                reason: format!(
                    "decoder needs positive encoder feature channels, got {feature_channels:?}"
                ),
            });
        }
        let build = || -> Result<Self, tch::TchError> {
            let mut ups = Vec::new();
            let mut blocks = Vec::new();
            let mut below = feature_channels[feature_channels.len() - 1];
            for (j, i) in (0..feature_channels.len() - 1).rev().enumerate() {
                let skip = feature_channels[i];
                ups.push(Up::new(&(vs / "ups" / j), below, skip, upsample)?);
                blocks.push(ConvBlock::new(&(vs / "blocks" / j), 2 * skip, skip)?);
                below = skip;
            }
            Ok(Self {
                levels: feature_channels.len(),
                out_channels: feature_channels[0],
                ups,
                blocks,
            })
        };
        build().map_err(|source| UNetError::Torch {
            context: "creating the decoder's parameters".into(),
            source,
        })
    }
}

impl Decoder for UNetDecoder {
    fn out_channels(&self) -> i64 {
        self.out_channels
    }

    fn forward_t(&self, features: &[Tensor], train: bool) -> Result<Tensor, UNetError> {
        if features.len() != self.levels {
            return Err(UNetError::FeatureMaps {
                expected: self.levels,
                got: features.len(),
            });
        }
        let mut x = features[self.levels - 1].shallow_clone();
        for (j, (up, block)) in self.ups.iter().zip(&self.blocks).enumerate() {
            let skip = &features[self.levels - 2 - j];
            x = up
                .forward(&x)
                .and_then(|upsampled| Tensor::f_cat(&[skip, &upsampled], 1))
                .and_then(|joined| block.forward_t(&joined, train))
                .map_err(|source| UNetError::Torch {
                    context: format!("decoder step {j}"),
                    source,
                })?;
        }
        Ok(x)
    }
}

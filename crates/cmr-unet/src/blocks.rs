//! The U-Net's building blocks: the per-level double convolution and the resamplers.

use tch::nn;
use tch::{TchError, Tensor};

use crate::layers::{Conv2d, ConvBnRelu, ConvTranspose2x2};
use crate::{Downsample, Upsample};

/// Two (3x3 conv without bias -> BatchNorm -> ReLU) layers: parameters `conv1`, `bn1`, `conv2`,
/// `bn2` under the block's path.
#[derive(Debug)]
pub(crate) struct ConvBlock {
    first: ConvBnRelu,
    second: ConvBnRelu,
}

impl ConvBlock {
    pub(crate) fn new(vs: &nn::Path, in_ch: i64, out_ch: i64) -> Result<Self, TchError> {
        Ok(Self {
            first: ConvBnRelu::new(&(vs / "conv1"), &(vs / "bn1"), in_ch, out_ch, 1)?,
            second: ConvBnRelu::new(&(vs / "conv2"), &(vs / "bn2"), out_ch, out_ch, 1)?,
        })
    }

    pub(crate) fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TchError> {
        self.second
            .forward_t(&self.first.forward_t(xs, train)?, train)
    }
}

/// Halves the resolution.
#[derive(Debug)]
pub(crate) enum Down {
    MaxPool,
    StridedConv(ConvBnRelu),
}

impl Down {
    pub(crate) fn new(vs: &nn::Path, channels: i64, kind: Downsample) -> Result<Self, TchError> {
        Ok(match kind {
            Downsample::MaxPool => Self::MaxPool,
            Downsample::StridedConv => Self::StridedConv(ConvBnRelu::new(
                &(vs / "conv"),
                &(vs / "bn"),
                channels,
                channels,
                2,
            )?),
        })
    }

    pub(crate) fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TchError> {
        match self {
            Self::MaxPool => xs.f_max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            Self::StridedConv(layer) => layer.forward_t(xs, train),
        }
    }
}

/// Doubles the resolution and changes the channel count (parameters `weight`, `bias` directly
/// under the path, for both kinds).
#[derive(Debug)]
pub(crate) enum Up {
    Transposed(ConvTranspose2x2),
    Bilinear(Conv2d),
}

impl Up {
    pub(crate) fn new(
        vs: &nn::Path,
        in_ch: i64,
        out_ch: i64,
        kind: Upsample,
    ) -> Result<Self, TchError> {
        Ok(match kind {
            Upsample::TransposedConv => Self::Transposed(ConvTranspose2x2::new(vs, in_ch, out_ch)?),
            Upsample::Bilinear => Self::Bilinear(Conv2d::new(vs, in_ch, out_ch, 1, 1, true)?),
        })
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        match self {
            Self::Transposed(t) => t.forward(xs),
            Self::Bilinear(conv) => {
                let size = xs.size();
                let up = xs.f_upsample_bilinear2d([size[2] * 2, size[3] * 2], false, None, None)?;
                conv.forward(&up)
            }
        }
    }
}

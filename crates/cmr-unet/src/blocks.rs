//! The building blocks of the U-Net, named like their PyTorch counterparts.

use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::{Downsample, Upsample};

fn conv3x3(vs: nn::Path, i: i64, o: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        padding: 1,
        stride,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(vs, i, o, 3, cfg)
}

/// Two (3x3 conv without bias -> BatchNorm -> ReLU) layers.
#[derive(Debug)]
pub(crate) struct ConvBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl ConvBlock {
    pub(crate) fn new(vs: nn::Path, in_ch: i64, out_ch: i64) -> Self {
        Self {
            conv1: conv3x3(&vs / "conv1", in_ch, out_ch, 1),
            bn1: nn::batch_norm2d(&vs / "bn1", out_ch, Default::default()),
            conv2: conv3x3(&vs / "conv2", out_ch, out_ch, 1),
            bn2: nn::batch_norm2d(&vs / "bn2", out_ch, Default::default()),
        }
    }
}

impl ModuleT for ConvBlock {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x = self.bn1.forward_t(&xs.apply(&self.conv1), train).relu();
        self.bn2.forward_t(&x.apply(&self.conv2), train).relu()
    }
}

/// Halves the resolution.
#[derive(Debug)]
pub(crate) enum Down {
    MaxPool,
    StridedConv(Box<(nn::Conv2D, nn::BatchNorm)>),
}

impl Down {
    pub(crate) fn new(vs: nn::Path, channels: i64, kind: Downsample) -> Self {
        match kind {
            Downsample::MaxPool => Self::MaxPool,
            Downsample::StridedConv => Self::StridedConv(Box::new((
                conv3x3(&vs / "conv", channels, channels, 2),
                nn::batch_norm2d(&vs / "bn", channels, Default::default()),
            ))),
        }
    }
}

impl ModuleT for Down {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            Self::MaxPool => xs.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            Self::StridedConv(layers) => {
                let (conv, bn) = layers.as_ref();
                bn.forward_t(&xs.apply(conv), train).relu()
            }
        }
    }
}

/// Doubles the resolution and changes the channel count.
#[derive(Debug)]
pub(crate) enum Up {
    Transposed(nn::ConvTranspose2D),
    Bilinear(nn::Conv2D),
}

impl Up {
    pub(crate) fn new(vs: nn::Path, in_ch: i64, out_ch: i64, kind: Upsample) -> Self {
        match kind {
            Upsample::TransposedConv => {
                let cfg = nn::ConvTransposeConfig {
                    stride: 2,
                    ..Default::default()
                };
                Self::Transposed(nn::conv_transpose2d(vs, in_ch, out_ch, 2, cfg))
            }
            Upsample::Bilinear => {
                Self::Bilinear(nn::conv2d(vs, in_ch, out_ch, 1, Default::default()))
            }
        }
    }
}

impl ModuleT for Up {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        match self {
            Self::Transposed(t) => xs.apply(t),
            Self::Bilinear(conv) => {
                let size = xs.size();
                xs.upsample_bilinear2d([size[2] * 2, size[3] * 2], false, None, None)
                    .apply(conv)
            }
        }
    }
}

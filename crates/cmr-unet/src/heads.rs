//! Named 1x1 output heads.

use tch::{nn, TchError, Tensor};

use crate::layers::Conv2d;

/// A 1x1 convolution with bias from the trunk's features to one task's logits (parameters
/// `heads.<name>.weight` `[channels, trunk, 1, 1]` and `heads.<name>.bias` `[channels]`).
#[derive(Debug)]
pub(crate) struct Head {
    conv: Conv2d,
}

impl Head {
    pub(crate) fn new(vs: &nn::Path, trunk_channels: i64, channels: i64) -> Result<Self, TchError> {
        Ok(Self {
            conv: Conv2d::new(vs, trunk_channels, channels, 1, 1, true)?,
        })
    }

    pub(crate) fn forward(&self, trunk: &Tensor) -> Result<Tensor, TchError> {
        self.conv.forward(trunk)
    }
}

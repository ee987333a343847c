//! The layers the U-Net is made of, with PyTorch's parameter names, shapes and default
//! initialisation, so that a state dict moves between the two unchanged.
//!
//! Initialisation follows `torch.nn` (`Conv2d.reset_parameters`, `ConvTranspose2d`,
//! `BatchNorm2d.reset_parameters`): convolution weights `kaiming_uniform_(a = sqrt(5))`, which is
//! U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BatchNorm
//! weight 1, bias 0, running mean 0, running variance 1, momentum 0.1, eps 1e-5.

use tch::nn::{self, Init};
use tch::{TchError, Tensor};

/// BatchNorm momentum (PyTorch's default).
pub(crate) const BN_MOMENTUM: f64 = 0.1;
/// BatchNorm epsilon (PyTorch's default).
pub(crate) const BN_EPS: f64 = 1e-5;

fn uniform_bound(fan_in: i64) -> Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

/// A 2-D convolution (`weight` `[out, in, k, k]`, optional `bias` `[out]`).
#[derive(Debug)]
pub(crate) struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: i64,
    padding: i64,
}

impl Conv2d {
    pub(crate) fn new(
        vs: &nn::Path,
        in_ch: i64,
        out_ch: i64,
        kernel: i64,
        stride: i64,
        bias: bool,
    ) -> Result<Self, TchError> {
        let fan_in = in_ch * kernel * kernel;
        let weight = vs.f_var(
            "weight",
            &[out_ch, in_ch, kernel, kernel],
            uniform_bound(fan_in),
        )?;
        let bias = if bias {
            Some(vs.f_var("bias", &[out_ch], uniform_bound(fan_in))?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            stride,
            padding: kernel / 2,
        })
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        xs.f_conv2d(
            &self.weight,
            self.bias.as_ref(),
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            1,
        )
    }
}

/// A 2x2 transposed convolution with stride 2 (`weight` `[in, out, 2, 2]`, `bias` `[out]`).
#[derive(Debug)]
pub(crate) struct ConvTranspose2x2 {
    weight: Tensor,
    bias: Tensor,
}

impl ConvTranspose2x2 {
    pub(crate) fn new(vs: &nn::Path, in_ch: i64, out_ch: i64) -> Result<Self, TchError> {
        // PyTorch computes fan_in from dimension 1 of the weight, which for a transposed
        // convolution is the output channel count.
        let fan_in = out_ch * 4;
        Ok(Self {
            weight: vs.f_var("weight", &[in_ch, out_ch, 2, 2], uniform_bound(fan_in))?,
            bias: vs.f_var("bias", &[out_ch], uniform_bound(fan_in))?,
        })
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor, TchError> {
        xs.f_conv_transpose2d(
            &self.weight,
            Some(&self.bias),
            [2, 2],
            [0, 0],
            [0, 0],
            1,
            [1, 1],
        )
    }
}

/// 2-D batch normalisation with running statistics (buffers `running_mean`, `running_var`).
#[derive(Debug)]
pub(crate) struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm2d {
    pub(crate) fn new(vs: &nn::Path, channels: i64) -> Result<Self, TchError> {
        Ok(Self {
            weight: vs.f_var("weight", &[channels], Init::Const(1.0))?,
            bias: vs.f_var("bias", &[channels], Init::Const(0.0))?,
            running_mean: vs.f_zeros_no_train("running_mean", &[channels])?,
            running_var: vs.f_ones_no_train("running_var", &[channels])?,
        })
    }

    /// Normalises with batch statistics (updating the running ones) when `train`, else with
    /// the running statistics.
    pub(crate) fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TchError> {
        xs.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            BN_MOMENTUM,
            BN_EPS,
            true,
        )
    }
}

/// A 3x3 convolution without bias, BatchNorm and an in-place ReLU (the same ops, in the same
/// order, as `nn.Conv2d(bias=False)`, `nn.BatchNorm2d`, `nn.ReLU(inplace=True)`).
#[derive(Debug)]
pub(crate) struct ConvBnRelu {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl ConvBnRelu {
    pub(crate) fn new(
        conv_vs: &nn::Path,
        bn_vs: &nn::Path,
        in_ch: i64,
        out_ch: i64,
        stride: i64,
    ) -> Result<Self, TchError> {
        Ok(Self {
            conv: Conv2d::new(conv_vs, in_ch, out_ch, 3, stride, false)?,
            bn: BatchNorm2d::new(bn_vs, out_ch)?,
        })
    }

    pub(crate) fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let mut y = self.bn.forward_t(&self.conv.forward(xs)?, train)?;
        y.f_relu_()
    }
}

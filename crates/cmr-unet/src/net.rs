//! The network: encoder, decoder and named heads on one variable store.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use tch::nn::{self, VarStore};
use tch::{Device, Kind, Tensor};

use crate::decoder::{Decoder, UNetDecoder};
use crate::encoder::{Encoder, UNetEncoder};
use crate::heads::Head;
use crate::{HeadSpec, UNetConfig, UNetError};

/// Prefix of every encoder parameter name.
pub const ENCODER_PREFIX: &str = "encoder.";
/// Prefix of every decoder parameter name.
pub const DECODER_PREFIX: &str = "decoder.";
/// Prefix of every head parameter name (`heads.<name>.weight`, `heads.<name>.bias`).
pub const HEADS_PREFIX: &str = "heads.";

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

    /// Consumes the output, returning the logits of one head.
    ///
    /// # Errors
    /// [`UNetError::UnknownHead`] when no head has that name.
    pub fn into_head(mut self, name: &str) -> Result<Tensor, UNetError> {
        self.heads
            .remove(name)
            .ok_or_else(|| UNetError::UnknownHead {
                name: name.to_string(),
                available: self.heads.keys().cloned().collect(),
            })
    }

    /// Consumes the output, returning all heads.
    pub fn into_heads(self) -> BTreeMap<String, Tensor> {
        self.heads
    }
}

/// How many numbers the network holds, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterCounts {
    /// Learnable parameters (weights and biases) of the encoder.
    pub encoder: i64,
    /// Learnable parameters of the decoder.
    pub decoder: i64,
    /// Learnable parameters of all heads.
    pub heads: i64,
    /// Learnable parameters that currently receive gradients (all of them unless the encoder
    /// is frozen).
    pub trainable: i64,
    /// Non-learnable state: BatchNorm running means and variances.
    pub buffers: i64,
}

impl ParameterCounts {
    /// All learnable parameters.
    pub fn total(&self) -> i64 {
        self.encoder + self.decoder + self.heads
    }
}

/// How 4-D activations and convolution weights are laid out in memory. Only speed differs:
/// on CPUs, oneDNN convolutions are markedly faster channels-last (PyTorch's
/// `torch.channels_last`), see `cargo xtask bench-unet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryFormat {
    /// NCHW, PyTorch's default.
    #[default]
    Contiguous,
    /// NHWC in memory (logical shape still NCHW): weights converted once, inputs on entry.
    ChannelsLast,
}

impl MemoryFormat {
    /// `t` in this layout (no copy when it already is; tensors that are not 4-D unchanged).
    pub fn apply(self, t: &Tensor) -> Result<Tensor, tch::TchError> {
        if t.dim() != 4 {
            return Ok(t.shallow_clone());
        }
        match self {
            Self::Contiguous => t.f_contiguous(),
            // NCHW viewed as NHWC, made contiguous, viewed back: NCHW with NHWC strides.
            Self::ChannelsLast => t
                .f_permute([0, 2, 3, 1])?
                .f_contiguous()?
                .f_permute([0, 3, 1, 2]),
        }
    }
}

/// The U-Net: an [`Encoder`], a [`Decoder`] and named 1x1 heads, owning the
/// [`tch::nn::VarStore`] that holds their parameters.
///
/// Parameter names are PyTorch-style and dotted: `encoder.blocks.<level>.{conv1,bn1,conv2,bn2}.*`,
/// `encoder.downs.<i>.*`, `decoder.ups.<j>.*`, `decoder.blocks.<j>.*`, `heads.<name>.*`
/// (see `peers/unet_torch.py` for the same network in PyTorch).
///
/// Build an optimiser on [`UNet::var_store`]; it picks up heads added later, but after
/// [`UNet::replace_head`] or a change of device or dtype build a new one (its state refers to
/// the old tensors).
#[derive(Debug)]
pub struct UNet {
    vs: VarStore,
    config: UNetConfig,
    encoder: Box<dyn Encoder>,
    decoder: Box<dyn Decoder>,
    heads: BTreeMap<String, Head>,
    encoder_frozen: bool,
    memory_format: MemoryFormat,
}

/// The device to train on: the first CUDA device when libtorch sees one, else the CPU.
pub fn default_device() -> Device {
    Device::cuda_if_available()
}

impl UNet {
    /// Builds the standard U-Net for `config` on `device`, with PyTorch's default
    /// initialisation (seed it with [`tch::manual_seed`]), parameters in `f32`.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for an unusable configuration.
    pub fn new(config: &UNetConfig, device: Device) -> Result<Self, UNetError> {
        Self::with_encoder(config, device, |vs, config| {
            Ok(Box::new(UNetEncoder::new(vs, config)?))
        })
    }

    /// Builds a U-Net around another encoder: `build_encoder` creates it under the path it is
    /// given (`encoder`); the decoder is then built for its
    /// [`Encoder::feature_channels`] with `config.upsample`, and the heads from
    /// `config.heads`. `config.levels`, `base_channels`, `in_channels` and `downsample` are
    /// only used by the standard encoder, and [`UNet::from_checkpoint`] rebuilds the standard
    /// encoder: load a custom encoder's checkpoint with [`UNet::load`].
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for an unusable configuration or encoder, whatever
    /// `build_encoder` returns.
    pub fn with_encoder<F>(
        config: &UNetConfig,
        device: Device,
        build_encoder: F,
    ) -> Result<Self, UNetError>
    where
        F: FnOnce(&nn::Path, &UNetConfig) -> Result<Box<dyn Encoder>, UNetError>,
    {
        config.validate()?;
        let vs = VarStore::new(device);
        let encoder = build_encoder(&(vs.root() / "encoder"), config)?;
        if encoder.in_channels() < 1 || encoder.size_multiple() < 1 {
            return Err(UNetError::InvalidConfig {
                reason: format!(
                    "encoder reports {} input channels and size multiple {}",
                    encoder.in_channels(),
                    encoder.size_multiple()
                ),
            });
        }
        let decoder = UNetDecoder::new(
            &(vs.root() / "decoder"),
            &encoder.feature_channels(),
            config.upsample,
        )?;
        let mut net = Self {
            config: UNetConfig {
                heads: Vec::new(),
                ..config.clone()
            },
            encoder,
            decoder: Box::new(decoder),
            heads: BTreeMap::new(),
            encoder_frozen: false,
            memory_format: MemoryFormat::Contiguous,
            vs,
        };
        for spec in &config.heads {
            net.add_head(spec.clone())?;
        }
        Ok(net)
    }

    /// The configuration (heads included, as currently attached).
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// The variable store holding every parameter and buffer; build optimisers on it.
    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// The encoder.
    pub fn encoder(&self) -> &dyn Encoder {
        self.encoder.as_ref()
    }

    /// The decoder.
    pub fn decoder(&self) -> &dyn Decoder {
        self.decoder.as_ref()
    }

    /// The heads, in the order they were attached.
    pub fn heads(&self) -> &[HeadSpec] {
        &self.config.heads
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The floating-point kind of the parameters (`Kind::Float` unless changed).
    pub fn kind(&self) -> Kind {
        self.vs.kind()
    }

    /// Moves every parameter and buffer to `device`.
    pub fn to_device(&mut self, device: Device) {
        self.vs.set_device(device);
    }

    /// Converts every parameter and buffer to the floating-point `kind`
    /// (`Float`, `Double`, `Half`, `BFloat16`); inputs must then have that kind.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for a kind that is not floating point.
    pub fn set_kind(&mut self, kind: Kind) -> Result<(), UNetError> {
        if !matches!(
            kind,
            Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
        ) {
            return Err(UNetError::InvalidConfig {
                reason: format!("parameters must be floating point, not {kind:?}"),
            });
        }
        self.vs.set_kind(kind);
        Ok(())
    }

    /// Every parameter and buffer by its dotted name (shallow copies: they share storage with
    /// the network).
    pub fn named_tensors(&self) -> BTreeMap<String, Tensor> {
        self.vs.variables().into_iter().collect()
    }

    /// Names of the learnable parameters (BatchNorm running statistics are buffers, not
    /// parameters), whether or not they are currently frozen.
    pub fn parameter_names(&self) -> BTreeSet<String> {
        let learnable: HashSet<usize> = self
            .vs
            .trainable_variables()
            .iter()
            .map(|t| t.data_ptr() as usize)
            .collect();
        self.vs
            .variables()
            .into_iter()
            .filter(|(_, t)| learnable.contains(&(t.data_ptr() as usize)))
            .map(|(name, _)| name)
            .collect()
    }

    /// Parameter counts by part.
    pub fn parameter_counts(&self) -> ParameterCounts {
        let learnable = self.parameter_names();
        let mut counts = ParameterCounts {
            encoder: 0,
            decoder: 0,
            heads: 0,
            trainable: 0,
            buffers: 0,
        };
        for (name, t) in self.vs.variables() {
            let n = t.numel() as i64;
            if !learnable.contains(&name) {
                counts.buffers += n;
                continue;
            }
            if t.requires_grad() {
                counts.trainable += n;
            }
            if name.starts_with(ENCODER_PREFIX) {
                counts.encoder += n;
            } else if name.starts_with(DECODER_PREFIX) {
                counts.decoder += n;
            } else {
                counts.heads += n;
            }
        }
        counts
    }

    /// Freezes the encoder for transfer learning (the paper's "SSL+Decoder" strategy): its
    /// parameters stop receiving gradients (so optimisers leave them unchanged) and its
    /// BatchNorm layers use and keep their running statistics even in training forward
    /// passes. The rest of the network trains as usual.
    pub fn freeze_encoder(&mut self) {
        self.set_encoder_requires_grad(false);
        self.encoder_frozen = true;
    }

    /// Undoes [`UNet::freeze_encoder`].
    pub fn unfreeze_encoder(&mut self) {
        self.set_encoder_requires_grad(true);
        self.encoder_frozen = false;
    }

    /// Whether the encoder is frozen.
    pub fn is_encoder_frozen(&self) -> bool {
        self.encoder_frozen
    }

    /// The memory layout of weights and activations.
    pub fn memory_format(&self) -> MemoryFormat {
        self.memory_format
    }

    /// Lays out every 4-D weight in `format` and makes [`UNet::forward_t`] convert inputs to
    /// it. Values, names and checkpoints are unaffected. Build optimisers afterwards.
    ///
    /// # Errors
    /// [`UNetError::Torch`] when a weight cannot be copied (out of memory).
    pub fn set_memory_format(&mut self, format: MemoryFormat) -> Result<(), UNetError> {
        self.memory_format = format;
        self.apply_memory_format(|_| true)
    }

    fn apply_memory_format(&mut self, select: impl Fn(&str) -> bool) -> Result<(), UNetError> {
        for (name, mut t) in self.vs.variables() {
            if t.dim() == 4 && select(&name) {
                let laid_out = self
                    .memory_format
                    .apply(&t)
                    .map_err(|source| UNetError::Torch {
                        context: format!("changing the memory format of `{name}`"),
                        source,
                    })?;
                tch::no_grad(|| t.set_data(&laid_out));
            }
        }
        Ok(())
    }

    fn set_encoder_requires_grad(&mut self, requires_grad: bool) {
        let learnable = self.parameter_names();
        for (name, t) in self.vs.variables() {
            if name.starts_with(ENCODER_PREFIX) && learnable.contains(&name) {
                let _ = t.set_requires_grad(requires_grad);
            }
        }
    }

    /// Attaches a new, freshly initialised head to the trunk. Optimisers built on
    /// [`UNet::var_store`] pick its parameters up at their next step.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for a bad name or channel count, [`UNetError::DuplicateHead`]
    /// when a head of that name exists (use [`UNet::replace_head`]).
    pub fn add_head(&mut self, spec: HeadSpec) -> Result<(), UNetError> {
        spec.validate()?;
        if self.heads.contains_key(&spec.name) {
            return Err(UNetError::DuplicateHead { name: spec.name });
        }
        let path = self.vs.root() / "heads" / spec.name.as_str();
        let head =
            Head::new(&path, self.decoder.out_channels(), spec.channels).map_err(|source| {
                UNetError::Torch {
                    context: format!("creating head `{}`", spec.name),
                    source,
                }
            })?;
        self.heads.insert(spec.name.clone(), head);
        let prefix = format!("{HEADS_PREFIX}{}.", spec.name);
        self.config.heads.push(spec);
        self.apply_memory_format(|name| name.starts_with(&prefix))
    }

    /// Re-initialises the head `spec.name` (PyTorch's default initialisation), with
    /// `spec.channels` outputs, which may differ from before; adds it when there is none. The
    /// parameters keep their names and trainability. Build a new optimiser afterwards.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for a bad name or channel count.
    pub fn replace_head(&mut self, spec: HeadSpec) -> Result<(), UNetError> {
        spec.validate()?;
        if !self.heads.contains_key(&spec.name) {
            return self.add_head(spec);
        }
        let torch = |source| UNetError::Torch {
            context: format!("re-initialising head `{}`", spec.name),
            source,
        };
        let fresh_vs = VarStore::new(self.device());
        Head::new(
            &(fresh_vs.root() / "heads" / spec.name.as_str()),
            self.decoder.out_channels(),
            spec.channels,
        )
        .map_err(torch)?;
        let mut ours = self.vs.variables();
        for (name, fresh) in fresh_vs.variables() {
            let target = ours
                .get_mut(&name)
                .ok_or_else(|| UNetError::MissingTensors {
                    origin: "the network".into(),
                    names: vec![name.clone()],
                })?;
            let fresh = fresh.f_to_kind(self.kind()).map_err(torch)?;
            tch::no_grad(|| target.set_data(&fresh));
        }
        let prefix = format!("{HEADS_PREFIX}{}.", spec.name);
        if let Some(existing) = self.config.heads.iter_mut().find(|h| h.name == spec.name) {
            *existing = spec;
        }
        self.apply_memory_format(|name| name.starts_with(&prefix))
    }

    /// Runs the network on `[N, in_channels, H, W]` input of the network's kind and device.
    /// Any `H`, `W` >= 1 works: the input is zero-padded (split evenly, the extra pixel at the
    /// bottom/right) to a multiple of [`Encoder::size_multiple`] and the outputs are cropped
    /// back. `train` selects BatchNorm's batch statistics and running-statistics updates,
    /// except in a frozen encoder, which always uses its running statistics.
    ///
    /// # Errors
    /// [`UNetError::InputShape`] when the input is not 4-D with `in_channels` channels,
    /// [`UNetError::InputKind`] / [`UNetError::InputDevice`] when it does not match the
    /// parameters, [`UNetError::Torch`] when libtorch fails (for example out of memory).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<UNetOutput, UNetError> {
        let size = xs.size();
        let in_channels = self.encoder.in_channels();
        if size.len() != 4 || size[1] != in_channels || size[0] < 1 || size[2] < 1 || size[3] < 1 {
            return Err(UNetError::InputShape {
                expected: format!("[N >= 1, {in_channels}, H >= 1, W >= 1]"),
                got: size,
            });
        }
        if xs.kind() != self.kind() {
            return Err(UNetError::InputKind {
                expected: self.kind(),
                got: xs.kind(),
            });
        }
        if xs.device() != self.device() {
            return Err(UNetError::InputDevice {
                expected: self.device(),
                got: xs.device(),
            });
        }
        let torch = |context: &str| {
            let context = context.to_string();
            move |source| UNetError::Torch { context, source }
        };
        let (h, w) = (size[2], size[3]);
        let m = self.encoder.size_multiple();
        let (pad_h, pad_w) = ((m - h % m) % m, (m - w % m) % m);
        let (top, left) = (pad_h / 2, pad_w / 2);
        let xs = self
            .memory_format
            .apply(xs)
            .map_err(torch("changing the input's memory format"))?;
        let padded = if pad_h == 0 && pad_w == 0 {
            xs
        } else {
            // constant_pad_nd takes (left, right, top, bottom) for the last two dimensions.
            xs.f_constant_pad_nd([left, pad_w - left, top, pad_h - top])
                .map_err(torch("padding the input"))?
        };
        let features = self
            .encoder
            .forward_t(&padded, train && !self.encoder_frozen)?;
        let trunk = self.decoder.forward_t(&features, train)?;
        let trunk = if pad_h == 0 && pad_w == 0 {
            trunk
        } else {
            trunk
                .f_narrow(2, top, h)
                .and_then(|t| t.f_narrow(3, left, w))
                .map_err(torch("cropping the output"))?
        };
        let mut heads = BTreeMap::new();
        for (name, head) in &self.heads {
            let logits = head
                .forward(&trunk)
                .map_err(torch(&format!("head `{name}`")))?;
            heads.insert(name.clone(), logits);
        }
        Ok(UNetOutput { heads })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::OptimizerConfig;

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

    fn randn(shape: &[i64]) -> Tensor {
        Tensor::randn(shape, (Kind::Float, Device::Cpu))
    }

    fn deep_copy(net: &UNet) -> BTreeMap<String, Tensor> {
        net.named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.detach().copy()))
            .collect()
    }

    #[test]
    fn forward_gives_every_head_at_input_size() {
        tch::manual_seed(0);
        for (down, up) in [
            (crate::Downsample::MaxPool, crate::Upsample::TransposedConv),
            (crate::Downsample::StridedConv, crate::Upsample::Bilinear),
        ] {
            let config = UNetConfig {
                downsample: down,
                upsample: up,
                ..small(4)
            };
            let net = UNet::new(&config, Device::Cpu).unwrap();
            for (h, w) in [(32, 32), (37, 45), (1, 1)] {
                let out = net.forward_t(&randn(&[3, 1, h, w]), true).unwrap();
                assert_eq!(out.head("segmentation").unwrap().size(), [3, 4, h, w]);
                assert_eq!(out.head("positions").unwrap().size(), [3, 10, h, w]);
                assert!(matches!(
                    out.head("atria"),
                    Err(UNetError::UnknownHead { .. })
                ));
            }
        }
    }

    #[test]
    fn parameter_names_and_counts_match_the_architecture() {
        let config = UNetConfig {
            levels: 2,
            base_channels: 2,
            heads: vec![HeadSpec::new("seg", 3)],
            ..UNetConfig::default()
        };
        let net = UNet::new(&config, Device::Cpu).unwrap();
        // Hand count for widths [2, 4], 1 input channel, 3x3 convs without bias; each
        // BatchNorm has C weights + C biases (learnable) and C running means + C running
        // variances (buffers):
        // enc block0: 1*2*9 + 2*2*9 + 2*(2+2) = 18 + 36 + 8 = 62 learnable, 8 buffers
        // enc block1: 2*4*9 + 4*4*9 + 2*(4+4) = 72 + 144 + 16 = 232 learnable, 16 buffers
        // dec up0 (transposed 2x2, 4->2, bias): 4*2*4 + 2 = 34
        // dec block0 (4->2): 4*2*9 + 2*2*9 + 2*(2+2) = 72 + 36 + 8 = 116 learnable, 8 buffers
        // head (1x1, 2->3, bias): 6 + 3 = 9
        let counts = net.parameter_counts();
        assert_eq!(
            counts,
            ParameterCounts {
                encoder: 62 + 232,
                decoder: 34 + 116,
                heads: 9,
                trainable: 62 + 232 + 34 + 116 + 9,
                buffers: 8 + 16 + 8,
            }
        );
        let names = net.named_tensors();
        for name in [
            "encoder.blocks.0.conv1.weight",
            "encoder.blocks.1.bn2.running_var",
            "decoder.ups.0.weight",
            "decoder.ups.0.bias",
            "decoder.blocks.0.conv2.weight",
            "heads.seg.bias",
        ] {
            assert!(
                names.contains_key(name),
                "missing {name}: {:?}",
                names.keys()
            );
        }
        assert_eq!(names["decoder.ups.0.weight"].size(), [4, 2, 2, 2]);
        assert!(!net
            .parameter_names()
            .contains("encoder.blocks.0.bn1.running_mean"));
        assert!(net
            .parameter_names()
            .contains("encoder.blocks.0.bn1.weight"));
        // The default network: Bai et al.'s widths, about 1.9 M parameters.
        let default = UNet::new(&UNetConfig::default(), Device::Cpu).unwrap();
        assert_eq!(
            default.named_tensors()["encoder.blocks.4.conv2.weight"].size(),
            [256, 256, 3, 3]
        );
    }

    #[test]
    fn pytorch_default_initialisation() {
        tch::manual_seed(5);
        let net = UNet::new(&small(3), Device::Cpu).unwrap();
        let t = net.named_tensors();
        let max_abs = |name: &str| t[name].abs().max().double_value(&[]);
        // BatchNorm: weight 1, bias 0, running mean 0, running variance 1.
        assert_eq!(
            t["encoder.blocks.1.bn1.weight"]
                .sum(Kind::Float)
                .double_value(&[]),
            8.0
        );
        assert_eq!(max_abs("encoder.blocks.1.bn1.bias"), 0.0);
        assert_eq!(max_abs("encoder.blocks.1.bn1.running_mean"), 0.0);
        assert_eq!(
            t["decoder.blocks.0.bn2.running_var"]
                .min()
                .double_value(&[]),
            1.0
        );
        // Conv weights within 1/sqrt(fan_in), fan_in = 4 * 9 for encoder.blocks.1.conv1, and
        // actually spread over most of that range.
        let bound = 1.0 / 36f64.sqrt();
        let m = max_abs("encoder.blocks.1.conv1.weight");
        assert!(m <= bound && m > 0.8 * bound, "{m} vs {bound}");
        // Transposed conv: fan_in from the output channels (4 * 2 * 2 for 8 -> 4).
        let m = max_abs("decoder.ups.1.weight");
        let bound = 1.0 / 16f64.sqrt();
        assert!(m <= bound && m > 0.8 * bound, "{m} vs {bound}");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let net = UNet::new(&small(3), Device::Cpu).unwrap();
        let shape_err = |shape: &[i64]| {
            matches!(
                net.forward_t(&Tensor::zeros(shape, (Kind::Float, Device::Cpu)), false),
                Err(UNetError::InputShape { .. })
            )
        };
        assert!(shape_err(&[1, 2, 16, 16]));
        assert!(shape_err(&[1, 16, 16]));
        assert!(shape_err(&[0, 1, 16, 16]));
        assert!(shape_err(&[1, 1, 0, 16]));
        let x = Tensor::zeros([1, 1, 8, 8], (Kind::Double, Device::Cpu));
        assert!(matches!(
            net.forward_t(&x, false),
            Err(UNetError::InputKind {
                expected: Kind::Float,
                got: Kind::Double
            })
        ));
        let mut dup = small(3);
        dup.heads.push(HeadSpec::new("positions", 2));
        assert!(matches!(
            UNet::new(&dup, Device::Cpu),
            Err(UNetError::InvalidConfig { .. })
        ));
    }

    #[test]
    fn double_precision_network() {
        tch::manual_seed(2);
        let mut net = UNet::new(&small(3), Device::Cpu).unwrap();
        let x = randn(&[1, 1, 12, 12]);
        let single = net
            .forward_t(&x, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        net.set_kind(Kind::Double).unwrap();
        assert_eq!(net.kind(), Kind::Double);
        let double = net
            .forward_t(&x.to_kind(Kind::Double), false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        assert_eq!(double.kind(), Kind::Double);
        let diff = (double - single.to_kind(Kind::Double))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-4, "{diff}");
        assert!(net.set_kind(Kind::Int64).is_err());
    }

    #[test]
    fn padding_does_not_leak_between_batch_items() {
        // In eval mode each image's output depends only on that image.
        tch::manual_seed(1);
        let net = UNet::new(&small(3), Device::Cpu).unwrap();
        let (a, b) = (randn(&[1, 1, 21, 19]), randn(&[1, 1, 21, 19]));
        let both = net
            .forward_t(&Tensor::cat(&[&a, &b], 0), false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let alone = net
            .forward_t(&a, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let diff = (both.narrow(0, 0, 1) - alone).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "batch items interact: {diff}");
    }

    #[test]
    fn padded_input_equals_manual_pad_then_crop() {
        // 13x10 with levels 3 (multiple 4) pads to 16x12: top 1, bottom 2, left 1, right 1.
        tch::manual_seed(4);
        let net = UNet::new(&small(3), Device::Cpu).unwrap();
        let x = randn(&[1, 1, 13, 10]);
        let direct = net
            .forward_t(&x, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let padded = x.constant_pad_nd([1, 1, 1, 2]);
        let manual = net
            .forward_t(&padded, false)
            .unwrap()
            .into_head("positions")
            .unwrap()
            .narrow(2, 1, 13)
            .narrow(3, 1, 10);
        assert!(direct.equal(&manual));
    }

    /// One Adam step on a cross-entropy loss of the positions head.
    fn train_step(net: &UNet, opt: &mut tch::nn::Optimizer, x: &Tensor, y: &Tensor) {
        let logits = net
            .forward_t(x, true)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let loss = logits.cross_entropy_loss::<Tensor>(y, None, tch::Reduction::Mean, -100, 0.0);
        opt.backward_step(&loss);
    }

    #[test]
    fn frozen_encoder_keeps_weights_and_batchnorm_statistics_bit_identical() {
        tch::manual_seed(11);
        for down in [crate::Downsample::MaxPool, crate::Downsample::StridedConv] {
            let mut net = UNet::new(
                &UNetConfig {
                    downsample: down,
                    ..small(3)
                },
                Device::Cpu,
            )
            .unwrap();
            let mut opt = tch::nn::Adam::default()
                .build(net.var_store(), 1e-2)
                .unwrap();
            let x = randn(&[4, 1, 16, 16]);
            let y = Tensor::randint(10, [4, 16, 16], (Kind::Int64, Device::Cpu));
            // Unfrozen steps first, so Adam holds momentum for the encoder: a frozen
            // parameter that still got a (zero) gradient would keep moving.
            for _ in 0..2 {
                train_step(&net, &mut opt, &x, &y);
            }
            net.freeze_encoder();
            assert!(net.is_encoder_frozen());
            let counts = net.parameter_counts();
            assert_eq!(counts.trainable, counts.decoder + counts.heads);
            let before = deep_copy(&net);
            for _ in 0..2 {
                train_step(&net, &mut opt, &x, &y);
            }
            let after = net.named_tensors();
            let mut decoder_weights_changed = 0;
            let mut decoder_stats_changed = 0;
            for (name, old) in &before {
                let same = old.equal(&after[name]);
                if name.starts_with(ENCODER_PREFIX) {
                    assert!(same, "frozen encoder tensor {name} changed");
                } else if name.starts_with(DECODER_PREFIX) && !same {
                    if name.contains("running_") {
                        decoder_stats_changed += 1;
                    } else {
                        decoder_weights_changed += 1;
                    }
                }
            }
            assert!(decoder_weights_changed > 10, "{decoder_weights_changed}");
            assert!(decoder_stats_changed > 4, "{decoder_stats_changed}");

            // Unfrozen again, the encoder trains and its statistics move.
            net.unfreeze_encoder();
            assert_eq!(net.parameter_counts().trainable, counts.total());
            let before = deep_copy(&net);
            train_step(&net, &mut opt, &x, &y);
            let after = net.named_tensors();
            for name in [
                "encoder.blocks.0.conv1.weight",
                "encoder.blocks.2.bn2.running_mean",
            ] {
                assert!(!before[name].equal(&after[name]), "{name} did not train");
            }
        }
    }

    #[test]
    fn heads_can_be_added_and_replaced() {
        tch::manual_seed(6);
        let mut net = UNet::new(&small(3), Device::Cpu).unwrap();
        let mut opt = tch::nn::Adam::default()
            .build(net.var_store(), 1e-2)
            .unwrap();
        let x = randn(&[2, 1, 16, 16]);

        net.add_head(HeadSpec::new("atria", 3)).unwrap();
        assert!(matches!(
            net.add_head(HeadSpec::new("atria", 3)),
            Err(UNetError::DuplicateHead { .. })
        ));
        assert_eq!(
            net.heads()
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>(),
            ["segmentation", "positions", "atria"]
        );
        let out = net.forward_t(&x, true).unwrap();
        assert_eq!(out.head("atria").unwrap().size(), [2, 3, 16, 16]);
        // The existing optimiser trains the new head too.
        let old_atria = net.named_tensors()["heads.atria.weight"].detach().copy();
        opt.backward_step(&out.into_head("atria").unwrap().mean(Kind::Float));
        assert!(!old_atria.equal(&net.named_tensors()["heads.atria.weight"]));

        // Replacing re-initialises (here with another channel count) and leaves the trunk.
        let trunk_before = deep_copy(&net);
        let old_positions = net.named_tensors()["heads.positions.weight"]
            .detach()
            .copy();
        net.replace_head(HeadSpec::new("positions", 7)).unwrap();
        let t = net.named_tensors();
        assert_eq!(t["heads.positions.weight"].size(), [7, 4, 1, 1]);
        assert_eq!(t["heads.positions.bias"].size(), [7]);
        assert!(t["heads.positions.weight"].requires_grad());
        assert_ne!(
            old_positions
                .narrow(0, 0, 7)
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            t["heads.positions.weight"]
                .abs()
                .sum(Kind::Float)
                .double_value(&[])
        );
        assert_eq!(net.config().head("positions").unwrap().channels, 7);
        let out = net.forward_t(&x, false).unwrap();
        assert_eq!(out.head("positions").unwrap().size(), [2, 7, 16, 16]);
        for (name, old) in &trunk_before {
            if !name.starts_with(HEADS_PREFIX) {
                assert!(old.equal(&t[name]), "replace_head changed {name}");
            }
        }
        // A new optimiser trains the replaced head.
        let mut opt = tch::nn::Adam::default()
            .build(net.var_store(), 1e-2)
            .unwrap();
        let w = t["heads.positions.weight"].detach().copy();
        opt.backward_step(&out.into_head("positions").unwrap().mean(Kind::Float));
        let _ = opt;
        assert!(!w.equal(&net.named_tensors()["heads.positions.weight"]));
        assert!(net.replace_head(HeadSpec::new("bad.name", 2)).is_err());
    }

    /// Whether `t` (4-D) has channels-last strides, ignoring dimensions of size 1 (whose
    /// stride is arbitrary).
    fn is_channels_last(t: &Tensor) -> bool {
        let (size, stride) = (t.size(), t.stride());
        let expected = [size[1] * size[2] * size[3], 1, size[3] * size[1], size[1]];
        (0..4).all(|d| size[d] == 1 || stride[d] == expected[d])
    }

    #[test]
    fn channels_last_reaches_every_activation_and_gradient() {
        // The speed of channels-last comes from oneDNN and BatchNorm running on NHWC data
        // throughout: one NCHW tensor in between costs layout copies and the slower kernels.
        tch::manual_seed(12);
        let mut net = UNet::new(&small(3), Device::Cpu).unwrap();
        net.set_memory_format(MemoryFormat::ChannelsLast).unwrap();
        let x = net.memory_format().apply(&randn(&[2, 1, 16, 16])).unwrap();
        let features = net.encoder().forward_t(&x, true).unwrap();
        for (i, f) in features.iter().enumerate() {
            assert!(is_channels_last(f), "feature {i}: {:?}", f.stride());
        }
        let trunk = net.decoder().forward_t(&features, true).unwrap();
        assert!(is_channels_last(&trunk), "trunk: {:?}", trunk.stride());
        let heads = net.forward_t(&x, true).unwrap().into_heads();
        let mut loss = Tensor::zeros([], (Kind::Float, Device::Cpu));
        for (name, logits) in &heads {
            assert!(is_channels_last(logits), "{name}: {:?}", logits.stride());
            loss += logits.square().mean(Kind::Float);
        }
        loss.backward();
        for (name, t) in net.named_tensors() {
            if t.dim() == 4 {
                let g = t.grad();
                assert!(g.defined(), "no gradient for {name}");
                assert!(is_channels_last(&g), "grad of {name}: {:?}", g.stride());
            }
        }
    }

    #[test]
    fn channels_last_changes_layout_not_results() {
        tch::manual_seed(9);
        let mut net = UNet::new(&small(3), Device::Cpu).unwrap();
        let x = randn(&[2, 1, 13, 22]);
        let reference = net.forward_t(&x, false).unwrap().into_heads();
        net.set_memory_format(MemoryFormat::ChannelsLast).unwrap();
        let w = &net.named_tensors()["encoder.blocks.1.conv1.weight"];
        // [8, 4, 3, 3] channels-last: the channel dimension has stride 1.
        assert_eq!(w.stride(), [36, 1, 12, 4]);
        let out = net.forward_t(&x, false).unwrap().into_heads();
        for (name, r) in &reference {
            let diff = (&out[name] - r).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{name}: {diff}");
        }
        // A head added later is laid out the same way; training still works.
        net.add_head(HeadSpec::new("extra", 3)).unwrap();
        assert_eq!(net.named_tensors()["heads.extra.weight"].stride()[1], 1);
        let mut opt = tch::nn::Adam::default()
            .build(net.var_store(), 1e-2)
            .unwrap();
        let y = Tensor::randint(10, [2, 13, 22], (Kind::Int64, Device::Cpu));
        train_step(&net, &mut opt, &x, &y);
        net.set_memory_format(MemoryFormat::Contiguous).unwrap();
        assert!(net.named_tensors()["encoder.blocks.1.conv1.weight"].is_contiguous());
    }

    #[test]
    fn a_network_moves_to_a_worker_thread() {
        // Training code runs networks on worker threads: UNet must be Send.
        tch::manual_seed(12);
        let net = UNet::new(&small(2), Device::Cpu).unwrap();
        let x = randn(&[1, 1, 8, 8]);
        let here = net
            .forward_t(&x, false)
            .unwrap()
            .into_head("positions")
            .unwrap();
        let x2 = x.copy();
        let there = std::thread::spawn(move || {
            net.forward_t(&x2, false)
                .unwrap()
                .into_head("positions")
                .unwrap()
        })
        .join()
        .unwrap();
        assert!(here.equal(&there));
    }

    /// A deliberately different encoder: one 3x3 conv per level and average pooling.
    #[derive(Debug)]
    struct TinyEncoder {
        convs: Vec<crate::layers::Conv2d>,
    }

    impl Encoder for TinyEncoder {
        fn in_channels(&self) -> i64 {
            1
        }
        fn feature_channels(&self) -> Vec<i64> {
            vec![3, 5]
        }
        fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Vec<Tensor>, UNetError> {
            let torch = |source| UNetError::Torch {
                context: "tiny encoder".into(),
                source,
            };
            let f0 = self.convs[0].forward(xs).map_err(torch)?.relu();
            let f1 = self.convs[1]
                .forward(&f0.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None))
                .map_err(torch)?
                .relu();
            Ok(vec![f0, f1])
        }
    }

    #[test]
    fn another_encoder_plugs_into_the_same_decoder_and_heads() {
        tch::manual_seed(8);
        let config = UNetConfig {
            heads: vec![HeadSpec::new("positions", 10)],
            ..UNetConfig::default()
        };
        let mut net = UNet::with_encoder(&config, Device::Cpu, |vs, _| {
            let torch = |source| UNetError::Torch {
                context: "tiny encoder".into(),
                source,
            };
            Ok(Box::new(TinyEncoder {
                convs: vec![
                    crate::layers::Conv2d::new(&(vs / "c0"), 1, 3, 3, 1, true).map_err(torch)?,
                    crate::layers::Conv2d::new(&(vs / "c1"), 3, 5, 3, 1, true).map_err(torch)?,
                ],
            }))
        })
        .unwrap();
        assert_eq!(net.encoder().size_multiple(), 2);
        let t = net.named_tensors();
        assert_eq!(t["encoder.c1.weight"].size(), [5, 3, 3, 3]);
        assert_eq!(t["decoder.ups.0.weight"].size(), [5, 3, 2, 2]);
        assert_eq!(t["decoder.blocks.0.conv1.weight"].size(), [3, 6, 3, 3]);
        assert_eq!(t["heads.positions.weight"].size(), [10, 3, 1, 1]);
        let x = randn(&[2, 1, 9, 7]);
        let out = net.forward_t(&x, true).unwrap();
        assert_eq!(out.head("positions").unwrap().size(), [2, 10, 9, 7]);
        net.freeze_encoder();
        let counts = net.parameter_counts();
        assert_eq!(counts.encoder, 3 * 9 + 3 + 5 * 3 * 9 + 5);
        assert_eq!(counts.trainable, counts.decoder + counts.heads);
    }
}

//! Transfer strategies: how a pretrained network becomes a segmentation network.

use std::fmt;
use std::str::FromStr;

use cmr_unet::{Checkpoint, HeadSpec, LoadReport, LoadScope, UNet};
use serde::{Deserialize, Serialize};

use crate::PretextError;

/// How a segmentation network is initialised and trained from a pretext-trained one (Bai et
/// al., MICCAI 2019, section 3). The four strategies share the optimiser, the learning-rate
/// schedule and the step budget, so comparisons between them are fair.
///
/// | strategy | initialisation | trained | loss |
/// |---|---|---|---|
/// | `Scratch` | random (seeded) | everything | segmentation |
/// | `SslDecoder` | pretrained encoder and decoder | decoder and heads; the encoder is frozen, its BatchNorm statistics held | segmentation |
/// | `SslAll` | pretrained encoder and decoder | everything | segmentation |
/// | `SslMultiTask` | pretrained encoder, decoder **and pretext head** | everything | segmentation + `lambda` x pretext |
///
/// **Heads.** Segmentation heads are new for every strategy: freshly initialised from the
/// seed (PyTorch's default initialisation), never loaded, since the pretext task had none.
/// The pretext head is dropped by `Scratch`, `SslDecoder` and `SslAll` (the network has no
/// such head), and kept with its pretrained weights by `SslMultiTask`, which goes on training
/// it (re-initialising it would throw away a working pretext predictor and make the early
/// pretext gradients into the shared trunk pure noise).
///
/// **Data.** In `SslMultiTask` a batch mixes labelled images (segmentation and pretext loss)
/// with unlabelled ones (pretext loss only); the other strategies see labelled images only.
///
/// ```
/// use cmr_pretext::TransferStrategy;
/// let s: TransferStrategy = "ssl-multitask".parse()?;
/// assert_eq!(s, TransferStrategy::SslMultiTask { lambda: 1.0 });
/// assert!(s.needs_pretrained() && s.pretext_weight() == Some(1.0));
/// assert_eq!("ssl-multitask:0.5".parse::<TransferStrategy>()?.pretext_weight(), Some(0.5));
/// assert_eq!(TransferStrategy::SslDecoder.to_string(), "ssl-decoder");
/// assert!(!TransferStrategy::Scratch.needs_pretrained());
/// # Ok::<(), cmr_pretext::PretextError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum TransferStrategy {
    /// Random initialisation, segmentation loss only: the baseline.
    Scratch,
    /// Pretrained encoder frozen (with its BatchNorm statistics), decoder fine-tuned.
    SslDecoder,
    /// Pretrained encoder and decoder, everything fine-tuned.
    SslAll,
    /// Everything fine-tuned on segmentation + `lambda` x pretext loss.
    SslMultiTask {
        /// Weight of the pretext loss.
        lambda: f64,
    },
}

impl TransferStrategy {
    /// The four strategies, with `lambda` = 1 for the multi-task one.
    pub const ALL: [TransferStrategy; 4] = [
        TransferStrategy::Scratch,
        TransferStrategy::SslDecoder,
        TransferStrategy::SslAll,
        TransferStrategy::SslMultiTask { lambda: 1.0 },
    ];

    /// Whether a pretrained checkpoint is required.
    pub fn needs_pretrained(&self) -> bool {
        !matches!(self, Self::Scratch)
    }

    /// The weight of the pretext loss, for the multi-task strategy.
    pub fn pretext_weight(&self) -> Option<f64> {
        match self {
            Self::SslMultiTask { lambda } => Some(*lambda),
            _ => None,
        }
    }

    /// Whether the encoder is frozen during fine-tuning.
    pub fn freezes_encoder(&self) -> bool {
        matches!(self, Self::SslDecoder)
    }

    /// A short name (`scratch`, `ssl-decoder`, `ssl-all`, `ssl-multitask`), without lambda.
    pub fn short_name(&self) -> &'static str {
        match self {
            Self::Scratch => "scratch",
            Self::SslDecoder => "ssl-decoder",
            Self::SslAll => "ssl-all",
            Self::SslMultiTask { .. } => "ssl-multitask",
        }
    }

    /// Checks lambda.
    ///
    /// # Errors
    /// [`PretextError::Invalid`] for a negative or non-finite lambda.
    pub fn validate(&self) -> Result<(), PretextError> {
        match self {
            Self::SslMultiTask { lambda } if !(lambda.is_finite() && *lambda >= 0.0) => {
                Err(PretextError::Invalid {
                    what: "multi-task lambda",
                    reason: format!("must be finite and >= 0, got {lambda}"),
                })
            }
            _ => Ok(()),
        }
    }

    /// The heads the fine-tuned network has: `segmentation` (in the order given), plus the
    /// pretext head for the multi-task strategy.
    pub fn heads(&self, segmentation: &[HeadSpec], pretext: &HeadSpec) -> Vec<HeadSpec> {
        let mut heads = segmentation.to_vec();
        if self.pretext_weight().is_some() {
            heads.push(pretext.clone());
        }
        heads
    }

    /// Applies the strategy to a freshly built network (seeded initialisation, with the heads
    /// of [`TransferStrategy::heads`]): loads what the strategy takes from `pretrained`
    /// and freezes what it freezes. Returns the load report (`None` for `Scratch`).
    ///
    /// # Errors
    /// [`PretextError::Invalid`] when an SSL strategy gets no checkpoint;
    /// [`PretextError::Network`] when the checkpoint does not fit the network (missing
    /// tensors, other widths).
    pub fn apply(
        &self,
        net: &mut UNet,
        pretrained: Option<&Checkpoint>,
        pretext_head: &str,
    ) -> Result<Option<LoadReport>, PretextError> {
        self.validate()?;
        let Some(checkpoint) = pretrained.filter(|_| self.needs_pretrained()) else {
            if self.needs_pretrained() {
                return Err(PretextError::Invalid {
                    what: "initialisation",
                    reason: format!("strategy {self} needs a pretrained checkpoint"),
                });
            }
            return Ok(None);
        };
        let scope = match self {
            Self::SslMultiTask { .. } => LoadScope::Prefixes(vec![
                cmr_unet::ENCODER_PREFIX.into(),
                cmr_unet::DECODER_PREFIX.into(),
                format!("{}{pretext_head}.", cmr_unet::HEADS_PREFIX),
            ]),
            _ => LoadScope::AllButHeads,
        };
        let report =
            net.load_checkpoint(checkpoint, &scope)
                .map_err(|source| PretextError::Network {
                    context: format!(
                        "loading the pretrained network {} for {self}",
                        checkpoint.path().display()
                    ),
                    source,
                })?;
        if self.freezes_encoder() {
            net.freeze_encoder();
        }
        Ok(Some(report))
    }
}

impl fmt::Display for TransferStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SslMultiTask { lambda } if *lambda != 1.0 => {
                write!(f, "ssl-multitask:{lambda}")
            }
            other => f.write_str(other.short_name()),
        }
    }
}

impl FromStr for TransferStrategy {
    type Err = PretextError;

    /// `scratch`, `ssl-decoder`, `ssl-all`, `ssl-multitask` or `ssl-multitask:LAMBDA`
    /// (underscores accepted for dashes, case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        let unknown = || PretextError::UnknownStrategy {
            name: s.to_string(),
        };
        let (name, lambda) = match lower.split_once(':') {
            Some((n, l)) => (n, Some(l.parse::<f64>().map_err(|_| unknown())?)),
            None => (lower.as_str(), None),
        };
        let strategy = match (name, lambda) {
            ("scratch", None) => Self::Scratch,
            ("ssl-decoder", None) => Self::SslDecoder,
            ("ssl-all", None) => Self::SslAll,
            ("ssl-multitask" | "ssl-multi-task", l) => Self::SslMultiTask {
                lambda: l.unwrap_or(1.0),
            },
            _ => return Err(unknown()),
        };
        strategy.validate()?;
        Ok(strategy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmr_unet::UNetConfig;
    use tch::Device;

    fn config(heads: Vec<HeadSpec>) -> UNetConfig {
        UNetConfig {
            levels: 2,
            base_channels: 2,
            heads,
            ..UNetConfig::default()
        }
    }

    #[test]
    fn names_round_trip_and_bad_names_are_typed_errors() {
        for s in TransferStrategy::ALL {
            assert_eq!(s.to_string().parse::<TransferStrategy>().unwrap(), s);
        }
        let l = TransferStrategy::SslMultiTask { lambda: 0.25 };
        assert_eq!(l.to_string().parse::<TransferStrategy>().unwrap(), l);
        assert_eq!(
            "SSL_ALL".parse::<TransferStrategy>().unwrap(),
            TransferStrategy::SslAll
        );
        for bad in ["ssl", "scratch:1", "ssl-multitask:x"] {
            assert!(matches!(
                bad.parse::<TransferStrategy>(),
                Err(PretextError::UnknownStrategy { .. })
            ));
        }
        assert!(matches!(
            "ssl-multitask:-1".parse::<TransferStrategy>(),
            Err(PretextError::Invalid { .. })
        ));
    }

    #[test]
    fn each_strategy_loads_and_freezes_what_its_table_row_says() {
        let dir = std::env::temp_dir().join(format!("cmr-pretext-strategy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pretrained.safetensors");
        let pretext = HeadSpec::new("positions", 10);
        tch::manual_seed(1);
        let pretrained = UNet::new(&config(vec![pretext.clone()]), Device::Cpu).unwrap();
        pretrained.save(&path).unwrap();
        let checkpoint = Checkpoint::read(&path).unwrap();
        let seg = [HeadSpec::new("seg_sa", 4)];
        let source = pretrained.named_tensors();
        for s in TransferStrategy::ALL {
            tch::manual_seed(2);
            let mut net = UNet::new(&config(s.heads(&seg, &pretext)), Device::Cpu).unwrap();
            let report = s.apply(&mut net, Some(&checkpoint), "positions").unwrap();
            assert_eq!(report.is_some(), s.needs_pretrained());
            assert_eq!(net.is_encoder_frozen(), s == TransferStrategy::SslDecoder);
            let t = net.named_tensors();
            let same = |name: &str| match (source.get(name), t.get(name)) {
                (Some(a), Some(b)) => a.equal(b),
                _ => false,
            };
            let trunk = "encoder.blocks.0.conv1.weight";
            assert_eq!(same(trunk), s.needs_pretrained(), "{s}: {trunk}");
            assert_eq!(same("decoder.blocks.0.conv1.weight"), s.needs_pretrained());
            assert_eq!(
                same("heads.positions.weight"),
                s.pretext_weight().is_some(),
                "{s}"
            );
            assert_eq!(
                t.contains_key("heads.positions.weight"),
                s.pretext_weight().is_some()
            );
            assert!(t.contains_key("heads.seg_sa.weight"));
        }
        let mut net = UNet::new(&config(seg.to_vec()), Device::Cpu).unwrap();
        assert!(matches!(
            TransferStrategy::SslAll.apply(&mut net, None, "positions"),
            Err(PretextError::Invalid { .. })
        ));
        // A checkpoint of another width does not fit: a typed error naming the file.
        let other = UNet::new(
            &UNetConfig {
                base_channels: 3,
                ..config(vec![pretext.clone()])
            },
            Device::Cpu,
        )
        .unwrap();
        let wrong = dir.join("wrong.safetensors");
        other.save(&wrong).unwrap();
        let err = TransferStrategy::SslAll
            .apply(
                &mut net,
                Some(&Checkpoint::read(&wrong).unwrap()),
                "positions",
            )
            .unwrap_err();
        assert!(err.to_string().contains("wrong.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

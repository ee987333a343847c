//! What a U-Net looks like: levels, widths, resampling and heads.

use serde::{Deserialize, Serialize};

use crate::UNetError;

/// One output head: a 1x1 convolution from the decoder's last feature map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    /// Checks the name (non-empty, no `.`, which would break dotted parameter names) and the
    /// channel count.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] naming the head.
    pub fn validate(&self) -> Result<(), UNetError> {
        if self.channels < 1 {
            return Err(UNetError::InvalidConfig {
                reason: format!("head `{}` has {} channels", self.name, self.channels),
            });
        }
        if self.name.is_empty() || self.name.contains('.') {
            return Err(UNetError::InvalidConfig {
                reason: format!(
                    "head names must be non-empty and dot-free, got `{}`",
                    self.name
                ),
            });
        }
        Ok(())
    }
}

/// How the encoder halves the resolution between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// 2x2 max pooling.
    #[default]
    MaxPool,
    /// A 3x3 convolution with stride 2 and padding 1 (no bias) + BatchNorm + ReLU, keeping
    /// the channel count (parameters `encoder.downs.<i>.conv` and `encoder.downs.<i>.bn`).
    StridedConv,
}

/// How the decoder doubles the resolution between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upsample {
    /// 2x2 transposed convolution with stride 2 (with bias).
    #[default]
    TransposedConv,
    /// Bilinear interpolation (align_corners = false) to twice the size, then a 1x1
    /// convolution (with bias).
    Bilinear,
}

/// U-Net hyper-parameters. Stored as JSON in every checkpoint's safetensors metadata (key
/// [`crate::CONFIG_METADATA_KEY`]) so a checkpoint can be rebuilt without knowing them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Output heads; at least one, names unique.
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
        1 << self.levels.saturating_sub(1)
    }

    /// The head called `name`, if any.
    pub fn head(&self, name: &str) -> Option<&HeadSpec> {
        self.heads.iter().find(|h| h.name == name)
    }

    /// Checks that the configuration describes a network.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] saying what is wrong.
    pub fn validate(&self) -> Result<(), UNetError> {
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
        if self
            .base_channels
            .checked_shl(self.levels as u32 - 1)
            .is_none()
            || (self.base_channels << (self.levels - 1)) > 1 << 16
        {
            return bad(format!(
                "base_channels {} over {} levels is unreasonably wide",
                self.base_channels, self.levels
            ));
        }
        if self.heads.is_empty() {
            return bad("at least one head is needed".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for h in &self.heads {
            h.validate()?;
            if !seen.insert(h.name.as_str()) {
                return bad(format!("head `{}` appears twice", h.name));
            }
        }
        Ok(())
    }

    /// The configuration as JSON (what checkpoints store).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("UNetConfig has only plain fields")
    }

    /// Parses [`UNetConfig::to_json`]'s output (also what the PyTorch peer script writes) and
    /// validates it.
    ///
    /// # Errors
    /// [`UNetError::InvalidConfig`] for malformed JSON or an unusable configuration.
    pub fn from_json(json: &str) -> Result<Self, UNetError> {
        let config: Self = serde_json::from_str(json).map_err(|e| UNetError::InvalidConfig {
            reason: format!("configuration JSON does not parse: {e}"),
        })?;
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_bai_et_al_widths() {
        let c = UNetConfig::default();
        assert_eq!(c.widths(), vec![16, 32, 64, 128, 256]);
        assert_eq!(c.size_multiple(), 16);
        c.validate().unwrap();
    }

    #[test]
    fn json_round_trip_and_spelling() {
        let c = UNetConfig {
            downsample: Downsample::StridedConv,
            upsample: Upsample::Bilinear,
            heads: vec![HeadSpec::new("positions", 10), HeadSpec::new("seg", 4)],
            ..UNetConfig::default()
        };
        let json = c.to_json();
        // The PyTorch peer script reads these exact spellings.
        assert!(json.contains("\"downsample\":\"strided_conv\""), "{json}");
        assert!(json.contains("\"upsample\":\"bilinear\""), "{json}");
        assert_eq!(UNetConfig::from_json(&json).unwrap(), c);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let with = |f: &dyn Fn(&mut UNetConfig)| {
            let mut c = UNetConfig::default();
            f(&mut c);
            c.validate()
        };
        for bad in [
            with(&|c| c.levels = 0),
            with(&|c| c.levels = 9),
            with(&|c| c.base_channels = 0),
            with(&|c| c.in_channels = -1),
            with(&|c| c.heads.clear()),
            with(&|c| c.heads.push(HeadSpec::new("segmentation", 2))),
            with(&|c| c.heads.push(HeadSpec::new("a.b", 2))),
            with(&|c| c.heads.push(HeadSpec::new("zero", 0))),
            with(&|c| c.base_channels = 1 << 20),
        ] {
            assert!(
                matches!(bad, Err(UNetError::InvalidConfig { .. })),
                "{bad:?}"
            );
        }
        assert!(UNetConfig::from_json("{\"levels\": 3}").is_err());
        assert!(UNetConfig::from_json(
            &UNetConfig {
                levels: 0,
                ..UNetConfig::default()
            }
            .to_json()
        )
        .is_err());
    }
}

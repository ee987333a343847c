//! Self-supervised pretext tasks for cardiac MR segmentation.
//!
//! A [`PretextTask`] says how many output channels its head needs and how to score the head's
//! output against targets derived without manual labels. [`PositionTask`] is the anatomical
//! position task of Bai et al. (MICCAI 2019): 9 positions + background as a 10-class
//! pixel-wise classification.
//!
//! ```
//! use cmr_pretext::{PositionTask, PretextTask};
//! use tch::{Device, Kind, Tensor};
//! let task = PositionTask::default();
//! // Uniform logits over 10 classes give a cross-entropy of ln(10) whatever the target.
//! let logits = Tensor::zeros([1, 10, 4, 4], (Kind::Float, Device::Cpu));
//! let target = Tensor::zeros([1, 4, 4], (Kind::Int64, Device::Cpu));
//! let loss = task.loss(&logits, &target, None)?;
//! assert!((loss.double_value(&[]) - 10f64.ln()).abs() < 1e-6);
//! # Ok::<(), cmr_pretext::PretextError>(())
//! ```

#![warn(missing_docs)]

use tch::{Kind, Tensor};

/// Everything that can go wrong in a pretext task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PretextError {
    /// Logits, targets or masks have inconsistent shapes.
    #[error("{what}: got shape {got:?}, expected {expected}")]
    Shape {
        /// Which tensor.
        what: &'static str,
        /// Its shape.
        got: Vec<i64>,
        /// What was expected.
        expected: String,
    },
}

/// A self-supervised task: a head width and a loss against label-free targets.
pub trait PretextTask {
    /// A short name, also the name of the network head it trains.
    fn name(&self) -> &str;
    /// Channels of the head's output.
    fn output_channels(&self) -> i64;
    /// Scalar loss of `logits` `[N, C, H, W]` against `target` `[N, H, W]`; pixels where
    /// `ignore` `[N, H, W]` (bool) is true do not contribute.
    ///
    /// # Errors
    /// [`PretextError::Shape`] when the shapes do not fit together.
    fn loss(
        &self,
        logits: &Tensor,
        target: &Tensor,
        ignore: Option<&Tensor>,
    ) -> Result<Tensor, PretextError>;
}

/// Anatomical position prediction: per-pixel cross-entropy over background + positions.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionTask {
    /// Number of positions (classes other than background); 9 in the default layout.
    pub positions: i64,
    /// Optional per-class weights (length `positions + 1`), to balance the small tiles against
    /// the background.
    pub class_weights: Option<Vec<f64>>,
}

impl Default for PositionTask {
    fn default() -> Self {
        Self {
            positions: 9,
            class_weights: None,
        }
    }
}

impl PretextTask for PositionTask {
    fn name(&self) -> &str {
        "positions"
    }

    fn output_channels(&self) -> i64 {
        self.positions + 1
    }

    fn loss(
        &self,
        logits: &Tensor,
        target: &Tensor,
        ignore: Option<&Tensor>,
    ) -> Result<Tensor, PretextError> {
        masked_cross_entropy(
            logits,
            target,
            ignore,
            self.output_channels(),
            self.class_weights.as_deref(),
        )
    }
}

/// Weighted pixel-wise cross-entropy averaged over the pixels not ignored, normalised like
/// PyTorch's `cross_entropy(weight=w)`: `sum(w[t] * ce) / sum(w[t])`. Returns 0 when every
/// pixel is ignored.
///
/// # Errors
/// [`PretextError::Shape`] when the shapes do not fit together.
pub fn masked_cross_entropy(
    logits: &Tensor,
    target: &Tensor,
    ignore: Option<&Tensor>,
    classes: i64,
    class_weights: Option<&[f64]>,
) -> Result<Tensor, PretextError> {
    let ls = logits.size();
    if ls.len() != 4 || ls[1] != classes {
        return Err(PretextError::Shape {
            what: "logits",
            got: ls,
            expected: format!("[N, {classes}, H, W]"),
        });
    }
    let expected = [ls[0], ls[2], ls[3]];
    if target.size() != expected {
        return Err(PretextError::Shape {
            what: "target",
            got: target.size(),
            expected: format!("{expected:?}"),
        });
    }
    if let Some(m) = ignore {
        if m.size() != expected {
            return Err(PretextError::Shape {
                what: "ignore mask",
                got: m.size(),
                expected: format!("{expected:?}"),
            });
        }
    }
    if let Some(w) = class_weights {
        if w.len() as i64 != classes {
            return Err(PretextError::Shape {
                what: "class weights",
                got: vec![w.len() as i64],
                expected: format!("[{classes}]"),
            });
        }
    }
    let target = target.to_kind(Kind::Int64);
    let per_pixel = -logits
        .log_softmax(1, Kind::Float)
        .gather(1, &target.unsqueeze(1), false)
        .squeeze_dim(1);
    let mut weight = match class_weights {
        Some(w) => Tensor::from_slice(w)
            .to_kind(Kind::Float)
            .to_device(logits.device())
            .index_select(0, &target.flatten(0, -1))
            .view(expected),
        None => per_pixel.ones_like(),
    };
    if let Some(m) = ignore {
        weight *= m.logical_not().to_kind(Kind::Float);
    }
    Ok((per_pixel * &weight).sum(Kind::Float) / weight.sum(Kind::Float).clamp_min(1e-12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn scalar(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    #[test]
    fn hand_computed_two_pixel_loss_with_ignore_and_weights() {
        // Two pixels, 2 classes (positions = 1). Pixel 0 logits (0, ln 3): p(class1) = 3/4.
        // Pixel 1 logits (0, 0): p = 1/2.
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 3f32.ln(), 0.0]).view([1, 2, 1, 2]);
        let target = Tensor::from_slice(&[1i64, 0]).view([1, 1, 2]);
        let task = PositionTask {
            positions: 1,
            class_weights: None,
        };
        let both = scalar(&task.loss(&logits, &target, None).unwrap());
        let expected = (-(0.75f64).ln() - (0.5f64).ln()) / 2.0;
        assert!((both - expected).abs() < 1e-6, "{both} vs {expected}");

        let ignore_second = Tensor::from_slice(&[false, true]).view([1, 1, 2]);
        let first = scalar(&task.loss(&logits, &target, Some(&ignore_second)).unwrap());
        assert!((first + 0.75f64.ln()).abs() < 1e-6);

        // Weights 1 (bg) and 3 (class 1): (3 * -ln .75 + 1 * -ln .5) / 4.
        let weighted = PositionTask {
            positions: 1,
            class_weights: Some(vec![1.0, 3.0]),
        };
        let w = scalar(&weighted.loss(&logits, &target, None).unwrap());
        let expected = (3.0 * -(0.75f64).ln() - (0.5f64).ln()) / 4.0;
        assert!((w - expected).abs() < 1e-6);
    }

    #[test]
    fn all_ignored_gives_zero_and_gradients_flow() {
        let logits =
            Tensor::randn([2, 10, 3, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let target = Tensor::randint(10, [2, 3, 3], (Kind::Int64, Device::Cpu));
        let all = Tensor::ones([2, 3, 3], (Kind::Bool, Device::Cpu));
        let task = PositionTask::default();
        assert_eq!(
            scalar(&task.loss(&logits, &target, Some(&all)).unwrap()),
            0.0
        );
        task.loss(&logits, &target, None).unwrap().backward();
        assert!(scalar(&logits.grad().abs().sum(Kind::Float)) > 0.0);
    }

    #[test]
    fn shape_errors_name_the_tensor() {
        let task = PositionTask::default();
        let logits = Tensor::zeros([1, 4, 2, 2], (Kind::Float, Device::Cpu));
        let target = Tensor::zeros([1, 2, 2], (Kind::Int64, Device::Cpu));
        assert!(matches!(
            task.loss(&logits, &target, None),
            Err(PretextError::Shape { what: "logits", .. })
        ));
        let logits = Tensor::zeros([1, 10, 2, 2], (Kind::Float, Device::Cpu));
        let bad_target = Tensor::zeros([1, 2, 3], (Kind::Int64, Device::Cpu));
        assert!(matches!(
            task.loss(&logits, &bad_target, None),
            Err(PretextError::Shape { what: "target", .. })
        ));
    }
}

//! The [`PretextTask`] trait and its two implementations: anatomical position classification
//! ([`PositionTask`], the default) and line-heatmap regression ([`LineHeatmapTask`]).

use std::fmt;
use std::sync::Arc;

use cmr_geometry::positions::{line_heatmaps, CrossLayout, PositionLayout, ViewPlanes};
use cmr_geometry::{ImagePlane, View};
use tch::{Kind, Tensor};

use crate::loss::{masked_cross_entropy, masked_mse, ClassCounts};
use crate::target::{PretextBatch, PretextTarget};
use crate::PretextError;

/// A self-supervised task: how to derive a label-free target for an image from the study's
/// geometry, how wide its network head is, and how to score the head's output.
///
/// Targets are derived on any [`ImagePlane`], so a data pipeline can ask for them directly on
/// its resampled crop grid. Implementations are shared between loader threads (`Send + Sync`).
pub trait PretextTask: Send + Sync + fmt::Debug {
    /// A short name, also the name of the network head it trains.
    fn name(&self) -> &str;

    /// Channels of the head's output.
    fn output_channels(&self) -> i64;

    /// A description of everything that changes the targets (for cache keys and run logs).
    fn describe(&self) -> String;

    /// The target of an image of `view` lying in `plane`, given the study's view planes.
    ///
    /// # Errors
    /// [`PretextError::Underivable`] when the geometry gives no target for this image.
    fn derive(
        &self,
        plane: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PretextTarget, PretextError>;

    /// Scalar loss of the head's `output` `[N, C, H, W]` against a batch of targets.
    ///
    /// # Errors
    /// [`PretextError::Shape`] or [`PretextError::TargetKind`] when output and targets do not
    /// fit.
    fn loss(&self, output: &Tensor, batch: &PretextBatch) -> Result<Tensor, PretextError>;

    /// For classification tasks: adds the per-class counts of the predicted classes (argmax of
    /// `output`) against the batch to `counts`, and returns true. Regression tasks return false.
    ///
    /// # Errors
    /// As [`PretextTask::loss`].
    fn add_counts(
        &self,
        output: &Tensor,
        batch: &PretextBatch,
        counts: &mut ClassCounts,
    ) -> Result<bool, PretextError> {
        let _ = (output, batch, counts);
        Ok(false)
    }
}

/// Anatomical position prediction (Bai et al., MICCAI 2019): per-pixel cross-entropy over
/// background + the positions of a [`PositionLayout`] ([`CrossLayout`] by default: 9 positions,
/// 10 classes), with optional class weights; pixels of partial derivations that the layout
/// marks unknown are ignored.
///
/// ```
/// use cmr_geometry::positions::{demo_geometry, ViewPlanes};
/// use cmr_geometry::View;
/// use cmr_pretext::{PositionTask, PretextBatch, PretextTarget, PretextTask};
/// use tch::{Device, Kind, Tensor};
/// let task = PositionTask::default();
/// let (sa, two_ch, four_ch) = demo_geometry();
/// let refs = ViewPlanes { short_axis: vec![sa], two_chamber: Some(two_ch), four_chamber: Some(four_ch), ..Default::default() };
/// let target = task.derive(&sa, View::ShortAxis, &refs)?;
/// let PretextTarget::Classes { labels, .. } = &target else { unreachable!() };
/// assert!((1..=9).all(|k| labels.iter().any(|&v| v == k)));
/// // Uniform logits over 10 classes give a cross-entropy of ln(10) whatever the target.
/// let batch = PretextBatch::stack(&[Some(&target)], &[None], Device::Cpu)?;
/// let (h, w) = (sa.rows() as i64, sa.cols() as i64);
/// let logits = Tensor::zeros([1, 10, h, w], (Kind::Float, Device::Cpu));
/// let loss = task.loss(&logits, &batch)?;
/// assert!((loss.double_value(&[]) - 10f64.ln()).abs() < 1e-5);
/// # Ok::<(), cmr_pretext::PretextError>(())
/// ```
#[derive(Clone)]
pub struct PositionTask {
    layout: Arc<dyn PositionLayout + Send + Sync>,
    layout_description: String,
    /// Optional per-class weights (length `positions + 1`, background first), to balance the
    /// small tiles against the background.
    pub class_weights: Option<Vec<f64>>,
}

impl fmt::Debug for PositionTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PositionTask")
            .field("layout", &self.layout_description)
            .field("class_weights", &self.class_weights)
            .finish()
    }
}

impl Default for PositionTask {
    fn default() -> Self {
        let layout = CrossLayout::default();
        Self::new(layout, format!("{layout:?}"))
    }
}

impl PositionTask {
    /// A task over any layout; `description` names it (and its parameters) in cache keys and
    /// logs.
    pub fn new(
        layout: impl PositionLayout + Send + Sync + 'static,
        description: impl Into<String>,
    ) -> Self {
        Self {
            layout: Arc::new(layout),
            layout_description: description.into(),
            class_weights: None,
        }
    }

    /// The same task with class weights (background first).
    ///
    /// # Errors
    /// [`PretextError::Invalid`] when the length is not `positions + 1` or a weight is negative
    /// or not finite.
    pub fn with_class_weights(mut self, weights: Vec<f64>) -> Result<Self, PretextError> {
        if weights.len() as i64 != self.output_channels()
            || weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
        {
            return Err(PretextError::Invalid {
                what: "class weights",
                reason: format!(
                    "need {} finite non-negative weights (background first), got {weights:?}",
                    self.output_channels()
                ),
            });
        }
        self.class_weights = Some(weights);
        Ok(self)
    }

    /// Number of positions (classes other than background).
    pub fn positions(&self) -> i64 {
        i64::from(self.layout.num_positions())
    }

    /// The layout.
    pub fn layout(&self) -> &(dyn PositionLayout + Send + Sync) {
        self.layout.as_ref()
    }
}

impl PretextTask for PositionTask {
    fn name(&self) -> &str {
        "positions"
    }

    fn output_channels(&self) -> i64 {
        self.positions() + 1
    }

    fn describe(&self) -> String {
        format!(
            "positions(layout={}, weights={:?})",
            self.layout_description, self.class_weights
        )
    }

    fn derive(
        &self,
        plane: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PretextTarget, PretextError> {
        let map = self
            .layout
            .label(plane, view, references)
            .map_err(|source| PretextError::Underivable { source })?;
        Ok(PretextTarget::Classes {
            labels: map.labels,
            ignore: map.ignore,
        })
    }

    fn loss(&self, output: &Tensor, batch: &PretextBatch) -> Result<Tensor, PretextError> {
        if batch.present.is_some() || batch.target.kind() != Kind::Int64 {
            return Err(PretextError::TargetKind {
                task: self.name().into(),
                expected: "class",
                got: "channel",
            });
        }
        masked_cross_entropy(
            output,
            &batch.target,
            Some(&batch.ignore),
            self.output_channels(),
            self.class_weights.as_deref(),
        )
    }

    fn add_counts(
        &self,
        output: &Tensor,
        batch: &PretextBatch,
        counts: &mut ClassCounts,
    ) -> Result<bool, PretextError> {
        let prediction = output.argmax(1, false);
        counts.add(&prediction, &batch.target, Some(&batch.ignore))?;
        Ok(true)
    }
}

/// Line-heatmap regression (after Zhang et al., 2024): one Gaussian ridge per long-axis line
/// (2Ch, 3Ch, 4Ch; see [`cmr_geometry::positions::line_heatmaps`]), regressed with a masked
/// mean squared error over the channels that hold a line. The head's output is used as is
/// (no activation), so the network learns values in `[0, 1]`.
///
/// ```
/// use cmr_geometry::positions::{demo_geometry, ViewPlanes};
/// use cmr_geometry::View;
/// use cmr_pretext::{LineHeatmapTask, PretextBatch, PretextTask};
/// use tch::Device;
/// let task = LineHeatmapTask::new(5.0)?;
/// let (sa, two_ch, four_ch) = demo_geometry();
/// let refs = ViewPlanes { short_axis: vec![sa], two_chamber: Some(two_ch), four_chamber: Some(four_ch), ..Default::default() };
/// let target = task.derive(&sa, View::ShortAxis, &refs)?;
/// let batch = PretextBatch::stack(&[Some(&target)], &[None], Device::Cpu)?;
/// // A perfect prediction scores 0.
/// assert_eq!(task.loss(&batch.target, &batch)?.double_value(&[]), 0.0);
/// # Ok::<(), cmr_pretext::PretextError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LineHeatmapTask {
    sigma_mm: f64,
}

impl LineHeatmapTask {
    /// A task with ridges of standard deviation `sigma_mm`.
    ///
    /// # Errors
    /// [`PretextError::Invalid`] unless `sigma_mm` is positive and finite.
    pub fn new(sigma_mm: f64) -> Result<Self, PretextError> {
        if !(sigma_mm.is_finite() && sigma_mm > 0.0) {
            return Err(PretextError::Invalid {
                what: "heatmap sigma",
                reason: format!("must be a positive number of mm, got {sigma_mm}"),
            });
        }
        Ok(Self { sigma_mm })
    }

    /// The ridge width, mm.
    pub fn sigma_mm(&self) -> f64 {
        self.sigma_mm
    }
}

impl PretextTask for LineHeatmapTask {
    fn name(&self) -> &str {
        "line_heatmaps"
    }

    fn output_channels(&self) -> i64 {
        3
    }

    fn describe(&self) -> String {
        format!("line_heatmaps(sigma_mm={})", self.sigma_mm)
    }

    fn derive(
        &self,
        plane: &ImagePlane,
        view: View,
        references: &ViewPlanes,
    ) -> Result<PretextTarget, PretextError> {
        let h = line_heatmaps(plane, view, references, self.sigma_mm)
            .map_err(|source| PretextError::Underivable { source })?;
        Ok(PretextTarget::Channels {
            maps: h.maps,
            present: h.present.to_vec(),
        })
    }

    fn loss(&self, output: &Tensor, batch: &PretextBatch) -> Result<Tensor, PretextError> {
        let Some(present) = &batch.present else {
            return Err(PretextError::TargetKind {
                task: self.name().into(),
                expected: "channel",
                got: "class",
            });
        };
        masked_mse(output, &batch.target, Some(&batch.ignore), Some(present))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmr_geometry::positions::demo_geometry;
    use ndarray::Array2;
    use tch::Device;

    fn refs() -> (ImagePlane, ViewPlanes) {
        let (sa, two_ch, four_ch) = demo_geometry();
        (
            sa,
            ViewPlanes {
                short_axis: vec![sa],
                two_chamber: Some(two_ch),
                four_chamber: Some(four_ch),
                ..Default::default()
            },
        )
    }

    #[test]
    fn position_targets_match_the_layout_and_train_toward_it() {
        let task = PositionTask::default();
        let (sa, r) = refs();
        let target = task.derive(&sa, View::ShortAxis, &r).unwrap();
        let map = CrossLayout::default()
            .label(&sa, View::ShortAxis, &r)
            .unwrap();
        let PretextTarget::Classes { labels, ignore } = &target else {
            panic!("class target expected")
        };
        assert_eq!(labels, &map.labels);
        assert_eq!(ignore, &map.ignore);
        // A one-hot prediction of the target scores (near) 0 and a Dice of 1 everywhere.
        let batch = PretextBatch::stack(&[Some(&target)], &[None], Device::Cpu).unwrap();
        let logits = batch
            .target
            .one_hot(10)
            .permute([0, 3, 1, 2])
            .to_kind(Kind::Float)
            * 50.0;
        assert!(task.loss(&logits, &batch).unwrap().double_value(&[]) < 1e-6);
        let mut counts = ClassCounts::new(10);
        assert!(task.add_counts(&logits, &batch, &mut counts).unwrap());
        assert_eq!(counts.mean_foreground_dice(), 1.0);
        // Heatmap batches are refused by the class task and vice versa.
        let heat = LineHeatmapTask::new(4.0).unwrap();
        let hb = PretextBatch::stack(
            &[Some(&heat.derive(&sa, View::ShortAxis, &r).unwrap())],
            &[None],
            Device::Cpu,
        )
        .unwrap();
        assert!(matches!(
            task.loss(&logits, &hb),
            Err(PretextError::TargetKind { .. })
        ));
        assert!(matches!(
            heat.loss(&hb.target, &batch),
            Err(PretextError::TargetKind { .. })
        ));
        let mut c = ClassCounts::new(3);
        assert!(!heat.add_counts(&hb.target, &hb, &mut c).unwrap());
    }

    #[test]
    fn class_weights_are_checked_and_change_the_loss() {
        assert!(PositionTask::default()
            .with_class_weights(vec![1.0; 3])
            .is_err());
        assert!(PositionTask::default()
            .with_class_weights(vec![f64::NAN; 10])
            .is_err());
        let mut w = vec![1.0; 10];
        w[0] = 0.0;
        let task = PositionTask::default().with_class_weights(w).unwrap();
        // Only background pixels and a zero background weight: nothing counts, loss 0.
        let t = PretextTarget::Classes {
            labels: Array2::zeros((4, 4)),
            ignore: Array2::from_elem((4, 4), false),
        };
        let b = PretextBatch::stack(&[Some(&t)], &[None], Device::Cpu).unwrap();
        let logits = Tensor::randn([1, 10, 4, 4], (Kind::Float, Device::Cpu));
        assert_eq!(task.loss(&logits, &b).unwrap().double_value(&[]), 0.0);
        assert!(
            PositionTask::default()
                .loss(&logits, &b)
                .unwrap()
                .double_value(&[])
                > 0.0
        );
        assert!(task.describe().contains("weights=Some"));
    }

    #[test]
    fn heatmap_channels_follow_presence_and_validity() {
        let task = LineHeatmapTask::new(5.0).unwrap();
        assert!(LineHeatmapTask::new(0.0).is_err());
        let (sa, r) = refs();
        let t = task.derive(&sa, View::ShortAxis, &r).unwrap();
        let PretextTarget::Channels { present, maps } = &t else {
            panic!("channel target expected")
        };
        assert_eq!(present, &vec![true, false, true]);
        let (h, w) = (maps.dim().1, maps.dim().2);
        // Invalid pixels and absent channels do not count: an output wrong only there scores 0.
        let mut valid = Array2::from_elem((h, w), true);
        valid[[0, 0]] = false;
        let b = PretextBatch::stack(&[Some(&t)], &[Some(&valid)], Device::Cpu).unwrap();
        let out = b.target.copy();
        let _ = out.get(0).get(1).fill_(7.0); // the absent 3Ch channel
        let _ = out.get(0).get(0).get(0).get(0).fill_(9.0); // an invalid pixel
        assert_eq!(task.loss(&out, &b).unwrap().double_value(&[]), 0.0);
        let _ = out.get(0).get(0).get(0).get(1).fill_(9.0);
        assert!(task.loss(&out, &b).unwrap().double_value(&[]) > 0.0);
        assert!(PositionTask::default()
            .derive(&sa, View::Other, &r)
            .is_err());
    }
}

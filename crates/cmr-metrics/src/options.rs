//! The conventions on which the usual implementations disagree, as explicit options.

use serde::{Deserialize, Serialize};

use crate::MetricsError;

/// How the percentile Hausdorff distance (HD95) pools the two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PercentileConvention {
    /// The larger of the two directed percentiles: `max(P(d(A→B)), P(d(B→A)))`. MONAI 1.6.1
    /// (`compute_hausdorff_distance(percentile=95)`). The default.
    #[default]
    MaxOfDirected,
    /// The percentile of both directions' distances pooled together. medpy 0.5.2 (`hd95`).
    Pooled,
}

/// How the average symmetric surface distance (ASSD) averages the two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AssdConvention {
    /// The mean of all distances of both directions pooled together, so the mask with the
    /// longer border weighs more. MONAI 1.6.1 (`compute_average_surface_distance(symmetric=True)`)
    /// and medpy 0.5.2 (`assd`). The default.
    #[default]
    Pooled,
    /// The mean of the two directed means, `(mean d(A→B) + mean d(B→A)) / 2` (medpy before 0.5,
    /// and the convention of the mean contour distance in Bai et al.'s UK Biobank code).
    MeanOfDirected,
}

/// What the distance metrics return when a mask has no foreground (so no border).
///
/// Dice and IoU do not depend on it: they are 1 when both masks are empty and 0 when only
/// one is.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum EmptyPolicy {
    /// `+inf` when exactly one mask is empty, NaN when both are: what MONAI 1.6.1 returns for
    /// the Hausdorff distance and the ASSD. (MONAI's HD95 gives NaN rather than `+inf` when one
    /// mask is empty, a side effect of interpolating between infinities; this policy gives
    /// `+inf` for every distance metric.) The default.
    #[default]
    Infinity,
    /// NaN whenever either mask is empty, so that means over cases can skip it explicitly
    /// (medpy raises an error instead).
    Nan,
    /// A stated worst case when exactly one mask is empty: the largest distance between two
    /// voxel centres of the grid (for the per-slice contour distance, of one slice). 0 when
    /// both are empty.
    GridDiagonal,
    /// This worst case (mm) when exactly one mask is empty, 0 when both are.
    Fixed(f64),
}

impl EmptyPolicy {
    /// The value of a distance metric when `prediction_empty` / `reference_empty` (at least one
    /// true), given the largest distance on the grid.
    pub(crate) fn value(self, prediction_empty: bool, reference_empty: bool, diagonal: f64) -> f64 {
        let both = prediction_empty && reference_empty;
        match self {
            EmptyPolicy::Infinity if both => f64::NAN,
            EmptyPolicy::Infinity => f64::INFINITY,
            EmptyPolicy::Nan => f64::NAN,
            EmptyPolicy::GridDiagonal | EmptyPolicy::Fixed(_) if both => 0.0,
            EmptyPolicy::GridDiagonal => diagonal,
            EmptyPolicy::Fixed(v) => v,
        }
    }
}

/// Options of the distance metrics. `MetricOptions::default()` reproduces MONAI 1.6.1;
/// [`MetricOptions::medpy`] reproduces medpy 0.5.2.
///
/// ```
/// use cmr_metrics::{AssdConvention, MetricOptions, PercentileConvention};
/// let o = MetricOptions::default();
/// assert_eq!(o.percentile, 95.0);
/// assert_eq!(o.percentile_convention, PercentileConvention::MaxOfDirected);
/// assert_eq!(o.assd_convention, AssdConvention::Pooled);
/// let m = MetricOptions::medpy();
/// assert_eq!(m.percentile_convention, PercentileConvention::Pooled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricOptions {
    /// The percentile of the percentile Hausdorff distance, in `[0, 100]`; 95 gives HD95.
    /// Interpolated linearly between order statistics, as numpy's and torch's default
    /// (`numpy.percentile(..., method="linear")`, `torch.quantile`).
    pub percentile: f64,
    /// How the percentile pools the two directions.
    pub percentile_convention: PercentileConvention,
    /// How the ASSD averages the two directions.
    pub assd_convention: AssdConvention,
    /// Distance metrics when a mask is empty.
    pub empty: EmptyPolicy,
}

impl Default for MetricOptions {
    fn default() -> Self {
        Self::monai()
    }
}

impl MetricOptions {
    /// MONAI 1.6.1: HD95 as the larger directed percentile, pooled ASSD, `+inf` for one empty
    /// mask and NaN for two.
    pub fn monai() -> Self {
        MetricOptions {
            percentile: 95.0,
            percentile_convention: PercentileConvention::MaxOfDirected,
            assd_convention: AssdConvention::Pooled,
            empty: EmptyPolicy::Infinity,
        }
    }

    /// medpy 0.5.2: HD95 of the pooled distances, pooled ASSD. medpy raises on empty masks;
    /// this gives NaN.
    pub fn medpy() -> Self {
        MetricOptions {
            percentile: 95.0,
            percentile_convention: PercentileConvention::Pooled,
            assd_convention: AssdConvention::Pooled,
            empty: EmptyPolicy::Nan,
        }
    }

    /// Checks the percentile and the worst case.
    ///
    /// # Errors
    /// [`MetricsError::InvalidPercentile`] or [`MetricsError::InvalidWorstCase`].
    pub fn validate(&self) -> Result<(), MetricsError> {
        if !(0.0..=100.0).contains(&self.percentile) {
            return Err(MetricsError::InvalidPercentile {
                value: self.percentile,
            });
        }
        if let EmptyPolicy::Fixed(v) = self.empty {
            if v.is_nan() || v < 0.0 {
                return Err(MetricsError::InvalidWorstCase { value: v });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_policy_values() {
        let d = 12.5;
        assert_eq!(EmptyPolicy::Infinity.value(true, false, d), f64::INFINITY);
        assert!(EmptyPolicy::Infinity.value(true, true, d).is_nan());
        assert!(EmptyPolicy::Nan.value(false, true, d).is_nan());
        assert!(EmptyPolicy::Nan.value(true, true, d).is_nan());
        assert_eq!(EmptyPolicy::GridDiagonal.value(false, true, d), d);
        assert_eq!(EmptyPolicy::GridDiagonal.value(true, true, d), 0.0);
        assert_eq!(EmptyPolicy::Fixed(373.0).value(true, false, d), 373.0);
        assert_eq!(EmptyPolicy::Fixed(373.0).value(true, true, d), 0.0);
    }

    #[test]
    fn validation_rejects_bad_percentiles_and_worst_cases() {
        let mut o = MetricOptions::default();
        assert_eq!(o.validate(), Ok(()));
        o.percentile = 100.5;
        assert_eq!(
            o.validate(),
            Err(MetricsError::InvalidPercentile { value: 100.5 })
        );
        o.percentile = f64::NAN;
        assert!(o.validate().is_err());
        o.percentile = 0.0;
        o.empty = EmptyPolicy::Fixed(-1.0);
        assert_eq!(
            o.validate(),
            Err(MetricsError::InvalidWorstCase { value: -1.0 })
        );
    }
}

//! Intensity normalisation and stacking images into tensors.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::TrainError;

/// The `q`-th percentile (0..=100) of the values, with linear interpolation between order
/// statistics (NumPy's default method). NaNs are ignored; `None` if no finite value remains.
pub fn percentile(values: &[f32], q: f64) -> Option<f32> {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let pos = q.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = (pos - lo as f64) as f32;
    Some(v[lo] + (v[hi] - v[lo]) * frac)
}

/// Maps intensities so that the `lo_pct` percentile becomes 0 and `hi_pct` becomes 1, clipping
/// outside. A constant image maps to zeros.
///
/// # Errors
/// [`TrainError::Invalid`] when the percentiles are not `0 <= lo < hi <= 100` or the image has
/// no finite pixel.
pub fn percentile_normalize(
    image: ArrayView2<f32>,
    lo_pct: f64,
    hi_pct: f64,
) -> Result<Array2<f32>, TrainError> {
    Normalization::Percentile {
        low: lo_pct,
        high: hi_pct,
    }
    .apply(image)
}

/// How image intensities are normalised before resampling (per image, from all its pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Normalization {
    /// Percentile `low` to 0, `high` to 1, clipped to `[0, 1]` (default 1st to 99th).
    Percentile {
        /// Percentile mapped to 0.
        low: f64,
        /// Percentile mapped to 1.
        high: f64,
    },
    /// Zero mean, unit standard deviation (a constant image maps to zeros).
    ZScore,
}

impl Default for Normalization {
    fn default() -> Self {
        Self::Percentile {
            low: 1.0,
            high: 99.0,
        }
    }
}

impl Normalization {
    /// Checks the percentiles.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] unless `0 <= low < high <= 100`.
    pub fn validate(&self) -> Result<(), TrainError> {
        match *self {
            Self::Percentile { low, high }
                if !((0.0..100.0).contains(&low) && low < high && high <= 100.0) =>
            {
                Err(TrainError::Invalid {
                    what: "percentiles",
                    reason: format!("need 0 <= low < high <= 100, got {low} and {high}"),
                })
            }
            _ => Ok(()),
        }
    }

    /// Normalises one image. Non-finite pixels become 0.
    ///
    /// ```
    /// use cmr_train::Normalization;
    /// use ndarray::array;
    /// let img = array![[0.0f32, 10.0], [20.0, 30.0]];
    /// let p = Normalization::Percentile { low: 0.0, high: 100.0 }.apply(img.view())?;
    /// assert_eq!(p, array![[0.0, 1.0 / 3.0], [2.0 / 3.0, 1.0]]);
    /// let z = Normalization::ZScore.apply(img.view())?;
    /// assert!((z.sum()).abs() < 1e-5 && (z.mapv(|v| v * v).sum() / 4.0 - 1.0).abs() < 1e-5);
    /// # Ok::<(), cmr_train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for bad percentiles or an image without a finite pixel.
    pub fn apply(&self, image: ArrayView2<f32>) -> Result<Array2<f32>, TrainError> {
        self.validate()?;
        let values: Vec<f32> = image.iter().copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return Err(TrainError::Invalid {
                what: "image",
                reason: "no finite pixel".into(),
            });
        }
        match *self {
            Self::Percentile { low, high } => {
                let lo = percentile(&values, low).unwrap_or(0.0);
                let hi = percentile(&values, high).unwrap_or(0.0);
                let range = hi - lo;
                Ok(image.mapv(|x| {
                    if range > 0.0 && x.is_finite() {
                        ((x - lo) / range).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                }))
            }
            Self::ZScore => {
                let n = values.len() as f64;
                let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = values
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let sd = var.sqrt();
                Ok(image.mapv(|x| {
                    if sd > 0.0 && x.is_finite() {
                        ((f64::from(x) - mean) / sd) as f32
                    } else {
                        0.0
                    }
                }))
            }
        }
    }
}

/// Stacks equally sized images into an `[N, 1, H, W]` float tensor.
///
/// ```
/// use cmr_train::stack_images;
/// use ndarray::Array2;
/// let batch = stack_images(&[Array2::zeros((2, 3)), Array2::ones((2, 3))])?;
/// assert_eq!(batch.size(), vec![2, 1, 2, 3]);
/// # Ok::<(), cmr_train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::Invalid`] for an empty list, [`TrainError::BatchShape`] when shapes differ.
pub fn stack_images(images: &[Array2<f32>]) -> Result<Tensor, TrainError> {
    let refs: Vec<&Array2<f32>> = images.iter().collect();
    stack_image_refs(&refs)
}

/// [`stack_images`] over references.
///
/// # Errors
/// As [`stack_images`].
pub fn stack_image_refs(images: &[&Array2<f32>]) -> Result<Tensor, TrainError> {
    let first = images.first().ok_or(TrainError::Invalid {
        what: "batch",
        reason: "no images".into(),
    })?;
    let (h, w) = first.dim();
    let mut data = Vec::with_capacity(images.len() * h * w);
    for (index, img) in images.iter().enumerate() {
        if img.dim() != (h, w) {
            return Err(TrainError::BatchShape {
                index,
                got: [img.nrows(), img.ncols()],
                expected: [h, w],
            });
        }
        data.extend(img.iter().copied());
    }
    Ok(Tensor::from_slice(&data).view([images.len() as i64, 1, h as i64, w as i64]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear_interpolation() {
        // numpy.percentile([1, 2, 3, 4, 10], [0, 25, 50, 90, 100]) == [1, 2, 3, 7.6, 10]
        let v = [4.0f32, 1.0, 10.0, 3.0, 2.0];
        for (q, want) in [
            (0.0, 1.0),
            (25.0, 2.0),
            (50.0, 3.0),
            (90.0, 7.6),
            (100.0, 10.0),
        ] {
            let got = percentile(&v, q).unwrap();
            assert!((got - want).abs() < 1e-6, "q={q}: {got} vs {want}");
        }
        assert_eq!(percentile(&[f32::NAN], 50.0), None);
    }

    #[test]
    fn normalisation_clips_outliers_and_handles_constant_images() {
        let mut img = Array2::from_shape_fn((10, 10), |(r, c)| (r * 10 + c) as f32);
        img[[0, 0]] = -1000.0;
        img[[9, 9]] = 1e6;
        let n = percentile_normalize(img.view(), 1.0, 99.0).unwrap();
        assert_eq!(n[[0, 0]], 0.0);
        assert_eq!(n[[9, 9]], 1.0);
        assert!(n.iter().all(|x| (0.0..=1.0).contains(x)));
        let flat = Array2::from_elem((4, 4), 7.0f32);
        assert!(percentile_normalize(flat.view(), 1.0, 99.0)
            .unwrap()
            .iter()
            .all(|&x| x == 0.0));
        assert!(Normalization::ZScore
            .apply(flat.view())
            .unwrap()
            .iter()
            .all(|&x| x == 0.0));
        assert!(percentile_normalize(flat.view(), 50.0, 50.0).is_err());
        let nan = Array2::from_elem((2, 2), f32::NAN);
        assert!(Normalization::ZScore.apply(nan.view()).is_err());
    }

    #[test]
    fn stacking_keeps_pixel_order_and_rejects_mixed_shapes() {
        let a = Array2::from_shape_fn((2, 3), |(r, c)| (r * 3 + c) as f32);
        let t = stack_images(std::slice::from_ref(&a)).unwrap();
        assert_eq!(t.double_value(&[0, 0, 1, 2]), 5.0);
        let b = Array2::zeros((3, 2));
        assert!(matches!(
            stack_images(&[a, b]),
            Err(TrainError::BatchShape { index: 1, .. })
        ));
    }
}

//! Data pipeline and training for cmr-ssl: from images and label maps to batches for the U-Net.
//!
//! ```
//! use cmr_train::{percentile_normalize, stack_images};
//! use ndarray::array;
//! let img = array![[0.0f32, 10.0], [20.0, 30.0]];
//! let norm = percentile_normalize(img.view(), 0.0, 100.0)?;
//! assert_eq!(norm, array![[0.0, 1.0 / 3.0], [2.0 / 3.0, 1.0]]);
//! let batch = stack_images(&[norm.clone(), norm])?;
//! assert_eq!(batch.size(), vec![2, 1, 2, 2]);
//! # Ok::<(), cmr_train::TrainError>(())
//! ```

#![warn(missing_docs)]

use ndarray::{Array2, ArrayView2};
use tch::Tensor;

/// Everything that can go wrong in the data pipeline or training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An argument is out of its valid range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Images in one batch have different shapes.
    #[error("image {index} has shape {got:?}, the batch has {expected:?}")]
    BatchShape {
        /// Index of the odd image.
        index: usize,
        /// Its shape.
        got: [usize; 2],
        /// The first image's shape.
        expected: [usize; 2],
    },
}

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
    if !((0.0..100.0).contains(&lo_pct) && lo_pct < hi_pct && hi_pct <= 100.0) {
        return Err(TrainError::Invalid {
            what: "percentiles",
            reason: format!("need 0 <= lo < hi <= 100, got {lo_pct} and {hi_pct}"),
        });
    }
    let values: Vec<f32> = image.iter().copied().collect();
    let (Some(lo), Some(hi)) = (percentile(&values, lo_pct), percentile(&values, hi_pct)) else {
        return Err(TrainError::Invalid {
            what: "image",
            reason: "no finite pixel".into(),
        });
    };
    let range = hi - lo;
    Ok(image.mapv(|x| {
        if range > 0.0 && x.is_finite() {
            ((x - lo) / range).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }))
}

/// Stacks equally sized images into an `[N, 1, H, W]` float tensor.
///
/// # Errors
/// [`TrainError::Invalid`] for an empty list, [`TrainError::BatchShape`] when shapes differ.
pub fn stack_images(images: &[Array2<f32>]) -> Result<Tensor, TrainError> {
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
    use ndarray::Array2;

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
        assert!(percentile_normalize(flat.view(), 50.0, 50.0).is_err());
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

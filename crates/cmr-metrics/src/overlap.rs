//! Overlap metrics (Dice, IoU) and label masks.

use ndarray::{Array, ArrayBase, Data, Dimension, Zip};

pub use crate::grid::Overlap;
use crate::MetricsError;

impl Overlap {
    /// Dice similarity coefficient `2|A∩B| / (|A|+|B|)`; 1 when both masks are empty.
    pub fn dice(&self) -> f64 {
        let denom = self.prediction + self.reference;
        if denom == 0 {
            1.0
        } else {
            2.0 * self.both as f64 / denom as f64
        }
    }

    /// Intersection over union (Jaccard index) `|A∩B| / |A∪B|`; 1 when both masks are empty.
    pub fn iou(&self) -> f64 {
        let union = self.prediction + self.reference - self.both;
        if union == 0 {
            1.0
        } else {
            self.both as f64 / union as f64
        }
    }
}

/// Counts the overlap of a prediction and a reference mask (any number of dimensions).
///
/// # Errors
/// [`MetricsError::ShapeMismatch`] when the shapes differ.
pub fn overlap<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
) -> Result<Overlap, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    if prediction.shape() != reference.shape() {
        return Err(MetricsError::ShapeMismatch {
            prediction: prediction.shape().to_vec(),
            reference: reference.shape().to_vec(),
        });
    }
    let mut o = Overlap::default();
    Zip::from(prediction).and(reference).for_each(|&p, &r| {
        o.both += usize::from(p && r);
        o.prediction += usize::from(p);
        o.reference += usize::from(r);
    });
    Ok(o)
}

/// Dice similarity coefficient `2|A∩B| / (|A|+|B|)`. Two empty masks agree perfectly (1.0),
/// as medpy's `dc` intends.
///
/// # Errors
/// [`MetricsError::ShapeMismatch`] when the shapes differ.
pub fn dice<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    Ok(overlap(prediction, reference)?.dice())
}

/// Intersection over union (Jaccard index) `|A∩B| / |A∪B|`. Two empty masks give 1.0.
///
/// # Errors
/// [`MetricsError::ShapeMismatch`] when the shapes differ.
pub fn iou<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    Ok(overlap(prediction, reference)?.iou())
}

/// The binary mask of one label in a label map.
///
/// ```
/// use cmr_metrics::label_mask;
/// let m = label_mask(&ndarray::array![0u8, 2, 1, 2], 2);
/// assert_eq!(m, ndarray::array![false, true, false, true]);
/// ```
pub fn label_mask<S, D>(labels: &ArrayBase<S, D>, label: u8) -> Array<bool, D>
where
    S: Data<Elem = u8>,
    D: Dimension,
{
    labels.mapv(|v| v == label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn square(n: usize, r0: usize, c0: usize, side: usize) -> Array2<bool> {
        Array2::from_shape_fn((n, n), |(r, c)| {
            (r0..r0 + side).contains(&r) && (c0..c0 + side).contains(&c)
        })
    }

    #[test]
    fn shifted_squares_have_hand_computed_dice_and_iou() {
        // Two 4x4 squares shifted by one column overlap in 4x3 = 12 pixels.
        let a = square(10, 2, 2, 4);
        let b = square(10, 2, 3, 4);
        assert_eq!(dice(&a, &b).unwrap(), 24.0 / 32.0);
        assert_eq!(iou(&a, &b).unwrap(), 12.0 / 20.0);
    }

    #[test]
    fn empty_and_disjoint_masks() {
        let empty = Array2::from_elem((3, 3), false);
        assert_eq!(dice(&empty, &empty).unwrap(), 1.0);
        assert_eq!(iou(&empty, &empty).unwrap(), 1.0);
        let a = square(6, 0, 0, 2);
        let b = square(6, 4, 4, 2);
        assert_eq!(dice(&a, &b).unwrap(), 0.0);
        assert_eq!(iou(&a, &b).unwrap(), 0.0);
        assert_eq!(dice(&a, &Array2::from_elem((6, 6), false)).unwrap(), 0.0);
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let a = Array2::from_elem((3, 3), true);
        let b = Array2::from_elem((3, 4), true);
        assert_eq!(
            dice(&a, &b),
            Err(MetricsError::ShapeMismatch {
                prediction: vec![3, 3],
                reference: vec![3, 4]
            })
        );
    }
}

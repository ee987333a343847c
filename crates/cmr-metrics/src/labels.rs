//! Multi-label evaluation: label maps, a label list, and whole test sets.

use std::collections::BTreeMap;

use ndarray::{ArrayBase, ArrayViewD, Data, Dimension};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::grid::{as_3d, CroppedPair, Grid};
use crate::options::MetricOptions;
use crate::structure::{metrics_of_pair, StructureMetrics};
use crate::MetricsError;

/// The metrics of one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelMetrics {
    /// The label value in the label maps.
    pub label: u8,
    /// Its metrics.
    pub metrics: StructureMetrics,
}

/// Metrics of every label in `labels`, from a predicted and a reference label map (2-D
/// `[rows, cols]` or 3-D `[slices, rows, cols]`, per-axis `spacing` in mm). Labels are
/// evaluated in parallel (rayon) and returned in the order given.
///
/// ```
/// use cmr_metrics::{evaluate_labels, MetricOptions};
/// use ndarray::array;
/// let pred = array![[0u8, 1, 1], [2, 2, 0]];
/// let truth = array![[0u8, 1, 0], [2, 2, 2]];
/// let m = evaluate_labels(&pred, &truth, &[1, 2], &[1.0, 1.0], &MetricOptions::default())?;
/// assert_eq!(m[0].label, 1);
/// assert_eq!(m[0].metrics.dice, 2.0 / 3.0);
/// assert_eq!(m[1].metrics.dice, 0.8);
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn evaluate_labels<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    labels: &[u8],
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<Vec<LabelMetrics>, MetricsError>
where
    S1: Data<Elem = u8>,
    S2: Data<Elem = u8>,
    D: Dimension,
{
    options.validate()?;
    let grid = Grid::new(prediction.shape(), reference.shape(), spacing)?;
    let p = as_3d(prediction)?;
    let r = as_3d(reference)?;
    Ok(labels
        .par_iter()
        .map(|&label| {
            let pair = CroppedPair::new(p, r, |&v| v == label, |&v| v == label);
            LabelMetrics {
                label,
                metrics: metrics_of_pair(&pair, &grid, options),
            }
        })
        .collect())
}

/// One case of a test set: a predicted and a reference label map on the same grid.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    /// Identifier reported with the metrics and in errors (subject, phase, ...).
    pub id: String,
    /// Predicted label map, `[rows, cols]` or `[slices, rows, cols]`.
    pub prediction: ArrayViewD<'a, u8>,
    /// Reference label map, same shape.
    pub reference: ArrayViewD<'a, u8>,
    /// Spacing in mm per axis.
    pub spacing: Vec<f64>,
}

/// The metrics of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseMetrics {
    /// The case's identifier.
    pub id: String,
    /// One entry per requested label, in the requested order.
    pub labels: Vec<LabelMetrics>,
}

/// Evaluates a whole test set: every case (in parallel, and each case's labels in parallel)
/// for the given labels. Results keep the order of `cases`.
///
/// ```
/// use cmr_metrics::{evaluate_batch, Case, MetricOptions};
/// use ndarray::Array3;
/// let truth = Array3::from_shape_fn((2, 6, 6), |(_, r, c)| u8::from(r > 1 && c > 1));
/// let pred = Array3::from_shape_fn((2, 6, 6), |(_, r, c)| u8::from(r > 1 && c > 2));
/// let cases = vec![Case {
///     id: "subject-1 ED".into(),
///     prediction: pred.view().into_dyn(),
///     reference: truth.view().into_dyn(),
///     spacing: vec![8.0, 1.5, 1.5],
/// }];
/// let out = evaluate_batch(&cases, &[1], &MetricOptions::default())?;
/// assert_eq!(out[0].id, "subject-1 ED");
/// assert_eq!(out[0].labels[0].metrics.dice, 2.0 * 24.0 / (24.0 + 32.0));
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// The first failing case's error wrapped in [`MetricsError::Case`] with its id.
pub fn evaluate_batch(
    cases: &[Case<'_>],
    labels: &[u8],
    options: &MetricOptions,
) -> Result<Vec<CaseMetrics>, MetricsError> {
    options.validate()?;
    cases
        .par_iter()
        .map(|case| {
            evaluate_labels(
                &case.prediction,
                &case.reference,
                labels,
                &case.spacing,
                options,
            )
            .map(|labels| CaseMetrics {
                id: case.id.clone(),
                labels,
            })
            .map_err(|e| MetricsError::Case {
                id: case.id.clone(),
                source: Box::new(e),
            })
        })
        .collect()
}

/// Mean and spread of one metric over cases, over its finite values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean of the finite values (NaN when there are none).
    pub mean: f64,
    /// Sample standard deviation of the finite values (NaN for fewer than two).
    pub std: f64,
    /// Number of finite values.
    pub finite: usize,
    /// Number of NaN or infinite values left out (empty masks under the empty policy).
    pub non_finite: usize,
}

impl Summary {
    /// Summarises `values`.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut non_finite = 0;
        let finite: Vec<f64> = values
            .into_iter()
            .filter(|v| {
                let ok = v.is_finite();
                non_finite += usize::from(!ok);
                ok
            })
            .collect();
        let n = finite.len();
        let mean = if n == 0 {
            f64::NAN
        } else {
            finite.iter().sum::<f64>() / n as f64
        };
        let std = if n < 2 {
            f64::NAN
        } else {
            (finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Summary {
            mean,
            std,
            finite: n,
            non_finite,
        }
    }
}

/// Per-label summaries of the main metrics over a test set: keys `dice`, `iou`, `hausdorff`,
/// `hausdorff_percentile`, `assd`, `mean_contour_distance`, `volume_difference`.
///
/// ```
/// use cmr_metrics::{summarize, CaseMetrics};
/// let s = summarize(&Vec::<CaseMetrics>::new());
/// assert!(s.is_empty());
/// ```
pub fn summarize(cases: &[CaseMetrics]) -> BTreeMap<u8, BTreeMap<&'static str, Summary>> {
    type Getter = fn(&StructureMetrics) -> f64;
    const METRICS: [(&str, Getter); 7] = [
        ("dice", |m| m.dice),
        ("iou", |m| m.iou),
        ("hausdorff", |m| m.hausdorff),
        ("hausdorff_percentile", |m| m.hausdorff_percentile),
        ("assd", |m| m.assd),
        ("mean_contour_distance", |m| m.mean_contour_distance),
        ("volume_difference", |m| m.volume_difference),
    ];
    let mut by_label: BTreeMap<u8, Vec<&StructureMetrics>> = BTreeMap::new();
    for case in cases {
        for l in &case.labels {
            by_label.entry(l.label).or_default().push(&l.metrics);
        }
    }
    by_label
        .into_iter()
        .map(|(label, ms)| {
            let per_metric = METRICS
                .iter()
                .map(|(name, get)| (*name, Summary::of(ms.iter().map(|m| get(m)))))
                .collect();
            (label, per_metric)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlap::label_mask;
    use crate::structure::evaluate_structure;
    use ndarray::{Array2, Array3};

    /// A small SA-like label stack: LV blood pool (1) inside a myocardium ring (2), RV (3).
    fn stack(shift: usize) -> Array3<u8> {
        Array3::from_shape_fn((4, 24, 24), |(z, r, c)| {
            let (y, x) = (r as f64 - 12.0, c as f64 - 10.0 - shift as f64);
            let d2 = y * y + x * x;
            let shrink = z as f64;
            if d2 <= (5.0 - shrink).powi(2) {
                1
            } else if d2 <= (7.5 - shrink).powi(2) {
                2
            } else if (r as f64 - 12.0).abs() < 4.0 && (18..22).contains(&c) && z < 3 {
                3
            } else {
                0
            }
        })
    }

    #[test]
    fn labels_agree_with_their_binary_masks() {
        let (p, r) = (stack(1), stack(0));
        let spacing = [8.0, 1.25, 1.5];
        let o = MetricOptions::default();
        let per_label = evaluate_labels(&p, &r, &[3, 1, 2, 7], &spacing, &o).unwrap();
        assert_eq!(
            per_label.iter().map(|l| l.label).collect::<Vec<_>>(),
            [3, 1, 2, 7]
        );
        for l in &per_label[..3] {
            let want = evaluate_structure(
                &label_mask(&p, l.label),
                &label_mask(&r, l.label),
                &spacing,
                &o,
            )
            .unwrap();
            assert_eq!(l.metrics, want, "label {}", l.label);
        }
        // Label 7 is absent from both: Dice 1, distances NaN under the default policy.
        let absent = per_label[3].metrics;
        assert_eq!(absent.dice, 1.0);
        assert!(absent.hausdorff.is_nan());
        // The shifted prediction really differs.
        assert!(per_label[1].metrics.dice < 1.0 && per_label[1].metrics.hausdorff > 0.0);
    }

    #[test]
    fn batch_keeps_order_and_names_the_failing_case() {
        let (a, b) = (stack(0), stack(2));
        let cases = vec![
            Case {
                id: "same".into(),
                prediction: a.view().into_dyn(),
                reference: a.view().into_dyn(),
                spacing: vec![8.0, 1.0, 1.0],
            },
            Case {
                id: "shifted".into(),
                prediction: b.view().into_dyn(),
                reference: a.view().into_dyn(),
                spacing: vec![8.0, 1.0, 1.0],
            },
        ];
        let out = evaluate_batch(&cases, &[1, 2], &MetricOptions::default()).unwrap();
        assert_eq!(out[0].id, "same");
        assert_eq!(out[0].labels[0].metrics.dice, 1.0);
        assert_eq!(out[0].labels[1].metrics.hausdorff, 0.0);
        // Shifted by 2 columns of 1 mm: the LV border moves by at least 1 mm.
        assert!(out[1].labels[0].metrics.hausdorff >= 2.0);

        let s = summarize(&out);
        let lv = &s[&1]["dice"];
        assert_eq!(lv.finite, 2);
        assert_eq!(lv.mean, (1.0 + out[1].labels[0].metrics.dice) / 2.0);

        let slice = Array2::<u8>::zeros((24, 24));
        let bad = vec![Case {
            id: "subject-9 ES".into(),
            prediction: slice.view().into_dyn(),
            reference: slice.view().into_dyn(),
            spacing: vec![1.0],
        }];
        assert_eq!(
            evaluate_batch(&bad, &[1], &MetricOptions::default()),
            Err(MetricsError::Case {
                id: "subject-9 ES".into(),
                source: Box::new(MetricsError::SpacingLength { ndim: 2, given: 1 })
            })
        );
    }

    #[test]
    fn summary_skips_non_finite_values() {
        let s = Summary::of([1.0, 3.0, f64::INFINITY, f64::NAN]);
        assert_eq!((s.mean, s.finite, s.non_finite), (2.0, 2, 2));
        assert_eq!(s.std, 2f64.sqrt());
        assert!(Summary::of([]).mean.is_nan());
    }
}

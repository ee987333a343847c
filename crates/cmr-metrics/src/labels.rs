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

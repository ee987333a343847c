//! All metrics of one structure (one binary mask pair) in one call.

use ndarray::{ArrayBase, Data, Dimension};
use serde::{Deserialize, Serialize};

use crate::contour::contour_distance;
use crate::grid::{as_3d, CroppedPair, Grid, Overlap};
use crate::options::MetricOptions;
use crate::surface::SurfaceDistances;
use crate::MetricsError;

/// Every metric of one structure. Distances in mm; volumes in mm³ for 3-D masks and mm²
/// (areas) for 2-D masks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StructureMetrics {
    /// Dice similarity coefficient; 1 when both masks are empty.
    pub dice: f64,
    /// Intersection over union (Jaccard index); 1 when both masks are empty.
    pub iou: f64,
    /// Voxels in the prediction.
    pub prediction_voxels: usize,
    /// Voxels in the reference.
    pub reference_voxels: usize,
    /// Voxels in both.
    pub intersection_voxels: usize,
    /// Volume (area for 2-D) of the prediction.
    pub prediction_volume: f64,
    /// Volume (area for 2-D) of the reference.
    pub reference_volume: f64,
    /// `prediction_volume - reference_volume`.
    pub volume_difference: f64,
    /// `(prediction - reference) / reference` volume (medpy's `ravd`); NaN when the reference
    /// is empty.
    pub relative_volume_difference: f64,
    /// Hausdorff distance: the largest border-to-border distance in either direction.
    pub hausdorff: f64,
    /// Percentile Hausdorff distance (HD95 with the default options).
    pub hausdorff_percentile: f64,
    /// Average symmetric surface distance.
    pub assd: f64,
    /// Mean contour distance: 2-D per slice, averaged over slices where both are present.
    pub mean_contour_distance: f64,
    /// Per-slice 2-D Hausdorff distance averaged over the same slices.
    pub mean_contour_hausdorff: f64,
    /// Number of slices where both masks are present (the slices of the contour means).
    pub contour_slices: usize,
}

/// Computes all metrics of a cropped pair.
pub(crate) fn metrics_of_pair(
    pair: &CroppedPair,
    grid: &Grid,
    options: &MetricOptions,
) -> StructureMetrics {
    let o = pair.overlap;
    let voxel = grid.voxel_measure();
    let prediction_volume = o.prediction as f64 * voxel;
    let reference_volume = o.reference as f64 * voxel;
    let (pe, re) = (o.prediction == 0, o.reference == 0);
    let empty = |diagonal| options.empty.value(pe, re, diagonal);

    let surface = SurfaceDistances::of_pair(pair, grid);
    let hausdorff = surface
        .hausdorff()
        .unwrap_or_else(|| empty(grid.diagonal()));
    let hausdorff_percentile = surface
        .percentile(options.percentile, options.percentile_convention)
        .unwrap_or_else(|| empty(grid.diagonal()));
    let assd = surface
        .average(options.assd_convention)
        .unwrap_or_else(|| empty(grid.diagonal()));

    let contour = contour_distance(pair, grid);
    let (mean_contour_distance, mean_contour_hausdorff, contour_slices) = match contour {
        Some(c) => (c.mean, c.hausdorff, c.slices),
        None => {
            let v = contour_empty_value(&pair.overlap, grid, options);
            (v, v, 0)
        }
    };

    StructureMetrics {
        dice: o.dice(),
        iou: o.iou(),
        prediction_voxels: o.prediction,
        reference_voxels: o.reference,
        intersection_voxels: o.both,
        prediction_volume,
        reference_volume,
        volume_difference: prediction_volume - reference_volume,
        relative_volume_difference: if re {
            f64::NAN
        } else {
            (prediction_volume - reference_volume) / reference_volume
        },
        hausdorff,
        hausdorff_percentile,
        assd,
        mean_contour_distance,
        mean_contour_hausdorff,
        contour_slices,
    }
}

/// Validates inputs and crops a boolean mask pair.
fn prepare<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<(CroppedPair, Grid), MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    options.validate()?;
    let grid = Grid::new(prediction.shape(), reference.shape(), spacing)?;
    let pair = CroppedPair::new(as_3d(prediction)?, as_3d(reference)?, |&v| v, |&v| v);
    Ok((pair, grid))
}

/// All metrics of one structure: boolean masks, 2-D `[rows, cols]` or 3-D
/// `[slices, rows, cols]`, with per-axis `spacing` in mm.
///
/// ```
/// use cmr_metrics::{evaluate_structure, MetricOptions};
/// use ndarray::Array2;
/// // Two 4x4 squares, the second shifted by one column, 0.5 mm pixels.
/// let a = Array2::from_shape_fn((8, 8), |(r, c)| (2..6).contains(&r) && (2..6).contains(&c));
/// let b = Array2::from_shape_fn((8, 8), |(r, c)| (2..6).contains(&r) && (3..7).contains(&c));
/// let m = evaluate_structure(&a, &b, &[0.5, 0.5], &MetricOptions::default())?;
/// assert_eq!(m.dice, 0.75);
/// assert_eq!(m.hausdorff, 0.5);
/// assert_eq!(m.assd, 0.25); // half the border pixels lie on the other border
/// assert_eq!(m.prediction_volume, 4.0); // 16 pixels of 0.25 mm²
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn evaluate_structure<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<StructureMetrics, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let (pair, grid) = prepare(prediction, reference, spacing, options)?;
    Ok(metrics_of_pair(&pair, &grid, options))
}

/// Hausdorff distance (mm) of two boolean masks; empty masks as `options.empty` says.
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn hausdorff_distance<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let (pair, grid) = prepare(prediction, reference, spacing, options)?;
    let d = SurfaceDistances::of_pair(&pair, &grid);
    Ok(d.hausdorff()
        .unwrap_or_else(|| empty_value(&pair, &grid, options)))
}

/// Percentile Hausdorff distance (mm; HD95 with the default `options.percentile`) under
/// `options.percentile_convention`.
///
/// ```
/// use cmr_metrics::{percentile_hausdorff_distance, MetricOptions};
/// use ndarray::Array2;
/// let a = Array2::from_shape_fn((1, 10), |(_, c)| c == 0);
/// let b = Array2::from_elem((1, 10), true);
/// // MONAI: max(P95 of [0], P95 of [0, 1, ..., 9]) = 8.55; medpy: P95 of the 11 pooled = 8.5.
/// let monai = percentile_hausdorff_distance(&a, &b, &[1.0, 1.0], &MetricOptions::monai())?;
/// let medpy = percentile_hausdorff_distance(&a, &b, &[1.0, 1.0], &MetricOptions::medpy())?;
/// assert!((monai - 8.55).abs() < 1e-12);
/// assert_eq!(medpy, 8.5);
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn percentile_hausdorff_distance<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let (pair, grid) = prepare(prediction, reference, spacing, options)?;
    let d = SurfaceDistances::of_pair(&pair, &grid);
    Ok(
        d.percentile(options.percentile, options.percentile_convention)
            .unwrap_or_else(|| empty_value(&pair, &grid, options)),
    )
}

/// Average symmetric surface distance (mm) under `options.assd_convention`.
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn average_surface_distance<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let (pair, grid) = prepare(prediction, reference, spacing, options)?;
    let d = SurfaceDistances::of_pair(&pair, &grid);
    Ok(d.average(options.assd_convention)
        .unwrap_or_else(|| empty_value(&pair, &grid, options)))
}

/// Mean contour distance (mm): per 2-D slice the mean of the two directed mean border
/// distances, averaged over the slices where both masks are present (Bai et al.'s UK Biobank
/// evaluation; see the `contour` module notes). For 2-D masks this is the one slice's value.
///
/// ```
/// use cmr_metrics::{mean_contour_distance, MetricOptions};
/// use ndarray::Array3;
/// let mut a = Array3::from_elem((3, 5, 5), false);
/// let mut b = a.clone();
/// a[[0, 0, 0]] = true; b[[0, 0, 3]] = true; // 3 px apart
/// a[[1, 2, 2]] = true;                      // only in a: slice skipped
/// a[[2, 4, 4]] = true; b[[2, 4, 4]] = true; // same pixel
/// let mcd = mean_contour_distance(&a, &b, &[10.0, 1.0, 1.0], &MetricOptions::default())?;
/// assert_eq!(mcd, 1.5);
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// Shape, dimension, spacing or option errors ([`MetricsError`]).
pub fn mean_contour_distance<S1, S2, D>(
    prediction: &ArrayBase<S1, D>,
    reference: &ArrayBase<S2, D>,
    spacing: &[f64],
    options: &MetricOptions,
) -> Result<f64, MetricsError>
where
    S1: Data<Elem = bool>,
    S2: Data<Elem = bool>,
    D: Dimension,
{
    let (pair, grid) = prepare(prediction, reference, spacing, options)?;
    Ok(match contour_distance(&pair, &grid) {
        Some(c) => c.mean,
        None => contour_empty_value(&pair.overlap, &grid, options),
    })
}

/// The contour distances when no slice holds both masks: "one empty" unless both masks are
/// empty altogether, with the slice diagonal as the grid's worst case.
fn contour_empty_value(overlap: &Overlap, grid: &Grid, options: &MetricOptions) -> f64 {
    let both = overlap.prediction == 0 && overlap.reference == 0;
    options.empty.value(true, both, grid.slice_diagonal())
}

fn empty_value(pair: &CroppedPair, grid: &Grid, options: &MetricOptions) -> f64 {
    options.empty.value(
        pair.overlap.prediction == 0,
        pair.overlap.reference == 0,
        grid.diagonal(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{AssdConvention, EmptyPolicy, PercentileConvention};
    use crate::surface::surface_distances;
    use crate::test_rng::SplitMix;
    use ndarray::{Array2, Array3, ArrayD, IxDyn};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    fn options(p: PercentileConvention, a: AssdConvention) -> MetricOptions {
        MetricOptions {
            percentile_convention: p,
            assd_convention: a,
            ..MetricOptions::default()
        }
    }

    #[test]
    fn single_pixels_isotropic_and_anisotropic() {
        let mut a = Array2::from_elem((8, 9), false);
        let mut b = a.clone();
        a[[2, 3]] = true;
        b[[5, 7]] = true;
        let m = evaluate_structure(&a, &b, &[1.0, 1.0], &MetricOptions::default()).unwrap();
        for v in [
            m.hausdorff,
            m.hausdorff_percentile,
            m.assd,
            m.mean_contour_distance,
            m.mean_contour_hausdorff,
        ] {
            assert_eq!(v, 5.0);
        }
        assert_eq!((m.dice, m.iou, m.contour_slices), (0.0, 0.0, 1));
        // Rows 2 mm apart, columns 0.5 mm: sqrt((3 * 2)² + (4 * 0.5)²) = sqrt(40).
        let m = evaluate_structure(&a, &b, &[2.0, 0.5], &MetricOptions::medpy()).unwrap();
        assert_eq!(m.hausdorff, 40f64.sqrt());
        assert_eq!(m.assd, 40f64.sqrt());
        assert_eq!(m.prediction_volume, 1.0);
    }

    #[test]
    fn pixel_against_a_row_separates_the_conventions() {
        // A = first pixel of a 1x10 row, B = the whole row (all border). A→B: [0];
        // B→A: [0, 2, 4, ..., 18] with 2 mm columns.
        let a = Array2::from_shape_fn((1, 10), |(_, c)| c == 0);
        let b = Array2::from_elem((1, 10), true);
        let s = [1.0, 2.0];
        let monai = options(PercentileConvention::MaxOfDirected, AssdConvention::Pooled);
        let m = evaluate_structure(&a, &b, &s, &monai).unwrap();
        assert_eq!(m.hausdorff, 18.0);
        // max(P95([0]), P95([0, 2, ..., 18])) = 2 * 8.55
        assert!(
            close(m.hausdorff_percentile, 17.1),
            "{}",
            m.hausdorff_percentile
        );
        // (0 + 90) / 11 pooled
        assert!(close(m.assd, 90.0 / 11.0));
        let other = options(PercentileConvention::Pooled, AssdConvention::MeanOfDirected);
        let m = evaluate_structure(&a, &b, &s, &other).unwrap();
        // P95 of the 11 pooled values [0, 0, 2, ..., 18]: index 9.5 between 16 and 18.
        assert_eq!(m.hausdorff_percentile, 17.0);
        // (mean [0] + mean [0, 2, ..., 18]) / 2 = (0 + 9) / 2
        assert_eq!(m.assd, 4.5);
        // 2-D: the contour distance is the mean of the directed means of the one slice.
        assert_eq!(m.mean_contour_distance, 4.5);
        assert_eq!(m.mean_contour_hausdorff, 18.0);
        assert_eq!(m.relative_volume_difference, (2.0 - 20.0) / 20.0);
    }

    #[test]
    fn shifted_squares() {
        // 4x4 squares one column apart: each border has 12 pixels, 6 on the other border and
        // 6 at distance one column.
        let a = Array2::from_shape_fn((8, 8), |(r, c)| (2..6).contains(&r) && (2..6).contains(&c));
        let b = Array2::from_shape_fn((8, 8), |(r, c)| (2..6).contains(&r) && (3..7).contains(&c));
        let d = surface_distances(&a, &b, &[3.0, 0.75]).unwrap();
        let mut got = d.prediction_to_reference.clone();
        got.sort_by(f64::total_cmp);
        assert_eq!(got, [[0.0; 6], [0.75; 6]].concat());
        let m = evaluate_structure(&a, &b, &[3.0, 0.75], &MetricOptions::default()).unwrap();
        assert_eq!((m.hausdorff, m.hausdorff_percentile), (0.75, 0.75));
        assert_eq!(m.assd, 0.375);
        assert_eq!(m.mean_contour_distance, 0.375);
        assert_eq!((m.dice, m.iou), (0.75, 0.6));
        assert_eq!(m.volume_difference, 0.0);
    }

    #[test]
    fn plus_inside_a_disc() {
        // Plus shape (disc of radius 1) centred in a disc of radius 2 (x² + y² <= 4, 13 px):
        // the disc's border is its 4 tips and 4 diagonal pixels, the plus's its 4 arms, and
        // every border pixel is exactly one pixel from the other border.
        let disc = |r2: i64| {
            Array2::from_shape_fn((9, 9), move |(r, c)| {
                let (y, x) = (r as i64 - 4, c as i64 - 4);
                y * y + x * x <= r2
            })
        };
        let (plus, big) = (disc(1), disc(4));
        let d = surface_distances(&plus, &big, &[1.25, 1.25]).unwrap();
        assert_eq!(d.prediction_to_reference, vec![1.25; 4]);
        assert_eq!(d.reference_to_prediction, vec![1.25; 8]);
        let m = evaluate_structure(&plus, &big, &[1.25, 1.25], &MetricOptions::default()).unwrap();
        assert_eq!(
            (m.hausdorff, m.hausdorff_percentile, m.assd),
            (1.25, 1.25, 1.25)
        );
        assert_eq!(m.dice, 2.0 * 5.0 / 18.0);
        // A disc against itself: all distances 0.
        let m = evaluate_structure(&big, &big, &[1.0, 1.0], &MetricOptions::default()).unwrap();
        assert_eq!((m.hausdorff, m.assd, m.dice), (0.0, 0.0, 1.0));
    }

    #[test]
    fn cubes_one_slice_apart_with_anisotropic_spacing() {
        // 3x3x3 cubes at slices 0..3 and 1..4 of a 5x5x5 grid, spacing (10, 1.5, 0.5) mm.
        // Each direction: 9 face voxels 10 mm from the other border, 16 on it, and the centre
        // of the shared face 0.5 mm (one column) from the other cube's border ring.
        let cube = |z0: usize| {
            Array3::from_shape_fn((5, 5, 5), move |(z, y, x)| {
                (z0..z0 + 3).contains(&z) && (1..4).contains(&y) && (1..4).contains(&x)
            })
        };
        let (a, b) = (cube(0), cube(1));
        let s = [10.0, 1.5, 0.5];
        let d = surface_distances(&a, &b, &s).unwrap();
        let mut got = d.reference_to_prediction.clone();
        got.sort_by(f64::total_cmp);
        assert_eq!(got, [vec![0.0; 16], vec![0.5], vec![10.0; 9]].concat());
        for (p, a_conv) in [
            (PercentileConvention::MaxOfDirected, AssdConvention::Pooled),
            (PercentileConvention::Pooled, AssdConvention::MeanOfDirected),
        ] {
            let m = evaluate_structure(&a, &b, &s, &options(p, a_conv)).unwrap();
            assert_eq!((m.hausdorff, m.hausdorff_percentile), (10.0, 10.0));
            assert!(close(m.assd, 90.5 / 26.0));
            // Per slice, only slices 1 and 2 hold both; there the squares coincide.
            assert_eq!((m.mean_contour_distance, m.contour_slices), (0.0, 2));
            assert_eq!(m.dice, 2.0 / 3.0);
            assert_eq!(m.prediction_volume, 27.0 * 7.5);
        }
    }

    #[test]
    fn empty_masks_follow_the_policy() {
        let empty = Array3::from_elem((2, 4, 6), false);
        let mut one = empty.clone();
        one[[1, 1, 1]] = true;
        let s = [5.0, 1.0, 2.0];
        let diag = (25.0f64 + 9.0 + 100.0).sqrt();
        let slice_diag = (9.0f64 + 100.0).sqrt();
        let with = |empty| MetricOptions {
            empty,
            ..MetricOptions::default()
        };
        let m = evaluate_structure(&one, &empty, &s, &with(EmptyPolicy::Infinity)).unwrap();
        assert_eq!((m.dice, m.iou), (0.0, 0.0));
        assert!(m.relative_volume_difference.is_nan());
        for v in [
            m.hausdorff,
            m.hausdorff_percentile,
            m.assd,
            m.mean_contour_distance,
        ] {
            assert_eq!(v, f64::INFINITY);
        }
        let m = evaluate_structure(&empty, &empty, &s, &with(EmptyPolicy::Infinity)).unwrap();
        assert_eq!((m.dice, m.iou), (1.0, 1.0));
        assert!(m.hausdorff.is_nan() && m.assd.is_nan() && m.mean_contour_distance.is_nan());
        let m = evaluate_structure(&empty, &one, &s, &with(EmptyPolicy::Nan)).unwrap();
        assert!(m.hausdorff.is_nan() && m.hausdorff_percentile.is_nan() && m.assd.is_nan());
        assert_eq!(m.relative_volume_difference, -1.0);
        let m = evaluate_structure(&empty, &one, &s, &with(EmptyPolicy::GridDiagonal)).unwrap();
        assert_eq!((m.hausdorff, m.assd), (diag, diag));
        assert_eq!(m.mean_contour_distance, slice_diag);
        let m = evaluate_structure(&empty, &empty, &s, &with(EmptyPolicy::GridDiagonal)).unwrap();
        assert_eq!(
            (m.hausdorff, m.assd, m.mean_contour_distance),
            (0.0, 0.0, 0.0)
        );
        let m = evaluate_structure(&one, &empty, &s, &with(EmptyPolicy::Fixed(99.0))).unwrap();
        assert_eq!((m.hausdorff, m.hausdorff_percentile), (99.0, 99.0));
        // The single-metric functions apply the same policy.
        assert_eq!(
            hausdorff_distance(&one, &empty, &s, &with(EmptyPolicy::GridDiagonal)).unwrap(),
            diag
        );
        assert!(
            average_surface_distance(&empty, &empty, &s, &MetricOptions::default())
                .unwrap()
                .is_nan()
        );
        // Both non-empty but on different slices: no slice for the contour distance.
        let mut other = empty.clone();
        other[[0, 2, 2]] = true;
        let m = evaluate_structure(&one, &other, &s, &with(EmptyPolicy::Fixed(7.0))).unwrap();
        assert_eq!((m.mean_contour_distance, m.contour_slices), (7.0, 0));
        assert!(m.hausdorff.is_finite());
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let a = Array2::from_elem((3, 3), true);
        let o = MetricOptions {
            percentile: 101.0,
            ..MetricOptions::default()
        };
        assert_eq!(
            evaluate_structure(&a, &a, &[1.0, 1.0], &o),
            Err(MetricsError::InvalidPercentile { value: 101.0 })
        );
        let v = ArrayD::from_elem(IxDyn(&[2, 2, 2, 2]), true);
        assert_eq!(
            evaluate_structure(&v, &v, &[1.0; 4], &MetricOptions::default()),
            Err(MetricsError::UnsupportedDimension { ndim: 4 })
        );
        assert_eq!(
            mean_contour_distance(&a, &a, &[1.0, -1.0], &MetricOptions::default()),
            Err(MetricsError::InvalidSpacing {
                axis: 1,
                value: -1.0
            })
        );
    }

    /// Border by the definition (mask AND NOT erosion, erosion as the AND of the face-shifted
    /// masks with background beyond the grid) and nearest distances by brute force.
    fn brute_distances(
        a: &Array3<bool>,
        b: &Array3<bool>,
        s: [f64; 3],
        planar: bool,
    ) -> (Vec<f64>, Vec<f64>) {
        let dims = a.dim();
        let at = |m: &Array3<bool>, z: i64, y: i64, x: i64| {
            z >= 0
                && y >= 0
                && x >= 0
                && (z as usize) < dims.0
                && (y as usize) < dims.1
                && (x as usize) < dims.2
                && m[[z as usize, y as usize, x as usize]]
        };
        let border = |m: &Array3<bool>| -> Vec<[i64; 3]> {
            let mut out = Vec::new();
            for ((z, y, x), &v) in m.indexed_iter() {
                let (z, y, x) = (z as i64, y as i64, x as i64);
                let mut offsets = vec![(0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)];
                if !planar {
                    offsets.extend([(1, 0, 0), (-1, 0, 0)]);
                }
                let eroded = offsets
                    .iter()
                    .all(|&(dz, dy, dx)| at(m, z + dz, y + dy, x + dx));
                if v && !eroded {
                    out.push([z, y, x]);
                }
            }
            out
        };
        let (ba, bb) = (border(a), border(b));
        let nearest = |from: &[[i64; 3]], to: &[[i64; 3]]| -> Vec<f64> {
            from.iter()
                .map(|p| {
                    to.iter()
                        .map(|q| {
                            (0..3)
                                .map(|k| ((p[k] - q[k]) as f64 * s[k]).powi(2))
                                .sum::<f64>()
                                .sqrt()
                        })
                        .fold(f64::INFINITY, f64::min)
                })
                .collect()
        };
        (nearest(&ba, &bb), nearest(&bb, &ba))
    }

    #[test]
    fn surface_distances_match_brute_force_on_random_masks() {
        let mut rng = SplitMix(42);
        for case in 0..80 {
            let planar = case % 2 == 0;
            let dims = if planar {
                (1, 3 + rng.below(14), 3 + rng.below(14))
            } else {
                (1 + rng.below(5), 3 + rng.below(9), 3 + rng.below(9))
            };
            let (da, db) = (0.1 + 0.6 * rng.unit(), 0.1 + 0.6 * rng.unit());
            let a = Array3::from_shape_simple_fn(dims, || rng.unit() < da);
            let b = Array3::from_shape_simple_fn(dims, || rng.unit() < db);
            if !a.iter().any(|&v| v) || !b.iter().any(|&v| v) {
                continue;
            }
            let s = [
                1.0 + 5.0 * rng.unit(),
                0.3 + 2.0 * rng.unit(),
                0.3 + 2.0 * rng.unit(),
            ];
            let (want_ab, want_ba) = brute_distances(&a, &b, s, planar);
            let got = if planar {
                let a2 = a.index_axis(ndarray::Axis(0), 0);
                let b2 = b.index_axis(ndarray::Axis(0), 0);
                surface_distances(&a2, &b2, &s[1..]).unwrap()
            } else {
                surface_distances(&a, &b, &s).unwrap()
            };
            for (g, w) in [
                (&got.prediction_to_reference, &want_ab),
                (&got.reference_to_prediction, &want_ba),
            ] {
                assert_eq!(g.len(), w.len(), "case {case}");
                for (x, y) in g.iter().zip(w.iter()) {
                    assert!(close(*x, *y), "case {case}: {x} vs {y}");
                }
            }
        }
    }
}

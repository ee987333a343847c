//! Exact Euclidean distance transform with anisotropic spacing, in linear time.
//!
//! Separable algorithm of P. F. Felzenszwalb and D. P. Huttenlocher, "Distance Transforms of
//! Sampled Functions", Theory of Computing 8(19):415-428, 2012: one pass per axis, each the
//! lower envelope of the parabolas `w (q - p)² + f(p)` with `w` the squared spacing of that
//! axis. The result is exact (the minimum over all feature voxels of the squared physical
//! distance), not a chamfer approximation, and costs O(voxels).

use ndarray::{Array, ArrayBase, Data, Dimension};

use crate::grid::{as_3d, validate_spacing};
use crate::MetricsError;

const INF: f64 = f64::INFINITY;

/// Euclidean distance (mm) from every voxel to the nearest `true` voxel of `features`, for
/// 2-D `[rows, cols]` or 3-D `[slices, rows, cols]` arrays with per-axis `spacing` in mm.
/// Voxels of `features` get 0; if `features` has no `true` voxel every distance is `+inf`.
///
/// This is scipy's `distance_transform_edt(~features, sampling=spacing)`.
///
/// ```
/// use cmr_metrics::distance_transform;
/// use ndarray::array;
/// let f = array![[true, false, false], [false, false, false]];
/// let d = distance_transform(&f, &[2.0, 1.0])?;
/// assert_eq!(d[[0, 2]], 2.0);
/// assert_eq!(d[[1, 2]], 8.0f64.sqrt()); // (2 mm)² + (2 mm)²
/// # Ok::<(), cmr_metrics::MetricsError>(())
/// ```
///
/// # Errors
/// [`MetricsError::UnsupportedDimension`], [`MetricsError::SpacingLength`] or
/// [`MetricsError::InvalidSpacing`].
pub fn distance_transform<S, D>(
    features: &ArrayBase<S, D>,
    spacing: &[f64],
) -> Result<Array<f64, D>, MetricsError>
where
    S: Data<Elem = bool>,
    D: Dimension,
{
    let ndim = features.ndim();
    if !(2..=3).contains(&ndim) {
        return Err(MetricsError::UnsupportedDimension { ndim });
    }
    validate_spacing(spacing, ndim)?;
    let view = as_3d(features)?;
    let (nz, ny, nx) = view.dim();
    let spacing3 = if ndim == 2 {
        [1.0, spacing[0], spacing[1]]
    } else {
        [spacing[0], spacing[1], spacing[2]]
    };
    let flat: Vec<bool> = view.iter().copied().collect();
    let squared = squared_edt(&flat, [nz, ny, nx], spacing3);
    let mut out = Array::from_elem(features.raw_dim(), 0.0);
    // `view.iter()` and `out.iter_mut()` both walk logical (row-major) order.
    for (o, s) in out.iter_mut().zip(squared) {
        *o = s.sqrt();
    }
    Ok(out)
}

/// Squared distances (mm²) from every voxel of a `[slices, rows, cols]` raster to the nearest
/// feature voxel; `+inf` where there is none.
pub(crate) fn squared_edt(features: &[bool], shape: [usize; 3], spacing: [f64; 3]) -> Vec<f64> {
    let [nz, ny, nx] = shape;
    let mut g = first_axis_pass(features, shape, spacing[2]);
    let mut scratch = Scratch::default();
    for z in 0..nz {
        for x in 0..nx {
            scratch.transform_line(&mut g, z * ny * nx + x, nx, ny, spacing[1], None);
        }
    }
    if nz > 1 {
        for y in 0..ny {
            for x in 0..nx {
                scratch.transform_line(&mut g, y * nx + x, ny * nx, nz, spacing[0], None);
            }
        }
    }
    g
}

/// Squared distances (mm²) to the nearest feature voxel, evaluated only at the `queries`
/// voxels and returned in their raster order.
///
/// The same separable minimisation as [`squared_edt`], ordered for sparse queries (mask
/// borders): (1) the binary nearest-feature scan along rows' perpendicular (y), vectorised
/// across columns; (2) for 3-D, the minimisation across slices, only on rows that hold a
/// query (by direct minimisation, vectorised across columns, when there are few slices, as
/// in SA stacks; by lower envelopes otherwise); (3) along each row, only at the queries
/// (direct minimisation over the row for a few queries, a lower envelope for many). Every
/// step is an exact minimum, so the result equals the full transform at the queries.
pub(crate) fn squared_edt_at(
    features: &[bool],
    queries: &[bool],
    shape: [usize; 3],
    spacing: [f64; 3],
) -> Vec<f64> {
    let [nz, ny, nx] = shape;
    debug_assert_eq!(queries.len(), features.len());
    if nx == 0 || ny == 0 {
        return Vec::new();
    }
    let rows_with_queries: Vec<usize> = queries
        .chunks_exact(nx)
        .map(|row| row.iter().filter(|&&q| q).count())
        .collect();
    let g = column_scan(features, shape, spacing[1]);
    let h = if nz > 1 {
        across_slices(g, &rows_with_queries, shape, spacing[0])
    } else {
        g
    };
    along_rows_at(&h, queries, &rows_with_queries, nx, spacing[2])
}

/// Largest slice count for which the across-slice step minimises directly (cost `nz` per
/// voxel, vectorised) rather than by lower envelopes.
const DIRECT_SLICES: usize = 24;
/// Largest number of queries in a row for which the row step minimises directly per query
/// (cost `nx` per query, vectorised) rather than by a lower envelope.
const DIRECT_QUERIES: usize = 16;

/// Step 1: `w_y (y - y')²` to the nearest feature `(z, y', x)` in the same column, `+inf` if
/// the column has none. Two scans per slice, each vectorised across the row.
fn column_scan(features: &[bool], shape: [usize; 3], spacing: f64) -> Vec<f64> {
    let [nz, ny, nx] = shape;
    let w = spacing * spacing;
    // Positions as f64 (exact for integers): "no feature on this side" is an infinite
    // position, so the distance and its square come out infinite without a branch.
    let mut up = vec![0.0f64; ny * nx];
    let mut last = vec![0.0f64; nx];
    let mut next = vec![0.0f64; nx];
    // Every element is written below; zeroed memory is the cheapest to get.
    let mut g = vec![0.0f64; features.len()];
    for z in 0..nz {
        let fs = &features[z * ny * nx..(z + 1) * ny * nx];
        let gs = &mut g[z * ny * nx..(z + 1) * ny * nx];
        last.fill(f64::NEG_INFINITY);
        for y in 0..ny {
            let f = &fs[y * nx..(y + 1) * nx];
            let u = &mut up[y * nx..(y + 1) * nx];
            let yf = y as f64;
            // Selects rather than branches, so the loops vectorise.
            for ((l, &fe), d) in last.iter_mut().zip(f).zip(u.iter_mut()) {
                *l = if fe { yf } else { *l };
                *d = yf - *l;
            }
        }
        next.fill(INF);
        for y in (0..ny).rev() {
            let f = &fs[y * nx..(y + 1) * nx];
            let u = &up[y * nx..(y + 1) * nx];
            let out = &mut gs[y * nx..(y + 1) * nx];
            let yf = y as f64;
            for (((n, &fe), &d_up), o) in next.iter_mut().zip(f).zip(u).zip(out.iter_mut()) {
                *n = if fe { yf } else { *n };
                let down = *n - yf;
                let d = if down < d_up { down } else { d_up };
                *o = w * d * d;
            }
        }
    }
    g
}

/// Step 2 (3-D): `min over z' of w_z (z - z')² + g(z', y, x)`, on the rows `(z, y)` that hold
/// a query (other rows are left unset; step 3 never reads them).
fn across_slices(
    g: Vec<f64>,
    rows_with_queries: &[usize],
    shape: [usize; 3],
    spacing: f64,
) -> Vec<f64> {
    let [nz, ny, nx] = shape;
    let w = spacing * spacing;
    if nz > DIRECT_SLICES {
        let mut h = g;
        let mut scratch = Scratch::default();
        for line in 0..ny * nx {
            scratch.transform_line(&mut h, line, ny * nx, nz, spacing, None);
        }
        return h;
    }
    let weights: Vec<f64> = (0..nz).map(|k| w * (k * k) as f64).collect();
    // Rows without queries are never read by step 3, so they may stay zero.
    let mut h = vec![0.0f64; g.len()];
    // y outermost: the nz source rows of one y (nz * nx values) stay in L1 for all z.
    for y in 0..ny {
        for z in 0..nz {
            if rows_with_queries[z * ny + y] == 0 {
                continue;
            }
            let row = (z * ny + y) * nx;
            let out = &mut h[row..row + nx];
            out.copy_from_slice(&g[row..row + nx]);
            for z2 in (0..nz).filter(|&z2| z2 != z) {
                let add = weights[z.abs_diff(z2)];
                let src_row = (z2 * ny + y) * nx;
                for (o, &v) in out.iter_mut().zip(&g[src_row..src_row + nx]) {
                    let c = v + add;
                    *o = if c < *o { c } else { *o };
                }
            }
        }
    }
    h
}

/// Step 3: `min over x' of w_x (x - x')² + h(z, y, x')` at every query, in raster order.
fn along_rows_at(
    h: &[f64],
    queries: &[bool],
    rows_with_queries: &[usize],
    nx: usize,
    spacing: f64,
) -> Vec<f64> {
    let w = spacing * spacing;
    let total = rows_with_queries.iter().sum();
    let mut out = Vec::with_capacity(total);
    let xs: Vec<f64> = (0..nx).map(|x| x as f64).collect();
    let mut scratch = Scratch::default();
    for (r, &count) in rows_with_queries.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let hr = &h[r * nx..(r + 1) * nx];
        let qr = &queries[r * nx..(r + 1) * nx];
        if count <= DIRECT_QUERIES {
            for (x, _) in qr.iter().enumerate().filter(|(_, &q)| q) {
                out.push(direct_min(hr, &xs, x as f64, w));
            }
        } else {
            scratch.f.clear();
            scratch.f.extend_from_slice(hr);
            let parabolas = scratch.envelope(w);
            let (f, v, z) = (&scratch.f, &scratch.v[..parabolas], &scratch.z[..parabolas]);
            let mut k = 0;
            for (x, _) in qr.iter().enumerate().filter(|(_, &q)| q) {
                if parabolas == 0 {
                    out.push(INF);
                    continue;
                }
                let xf = x as f64;
                while k + 1 < parabolas && z[k + 1] < xf {
                    k += 1;
                }
                let d = xf - v[k] as f64;
                out.push(w * d * d + f[v[k]]);
            }
        }
    }
    out
}

/// `min over i of w (x - xs[i])² + h[i]`, in four independent lanes so it vectorises.
fn direct_min(h: &[f64], xs: &[f64], x: f64, w: f64) -> f64 {
    let mut lanes = [INF; 4];
    let mut hc = h.chunks_exact(4);
    let mut xc = xs.chunks_exact(4);
    for (hh, xx) in (&mut hc).zip(&mut xc) {
        for l in 0..4 {
            let d = x - xx[l];
            let v = w * d * d + hh[l];
            if v < lanes[l] {
                lanes[l] = v;
            }
        }
    }
    let mut best = lanes[0].min(lanes[1]).min(lanes[2].min(lanes[3]));
    for (&hh, &xx) in hc.remainder().iter().zip(xc.remainder()) {
        let d = x - xx;
        best = best.min(w * d * d + hh);
    }
    best
}

/// The pass along the contiguous (column) axis: distance to the nearest feature in the same
/// row by two scans, squared and scaled by the column spacing.
fn first_axis_pass(features: &[bool], shape: [usize; 3], spacing: f64) -> Vec<f64> {
    let nx = shape[2];
    let w = spacing * spacing;
    let mut g = vec![INF; features.len()];
    if nx == 0 {
        return g;
    }
    for (row, out) in features.chunks_exact(nx).zip(g.chunks_exact_mut(nx)) {
        let mut last: Option<usize> = None;
        for (x, &f) in row.iter().enumerate() {
            if f {
                last = Some(x);
            }
            if let Some(l) = last {
                let d = (x - l) as f64;
                out[x] = w * d * d;
            }
        }
        let mut next: Option<usize> = None;
        for x in (0..nx).rev() {
            if row[x] {
                next = Some(x);
            }
            if let Some(n) = next {
                let d = (n - x) as f64;
                let v = w * d * d;
                if v < out[x] {
                    out[x] = v;
                }
            }
        }
    }
    g
}

/// Buffers reused across lines.
#[derive(Default)]
struct Scratch {
    /// The line's input values.
    f: Vec<f64>,
    /// `f[q] + w q²`, the parabola offsets.
    h: Vec<f64>,
    /// Positions of the parabolas of the lower envelope.
    v: Vec<usize>,
    /// `z[k]`: where parabola `k` starts to be the lowest.
    z: Vec<f64>,
    /// `1 / d` for `d` in `0..len` (division is the slowest step of the envelope).
    recip: Vec<f64>,
}

impl Scratch {
    /// Replaces the `len` values of `g` at `start + k * stride` by the lower envelope of their
    /// parabolas with weight `spacing²`; with `only`, just where `only` is true.
    fn transform_line(
        &mut self,
        g: &mut [f64],
        start: usize,
        stride: usize,
        len: usize,
        spacing: f64,
        only: Option<&[bool]>,
    ) {
        let w = spacing * spacing;
        self.f.clear();
        self.f.extend(g[start..].iter().step_by(stride).take(len));
        let parabolas = self.envelope(w);
        if parabolas == 0 {
            return; // no feature on this line: stays +inf
        }
        let (f, v, z) = (&self.f, &self.v[..parabolas], &self.z[..parabolas]);
        let mut k = 0;
        for q in 0..len {
            let qf = q as f64;
            while k + 1 < parabolas && z[k + 1] < qf {
                k += 1;
            }
            let idx = start + q * stride;
            if only.is_none_or(|o| o[idx]) {
                let d = qf - v[k] as f64;
                g[idx] = w * d * d + f[v[k]];
            }
        }
    }

    /// Felzenszwalb & Huttenlocher (2012), Algorithm 1, over `self.f`; returns the number of
    /// parabolas in the envelope (`self.v[..n]`, `self.z[..n]`). Infinite samples contribute
    /// no parabola.
    fn envelope(&mut self, w: f64) -> usize {
        let n = self.f.len();
        if self.recip.len() < n {
            self.recip = (0..n).map(|d| 1.0 / d as f64).collect();
        }
        self.h.clear();
        self.h.extend(
            self.f
                .iter()
                .enumerate()
                .map(|(q, &fq)| fq + w * (q * q) as f64),
        );
        self.v.resize(n, 0);
        self.z.resize(n, 0.0);
        let inv_2w = 0.5 / w;
        let (f, h, v, z, recip) = (&self.f, &self.h, &mut self.v, &mut self.z, &self.recip);
        let mut len = 0usize;
        for q in 0..n {
            if f[q] == INF {
                continue;
            }
            loop {
                if len == 0 {
                    v[0] = q;
                    z[0] = f64::NEG_INFINITY;
                    len = 1;
                    break;
                }
                let p = v[len - 1];
                // Where the parabolas from p and q intersect.
                let s = (h[q] - h[p]) * inv_2w * recip[q - p];
                if s <= z[len - 1] {
                    len -= 1;
                } else {
                    v[len] = q;
                    z[len] = s;
                    len += 1;
                    break;
                }
            }
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::SplitMix;
    use ndarray::Array3;

    /// Minimum over all features of the squared physical distance, by brute force.
    fn brute(features: &[bool], shape: [usize; 3], s: [f64; 3]) -> Vec<f64> {
        let [nz, ny, nx] = shape;
        let coords = |i: usize| [i / (ny * nx), (i / nx) % ny, i % nx];
        let feats: Vec<[usize; 3]> = (0..features.len())
            .filter(|&i| features[i])
            .map(coords)
            .collect();
        (0..nz * ny * nx)
            .map(|i| {
                let c = coords(i);
                feats
                    .iter()
                    .map(|f| {
                        (0..3)
                            .map(|a| {
                                let d = (c[a] as f64 - f[a] as f64) * s[a];
                                d * d
                            })
                            .sum::<f64>()
                    })
                    .fold(INF, f64::min)
            })
            .collect()
    }

    #[test]
    fn matches_brute_force_on_random_anisotropic_grids() {
        let mut rng = SplitMix(7);
        for case in 0..72 {
            // Small grids, plus grids with more than DIRECT_SLICES slices and rows with more
            // than DIRECT_QUERIES queries, so both ways of every step are exercised.
            let shape = match case % 6 {
                4 => [
                    DIRECT_SLICES + 1 + rng.below(8),
                    1 + rng.below(4),
                    1 + rng.below(6),
                ],
                5 => [
                    1 + rng.below(3),
                    1 + rng.below(5),
                    2 * DIRECT_QUERIES + rng.below(30),
                ],
                _ => [1 + rng.below(5), 1 + rng.below(9), 1 + rng.below(9)],
            };
            let spacing = [
                0.5 + 4.0 * rng.unit(),
                0.3 + 2.0 * rng.unit(),
                0.3 + 2.0 * rng.unit(),
            ];
            let density = [0.02, 0.1, 0.4][case % 3];
            let n = shape.iter().product();
            let features: Vec<bool> = (0..n).map(|_| rng.unit() < density).collect();
            let expected = brute(&features, shape, spacing);
            let got = squared_edt(&features, shape, spacing);
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    (g == e) || (g - e).abs() <= 1e-12 * e,
                    "case {case}: {g} vs {e} ({shape:?}, {spacing:?})"
                );
            }
            let query_density = if case % 6 == 5 { 0.8 } else { 0.3 };
            let queries: Vec<bool> = (0..n).map(|_| rng.unit() < query_density).collect();
            let at = squared_edt_at(&features, &queries, shape, spacing);
            let want: Vec<f64> = (0..n)
                .filter(|&i| queries[i])
                .map(|i| expected[i])
                .collect();
            assert_eq!(at.len(), want.len());
            for (g, e) in at.iter().zip(&want) {
                assert!(
                    (g == e) || (g - e).abs() <= 1e-12 * e,
                    "case {case} (queries)"
                );
            }
        }
    }

    #[test]
    fn public_transform_has_hand_computed_values() {
        let mut f = Array3::from_elem((3, 4, 5), false);
        f[[0, 0, 0]] = true;
        let d = distance_transform(&f, &[10.0, 2.0, 0.5]).unwrap();
        assert_eq!(d[[0, 0, 0]], 0.0);
        assert_eq!(d[[0, 0, 4]], 2.0);
        assert_eq!(d[[0, 3, 0]], 6.0);
        assert_eq!(d[[2, 3, 4]], (400.0f64 + 36.0 + 4.0).sqrt());
        let none = Array3::from_elem((2, 2, 2), false);
        assert!(distance_transform(&none, &[1.0; 3])
            .unwrap()
            .iter()
            .all(|v| v.is_infinite()));
        assert_eq!(
            distance_transform(&none, &[1.0, 1.0]),
            Err(MetricsError::SpacingLength { ndim: 3, given: 2 })
        );
    }
}

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
            scratch.transform_line(&mut g, z * ny * nx + x, nx, ny, spacing[1]);
        }
    }
    if nz > 1 {
        for y in 0..ny {
            for x in 0..nx {
                scratch.transform_line(&mut g, y * nx + x, ny * nx, nz, spacing[0]);
            }
        }
    }
    g
}

/// Squared distances (mm²) to the nearest feature voxel, evaluated only at the `queries`
/// voxels and returned in their raster order.
///
/// The same separable minimisation as [`squared_edt`], ordered for sparse queries (mask
/// borders):
/// 1. `g`: the binary nearest-feature scan along y (two scans, vectorised across columns);
/// 2. `h(z, y, x) = min over z' of w_z (z - z')² + g(z', y, x)`, across slices;
/// 3. the result `min over x' of w_x (x - x')² + h(z, y, x')`, along rows, at the queries.
///
/// Steps 2 and 3 only touch rows holding a query and, within a row, only a window around
/// each query: an upper bound `b` of `h` at the query itself bounds the result, so columns
/// farther than `sqrt(b / w_x)` cannot win. Every step is an exact minimum, so the result equals the full
/// transform at the queries. Stacks with many slices take step 2 by lower envelopes instead.
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
    let g = column_scan(features, shape, spacing[1]);
    if nz > DIRECT_SLICES {
        let mut h = g;
        let mut scratch = Scratch::default();
        for line in 0..ny * nx {
            scratch.transform_line(&mut h, line, ny * nx, nz, spacing[0]);
        }
        rows_at(&RowSource::Full(&h), queries, shape, spacing[2])
    } else {
        let w = spacing[0] * spacing[0];
        let weights: Vec<f64> = (0..nz).map(|k| w * (k * k) as f64).collect();
        rows_at(
            &RowSource::Slices {
                g: &g,
                weights: &weights,
            },
            queries,
            shape,
            spacing[2],
        )
    }
}

/// Largest slice count for which step 2 minimises directly (cost `nz` per value, vectorised)
/// rather than by lower envelopes over whole lines.
const DIRECT_SLICES: usize = 24;
/// A row whose query windows add up to more than this many row lengths is done with one
/// lower envelope over the whole row instead of per-query minimisation.
const ENVELOPE_ROWS: usize = 4;

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
            // Features are sparse (borders): update their columns, then one dense,
            // vectorisable pass.
            for (l, _) in last.iter_mut().zip(f).filter(|(_, &fe)| fe) {
                *l = yf;
            }
            for (d, &l) in u.iter_mut().zip(&last) {
                *d = yf - l;
            }
        }
        next.fill(INF);
        for y in (0..ny).rev() {
            let f = &fs[y * nx..(y + 1) * nx];
            let u = &up[y * nx..(y + 1) * nx];
            let out = &mut gs[y * nx..(y + 1) * nx];
            let yf = y as f64;
            for (n, _) in next.iter_mut().zip(f).filter(|(_, &fe)| fe) {
                *n = yf;
            }
            for ((o, &d_up), &n) in out.iter_mut().zip(u).zip(&next) {
                let down = n - yf;
                let d = if down < d_up { down } else { d_up };
                *o = w * d * d;
            }
        }
    }
    g
}

/// Where step 3 reads `h` from.
enum RowSource<'a> {
    /// `h` computed for the whole grid (step 2 by lower envelopes).
    Full(&'a [f64]),
    /// `h` computed on demand from `g`: `min over z' of weights[|z - z'|] + g(z', y, x)`.
    Slices { g: &'a [f64], weights: &'a [f64] },
}

impl RowSource<'_> {
    /// An upper bound of `h` at one voxel (exact for `Full`; from the voxel's own slice and
    /// its two neighbours for `Slices`, which is cheap and almost always tight).
    fn bound(&self, shape: [usize; 3], z: usize, y: usize, x: usize) -> f64 {
        let [nz, ny, nx] = shape;
        match self {
            RowSource::Full(h) => h[(z * ny + y) * nx + x],
            RowSource::Slices { g, weights } => {
                let at = |z2: usize| g[(z2 * ny + y) * nx + x];
                let mut b = at(z);
                if z > 0 {
                    b = b.min(weights[1] + at(z - 1));
                }
                if z + 1 < nz {
                    b = b.min(weights[1] + at(z + 1));
                }
                b
            }
        }
    }

    /// `h` of row `(z, y)` on columns `a..b`, into `out[a..b]`.
    fn fill(&self, shape: [usize; 3], z: usize, y: usize, a: usize, b: usize, out: &mut [f64]) {
        let [nz, ny, nx] = shape;
        let out = &mut out[a..b];
        match self {
            RowSource::Full(h) => {
                let row = (z * ny + y) * nx;
                out.copy_from_slice(&h[row + a..row + b]);
            }
            RowSource::Slices { g, weights } => {
                let row = (z * ny + y) * nx;
                out.copy_from_slice(&g[row + a..row + b]);
                for z2 in (0..nz).filter(|&z2| z2 != z) {
                    let add = weights[z.abs_diff(z2)];
                    let src = (z2 * ny + y) * nx;
                    // A select, not a branch, so this vectorises.
                    for (o, &v) in out.iter_mut().zip(&g[src + a..src + b]) {
                        let c = v + add;
                        *o = if c < *o { c } else { *o };
                    }
                }
            }
        }
    }
}

/// Steps 2 and 3 at every query, in raster order (see [`squared_edt_at`]).
fn rows_at(source: &RowSource<'_>, queries: &[bool], shape: [usize; 3], spacing: f64) -> Vec<f64> {
    let [nz, ny, nx] = shape;
    let w = spacing * spacing;
    let mut out = Vec::new();
    let xs: Vec<f64> = (0..nx).map(|x| x as f64).collect();
    let mut h_row = vec![INF; nx];
    let mut positions: Vec<usize> = Vec::new();
    let mut windows: Vec<(usize, usize)> = Vec::new();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    let mut scratch = Scratch::default();
    for z in 0..nz {
        for y in 0..ny {
            let row = (z * ny + y) * nx;
            positions.clear();
            positions.extend(
                queries[row..row + nx]
                    .iter()
                    .enumerate()
                    .filter_map(|(x, &q)| q.then_some(x)),
            );
            if positions.is_empty() {
                continue;
            }
            // Windows outside which no column can beat an upper bound of the query's own
            // column: farther columns cost more than the bound by themselves.
            windows.clear();
            for &x in &positions {
                let own = source.bound(shape, z, y, x);
                let r = if own.is_finite() {
                    (own / w).sqrt() as usize + 1
                } else {
                    nx
                };
                windows.push((x.saturating_sub(r), (x + r + 1).min(nx)));
            }
            let total: usize = windows.iter().map(|(a, b)| b - a).sum();
            if total > ENVELOPE_ROWS * nx {
                // Wide windows: one lower envelope over the whole row.
                source.fill(shape, z, y, 0, nx, &mut h_row);
                scratch.f.clear();
                scratch.f.extend_from_slice(&h_row);
                let parabolas = scratch.envelope(w);
                let (f, v, zs) = (&scratch.f, &scratch.v[..parabolas], &scratch.z[..parabolas]);
                let mut k = 0;
                for &x in &positions {
                    if parabolas == 0 {
                        out.push(INF);
                        continue;
                    }
                    let xf = x as f64;
                    while k + 1 < parabolas && zs[k + 1] < xf {
                        k += 1;
                    }
                    let d = xf - v[k] as f64;
                    out.push(w * d * d + f[v[k]]);
                }
                continue;
            }
            // Fill h on the union of the windows, then minimise within each window.
            merged.clear();
            let mut sorted = windows.clone();
            sorted.sort_unstable();
            for (a, b) in sorted {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            for &(a, b) in &merged {
                source.fill(shape, z, y, a, b, &mut h_row);
            }
            for (&x, &(a, b)) in positions.iter().zip(&windows) {
                out.push(direct_min(&h_row[a..b], &xs[a..b], x as f64, w));
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
    /// parabolas with weight `spacing²`.
    fn transform_line(
        &mut self,
        g: &mut [f64],
        start: usize,
        stride: usize,
        len: usize,
        spacing: f64,
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
            let d = qf - v[k] as f64;
            g[idx] = w * d * d + f[v[k]];
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
            // Small grids, plus grids with more than DIRECT_SLICES slices and long rows full
            // of queries (wide windows: the row envelope), so both ways of every step run.
            let shape = match case % 6 {
                4 => [
                    DIRECT_SLICES + 1 + rng.below(8),
                    1 + rng.below(4),
                    1 + rng.below(6),
                ],
                5 => [1 + rng.below(3), 1 + rng.below(5), 32 + rng.below(30)],
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

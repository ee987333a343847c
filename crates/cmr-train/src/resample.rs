//! Resampling 2-D arrays through an affine map from output to source pixel coordinates:
//! bilinear for intensities and heatmaps, nearest neighbour for labels and masks.

use ndarray::{Array2, Array3, Axis};

/// Output pixel `(i, j)` -> source pixel coordinates
/// `(row0 + i * drow_di + j * drow_dj, col0 + i * dcol_di + j * dcol_dj)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine2 {
    /// Source row of output pixel (0, 0).
    pub row0: f64,
    /// Source column of output pixel (0, 0).
    pub col0: f64,
    /// Source rows per output row.
    pub drow_di: f64,
    /// Source rows per output column.
    pub drow_dj: f64,
    /// Source columns per output row.
    pub dcol_di: f64,
    /// Source columns per output column.
    pub dcol_dj: f64,
}

impl Affine2 {
    /// The map that takes output pixel `(i, j)` to source `(i + dr, j + dc)`.
    pub fn shift(dr: f64, dc: f64) -> Self {
        Self {
            row0: dr,
            col0: dc,
            drow_di: 1.0,
            drow_dj: 0.0,
            dcol_di: 0.0,
            dcol_dj: 1.0,
        }
    }

    /// The source coordinates of output pixel `(i, j)`.
    pub fn apply(&self, i: f64, j: f64) -> (f64, f64) {
        (
            self.row0 + i * self.drow_di + j * self.drow_dj,
            self.col0 + i * self.dcol_di + j * self.dcol_dj,
        )
    }

    /// The inverse map (source -> output), `None` when singular.
    pub fn inverse(&self) -> Option<Self> {
        let det = self.drow_di * self.dcol_dj - self.drow_dj * self.dcol_di;
        if !(det.is_finite() && det.abs() > 1e-12) {
            return None;
        }
        let (a, b, c, d) = (
            self.dcol_dj / det,
            -self.drow_dj / det,
            -self.dcol_di / det,
            self.drow_di / det,
        );
        // output = M^-1 (source - t), with M = [[drow_di, drow_dj], [dcol_di, dcol_dj]].
        Some(Self {
            row0: -(a * self.row0 + b * self.col0),
            col0: -(c * self.row0 + d * self.col0),
            drow_di: a,
            drow_dj: b,
            dcol_di: c,
            dcol_dj: d,
        })
    }
}

/// Whether `(r, c)` lies within the source grid's pixel footprints (half a pixel beyond the
/// outer centres).
fn inside(r: f64, c: f64, rows: usize, cols: usize) -> bool {
    r >= -0.5 && c >= -0.5 && r <= rows as f64 - 0.5 && c <= cols as f64 - 0.5
}

/// Bilinear sample at `(r, c)` with edge clamping; the caller checks [`inside`].
#[inline]
fn bilinear_at(src: &Array2<f32>, r: f64, c: f64) -> f32 {
    let (rows, cols) = src.dim();
    let r = r.clamp(0.0, (rows - 1) as f64);
    let c = c.clamp(0.0, (cols - 1) as f64);
    let (r0, c0) = (r.floor() as usize, c.floor() as usize);
    let (r1, c1) = ((r0 + 1).min(rows - 1), (c0 + 1).min(cols - 1));
    let (fr, fc) = ((r - r0 as f64) as f32, (c - c0 as f64) as f32);
    let top = src[[r0, c0]] * (1.0 - fc) + src[[r0, c1]] * fc;
    let bottom = src[[r1, c0]] * (1.0 - fc) + src[[r1, c1]] * fc;
    top * (1.0 - fr) + bottom * fr
}

/// Bilinear resampling of `src` onto an output grid of `dim`; pixels mapping outside the
/// source get `fill` and `false` in the returned footprint mask.
pub fn warp_bilinear(
    src: &Array2<f32>,
    map: &Affine2,
    dim: (usize, usize),
    fill: f32,
) -> (Array2<f32>, Array2<bool>) {
    let (rows, cols) = src.dim();
    let mut out = Array2::from_elem(dim, fill);
    let mut footprint = Array2::from_elem(dim, false);
    if rows == 0 || cols == 0 {
        return (out, footprint);
    }
    for i in 0..dim.0 {
        for j in 0..dim.1 {
            let (r, c) = map.apply(i as f64, j as f64);
            if inside(r, c, rows, cols) {
                out[[i, j]] = bilinear_at(src, r, c);
                footprint[[i, j]] = true;
            }
        }
    }
    (out, footprint)
}

/// Bilinear resampling of every channel of `[C, rows, cols]` (outside: `fill`).
pub fn warp_bilinear_channels(
    src: &Array3<f32>,
    map: &Affine2,
    dim: (usize, usize),
    fill: f32,
) -> Array3<f32> {
    let mut out = Array3::from_elem((src.dim().0, dim.0, dim.1), fill);
    for (k, channel) in src.axis_iter(Axis(0)).enumerate() {
        let (w, _) = warp_bilinear(&channel.to_owned(), map, dim, fill);
        out.index_axis_mut(Axis(0), k).assign(&w);
    }
    out
}

/// Nearest-neighbour resampling (labels, masks); outside the source: `fill`.
pub fn warp_nearest<T: Copy>(
    src: &Array2<T>,
    map: &Affine2,
    dim: (usize, usize),
    fill: T,
) -> Array2<T> {
    let (rows, cols) = src.dim();
    let mut out = Array2::from_elem(dim, fill);
    for i in 0..dim.0 {
        for j in 0..dim.1 {
            let (r, c) = map.apply(i as f64, j as f64);
            if inside(r, c, rows, cols) {
                let rr = (r.round().max(0.0) as usize).min(rows - 1);
                let cc = (c.round().max(0.0) as usize).min(cols - 1);
                out[[i, j]] = src[[rr, cc]];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_shifts_are_exact_and_outside_is_marked() {
        let src = Array2::from_shape_fn((4, 5), |(r, c)| (10 * r + c) as f32);
        let (out, fp) = warp_bilinear(&src, &Affine2::shift(1.0, 2.0), (4, 5), -1.0);
        assert_eq!(out[[0, 0]], 12.0);
        assert_eq!(out[[2, 2]], 34.0);
        assert_eq!(out[[3, 0]], -1.0); // source row 4 is outside
        assert!(!fp[[3, 0]] && fp[[2, 2]]);
        let labels = src.mapv(|v| v as u8);
        let near = warp_nearest(&labels, &Affine2::shift(1.0, 2.0), (4, 5), 255);
        assert_eq!(near[[2, 2]], 34);
        assert_eq!(near[[0, 4]], 255);
    }

    #[test]
    fn bilinear_interpolates_linear_ramps_exactly() {
        // f(r, c) = 3r + 2c is reproduced at any interior point.
        let src = Array2::from_shape_fn((6, 6), |(r, c)| (3 * r + 2 * c) as f32);
        let map = Affine2 {
            row0: 0.5,
            col0: 1.25,
            drow_di: 0.5,
            drow_dj: 0.1,
            dcol_di: -0.2,
            dcol_dj: 0.75,
        };
        let (out, fp) = warp_bilinear(&src, &map, (5, 5), 0.0);
        for i in 0..5 {
            for j in 0..5 {
                let (r, c) = map.apply(i as f64, j as f64);
                if fp[[i, j]] && (0.0..=5.0).contains(&r) && (0.0..=5.0).contains(&c) {
                    let want = 3.0 * r + 2.0 * c;
                    assert!((f64::from(out[[i, j]]) - want).abs() < 1e-4);
                }
            }
        }
    }

    #[test]
    fn inverse_undoes_the_map() {
        let map = Affine2 {
            row0: 3.0,
            col0: -2.0,
            drow_di: 0.8,
            drow_dj: -0.6,
            dcol_di: 0.6,
            dcol_dj: 0.8,
        };
        let inv = map.inverse().unwrap();
        let (r, c) = map.apply(7.0, 11.0);
        let (i, j) = inv.apply(r, c);
        assert!((i - 7.0).abs() < 1e-12 && (j - 11.0).abs() < 1e-12);
        let singular = Affine2 {
            drow_di: 1.0,
            drow_dj: 2.0,
            dcol_di: 2.0,
            dcol_dj: 4.0,
            ..map
        };
        assert!(singular.inverse().is_none());
    }
}

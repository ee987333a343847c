//! Square tiles in millimetres, rasterised onto an image's pixel grid.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::frame::{to_pixel, P2};
use crate::{ImagePlane, PixelPoint};

/// One labelled square, oriented along a line of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tile {
    /// The label its pixels get.
    pub label: u8,
    /// Centre in pixel coordinates.
    pub centre: PixelPoint,
    /// Centre in the image's in-plane millimetre frame `(y down the rows, x across the
    /// columns)`.
    pub centre_mm: [f64; 2],
    /// Unit direction of one pair of sides in the in-plane millimetre frame `(y, x)`.
    pub axis_mm: [f64; 2],
    /// Side length, mm.
    pub side_mm: f64,
}

impl Tile {
    pub(crate) fn new(plane: &ImagePlane, label: u8, centre: P2, axis: P2, side_mm: f64) -> Self {
        Self {
            label,
            centre: to_pixel(plane, centre),
            centre_mm: [centre.y, centre.x],
            axis_mm: [axis.y, axis.x],
            side_mm,
        }
    }

    /// The four corners in pixel coordinates (for drawing).
    pub fn corners(&self, plane: &ImagePlane) -> [PixelPoint; 4] {
        let h = self.side_mm / 2.0;
        let c = P2 {
            y: self.centre_mm[0],
            x: self.centre_mm[1],
        };
        let u = P2 {
            y: self.axis_mm[0],
            x: self.axis_mm[1],
        };
        let v = P2 { y: -u.x, x: u.y };
        [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)]
            .map(|(a, b)| to_pixel(plane, c + u * (a * h) + v * (b * h)))
    }
}

/// Paints tiles onto a `[rows, cols]` label map: a pixel centre inside tile `k` gets
/// `k.label`; a pixel inside several tiles goes to the one whose centre is nearest (ties to the
/// earlier tile). Returns the map and the number of pixels each tile received.
pub(crate) fn rasterise(plane: &ImagePlane, tiles: &[Tile]) -> (Array2<u8>, Vec<usize>) {
    let (rows, cols) = (plane.rows(), plane.cols());
    let sp = plane.spacing();
    let (sr, sc) = (sp.between_rows, sp.between_cols);
    let mut labels = Array2::<u8>::zeros((rows, cols));
    // Squared distance to the owning tile's centre; only read where a label was written.
    let mut owner_d2 = Array2::<f32>::zeros((rows, cols));
    let mut counts = vec![0usize; tiles.len()];
    let mut owner_index = Array2::<u8>::zeros((rows, cols));
    for (k, t) in tiles.iter().enumerate() {
        let h = t.side_mm / 2.0;
        let (cy, cx) = (t.centre_mm[0], t.centre_mm[1]);
        let (uy, ux) = (t.axis_mm[0], t.axis_mm[1]);
        // Bounding box of the rotated square: half-extent h(|uy|+|ux|) on both axes.
        let ext = h * (uy.abs() + ux.abs());
        let r0 = ((cy - ext) / sr).ceil().max(0.0);
        let r1 = ((cy + ext) / sr).floor().min(rows as f64 - 1.0);
        let c0 = ((cx - ext) / sc).ceil().max(0.0);
        let c1 = ((cx + ext) / sc).floor().min(cols as f64 - 1.0);
        if !(r0 <= r1 && c0 <= c1) {
            continue;
        }
        for r in r0 as usize..=r1 as usize {
            let dy = r as f64 * sr - cy;
            for c in c0 as usize..=c1 as usize {
                let dx = c as f64 * sc - cx;
                let a = dy * uy + dx * ux;
                let b = -dy * ux + dx * uy;
                if a.abs() > h || b.abs() > h {
                    continue;
                }
                let d2 = (dy * dy + dx * dx) as f32;
                let cell = labels[[r, c]];
                if cell == 0 {
                    labels[[r, c]] = t.label;
                    owner_d2[[r, c]] = d2;
                    owner_index[[r, c]] = k as u8;
                    counts[k] += 1;
                } else if d2 < owner_d2[[r, c]] {
                    counts[usize::from(owner_index[[r, c]])] -= 1;
                    labels[[r, c]] = t.label;
                    owner_d2[[r, c]] = d2;
                    owner_index[[r, c]] = k as u8;
                    counts[k] += 1;
                }
            }
        }
    }
    (labels, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(sr: f64, sc: f64, n: usize) -> ImagePlane {
        ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [sr, sc], n, n).unwrap()
    }

    #[test]
    fn axis_aligned_tile_covers_the_pixels_within_half_a_side() {
        // 1 mm pixels; a 4 mm tile at (10, 20) covers centres 8..=12 x 18..=22 (5 x 5).
        let p = plane(1.0, 1.0, 32);
        let t = Tile::new(&p, 3, P2 { y: 10.0, x: 20.0 }, P2 { y: 0.0, x: 1.0 }, 4.0);
        let (labels, counts) = rasterise(&p, &[t]);
        assert_eq!(counts, vec![25]);
        assert_eq!(labels[[8, 18]], 3);
        assert_eq!(labels[[12, 22]], 3);
        assert_eq!(labels[[7, 20]], 0);
        assert_eq!(labels.iter().filter(|&&v| v == 3).count(), 25);
    }

    #[test]
    fn area_is_right_for_rotated_tiles_and_anisotropic_pixels() {
        // A 20 mm tile rotated 30 degrees on 0.5 x 0.25 mm pixels covers ~400 mm^2.
        let p = plane(0.5, 0.25, 200);
        let (s, c) = 30f64.to_radians().sin_cos();
        let t = Tile::new(&p, 1, P2 { y: 25.0, x: 25.0 }, P2 { y: s, x: c }, 20.0);
        let (_, counts) = rasterise(&p, &[t]);
        let area = counts[0] as f64 * 0.5 * 0.25;
        assert!((area - 400.0).abs() < 8.0, "{area}");
    }

    #[test]
    fn overlaps_go_to_the_nearest_centre_and_counts_stay_exact() {
        let p = plane(1.0, 1.0, 40);
        let a = Tile::new(&p, 1, P2 { y: 20.0, x: 10.0 }, P2 { y: 0.0, x: 1.0 }, 10.0);
        let b = Tile::new(&p, 2, P2 { y: 20.0, x: 16.0 }, P2 { y: 0.0, x: 1.0 }, 10.0);
        let (labels, counts) = rasterise(&p, &[a, b]);
        // Column 12 is nearer a (2) than b (4); column 14 nearer b; column 13 ties -> a.
        assert_eq!(labels[[20, 12]], 1);
        assert_eq!(labels[[20, 13]], 1);
        assert_eq!(labels[[20, 14]], 2);
        let n1 = labels.iter().filter(|&&v| v == 1).count();
        let n2 = labels.iter().filter(|&&v| v == 2).count();
        assert_eq!(counts, vec![n1, n2]);
        // Union of the two 11 x 11 squares (columns 5..=21) is 11 x 17.
        assert_eq!(n1 + n2, 11 * 17);
    }

    #[test]
    fn tiles_outside_the_image_paint_nothing() {
        let p = plane(1.0, 1.0, 16);
        let t = Tile::new(&p, 1, P2 { y: -30.0, x: 5.0 }, P2 { y: 1.0, x: 0.0 }, 10.0);
        let (labels, counts) = rasterise(&p, &[t]);
        assert_eq!(counts, vec![0]);
        assert!(labels.iter().all(|&v| v == 0));
    }
}

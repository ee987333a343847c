//! Mask borders: the mask XOR its erosion by the cross (face-connected) structuring element.
//!
//! This is the border medpy 0.5.2 (`__surface_distances`, `connectivity=1`) and MONAI 1.6.1
//! (`get_mask_edges` without sub-voxel spacing) take: scipy's `binary_erosion` with
//! `generate_binary_structure(ndim, 1)` and `border_value=0`, so a voxel on the edge of the
//! grid counts as having a background neighbour beyond it.

/// Marks the border voxels of `mask`, a `[slices, rows, cols]` raster of `shape`: voxels of
/// the mask with at least one face neighbour outside the mask or outside the box. With
/// `planar`, only the four in-plane neighbours count (2-D masks and per-slice contours).
pub(crate) fn border(mask: &[bool], shape: [usize; 3], planar: bool) -> Vec<bool> {
    let [nz, ny, nx] = shape;
    debug_assert_eq!(mask.len(), nz * ny * nx);
    let plane = ny * nx;
    let mut out = vec![false; mask.len()];
    if nx == 0 {
        return out;
    }
    for z in 0..nz {
        let z_edge = !planar && (z == 0 || z + 1 == nz);
        for y in 0..ny {
            let row = (z * ny + y) * nx;
            let m = &mask[row..row + nx];
            let o = &mut out[row..row + nx];
            if z_edge || y == 0 || y + 1 == ny || nx < 3 {
                // Every voxel of the row has a neighbour beyond the grid.
                o.copy_from_slice(m);
                continue;
            }
            let up = &mask[row - nx..row];
            let down = &mask[row + nx..row + 2 * nx];
            let (front, back) = if planar {
                (m, m)
            } else {
                (
                    &mask[row - plane..row - plane + nx],
                    &mask[row + plane..row + plane + nx],
                )
            };
            o[0] = m[0];
            o[nx - 1] = m[nx - 1];
            // Interior columns: vectorised AND of the six face neighbours.
            for x in 1..nx - 1 {
                let inside = m[x - 1] & m[x + 1] & up[x] & down[x] & front[x] & back[x];
                o[x] = m[x] & !inside;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(v: &[bool]) -> usize {
        v.iter().filter(|&&b| b).count()
    }

    #[test]
    fn square_border_is_its_perimeter() {
        // 4x4 square inside a 6x6 grid: 16 pixels, 4 interior, 12 on the border.
        let shape = [1, 6, 6];
        let mask: Vec<bool> = (0..36)
            .map(|i| (1..5).contains(&(i / 6)) && (1..5).contains(&(i % 6)))
            .collect();
        let b = border(&mask, shape, true);
        assert_eq!(count(&b), 12);
        assert!(!b[2 * 6 + 2] && !b[3 * 6 + 3]);
        assert!(b[6 + 1] && b[4 * 6 + 4]);
    }

    #[test]
    fn grid_edge_counts_as_background() {
        // A full 3x3 grid: only the centre has all four neighbours.
        let b = border(&[true; 9], [1, 3, 3], true);
        assert_eq!(count(&b), 8);
        assert!(!b[4]);
        // A single row of a 2-D grid is all border.
        assert_eq!(count(&border(&[true; 5], [1, 1, 5], true)), 5);
    }

    #[test]
    fn cube_border_in_3d_and_planar_slices() {
        // 3x3x3 cube: 26 border voxels, the centre is interior.
        let b = border(&[true; 27], [3, 3, 3], false);
        assert_eq!(count(&b), 26);
        assert!(!b[13]);
        // Taken slice by slice, each 3x3 slice keeps its centre: 3 interior voxels.
        let b = border(&[true; 27], [3, 3, 3], true);
        assert_eq!(count(&b), 24);
        // A diagonal neighbour does not protect a voxel (cross, not box, element).
        let mut plus = vec![false; 25];
        for i in [7, 11, 12, 13, 17] {
            plus[i] = true;
        }
        let b = border(&plus, [1, 5, 5], true);
        assert_eq!(count(&b), 4);
        assert!(!b[12]);
    }
}

//! [`ImagePlane`]: where each pixel of a 2-D MR image sits in patient space.
//!
//! This is the one place that encodes the DICOM pixel convention (PS3.3 C.7.6.2.1.1):
//! ImageOrientationPatient holds the *row direction* (the direction of increasing **column**
//! index) and then the *column direction* (increasing **row** index); PixelSpacing holds the
//! spacing between rows, then between columns. So pixel `(row r, col c)` sits at
//! `origin + c * spacing.col * row_dir + r * spacing.row * col_dir`.

use serde::{Deserialize, Serialize};

use crate::error::{DirectionName, GeometryError};
use crate::Vec3;

/// Tolerance on |direction| - 1 and on the dot product of the two direction cosines.
///
/// DICOM writes the cosines as decimal strings, commonly with 6 significant digits, so exact
/// unit length is not to be expected; 1e-3 accepts every scanner-written value we know of while
/// rejecting real inconsistencies (a tilt of 0.06 degrees).
pub const DIRECTION_TOLERANCE: f64 = 1e-3;

/// In-plane pixel spacing in millimetres, named to avoid DICOM's row/column ambiguity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelSpacing {
    /// Distance between the centres of adjacent rows (DICOM PixelSpacing\[0\]), mm.
    pub between_rows: f64,
    /// Distance between the centres of adjacent columns (DICOM PixelSpacing\[1\]), mm.
    pub between_cols: f64,
}

impl PixelSpacing {
    /// From DICOM's PixelSpacing order `[between rows, between columns]`.
    pub const fn from_dicom(ps: [f64; 2]) -> Self {
        Self {
            between_rows: ps[0],
            between_cols: ps[1],
        }
    }
}

/// A continuous position in an image's pixel grid: `(row, col)` in pixel units, where the
/// integer values are pixel centres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelPoint {
    /// Row coordinate (down the image).
    pub row: f64,
    /// Column coordinate (across the image).
    pub col: f64,
}

/// The geometry of one 2-D image in patient space.
///
/// Built from DICOM ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows and
/// Columns with [`ImagePlane::from_dicom`], or from explicit vectors with [`ImagePlane::new`].
/// Construction validates and re-normalises the direction cosines, so every method may rely on
/// unit, orthogonal directions and positive finite spacing.
///
/// ```
/// use cmr_geometry::{ImagePlane, Vec3};
/// // An axial slice at z = 10 mm, 0.5 mm rows and 0.7 mm columns.
/// let plane = ImagePlane::from_dicom(
///     [-100.0, -80.0, 10.0],
///     [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
///     [0.5, 0.7],
///     256,
///     192,
/// )?;
/// // Pixel (row 2, col 3): 3 columns along x (0.7 mm each), 2 rows along y (0.5 mm each).
/// let p = plane.pixel_to_world(2.0, 3.0);
/// assert!((p - Vec3::new(-97.9, -79.0, 10.0)).norm() < 1e-12);
/// let back = plane.world_to_pixel(p);
/// assert!((back.row - 2.0).abs() < 1e-12 && (back.col - 3.0).abs() < 1e-12);
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImagePlane {
    origin: Vec3,
    row_dir: Vec3,
    col_dir: Vec3,
    spacing: PixelSpacing,
    rows: usize,
    cols: usize,
}

impl ImagePlane {
    /// Builds and validates a plane.
    ///
    /// * `origin`: world position of the centre of pixel (0, 0) (ImagePositionPatient).
    /// * `row_dir`: unit direction of increasing column index (IOP\[0..3\]).
    /// * `col_dir`: unit direction of increasing row index (IOP\[3..6\]).
    ///
    /// # Errors
    /// [`GeometryError::NonFinite`], [`GeometryError::NotUnit`],
    /// [`GeometryError::NotOrthogonal`], [`GeometryError::BadSpacing`] or
    /// [`GeometryError::EmptyImage`] when the parameters do not describe an image plane.
    pub fn new(
        origin: Vec3,
        row_dir: Vec3,
        col_dir: Vec3,
        spacing: PixelSpacing,
        rows: usize,
        cols: usize,
    ) -> Result<Self, GeometryError> {
        if !origin.is_finite() {
            return Err(GeometryError::NonFinite { what: "origin" });
        }
        let row_dir = unit_direction(row_dir, DirectionName::Row)?;
        let col_dir = unit_direction(col_dir, DirectionName::Column)?;
        let dot = row_dir.dot(col_dir);
        if dot.abs() > DIRECTION_TOLERANCE {
            return Err(GeometryError::NotOrthogonal { dot });
        }
        // Remove the tiny non-orthogonality DICOM rounding leaves, keeping the row direction.
        let col_dir = (col_dir - row_dir * dot)
            .normalized()
            .ok_or(GeometryError::NotOrthogonal { dot })?;
        for (value, axis) in [
            (spacing.between_rows, "between rows"),
            (spacing.between_cols, "between columns"),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(GeometryError::BadSpacing { axis, value });
            }
        }
        if rows == 0 || cols == 0 {
            return Err(GeometryError::EmptyImage { rows, cols });
        }
        Ok(Self {
            origin,
            row_dir,
            col_dir,
            spacing,
            rows,
            cols,
        })
    }

    /// Builds a plane from the DICOM attribute values as they appear in the file:
    /// ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows, Columns.
    ///
    /// # Errors
    /// As [`ImagePlane::new`].
    pub fn from_dicom(
        image_position: [f64; 3],
        image_orientation: [f64; 6],
        pixel_spacing: [f64; 2],
        rows: usize,
        cols: usize,
    ) -> Result<Self, GeometryError> {
        let [rx, ry, rz, cx, cy, cz] = image_orientation;
        Self::new(
            Vec3::from_array(image_position),
            Vec3::new(rx, ry, rz),
            Vec3::new(cx, cy, cz),
            PixelSpacing::from_dicom(pixel_spacing),
            rows,
            cols,
        )
    }

    /// World position of the centre of pixel (0, 0), mm.
    pub fn origin(&self) -> Vec3 {
        self.origin
    }

    /// Unit direction of increasing column index.
    pub fn row_dir(&self) -> Vec3 {
        self.row_dir
    }

    /// Unit direction of increasing row index.
    pub fn col_dir(&self) -> Vec3 {
        self.col_dir
    }

    /// Pixel spacing, mm.
    pub fn spacing(&self) -> PixelSpacing {
        self.spacing
    }

    /// Number of rows (image height).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (image width).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Unit normal `row_dir x col_dir` (the direction in which a DICOM stack usually advances).
    pub fn normal(&self) -> Vec3 {
        self.row_dir.cross(self.col_dir)
    }

    /// World position (mm) of a continuous pixel position; integers are pixel centres.
    pub fn pixel_to_world(&self, row: f64, col: f64) -> Vec3 {
        self.origin
            + self.row_dir * (col * self.spacing.between_cols)
            + self.col_dir * (row * self.spacing.between_rows)
    }

    /// Pixel position of the orthogonal projection of a world point onto the plane.
    pub fn world_to_pixel(&self, p: Vec3) -> PixelPoint {
        let d = p - self.origin;
        PixelPoint {
            row: d.dot(self.col_dir) / self.spacing.between_rows,
            col: d.dot(self.row_dir) / self.spacing.between_cols,
        }
    }

    /// Signed distance (mm) of a world point from the plane, positive along [`Self::normal`].
    pub fn signed_distance(&self, p: Vec3) -> f64 {
        (p - self.origin).dot(self.normal())
    }

    /// World position of the image centre (the middle of the pixel grid).
    pub fn center(&self) -> Vec3 {
        self.pixel_to_world(
            (self.rows as f64 - 1.0) / 2.0,
            (self.cols as f64 - 1.0) / 2.0,
        )
    }

    /// True when a continuous pixel position lies within the image's pixel area (pixel centres
    /// run from 0 to n-1; each pixel extends half a pixel either side).
    pub fn contains_pixel(&self, p: PixelPoint) -> bool {
        p.row >= -0.5
            && p.col >= -0.5
            && p.row <= self.rows as f64 - 0.5
            && p.col <= self.cols as f64 - 0.5
    }
}

fn unit_direction(v: Vec3, which: DirectionName) -> Result<Vec3, GeometryError> {
    if !v.is_finite() {
        return Err(GeometryError::NonFinite {
            what: which.as_str(),
        });
    }
    let norm = v.norm();
    if (norm - 1.0).abs() > DIRECTION_TOLERANCE {
        return Err(GeometryError::NotUnit { which, norm });
    }
    Ok(v * (1.0 / norm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn oblique() -> ImagePlane {
        // Row direction rotated 30 deg about z, column direction tilted out of the axial plane.
        let (s, c) = 30f64.to_radians().sin_cos();
        let row = Vec3::new(c, s, 0.0);
        let col = Vec3::new(-s, c, 0.0) * 0.8 + Vec3::new(0.0, 0.0, -0.6);
        ImagePlane::new(
            Vec3::new(12.5, -40.0, 88.0),
            row,
            col,
            PixelSpacing {
                between_rows: 1.25,
                between_cols: 0.9,
            },
            120,
            96,
        )
        .unwrap()
    }

    #[test]
    fn pixel_to_world_follows_dicom_convention_with_non_square_spacing() {
        // Sagittal-like plane: row_dir = +y (posterior), col_dir = -z (feet).
        let p = ImagePlane::from_dicom(
            [5.0, -100.0, 50.0],
            [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            [2.0, 0.5],
            10,
            20,
        )
        .unwrap();
        // Moving one column advances 0.5 mm along +y; one row advances 2 mm along -z.
        assert_eq!(p.pixel_to_world(0.0, 1.0), Vec3::new(5.0, -99.5, 50.0));
        assert_eq!(p.pixel_to_world(1.0, 0.0), Vec3::new(5.0, -100.0, 48.0));
        assert_eq!(p.pixel_to_world(3.0, 4.0), Vec3::new(5.0, -98.0, 44.0));
        // The normal of (+y) x (-z) is -x.
        assert_eq!(p.normal(), Vec3::new(-1.0, 0.0, 0.0));
    }

    #[test]
    fn world_to_pixel_inverts_pixel_to_world_on_an_oblique_plane() {
        let p = oblique();
        for (r, c) in [(0.0, 0.0), (3.0, 7.0), (119.0, 95.0), (-2.5, 40.25)] {
            let w = p.pixel_to_world(r, c);
            assert_abs_diff_eq!(p.signed_distance(w), 0.0, epsilon = 1e-9);
            let back = p.world_to_pixel(w);
            assert_abs_diff_eq!(back.row, r, epsilon = 1e-9);
            assert_abs_diff_eq!(back.col, c, epsilon = 1e-9);
        }
        // A point off the plane projects to the foot of its perpendicular.
        let w = p.pixel_to_world(10.0, 20.0) + p.normal() * 7.0;
        assert_abs_diff_eq!(p.signed_distance(w), 7.0, epsilon = 1e-9);
        let back = p.world_to_pixel(w);
        assert_abs_diff_eq!(back.row, 10.0, epsilon = 1e-9);
        assert_abs_diff_eq!(back.col, 20.0, epsilon = 1e-9);
    }

    #[test]
    fn distances_in_mm_match_spacing() {
        let p = oblique();
        let a = p.pixel_to_world(0.0, 0.0);
        assert_abs_diff_eq!(
            (p.pixel_to_world(0.0, 10.0) - a).norm(),
            9.0,
            epsilon = 1e-9
        );
        assert_abs_diff_eq!(
            (p.pixel_to_world(10.0, 0.0) - a).norm(),
            12.5,
            epsilon = 1e-9
        );
    }

    #[test]
    fn rounded_direction_cosines_are_accepted_and_renormalised() {
        let p = ImagePlane::from_dicom(
            [0.0; 3],
            [0.60001, 0.79999, 0.0, -0.79999, 0.60002, 0.00001],
            [1.0, 1.0],
            4,
            4,
        )
        .unwrap();
        assert_abs_diff_eq!(p.row_dir().norm(), 1.0, epsilon = 1e-15);
        assert_abs_diff_eq!(p.col_dir().norm(), 1.0, epsilon = 1e-15);
        assert_abs_diff_eq!(p.row_dir().dot(p.col_dir()), 0.0, epsilon = 1e-15);
    }

    #[test]
    fn invalid_geometry_is_a_typed_error() {
        let ok_iop = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        assert!(matches!(
            ImagePlane::from_dicom([0.0; 3], [2.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 2, 2),
            Err(GeometryError::NotUnit {
                which: DirectionName::Row,
                ..
            })
        ));
        assert!(matches!(
            ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.6, 0.8, 0.0], [1.0, 1.0], 2, 2),
            Err(GeometryError::NotOrthogonal { .. })
        ));
        assert!(matches!(
            ImagePlane::from_dicom([0.0; 3], ok_iop, [0.0, 1.0], 2, 2),
            Err(GeometryError::BadSpacing {
                axis: "between rows",
                ..
            })
        ));
        assert!(matches!(
            ImagePlane::from_dicom([f64::NAN, 0.0, 0.0], ok_iop, [1.0, 1.0], 2, 2),
            Err(GeometryError::NonFinite { what: "origin" })
        ));
        assert!(matches!(
            ImagePlane::from_dicom(
                [0.0; 3],
                [f64::INFINITY, 0.0, 0.0, 0.0, 1.0, 0.0],
                [1.0; 2],
                2,
                2
            ),
            Err(GeometryError::NonFinite { .. })
        ));
        assert!(matches!(
            ImagePlane::from_dicom([0.0; 3], ok_iop, [1.0, 1.0], 0, 2),
            Err(GeometryError::EmptyImage { rows: 0, cols: 2 })
        ));
    }

    #[test]
    fn center_and_contains() {
        let p = ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [2.0, 1.0], 5, 9)
            .unwrap();
        assert_eq!(p.center(), Vec3::new(4.0, 4.0, 0.0));
        assert!(p.contains_pixel(PixelPoint {
            row: -0.5,
            col: 8.5
        }));
        assert!(!p.contains_pixel(PixelPoint {
            row: 4.51,
            col: 0.0
        }));
    }
}

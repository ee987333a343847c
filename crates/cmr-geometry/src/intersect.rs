//! Lines where image planes meet, and those lines drawn in an image's pixel grid.
//!
//! The flow is: two [`ImagePlane`]s -> [`ImagePlane::intersect`] -> a 3-D [`Line3`] (or the typed
//! [`PlaneIntersection::Parallel`] outcome) -> [`ImagePlane::project_line`] -> a [`PixelLine`] in
//! one image's `(row, col)` grid -> [`PixelLine::clipped_segment`] (the visible part) or
//! [`PixelLine::signed_distance_map`] (mm from every pixel centre to the line).
//!
//! ```
//! use cmr_geometry::{ImagePlane, PlaneIntersection};
//! // An axial image at z = 0 and a coronal image at y = 20 mm meet in the line y = 20, z = 0.
//! let axial = ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 64, 64)?;
//! let coronal =
//!     ImagePlane::from_dicom([0.0, 20.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0, -1.0], [1.0, 1.0], 64, 64)?;
//! let line = axial.intersection_line(&coronal)?;
//! assert!(line.direction.cross(cmr_geometry::Vec3::new(1.0, 0.0, 0.0)).norm() < 1e-12);
//! // In the axial image that line is row 20, running across the columns.
//! let (a, b) = axial.project_line(&line)?.clipped_segment(&axial).expect("crosses the image");
//! assert!((a.row - 20.0).abs() < 1e-9 && (b.row - 20.0).abs() < 1e-9);
//! assert!((a.col.min(b.col) + 0.5).abs() < 1e-9 && (a.col.max(b.col) - 63.5).abs() < 1e-9);
//! // Two axial slices never meet:
//! let other = ImagePlane::from_dicom([0.0, 0.0, 8.0], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 64, 64)?;
//! assert!(matches!(axial.intersect(&other), PlaneIntersection::Parallel { .. }));
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::GeometryError;
use crate::plane::{ImagePlane, PixelPoint, PixelSpacing};
use crate::Vec3;

/// Planes whose normals make an angle with sine below this are treated as parallel.
///
/// Two planes 0.06 degrees apart meet about a metre away for every millimetre of separation,
/// far outside any MR field of view, and their "intersection" is dominated by the rounding of
/// DICOM's decimal direction cosines (see [`crate::plane::DIRECTION_TOLERANCE`]).
pub const PARALLEL_SIN_TOLERANCE: f64 = 1e-3;

/// A straight line in patient space: `point + t * direction`, `t` in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Line3 {
    /// A point on the line (LPS, mm).
    pub point: Vec3,
    /// Unit direction of the line.
    pub direction: Vec3,
}

impl Line3 {
    /// A line through `point` along `direction` (normalised here).
    ///
    /// # Errors
    /// [`GeometryError::NonFinite`] when the point is not finite or the direction is zero or
    /// not finite.
    pub fn new(point: Vec3, direction: Vec3) -> Result<Self, GeometryError> {
        if !point.is_finite() {
            return Err(GeometryError::NonFinite { what: "line point" });
        }
        let direction = direction.normalized().ok_or(GeometryError::NonFinite {
            what: "line direction",
        })?;
        Ok(Self { point, direction })
    }

    /// The point `t` millimetres along the line from [`Line3::point`].
    pub fn at(&self, t: f64) -> Vec3 {
        self.point + self.direction * t
    }

    /// The point of the line closest to `p`.
    pub fn closest_point(&self, p: Vec3) -> Vec3 {
        self.at((p - self.point).dot(self.direction))
    }

    /// Distance (mm) from `p` to the line.
    pub fn distance_to(&self, p: Vec3) -> f64 {
        (p - self.closest_point(p)).norm()
    }
}

/// How two image planes meet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PlaneIntersection {
    /// They cross in a line.
    Line(Line3),
    /// They are parallel (within [`PARALLEL_SIN_TOLERANCE`]) and do not meet in a line.
    Parallel {
        /// Distance between the planes, mm (0 when they coincide), measured from the second
        /// plane's origin to the first plane.
        separation_mm: f64,
    },
}

/// A line in one image's pixel grid: `point + t * direction`, where `t` is millimetres of
/// in-plane travel. `direction` is therefore in pixels per millimetre:
/// `(drow, dcol) = (u . col_dir / spacing.between_rows, u . row_dir / spacing.between_cols)`
/// for the line's in-plane unit direction `u`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelLine {
    /// A point of the line, in pixels.
    pub point: PixelPoint,
    /// Pixels advanced per millimetre of travel along the line (`row`, `col` components).
    pub direction: PixelPoint,
}

impl ImagePlane {
    /// Where this plane meets `other`: a line, or [`PlaneIntersection::Parallel`].
    ///
    /// The line's point is the point of the line closest to this plane's image centre, and its
    /// direction is `self.normal() x other.normal()` normalised.
    pub fn intersect(&self, other: &ImagePlane) -> PlaneIntersection {
        let n1 = self.normal();
        let n2 = other.normal();
        let d = n1.cross(n2);
        let sin = d.norm();
        if sin < PARALLEL_SIN_TOLERANCE {
            return PlaneIntersection::Parallel {
                separation_mm: self.signed_distance(other.origin()).abs(),
            };
        }
        // Point on both planes: n1.p = h1, n2.p = h2, p = (h1 (n2 x d) + h2 (d x n1)) / |d|^2.
        // Work relative to this image's centre to keep the numbers small.
        let c = self.center();
        let h1 = n1.dot(self.origin() - c);
        let h2 = n2.dot(other.origin() - c);
        let p = (n2.cross(d) * h1 + d.cross(n1) * h2) * (1.0 / (sin * sin));
        let direction = d * (1.0 / sin);
        // p is the point of the line nearest c (it is a combination of n1 and n2, orthogonal
        // to the direction), so c + p is the point nearest the image centre.
        PlaneIntersection::Line(Line3 {
            point: c + p,
            direction,
        })
    }

    /// The line where this plane meets `other`.
    ///
    /// # Errors
    /// [`GeometryError::ParallelPlanes`] when the planes are parallel.
    pub fn intersection_line(&self, other: &ImagePlane) -> Result<Line3, GeometryError> {
        match self.intersect(other) {
            PlaneIntersection::Line(l) => Ok(l),
            PlaneIntersection::Parallel { separation_mm } => {
                Err(GeometryError::ParallelPlanes { separation_mm })
            }
        }
    }

    /// The orthogonal projection of a 3-D line onto this image, in pixel coordinates. A line
    /// that lies in the plane (such as an intersection line) maps exactly onto itself.
    ///
    /// # Errors
    /// [`GeometryError::LinePerpendicularToPlane`] when the line runs along the normal (within
    /// [`PARALLEL_SIN_TOLERANCE`]) and so projects to a point.
    pub fn project_line(&self, line: &Line3) -> Result<PixelLine, GeometryError> {
        let n = self.normal();
        let in_plane = line.direction - n * line.direction.dot(n);
        let sin = in_plane.norm();
        if sin < PARALLEL_SIN_TOLERANCE {
            return Err(GeometryError::LinePerpendicularToPlane { sin_angle: sin });
        }
        let u = in_plane * (1.0 / sin);
        let sp = self.spacing();
        Ok(PixelLine {
            point: self.world_to_pixel(line.point),
            direction: PixelPoint {
                row: u.dot(self.col_dir()) / sp.between_rows,
                col: u.dot(self.row_dir()) / sp.between_cols,
            },
        })
    }
}

impl PixelLine {
    /// The point `t` millimetres of in-plane travel from [`PixelLine::point`].
    pub fn at(&self, t: f64) -> PixelPoint {
        PixelPoint {
            row: self.point.row + t * self.direction.row,
            col: self.point.col + t * self.direction.col,
        }
    }

    /// The part of the line inside `plane`'s pixel area (rows `-0.5..=rows-0.5`, columns
    /// `-0.5..=cols-0.5`, the same area as [`ImagePlane::contains_pixel`]), as its two end
    /// points in order of travel, or `None` when the line misses the image. A line touching
    /// only a corner gives two equal points.
    pub fn clipped_segment(&self, plane: &ImagePlane) -> Option<(PixelPoint, PixelPoint)> {
        // Liang-Barsky clipping of the parameter interval against the four edges.
        let (mut t0, mut t1) = (f64::NEG_INFINITY, f64::INFINITY);
        let edges = [
            (self.point.row, self.direction.row, plane.rows()),
            (self.point.col, self.direction.col, plane.cols()),
        ];
        for (p, d, n) in edges {
            let (lo, hi) = (-0.5, n as f64 - 0.5);
            if d == 0.0 {
                if p < lo || p > hi {
                    return None;
                }
                continue;
            }
            let (a, b) = ((lo - p) / d, (hi - p) / d);
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            t0 = t0.max(a);
            t1 = t1.min(b);
        }
        (t0 <= t1 && t0.is_finite() && t1.is_finite()).then(|| (self.at(t0), self.at(t1)))
    }

    /// Signed distance (mm) from the centre of every pixel of `plane` to this line, as a
    /// `[rows, cols]` array.
    ///
    /// Positive on the side of `n x u`, where `n` is the plane normal and `u` the line's
    /// direction: for a line running toward increasing columns, rows below it (larger row
    /// index) are positive.
    pub fn signed_distance_map(&self, plane: &ImagePlane) -> Array2<f32> {
        let PixelSpacing {
            between_rows: sr,
            between_cols: sc,
        } = plane.spacing();
        // Unit direction in the in-plane millimetre frame (row_mm, col_mm).
        let (ur, uc) = (self.direction.row * sr, self.direction.col * sc);
        let len = (ur * ur + uc * uc).sqrt();
        let (ur, uc) = (ur / len, uc / len);
        let (r0, c0) = (self.point.row * sr, self.point.col * sc);
        // n x u = uc * col_dir - ur * row_dir, i.e. (uc, -ur) in (row_mm, col_mm).
        Array2::from_shape_fn((plane.rows(), plane.cols()), |(r, c)| {
            let dr = r as f64 * sr - r0;
            let dc = c as f64 * sc - c0;
            (dr * uc - dc * ur) as f32
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn oblique_sa() -> ImagePlane {
        // A short-axis-like plane as a scanner writes it (UK Biobank-like cosines).
        ImagePlane::from_dicom(
            [-93.5, -121.3, 118.4],
            [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
            [1.8, 1.6],
            208,
            180,
        )
        .unwrap()
    }

    fn oblique_la() -> ImagePlane {
        // A long-axis-like plane, not orthogonal to the SA plane.
        let (s, c) = 50f64.to_radians().sin_cos();
        let row = Vec3::new(c, 0.0, s);
        let col = Vec3::new(0.3, -0.8, 0.0).normalized().unwrap();
        let col = (col - row * col.dot(row)).normalized().unwrap();
        ImagePlane::new(
            Vec3::new(-60.0, -140.0, 90.0),
            row,
            col,
            PixelSpacing {
                between_rows: 1.4,
                between_cols: 2.1,
            },
            160,
            190,
        )
        .unwrap()
    }

    #[test]
    fn axis_aligned_planes_meet_in_the_known_line() {
        // z = 5 (axial) and x = -7 (sagittal): the line x = -7, z = 5, along y.
        let axial = ImagePlane::from_dicom(
            [-50.0, -50.0, 5.0],
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0],
            100,
            100,
        )
        .unwrap();
        let sagittal = ImagePlane::from_dicom(
            [-7.0, -50.0, 50.0],
            [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            [0.5, 2.0],
            100,
            100,
        )
        .unwrap();
        let line = axial.intersection_line(&sagittal).unwrap();
        assert_abs_diff_eq!(line.direction.cross(Vec3::new(0.0, 1.0, 0.0)).norm(), 0.0);
        assert_abs_diff_eq!(line.point.x, -7.0, epsilon = 1e-12);
        assert_abs_diff_eq!(line.point.z, 5.0, epsilon = 1e-12);
        // The point is the one nearest the axial image centre (y = -0.5).
        assert_abs_diff_eq!(line.point.y, -0.5, epsilon = 1e-12);
        // Projected into the axial image: column 43 (x = -7), every row.
        let pl = axial.project_line(&line).unwrap();
        let (a, b) = pl.clipped_segment(&axial).unwrap();
        for p in [a, b] {
            assert_abs_diff_eq!(p.col, 43.0, epsilon = 1e-9);
        }
        assert_abs_diff_eq!(a.row.min(b.row), -0.5, epsilon = 1e-9);
        assert_abs_diff_eq!(a.row.max(b.row), 99.5, epsilon = 1e-9);
    }

    #[test]
    fn points_on_both_oblique_planes_lie_on_the_line() {
        let sa = oblique_sa();
        let la = oblique_la();
        let line = sa.intersection_line(&la).unwrap();
        // The line lies in both planes.
        for t in [-300.0, -20.0, 0.0, 55.5, 400.0] {
            let p = line.at(t);
            assert_abs_diff_eq!(sa.signed_distance(p), 0.0, epsilon = 1e-9);
            assert_abs_diff_eq!(la.signed_distance(p), 0.0, epsilon = 1e-9);
        }
        // Independently constructed points on both planes: walk along an SA row until the
        // signed distance to the LA plane changes sign, solve for the crossing; every such
        // point lies on the line.
        for row in [0.0, 50.0, 120.0, 207.0] {
            let a = sa.pixel_to_world(row, 0.0);
            let b = sa.pixel_to_world(row, 179.0);
            let (da, db) = (la.signed_distance(a), la.signed_distance(b));
            let p = a + (b - a) * (da / (da - db));
            assert_abs_diff_eq!(la.signed_distance(p), 0.0, epsilon = 1e-9);
            assert_abs_diff_eq!(line.distance_to(p), 0.0, epsilon = 1e-9);
        }
        // The same line, seen from the other plane.
        let back = la.intersection_line(&sa).unwrap();
        assert_abs_diff_eq!(back.direction.dot(line.direction), -1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(line.distance_to(back.point), 0.0, epsilon = 1e-9);
    }

    #[test]
    fn parallel_planes_give_the_typed_outcome() {
        let sa = oblique_sa();
        let shifted = ImagePlane::new(
            sa.origin() + sa.normal() * 8.0 + sa.row_dir() * 3.0,
            sa.row_dir(),
            sa.col_dir(),
            sa.spacing(),
            100,
            100,
        )
        .unwrap();
        match sa.intersect(&shifted) {
            PlaneIntersection::Parallel { separation_mm } => {
                assert_abs_diff_eq!(separation_mm, 8.0, epsilon = 1e-9)
            }
            other => panic!("expected parallel, got {other:?}"),
        }
        assert!(matches!(
            sa.intersection_line(&shifted),
            Err(GeometryError::ParallelPlanes { .. })
        ));
        // Anti-parallel normals are parallel planes too, and the same plane coincides.
        let flipped =
            ImagePlane::new(sa.origin(), -sa.row_dir(), sa.col_dir(), sa.spacing(), 4, 4).unwrap();
        assert!(matches!(
            sa.intersect(&flipped),
            PlaneIntersection::Parallel { separation_mm } if separation_mm.abs() < 1e-12
        ));
        // A plane tilted by 1 degree is not parallel.
        let tilt = 1f64.to_radians();
        let col = sa.col_dir() * tilt.cos() + sa.normal() * tilt.sin();
        let tilted = ImagePlane::new(sa.origin(), sa.row_dir(), col, sa.spacing(), 4, 4).unwrap();
        let line = sa.intersection_line(&tilted).unwrap();
        assert!(line.point.is_finite() && line.direction.is_finite());
        assert_abs_diff_eq!(line.direction.dot(sa.row_dir()).abs(), 1.0, epsilon = 1e-12);
    }

    #[test]
    fn projected_line_maps_back_onto_the_world_line() {
        let sa = oblique_sa();
        let la = oblique_la();
        let line = sa.intersection_line(&la).unwrap();
        let pl = sa.project_line(&line).unwrap();
        // Travelling t mm along the pixel line is travelling t mm along the world line.
        for t in [-40.0, 0.0, 12.5, 90.0] {
            let pp = pl.at(t);
            let w = sa.pixel_to_world(pp.row, pp.col);
            assert_abs_diff_eq!((w - line.at(t)).norm(), 0.0, epsilon = 1e-9);
        }
        // The clipped ends are on the image border and on the line.
        let (a, b) = pl
            .clipped_segment(&sa)
            .expect("the LA plane crosses the SA image");
        for p in [a, b] {
            assert!(sa.contains_pixel(p));
            let on_border = [p.row + 0.5, p.col + 0.5, 207.5 - p.row, 179.5 - p.col]
                .iter()
                .any(|d| d.abs() < 1e-9);
            assert!(on_border, "{p:?} is not on the border");
            assert_abs_diff_eq!(
                line.distance_to(sa.pixel_to_world(p.row, p.col)),
                0.0,
                epsilon = 1e-9
            );
        }
    }

    #[test]
    fn projection_of_an_off_plane_line_is_orthogonal() {
        let axial =
            ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.5, 2.0], 40, 40)
                .unwrap();
        // A line rising out of the plane at 45 degrees over the x axis through (4, 3, 10).
        let line = Line3::new(Vec3::new(4.0, 3.0, 10.0), Vec3::new(1.0, 0.0, 1.0)).unwrap();
        let pl = axial.project_line(&line).unwrap();
        assert_abs_diff_eq!(pl.point.row, 6.0, epsilon = 1e-12); // y = 3 at 0.5 mm rows
        assert_abs_diff_eq!(pl.point.col, 2.0, epsilon = 1e-12); // x = 4 at 2 mm columns
        assert_abs_diff_eq!(pl.direction.row, 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(pl.direction.col, 0.5, epsilon = 1e-12); // 1 mm = 0.5 column
                                                                     // A line along the normal has no pixel line.
        let vertical = Line3::new(Vec3::new(1.0, 1.0, 1.0), Vec3::new(0.0, 0.0, -2.0)).unwrap();
        assert!(matches!(
            axial.project_line(&vertical),
            Err(GeometryError::LinePerpendicularToPlane { .. })
        ));
        assert!(Line3::new(Vec3::default(), Vec3::default()).is_err());
    }

    #[test]
    fn clipping_handles_misses_axis_parallel_lines_and_corners() {
        let p =
            ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 10, 20)
                .unwrap();
        let horizontal = |row: f64| PixelLine {
            point: PixelPoint { row, col: 3.0 },
            direction: PixelPoint { row: 0.0, col: 1.0 },
        };
        assert!(horizontal(10.0).clipped_segment(&p).is_none());
        assert!(horizontal(-0.6).clipped_segment(&p).is_none());
        let (a, b) = horizontal(9.5).clipped_segment(&p).unwrap();
        assert_eq!((a.col, b.col), (-0.5, 19.5));
        // The diagonal through the top-left corner with slope 1 ends on the bottom edge.
        let diag = PixelLine {
            point: PixelPoint {
                row: -0.5,
                col: -0.5,
            },
            direction: PixelPoint { row: 1.0, col: 1.0 },
        };
        let (a, b) = diag.clipped_segment(&p).unwrap();
        assert_abs_diff_eq!(a.row, -0.5);
        assert_abs_diff_eq!(a.col, -0.5);
        assert_abs_diff_eq!(b.row, 9.5);
        assert_abs_diff_eq!(b.col, 9.5);
        // A line that only touches the bottom-right corner.
        let touch = PixelLine {
            point: PixelPoint {
                row: 9.5,
                col: 19.5,
            },
            direction: PixelPoint {
                row: 1.0,
                col: -1.0,
            },
        };
        let (a, b) = touch.clipped_segment(&p).unwrap();
        assert_abs_diff_eq!(a.row, b.row);
        assert_abs_diff_eq!(a.col, b.col);
        // A line passing just outside that corner misses.
        let miss = PixelLine {
            point: PixelPoint {
                row: 9.6,
                col: 19.5,
            },
            direction: PixelPoint {
                row: 1.0,
                col: -1.0,
            },
        };
        assert!(miss.clipped_segment(&p).is_none());
    }

    #[test]
    fn signed_distance_map_matches_hand_values_and_world_distances() {
        // Axial plane, 0.5 mm rows, 2 mm columns; the line y = 3 mm running along +x.
        let axial =
            ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.5, 2.0], 12, 5)
                .unwrap();
        let line = Line3::new(Vec3::new(0.0, 3.0, 0.0), Vec3::new(1.0, 0.0, 0.0)).unwrap();
        let map = axial
            .project_line(&line)
            .unwrap()
            .signed_distance_map(&axial);
        assert_eq!(map.dim(), (12, 5));
        for ((r, _), &d) in map.indexed_iter() {
            // Row r sits at y = 0.5 r; positive below the line (larger rows).
            assert_abs_diff_eq!(d, (0.5 * r as f64 - 3.0) as f32, epsilon = 1e-6);
        }
        // Oblique: |map| equals the world distance of each pixel centre from the line, and the
        // sign follows n x u.
        let sa = oblique_sa();
        let line = sa.intersection_line(&oblique_la()).unwrap();
        let pl = sa.project_line(&line).unwrap();
        let map = pl.signed_distance_map(&sa);
        let side = sa.normal().cross(line.direction);
        for (r, c) in [(0, 0), (10, 170), (207, 3), (100, 90), (150, 20)] {
            let w = sa.pixel_to_world(r as f64, c as f64);
            let expected = (w - line.closest_point(w)).dot(side);
            assert_abs_diff_eq!(map[[r, c]] as f64, expected, epsilon = 1e-3);
            assert_abs_diff_eq!(expected.abs(), line.distance_to(w), epsilon = 1e-9);
        }
    }
}

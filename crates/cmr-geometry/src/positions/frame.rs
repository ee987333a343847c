//! In-plane millimetre geometry shared by the layouts: lines of other views on a target image,
//! the LV centre, the LV long axis and the SA levels on LA images.
//!
//! Each target image gets a 2-D frame in millimetres, `y` along the column direction (down the
//! rows) and `x` along the row direction (across the columns). The direction cosines are
//! orthonormal, so distances in this frame are true millimetres whatever the pixel spacing.

use std::ops::{Add, Mul, Neg, Sub};

use super::{AnatomicalReferences, MissingReason, MissingReference, ViewPlanes};
use crate::error::GeometryError;
use crate::{ImagePlane, Line3, PixelPoint, PixelSpacing, PlaneIntersection, Vec3, View};

/// A point or vector in a target image's in-plane millimetre frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct P2 {
    pub y: f64,
    pub x: f64,
}

impl P2 {
    pub fn dot(self, o: Self) -> f64 {
        self.y * o.y + self.x * o.x
    }
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }
    /// 2-D cross product (z component).
    pub fn cross(self, o: Self) -> f64 {
        self.y * o.x - self.x * o.y
    }
    pub fn unit(self) -> Option<Self> {
        let n = self.norm();
        (n.is_finite() && n > 1e-12).then(|| self * (1.0 / n))
    }
}

impl Add for P2 {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        P2 {
            y: self.y + o.y,
            x: self.x + o.x,
        }
    }
}
impl Sub for P2 {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        P2 {
            y: self.y - o.y,
            x: self.x - o.x,
        }
    }
}
impl Mul<f64> for P2 {
    type Output = Self;
    fn mul(self, s: f64) -> Self {
        P2 {
            y: self.y * s,
            x: self.x * s,
        }
    }
}
impl Neg for P2 {
    type Output = Self;
    fn neg(self) -> Self {
        self * -1.0
    }
}

/// World point -> in-plane mm (orthogonal projection).
pub(crate) fn point_in(plane: &ImagePlane, w: Vec3) -> P2 {
    let d = w - plane.origin();
    P2 {
        y: d.dot(plane.col_dir()),
        x: d.dot(plane.row_dir()),
    }
}

/// World direction -> in-plane mm direction (projected, not normalised).
pub(crate) fn direction_in(plane: &ImagePlane, u: Vec3) -> P2 {
    P2 {
        y: u.dot(plane.col_dir()),
        x: u.dot(plane.row_dir()),
    }
}

/// In-plane mm -> pixel coordinates.
pub(crate) fn to_pixel(plane: &ImagePlane, p: P2) -> PixelPoint {
    let PixelSpacing {
        between_rows,
        between_cols,
    } = plane.spacing();
    PixelPoint {
        row: p.y / between_rows,
        col: p.x / between_cols,
    }
}

/// A line in a target's in-plane frame with an anatomically oriented unit direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Line2 {
    pub point: P2,
    pub dir: P2,
}

impl Line2 {
    /// The projection of a 3-D line, oriented along `reference` (a world direction).
    pub fn from_line3(plane: &ImagePlane, line: &Line3, reference: Vec3) -> Option<Self> {
        let oriented = AnatomicalReferences::orient(line.direction, reference);
        Some(Self {
            point: point_in(plane, line.point),
            dir: direction_in(plane, oriented).unit()?,
        })
    }
}

/// Sine of the smallest angle between two in-plane lines for their crossing to count as a
/// point (5 degrees): nearly parallel lines cross far away and wobble with rounding.
const MIN_CROSSING_SIN: f64 = 0.087;

/// The least-squares point nearest a set of lines (their crossing for two lines), or `None` when
/// the lines are (nearly) parallel. Minimises `sum |(I - u u^T)(p - q)|^2`.
pub(crate) fn crossing(lines: &[Line2]) -> Option<P2> {
    if lines.len() < 2 {
        return None;
    }
    let well_conditioned = lines.iter().enumerate().any(|(i, a)| {
        lines[i + 1..]
            .iter()
            .any(|b| a.dir.cross(b.dir).abs() >= MIN_CROSSING_SIN)
    });
    if !well_conditioned {
        return None;
    }
    // Normal equations: A p = b, A = sum (I - u u^T), b = sum (I - u u^T) q.
    let (mut a11, mut a12, mut a22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for l in lines {
        let (uy, ux) = (l.dir.y, l.dir.x);
        let (m11, m12, m22) = (1.0 - uy * uy, -uy * ux, 1.0 - ux * ux);
        a11 += m11;
        a12 += m12;
        a22 += m22;
        b1 += m11 * l.point.y + m12 * l.point.x;
        b2 += m12 * l.point.y + m22 * l.point.x;
    }
    let det = a11 * a22 - a12 * a12;
    let p = P2 {
        y: (a22 * b1 - a12 * b2) / det,
        x: (a11 * b2 - a12 * b1) / det,
    };
    (p.y.is_finite() && p.x.is_finite()).then_some(p)
}

/// The line where `target` meets the plane of `view` (if the study has it), projected into the
/// target frame and oriented along `reference`.
pub(crate) fn view_line(
    target: &ImagePlane,
    view: View,
    refs: &ViewPlanes,
    reference: Vec3,
) -> Result<(Line2, Line3), MissingReference> {
    let missing = |reason| MissingReference { view, reason };
    let plane = refs
        .long_axis(view)
        .ok_or_else(|| missing(MissingReason::Absent))?;
    match target.intersect(plane) {
        PlaneIntersection::Parallel { .. } => Err(missing(MissingReason::ParallelToTarget)),
        PlaneIntersection::Line(l) => Line2::from_line3(target, &l, reference)
            .map(|l2| (l2, l))
            .ok_or_else(|| missing(MissingReason::Degenerate("line has no extent".into()))),
    }
}

/// The LV long axis as a 3-D line, oriented toward the apex: the intersection of two LA planes,
/// preferring 2Ch x 4Ch, then 2Ch x 3Ch, then 3Ch x 4Ch.
pub(crate) fn long_axis(refs: &ViewPlanes, anat: &AnatomicalReferences) -> Option<Line3> {
    let pairs = [
        (&refs.two_chamber, &refs.four_chamber),
        (&refs.two_chamber, &refs.three_chamber),
        (&refs.three_chamber, &refs.four_chamber),
    ];
    pairs.iter().find_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) => match a.intersect(b) {
            PlaneIntersection::Line(l) => Some(Line3 {
                point: l.point,
                direction: anat.apex_direction(l.direction),
            }),
            PlaneIntersection::Parallel { .. } => None,
        },
        _ => None,
    })
}

/// The SA stack's through-plane direction (oriented toward the apex) and the positions of its
/// slices along it, sorted base to apex. `None` for an empty stack.
pub(crate) fn sa_levels(
    refs: &ViewPlanes,
    anat: &AnatomicalReferences,
) -> Option<(ImagePlane, Vec3, Vec<f64>)> {
    let mid = refs.short_axis.get(refs.short_axis.len() / 2)?;
    let n = anat.apex_direction(mid.normal());
    let mut t: Vec<f64> = refs.short_axis.iter().map(|p| p.center().dot(n)).collect();
    t.sort_by(f64::total_cmp);
    Some((*mid, n, t))
}

/// A plane parallel to `template` shifted so that `normal . centre = t`; `None` when the
/// shifted origin is not finite (planes with coordinates near the `f64` range overflow).
pub(crate) fn parallel_plane_at(template: &ImagePlane, normal: Vec3, t: f64) -> Option<ImagePlane> {
    let shift = t - template.center().dot(normal);
    ImagePlane::new(
        template.origin() + normal * shift,
        template.row_dir(),
        template.col_dir(),
        template.spacing(),
        template.rows(),
        template.cols(),
    )
    .ok()
}

/// An error for a target on which no positions can be derived.
pub(crate) fn underivable(view: View, reason: impl Into<String>) -> GeometryError {
    GeometryError::PositionsUnderivable {
        view,
        reason: reason.into(),
    }
}

/// A plane whose image centre sits at `centre`.
pub(crate) fn plane_centred_at(
    centre: Vec3,
    row_dir: Vec3,
    col_dir: Vec3,
    spacing_mm: f64,
    rows: usize,
    cols: usize,
) -> ImagePlane {
    let half_r = (rows as f64 - 1.0) / 2.0 * spacing_mm;
    let half_c = (cols as f64 - 1.0) / 2.0 * spacing_mm;
    ImagePlane::new(
        centre - col_dir * half_r - row_dir * half_c,
        row_dir,
        col_dir,
        PixelSpacing {
            between_rows: spacing_mm,
            between_cols: spacing_mm,
        },
        rows,
        cols,
    )
    .expect("example planes are valid")
}

/// See [`super::example_heart`].
pub(crate) fn example_heart(size: usize, spacing_mm: f64) -> ViewPlanes {
    let anat = AnatomicalReferences::default();
    let a = anat.apex.normalized().expect("non-zero");
    let r = anat.right_ventricle.normalized().expect("non-zero");
    let i = a.cross(r);
    let axis_point = Vec3::new(10.0, -5.0, 0.0);
    let (s, c) = 50f64.to_radians().sin_cos();
    let plane = |centre, row, col| plane_centred_at(centre, row, col, spacing_mm, size, size);
    ViewPlanes {
        short_axis: (-4..=4)
            .map(|k| plane(axis_point + a * (10.0 * f64::from(k)), r, i))
            .collect(),
        two_chamber: Some(plane(axis_point, i, a)),
        three_chamber: Some(plane(axis_point, r * c + i * s, a)),
        four_chamber: Some(plane(axis_point, r, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(py: f64, px: f64, dy: f64, dx: f64) -> Line2 {
        Line2 {
            point: P2 { y: py, x: px },
            dir: P2 { y: dy, x: dx }.unit().unwrap(),
        }
    }

    #[test]
    fn two_lines_cross_at_their_intersection() {
        // y = 3 (horizontal) and x = -2 (vertical), given by points away from the crossing.
        let p = crossing(&[line(3.0, 10.0, 0.0, 1.0), line(-7.0, -2.0, 1.0, 0.0)]).unwrap();
        assert!((p.y - 3.0).abs() < 1e-12 && (p.x + 2.0).abs() < 1e-12);
        // Oblique pair through (1, 1).
        let p = crossing(&[line(0.0, 0.0, 1.0, 1.0), line(2.0, 0.0, -1.0, 1.0)]).unwrap();
        assert!((p.y - 1.0).abs() < 1e-12 && (p.x - 1.0).abs() < 1e-12);
    }

    #[test]
    fn three_lines_give_the_least_squares_point() {
        // Lines x = 0, y = 0 and x + y = 3. The squared distances sum to
        // x^2 + y^2 + (x + y - 3)^2 / 2; setting the gradient to zero gives
        // 2x + (x + y - 3) = 0 and the same in y, so x = y = 3/4.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let p = crossing(&[
            line(5.0, 0.0, 1.0, 0.0),
            line(0.0, 5.0, 0.0, 1.0),
            line(1.5, 1.5, s, -s),
        ])
        .unwrap();
        assert!(
            (p.y - 0.75).abs() < 1e-12 && (p.x - 0.75).abs() < 1e-12,
            "{p:?}"
        );
    }

    #[test]
    fn nearly_parallel_lines_have_no_crossing() {
        assert!(crossing(&[line(0.0, 0.0, 0.0, 1.0), line(1.0, 0.0, 0.01, 1.0)]).is_none());
        assert!(crossing(&[line(0.0, 0.0, 0.0, 1.0)]).is_none());
    }
}

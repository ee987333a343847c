//! [`Ellipsoid`]: the simplest analytic solid, imaged on any [`ImagePlane`].
//!
//! ```
//! use cmr_geometry::{ImagePlane, Vec3};
//! use cmr_phantom::Ellipsoid;
//! // A sphere of radius 20 mm at the origin, imaged on an axial plane through its centre.
//! let ball = Ellipsoid::axis_aligned(Vec3::default(), [20.0, 20.0, 20.0]);
//! let plane = ImagePlane::from_dicom(
//!     [-31.5, -31.5, 0.0], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 64, 64)?;
//! let mask = ball.mask_on(&plane);
//! let area = mask.iter().filter(|&&m| m).count() as f64; // 1 mm^2 pixels
//! assert!((area - std::f64::consts::PI * 400.0).abs() < 25.0);
//! # Ok::<(), cmr_geometry::GeometryError>(())
//! ```

use cmr_geometry::{ImagePlane, Vec3};
use ndarray::Array2;

/// A solid ellipsoid in patient space: centre, three orthonormal axes and semi-axis lengths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipsoid {
    centre: Vec3,
    axes: [Vec3; 3],
    semi_axes: [f64; 3],
}

impl Ellipsoid {
    /// An ellipsoid whose axes are the given orthonormal directions. `None` when the axes are
    /// not orthonormal (to 1e-9) or a semi-axis is not positive and finite.
    pub fn new(centre: Vec3, axes: [Vec3; 3], semi_axes: [f64; 3]) -> Option<Self> {
        let unit = axes.iter().all(|a| (a.norm() - 1.0).abs() < 1e-9);
        let ortho = axes[0].dot(axes[1]).abs() < 1e-9
            && axes[0].dot(axes[2]).abs() < 1e-9
            && axes[1].dot(axes[2]).abs() < 1e-9;
        let positive = semi_axes.iter().all(|s| s.is_finite() && *s > 0.0);
        (unit && ortho && positive && centre.is_finite()).then_some(Self {
            centre,
            axes,
            semi_axes,
        })
    }

    /// An ellipsoid aligned with the patient axes (semi-axes along x, y, z in mm).
    ///
    /// # Panics
    /// When a semi-axis is not positive and finite.
    pub fn axis_aligned(centre: Vec3, semi_axes: [f64; 3]) -> Self {
        Self::new(
            centre,
            [
                Vec3::new(1.0, 0.0, 0.0),
                Vec3::new(0.0, 1.0, 0.0),
                Vec3::new(0.0, 0.0, 1.0),
            ],
            semi_axes,
        )
        .expect("semi-axes must be positive and finite")
    }

    /// The implicit function `sum((d·axis_i / s_i)^2)`: below 1 inside, above 1 outside.
    pub fn level(&self, p: Vec3) -> f64 {
        let d = p - self.centre;
        self.axes
            .iter()
            .zip(self.semi_axes)
            .map(|(a, s)| (d.dot(*a) / s).powi(2))
            .sum()
    }

    /// True when the point lies inside (or on) the ellipsoid.
    pub fn contains(&self, p: Vec3) -> bool {
        self.level(p) <= 1.0
    }

    /// Volume in mm^3 (4/3 pi a b c).
    pub fn volume(&self) -> f64 {
        4.0 / 3.0 * std::f64::consts::PI * self.semi_axes.iter().product::<f64>()
    }

    /// The mask of pixel centres inside the ellipsoid on an image plane.
    pub fn mask_on(&self, plane: &ImagePlane) -> Array2<bool> {
        Array2::from_shape_fn((plane.rows(), plane.cols()), |(r, c)| {
            self.contains(plane.pixel_to_world(r as f64, c as f64))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oblique_section_area_matches_the_analytic_ellipse() {
        // Ellipsoid with semi-axes 30, 20, 10 along rotated axes; section through the centre
        // by the plane spanned by its first two axes is an ellipse of area pi*30*20.
        let (s, c) = 25f64.to_radians().sin_cos();
        let a0 = Vec3::new(c, s, 0.0);
        let a1 = Vec3::new(-s, c, 0.0);
        let a2 = Vec3::new(0.0, 0.0, 1.0);
        let e =
            Ellipsoid::new(Vec3::new(5.0, -3.0, 40.0), [a0, a1, a2], [30.0, 20.0, 10.0]).unwrap();
        let spacing = 0.5;
        let n = 160;
        let half = (n as f64 - 1.0) / 2.0 * spacing;
        let origin = Vec3::new(5.0, -3.0, 40.0) - a0 * half - a1 * half;
        let iop = [a0.x, a0.y, a0.z, a1.x, a1.y, a1.z];
        let plane =
            ImagePlane::from_dicom(origin.to_array(), iop, [spacing, spacing], n, n).unwrap();
        let area = e.mask_on(&plane).iter().filter(|&&m| m).count() as f64 * spacing * spacing;
        let expected = std::f64::consts::PI * 30.0 * 20.0;
        assert!(
            (area - expected).abs() / expected < 0.01,
            "{area} vs {expected}"
        );
        // Off-centre parallel plane at 6 mm along the third axis: semi-axes scale by sqrt(1-0.36).
        let shifted = ImagePlane::from_dicom(
            (origin + a2 * 6.0).to_array(),
            iop,
            [spacing, spacing],
            n,
            n,
        )
        .unwrap();
        let area = e.mask_on(&shifted).iter().filter(|&&m| m).count() as f64 * spacing * spacing;
        let expected = expected * 0.64;
        assert!(
            (area - expected).abs() / expected < 0.015,
            "{area} vs {expected}"
        );
    }

    #[test]
    fn rejects_non_orthonormal_axes() {
        let x = Vec3::new(1.0, 0.0, 0.0);
        assert!(
            Ellipsoid::new(Vec3::default(), [x, x, Vec3::new(0.0, 0.0, 1.0)], [1.0; 3]).is_none()
        );
        let y = Vec3::new(0.0, 1.0, 0.0);
        let z = Vec3::new(0.0, 0.0, 1.0);
        assert!(Ellipsoid::new(Vec3::default(), [x, y, z], [1.0, 0.0, 1.0]).is_none());
        let e = Ellipsoid::new(Vec3::default(), [x, y, z], [1.0, 2.0, 3.0]).unwrap();
        assert!((e.volume() - 8.0 * std::f64::consts::PI).abs() < 1e-12);
    }
}

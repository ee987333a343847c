//! Small implicit solids used by the anatomy: axis-aligned ellipsoids in a local frame,
//! capsules (tubes with round ends) and the closed-form volume of a truncated ellipsoid.

use cmr_geometry::Vec3;

/// A point in the heart's local frame: `[septal, anterior, long-axis]` millimetres.
pub(crate) type Local = [f64; 3];

/// An ellipsoid whose axes are the local frame's axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AxisEllipsoid {
    pub(crate) centre: Local,
    pub(crate) semi: [f64; 3],
    inv_sq: [f64; 3],
}

impl AxisEllipsoid {
    pub(crate) fn new(centre: Local, semi: [f64; 3]) -> Self {
        Self {
            centre,
            semi,
            inv_sq: semi.map(|s| 1.0 / (s * s)),
        }
    }

    /// `sum(((q - c)_i / s_i)^2)`: below 1 inside.
    #[inline]
    pub(crate) fn level(&self, q: Local) -> f64 {
        let d0 = q[0] - self.centre[0];
        let d1 = q[1] - self.centre[1];
        let d2 = q[2] - self.centre[2];
        d0 * d0 * self.inv_sq[0] + d1 * d1 * self.inv_sq[1] + d2 * d2 * self.inv_sq[2]
    }

    /// How far (mm) `q` lies outside the surface along the ray from the centre (negative
    /// inside), given its level. Exact for spheres; for ellipsoids it over-estimates the normal
    /// distance where the surface is oblique to the ray, which is harmless for the thin layers
    /// (walls, fat) it is used for.
    #[inline]
    pub(crate) fn radial_excess(&self, q: Local, level: f64) -> f64 {
        let d0 = q[0] - self.centre[0];
        let d1 = q[1] - self.centre[1];
        let d2 = q[2] - self.centre[2];
        let r = (d0 * d0 + d1 * d1 + d2 * d2).sqrt();
        let l = level.sqrt();
        if l <= 0.0 {
            return -self.semi.iter().cloned().fold(f64::INFINITY, f64::min);
        }
        r * (1.0 - 1.0 / l)
    }

    /// The same ellipsoid with every semi-axis grown by `by` mm.
    pub(crate) fn grown(&self, by: f64) -> Self {
        Self::new(self.centre, self.semi.map(|s| s + by))
    }

    /// The lowest value of `q . dir` over the ellipsoid (support function), for a unit `dir`
    /// given in local components.
    pub(crate) fn support(&self, dir: [f64; 3]) -> f64 {
        let c = self.centre[0] * dir[0] + self.centre[1] * dir[1] + self.centre[2] * dir[2];
        let r = ((self.semi[0] * dir[0]).powi(2)
            + (self.semi[1] * dir[1]).powi(2)
            + (self.semi[2] * dir[2]).powi(2))
        .sqrt();
        c + r
    }
}

/// Circumferential shape harmonics of a cross-section, applied so that every cross-sectional
/// area stays exactly that of the unperturbed ellipse.
///
/// In normalised in-plane coordinates (`rho = 1` on the ellipse) the boundary becomes
/// `rho(phi) = (1 + d(phi)) / sqrt(C)` with `d(phi) = sum_m A_m cos(m phi + p_m)`
/// (`m = 2, 3, 4`) and `C = 1 + sum_m A_m^2 / 2`, the mean of `(1 + d)^2` over `phi`. The
/// enclosed area is `(1/2) int rho^2 dphi = pi`, unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Harmonics {
    /// `A_m cos p_m` and `A_m sin p_m` for m = 2, 3, 4.
    cos_part: [f64; 3],
    sin_part: [f64; 3],
    norm: f64,
    min_factor: f64,
}

impl Harmonics {
    /// From `[amplitude, phase]` of orders 2, 3, 4. Amplitudes must sum to less than 1.
    pub(crate) fn new(shape: [[f64; 2]; 3]) -> Self {
        let sum: f64 = shape.iter().map(|h| h[0]).sum();
        let norm = 1.0 + shape.iter().map(|h| h[0] * h[0] / 2.0).sum::<f64>();
        Self {
            cos_part: shape.map(|h| h[0] * h[1].cos()),
            sin_part: shape.map(|h| h[0] * h[1].sin()),
            norm,
            min_factor: norm / ((1.0 + sum) * (1.0 + sum)),
        }
    }

    /// The factor `C / (1 + d(phi))^2` that multiplies `rho^2` in the level function, from
    /// `(cos phi, sin phi)` (no trigonometric calls: `cos(m phi + p) = cos(m phi) cos p -
    /// sin(m phi) sin p`, with the multiple angles from complex powers).
    #[inline]
    pub(crate) fn factor(&self, c: f64, s: f64) -> f64 {
        let (c2, s2) = (c * c - s * s, 2.0 * c * s);
        let (c3, s3) = (c2 * c - s2 * s, c2 * s + s2 * c);
        let (c4, s4) = (c2 * c2 - s2 * s2, 2.0 * c2 * s2);
        let d = (c2 * self.cos_part[0] - s2 * self.sin_part[0])
            + (c3 * self.cos_part[1] - s3 * self.sin_part[1])
            + (c4 * self.cos_part[2] - s4 * self.sin_part[2]);
        self.norm / ((1.0 + d) * (1.0 + d))
    }

    /// The smallest possible factor (for quick rejection).
    pub(crate) fn min_factor(&self) -> f64 {
        self.min_factor
    }
}

/// Level of an axis-aligned ellipsoid (axis along local `w`) whose cross-sections carry
/// `harmonics`: `rho^2 * factor(phi) + ((w - c_w) / c)^2`, below 1 inside.
#[inline]
pub(crate) fn perturbed_level(e: &AxisEllipsoid, h: &Harmonics, q: Local) -> f64 {
    let x = (q[0] - e.centre[0]) / e.semi[0];
    let y = (q[1] - e.centre[1]) / e.semi[1];
    let z = (q[2] - e.centre[2]) / e.semi[2];
    let rho2 = x * x + y * y;
    let zz = z * z;
    if zz >= 1.0 || rho2 * h.min_factor() + zz > 1.0 || rho2 == 0.0 {
        // Outside for any angle (or on the axis): skip the harmonics.
        return rho2 * h.min_factor() + zz;
    }
    let rho = rho2.sqrt();
    rho2 * h.factor(x / rho, y / rho) + zz
}

/// A capsule: the points within `radius` of the segment from `a` to `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Capsule {
    pub(crate) a: Vec3,
    pub(crate) b: Vec3,
    pub(crate) radius: f64,
}

impl Capsule {
    /// Distance from `p` to the segment.
    #[inline]
    pub(crate) fn axis_distance(&self, p: Vec3) -> f64 {
        let ab = self.b - self.a;
        let len2 = ab.dot(ab);
        let t = if len2 > 0.0 {
            ((p - self.a).dot(ab) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (p - (self.a + ab * t)).norm()
    }

    #[inline]
    pub(crate) fn contains(&self, p: Vec3) -> bool {
        self.axis_distance(p) <= self.radius
    }
}

/// Volume of the part of the ellipsoid with semi-axes `a`, `b` (across) and `c` (along the
/// axis) between the plane `h` above its centre and its far pole:
/// `pi a b [(c + h) - (c^3 + h^3) / (3 c^2)]` (integral of the elliptic cross-section
/// `pi a b (1 - z^2/c^2)` for `z` from `-h` to `c`). Requires `0 <= h <= c`.
pub(crate) fn truncated_ellipsoid_volume(a: f64, b: f64, c: f64, h: f64) -> f64 {
    std::f64::consts::PI * a * b * ((c + h) - (c.powi(3) + h.powi(3)) / (3.0 * c * c))
}

/// Converts a local point (as `Vec3` for the capsule maths) and back.
pub(crate) fn v(q: Local) -> Vec3 {
    Vec3::new(q[0], q[1], q[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn truncated_volume_limits() {
        let (a, b, c) = (20.0, 25.0, 60.0);
        let full = 4.0 / 3.0 * std::f64::consts::PI * a * b * c;
        // h = c: the whole ellipsoid; h = 0: half of it.
        assert_relative_eq!(truncated_ellipsoid_volume(a, b, c, c), full, epsilon = 1e-9);
        assert_relative_eq!(
            truncated_ellipsoid_volume(a, b, c, 0.0),
            full / 2.0,
            epsilon = 1e-9
        );
        // Against a midpoint-rule integral of the cross-sections for h = 17.
        let h = 17.0;
        let n = 200_000;
        let dz = (c + h) / n as f64;
        let numeric: f64 = (0..n)
            .map(|i| {
                let z = -h + (i as f64 + 0.5) * dz;
                std::f64::consts::PI * a * b * (1.0 - z * z / (c * c)) * dz
            })
            .sum();
        assert_relative_eq!(
            truncated_ellipsoid_volume(a, b, c, h),
            numeric,
            max_relative = 1e-8
        );
    }

    #[test]
    fn ellipsoid_level_excess_and_support() {
        let e = AxisEllipsoid::new([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]);
        assert_relative_eq!(e.level([11.0, 2.0, 3.0]), 1.0);
        let q = [1.0, 2.0, 3.0 + 45.0];
        assert_relative_eq!(e.radial_excess(q, e.level(q)), 15.0, epsilon = 1e-12);
        let q = [1.0 + 5.0, 2.0, 3.0];
        assert_relative_eq!(e.radial_excess(q, e.level(q)), -5.0, epsilon = 1e-12);
        assert_relative_eq!(e.support([0.0, 0.0, 1.0]), 33.0);
        assert_relative_eq!(e.grown(2.0).support([1.0, 0.0, 0.0]), 13.0);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        // Centre . dir + sqrt((10 s)^2 + (20 s)^2).
        assert_relative_eq!(e.support([s, s, 0.0]), 3.0 * s + s * 500f64.sqrt());
    }

    #[test]
    fn harmonics_preserve_the_cross_sectional_area() {
        let h = Harmonics::new([[0.06, 0.3], [0.04, 2.0], [0.03, -1.0]]);
        // The factor equals the direct formula.
        let phi: f64 = 0.7;
        let d = 0.06 * (2.0 * phi + 0.3).cos()
            + 0.04 * (3.0 * phi + 2.0).cos()
            + 0.03 * (4.0 * phi - 1.0).cos();
        let norm = 1.0 + (0.06f64.powi(2) + 0.04f64.powi(2) + 0.03f64.powi(2)) / 2.0;
        assert_relative_eq!(
            h.factor(phi.cos(), phi.sin()),
            norm / (1.0 + d).powi(2),
            max_relative = 1e-12
        );
        let e = AxisEllipsoid::new([1.0, -2.0, 0.0], [20.0, 26.0, 50.0]);
        // Area of the section w = 10 (depth 10) on a fine grid, against pi a' b' with
        // a' = a sqrt(1 - (10/50)^2).
        let step = 0.05;
        let mut count = 0usize;
        let mut x = -40.0;
        while x < 40.0 {
            let mut y = -40.0;
            while y < 40.0 {
                if perturbed_level(&e, &h, [x, y, 10.0]) <= 1.0 {
                    count += 1;
                }
                y += step;
            }
            x += step;
        }
        let area = count as f64 * step * step;
        let expected = std::f64::consts::PI * 20.0 * 26.0 * (1.0 - 0.04);
        assert_relative_eq!(area, expected, max_relative = 2e-3);
        // And the shape really changed: along some angle the radius differs by > 3 %.
        let r0 = |phi: f64| {
            let mut r = 0.0;
            while perturbed_level(&e, &h, [1.0 + r * phi.cos(), -2.0 + r * phi.sin(), 0.0]) <= 1.0 {
                r += 0.01;
            }
            r
        };
        let along = r0(0.0);
        assert!((along - 20.0).abs() > 0.6, "{along}");
    }

    #[test]
    fn capsule_distance() {
        let c = Capsule {
            a: Vec3::new(0.0, 0.0, 0.0),
            b: Vec3::new(0.0, 0.0, 10.0),
            radius: 2.0,
        };
        assert_relative_eq!(c.axis_distance(Vec3::new(3.0, 4.0, 5.0)), 5.0);
        assert_relative_eq!(c.axis_distance(Vec3::new(0.0, 0.0, -3.0)), 3.0);
        assert!(c.contains(Vec3::new(1.0, 1.0, 12.0 - 0.6)));
        assert!(!c.contains(Vec3::new(0.0, 0.0, 12.1)));
    }
}

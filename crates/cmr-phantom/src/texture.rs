//! Smooth random texture: periodic 3-D value noise on a lattice, interpolated with a smooth
//! (C1) weight, so that tissue heterogeneity (flow, trabeculation, fat, lung vessels) is
//! spatially correlated rather than white.

use rand::RngCore;

use crate::random::Sampler;

/// Lattice side; the texture repeats every `SIDE` lattice units.
const SIDE: usize = 32;
const MASK: i64 = SIDE as i64 - 1;

/// `x.floor()` as an integer without a libm call (the coordinates here are far from the
/// `i64` range).
#[inline]
fn floor(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x {
        i - 1
    } else {
        i
    }
}

/// Periodic value noise with values in `[-1, 1]` and unit lattice spacing.
#[derive(Clone)]
pub(crate) struct ValueNoise {
    values: Vec<f32>,
}

impl std::fmt::Debug for ValueNoise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueNoise({SIDE}^3)")
    }
}

impl ValueNoise {
    /// A new random lattice.
    pub(crate) fn new(rng: &mut Sampler) -> Self {
        let values = (0..SIDE * SIDE * SIDE)
            .map(|_| (rng.0.next_u32() as f64 / u32::MAX as f64 * 2.0 - 1.0) as f32)
            .collect();
        Self { values }
    }

    #[inline]
    fn at(&self, x: i64, y: i64, z: i64) -> f32 {
        let i =
            ((x & MASK) as usize) + SIDE * (((y & MASK) as usize) + SIDE * ((z & MASK) as usize));
        self.values[i]
    }

    /// The noise at a point in lattice units: trilinear interpolation of the lattice values with
    /// smoothstep weights. Equals the lattice value at integer points.
    #[inline]
    pub(crate) fn sample(&self, x: f64, y: f64, z: f64) -> f32 {
        let (ix, iy, iz) = (floor(x), floor(y), floor(z));
        let (fx, fy, fz) = (ix as f64, iy as f64, iz as f64);
        let smooth = |t: f64| (t * t * (3.0 - 2.0 * t)) as f32;
        let (wx, wy, wz) = (smooth(x - fx), smooth(y - fy), smooth(z - fz));
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let x00 = lerp(self.at(ix, iy, iz), self.at(ix + 1, iy, iz), wx);
        let x10 = lerp(self.at(ix, iy + 1, iz), self.at(ix + 1, iy + 1, iz), wx);
        let x01 = lerp(self.at(ix, iy, iz + 1), self.at(ix + 1, iy, iz + 1), wx);
        let x11 = lerp(
            self.at(ix, iy + 1, iz + 1),
            self.at(ix + 1, iy + 1, iz + 1),
            wx,
        );
        lerp(lerp(x00, x10, wy), lerp(x01, x11, wy), wz)
    }

    /// Two octaves (the second at twice the frequency, half the amplitude), rescaled so the
    /// range stays within `[-1, 1]`.
    #[inline]
    pub(crate) fn fractal(&self, x: f64, y: f64, z: f64) -> f32 {
        (self.sample(x, y, z) + 0.5 * self.sample(2.03 * x + 11.1, 2.03 * y + 5.7, 2.03 * z + 3.3))
            / 1.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{rng_for, Stream};

    #[test]
    fn interpolates_lattice_values_periodically_and_smoothly() {
        let n = ValueNoise::new(&mut rng_for(1, 2, Stream::Texture, &[]));
        assert_eq!(n.sample(3.0, 4.0, 5.0), n.at(3, 4, 5));
        let p = SIDE as f64;
        assert_eq!(
            n.sample(3.25, 4.5, 5.75),
            n.sample(3.25 + p, 4.5 - p, 5.75 + 2.0 * p)
        );
        // Continuity across a lattice cell boundary.
        let a = n.sample(6.0 - 1e-9, 1.5, 2.5);
        let b = n.sample(6.0 + 1e-9, 1.5, 2.5);
        assert!((a - b).abs() < 1e-6);
        // Values stay in range and are not constant.
        let vals: Vec<f32> = (0..1000)
            .map(|i| n.fractal(i as f64 * 0.37, i as f64 * 0.11, 0.5))
            .collect();
        assert!(vals.iter().all(|v| (-1.0..=1.0).contains(v)));
        let mean = vals.iter().sum::<f32>() / vals.len() as f32;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32;
        assert!(var > 0.02, "{var}");
    }
}

//! Seeded randomness: independent, reproducible streams per (cohort seed, subject, purpose),
//! so that results do not depend on thread scheduling.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014): a bijective 64-bit mixer.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit key derived from a sequence of parts (order matters).
pub(crate) fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x5EED_CAFE_F00D_D00Du64, |acc, &p| mix64(acc ^ mix64(p)))
}

/// Purposes of random streams, so that adding a draw to one never shifts another.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    Anatomy = 1,
    Texture = 2,
    Planning = 3,
    Noise = 4,
    Uid = 5,
}

/// A ChaCha8 generator for one purpose of one subject.
pub(crate) fn rng_for(seed: u64, subject: u64, stream: Stream, extra: &[u64]) -> Sampler {
    let mut parts = vec![seed, subject, stream as u64];
    parts.extend_from_slice(extra);
    Sampler(ChaCha8Rng::seed_from_u64(key(&parts)))
}

/// A random generator with the few distributions the phantom needs.
pub(crate) struct Sampler(pub(crate) ChaCha8Rng);

impl Sampler {
    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.random::<f64>()
    }

    /// A standard normal variate (Box-Muller, one of the pair).
    pub(crate) fn standard_normal(&mut self) -> f64 {
        let (a, _) = gaussian_pair(self.0.next_u64());
        a
    }

    /// A normal variate with the given mean and standard deviation, clamped to `[lo, hi]`.
    pub(crate) fn normal_clamped(&mut self, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
        (mean + sd * self.standard_normal()).clamp(lo, hi)
    }

    /// A normal variate with mean 0 and standard deviation `sd`, truncated to `|x| <= max`
    /// by rejection (at most 64 tries, then clamped), so bounds are hard.
    pub(crate) fn truncated(&mut self, sd: f64, max: f64) -> f64 {
        for _ in 0..64 {
            let x = sd * self.standard_normal();
            if x.abs() <= max {
                return x;
            }
        }
        0.0
    }
}

/// Two independent standard normal variates from 64 random bits (Box-Muller on two 32-bit
/// uniforms; the smallest magnitude is bounded by the 2^-32 resolution, which is irrelevant
/// for the anatomy draws that use it).
#[inline]
pub(crate) fn gaussian_pair(bits: u64) -> (f64, f64) {
    const SCALE: f64 = 1.0 / 4_294_967_296.0;
    let u1 = ((bits >> 32) as f64 + 0.5) * SCALE;
    let u2 = ((bits & 0xFFFF_FFFF) as f64 + 0.5) * SCALE;
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (r * c, r * s)
}

/// Inverse of the standard normal CDF, by Peter J. Acklam's rational approximation (relative
/// error below 1.2e-9 over (0, 1)).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Table of the standard normal quantiles at `(i + 0.5) / 4096`, for fast noise.
const NORMAL_TABLE_BITS: u32 = 12;

fn normal_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n = 1usize << NORMAL_TABLE_BITS;
        (0..=n)
            .map(|i| {
                // Quantiles at the cell edges, clamped half a cell in at both ends.
                let p = (i as f64).clamp(0.5, n as f64 - 0.5) / n as f64;
                normal_quantile(p) as f32
            })
            .collect()
    })
}

/// Two independent standard normal variates from 64 random bits by inverse-CDF lookup: 12
/// bits pick a cell of a 4096-cell quantile table, 20 bits interpolate within it. The tails
/// are cut at the 1/8192 quantile (|x| < 3.67), irrelevant for image noise; this is several
/// times faster than Box-Muller.
#[inline]
pub(crate) fn fast_gaussian_pair(bits: u64) -> (f32, f32) {
    let table = normal_table();
    let one = |b: u32| {
        let i = (b >> (32 - NORMAL_TABLE_BITS)) as usize;
        let f = (b & ((1 << (32 - NORMAL_TABLE_BITS)) - 1)) as f32
            / (1u32 << (32 - NORMAL_TABLE_BITS)) as f32;
        table[i] + (table[i + 1] - table[i]) * f
    };
    (one((bits >> 32) as u32), one(bits as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<f64> = (0..4)
            .map({
                let mut r = rng_for(7, 3, Stream::Anatomy, &[]);
                move |_| r.uniform(0.0, 1.0)
            })
            .collect();
        let mut again = rng_for(7, 3, Stream::Anatomy, &[]);
        let b: Vec<f64> = (0..4).map(|_| again.uniform(0.0, 1.0)).collect();
        assert_eq!(a, b);
        let mut other = rng_for(7, 4, Stream::Anatomy, &[]);
        assert_ne!(a[0], other.uniform(0.0, 1.0));
        let mut purpose = rng_for(7, 3, Stream::Noise, &[]);
        assert_ne!(a[0], purpose.uniform(0.0, 1.0));
    }

    #[test]
    fn gaussian_pairs_have_unit_variance_and_no_correlation() {
        let mut r = rng_for(1, 1, Stream::Noise, &[]);
        let n = 200_000;
        let (mut s1, mut s2, mut s11, mut s22, mut s12) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let (a, b) = gaussian_pair(r.0.next_u64());
            s1 += a;
            s2 += b;
            s11 += a * a;
            s22 += b * b;
            s12 += a * b;
        }
        let n = n as f64;
        assert!((s1 / n).abs() < 0.01 && (s2 / n).abs() < 0.01);
        assert!((s11 / n - 1.0).abs() < 0.015 && (s22 / n - 1.0).abs() < 0.015);
        assert!((s12 / n).abs() < 0.01);
    }

    #[test]
    fn normal_quantiles_match_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813_5).abs() < 1e-8);
        assert!((normal_quantile(0.8413447460685429) - 1.0).abs() < 1e-8);
    }

    #[test]
    fn fast_pairs_have_unit_variance_and_no_correlation() {
        let mut r = rng_for(1, 2, Stream::Noise, &[]);
        let n = 200_000;
        let (mut s1, mut s11, mut s22, mut s12, mut tail) = (0.0, 0.0, 0.0, 0.0, 0);
        for _ in 0..n {
            let (a, b) = fast_gaussian_pair(r.0.next_u64());
            let (a, b) = (f64::from(a), f64::from(b));
            s1 += a + b;
            s11 += a * a;
            s22 += b * b;
            s12 += a * b;
            tail += usize::from(a.abs() > 1.96);
        }
        let n = n as f64;
        assert!((s1 / (2.0 * n)).abs() < 0.01);
        assert!((s11 / n - 1.0).abs() < 0.015 && (s22 / n - 1.0).abs() < 0.015);
        assert!((s12 / n).abs() < 0.01);
        // Two-sided 5 % tail of a standard normal.
        assert!((tail as f64 / n - 0.05).abs() < 0.003);
    }

    #[test]
    fn truncated_normal_respects_its_bound() {
        let mut r = rng_for(2, 0, Stream::Planning, &[]);
        let xs: Vec<f64> = (0..5000).map(|_| r.truncated(2.0, 3.0)).collect();
        assert!(xs.iter().all(|x| x.abs() <= 3.0));
        let sd = (xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64).sqrt();
        // A normal with sd 2 truncated at 1.5 sd has sd 0.743 * 2 = 1.485.
        assert!((sd - 1.485).abs() < 0.06, "{sd}");
    }
}

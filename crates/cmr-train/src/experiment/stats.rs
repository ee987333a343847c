//! The statistics of the summary: mean and sample standard deviation, the paired t-test and
//! the exact sign test, with the p-values computed here (no statistics dependency).

use serde::{Deserialize, Serialize};

/// Mean and sample standard deviation (`n - 1` in the denominator; 0 for one value, NaN for
/// none).
///
/// ```
/// use cmr_train::experiment::mean_sd;
/// let (m, sd) = mean_sd(&[1.0, 2.0, 3.0]);
/// assert_eq!((m, sd), (2.0, 1.0));
/// assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
/// ```
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (ss / (n - 1) as f64).sqrt())
}

/// The result of a paired t-test on differences `d_i` (H0: mean difference 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedT {
    /// Number of pairs.
    pub pairs: usize,
    /// Mean difference.
    pub mean: f64,
    /// t statistic `mean / (sd / sqrt(n))` (NaN with fewer than 2 pairs or no spread).
    pub t: f64,
    /// Two-sided p-value with `n - 1` degrees of freedom (NaN when `t` is).
    pub p: f64,
}

/// Paired t-test on the differences (two-sided).
///
/// ```
/// use cmr_train::experiment::paired_t_test;
/// // scipy.stats.ttest_rel on differences 0.05, 0.02, 0.04: t = 4.1576, p = 0.05327.
/// let r = paired_t_test(&[0.05, 0.02, 0.04]);
/// assert!((r.t - 4.157609203101499).abs() < 1e-9 && (r.p - 0.053270737593742554).abs() < 1e-9);
/// ```
pub fn paired_t_test(differences: &[f64]) -> PairedT {
    let n = differences.len();
    let (mean, sd) = mean_sd(differences);
    let t = if n >= 2 && sd > 0.0 {
        mean / (sd / (n as f64).sqrt())
    } else {
        f64::NAN
    };
    PairedT {
        pairs: n,
        mean,
        t,
        p: if t.is_finite() {
            t_two_sided_p(t, (n - 1) as f64)
        } else {
            f64::NAN
        },
    }
}

/// Two-sided p-value of Student's t with `df` degrees of freedom:
/// `P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2)` (Abramowitz & Stegun 26.7.1 with
/// 26.5.27), the regularised incomplete beta function computed by [`incomplete_beta`].
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if !(t.is_finite() && df > 0.0) {
        return f64::NAN;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The exact two-sided sign test (binomial with p = 1/2) of `wins` successes in `trials`
/// (ties already left out): `min(1, 2 P(X <= min(wins, trials - wins)))`. 1 for no trial.
///
/// ```
/// use cmr_train::experiment::sign_test_p;
/// // scipy.stats.binomtest(2, 10).pvalue = 0.109375; (0, 3) = 0.25.
/// assert!((sign_test_p(2, 10) - 0.109375).abs() < 1e-12);
/// assert!((sign_test_p(0, 3) - 0.25).abs() < 1e-12);
/// ```
pub fn sign_test_p(wins: usize, trials: usize) -> f64 {
    if trials == 0 {
        return 1.0;
    }
    let k = wins.min(trials - wins);
    let n = trials as f64;
    let tail: f64 = (0..=k)
        .map(|i| {
            let i = i as f64;
            (ln_gamma(n + 1.0) - ln_gamma(i + 1.0) - ln_gamma(n - i + 1.0) - n * 2f64.ln()).exp()
        })
        .sum();
    (2.0 * tail).min(1.0)
}

/// `ln Γ(x)` for `x > 0`: the Lanczos approximation with g = 7 and 9 coefficients (the
/// coefficients published with it by Paul Godfrey; relative error below 1e-13 here).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function `I_x(a, b)`, by its continued fraction
/// (Abramowitz & Stegun 26.5.8) evaluated with the modified Lentz method, on the side of
/// `(a + 1) / (a + b + 2)` where it converges fast (26.5.2 for the other side).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if !(a > 0.0 && b > 0.0) || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_p_values_match_scipy() {
        // 2 * scipy.stats.t.sf(t, df), scipy 1.x in the cache venv.
        for (t, df, want) in [
            (2.0, 2.0, 0.18350341907227397),
            (0.5, 4.0, 0.6433299631818633),
            (3.7, 9.0, 0.0049205621893296395),
            (1e-3, 1.0, 0.9993633804398159),
            (-2.0, 2.0, 0.18350341907227397),
        ] {
            let got = t_two_sided_p(t, df);
            assert!((got - want).abs() < 1e-10, "t {t} df {df}: {got} vs {want}");
        }
        assert!(t_two_sided_p(f64::NAN, 3.0).is_nan());
    }

    #[test]
    fn sign_test_matches_scipy_binomtest() {
        // scipy.stats.binomtest(k, n).pvalue.
        assert!((sign_test_p(30, 48) - 0.11140289106101878).abs() < 1e-12);
        assert_eq!(sign_test_p(5, 10), 1.0);
        assert_eq!(sign_test_p(0, 0), 1.0);
        assert!((sign_test_p(10, 10) - 2.0 / 1024.0).abs() < 1e-15);
    }

    #[test]
    fn ln_gamma_of_integers_is_log_factorial() {
        let mut f = 1.0f64;
        for n in 1..30 {
            assert!(
                (ln_gamma(n as f64) - f.ln()).abs() < 1e-11 * f.ln().max(1.0),
                "{n}"
            );
            f *= n as f64;
        }
        // Γ(1/2) = sqrt(π).
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }

    #[test]
    fn paired_t_needs_two_pairs_and_spread() {
        assert!(paired_t_test(&[0.1]).p.is_nan());
        assert!(paired_t_test(&[0.1, 0.1]).t.is_nan());
        assert_eq!(paired_t_test(&[]).pairs, 0);
    }
}

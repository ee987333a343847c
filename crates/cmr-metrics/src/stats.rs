//! Order statistics as numpy computes them.

/// The `p`-th percentile (`p` in `[0, 100]`) of non-empty `values`, linearly interpolated
/// between order statistics exactly as `numpy.percentile(values, p)` (method "linear") does:
/// index `(n - 1) * (p / 100)`, then numpy's two-sided lerp (`a + (b - a) t` for `t < 0.5`,
/// `b - (b - a)(1 - t)` otherwise, from `numpy/lib/_function_base_impl.py::_lerp`).
/// `torch.quantile` (MONAI) uses the same index and lerp. O(n): partial selection, no sort.
/// Reorders `values`.
pub(crate) fn percentile_linear(values: &mut [f64], p: f64) -> f64 {
    debug_assert!(!values.is_empty());
    let n = values.len();
    let q = p / 100.0;
    let virtual_index = (n - 1) as f64 * q;
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    if virtual_index >= (n - 1) as f64 {
        return values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    }
    if virtual_index <= 0.0 {
        return values.iter().copied().fold(f64::INFINITY, f64::min);
    }
    let previous = virtual_index.floor();
    let t = virtual_index - previous;
    let k = previous as usize;
    let (_, &mut a, upper) = values.select_nth_unstable_by(k, cmp);
    let b = upper.iter().copied().fold(f64::INFINITY, f64::min);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Arithmetic mean of non-empty `values`, summed pairwise (as numpy's `mean` does, so long
/// sums keep their precision).
pub(crate) fn mean(values: &[f64]) -> f64 {
    pairwise_sum(values) / values.len() as f64
}

fn pairwise_sum(values: &[f64]) -> f64 {
    if values.len() <= 128 {
        values.iter().sum()
    } else {
        let (l, r) = values.split_at(values.len() / 2);
        pairwise_sum(l) + pairwise_sum(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_to_the_bit() {
        // Values printed by numpy 2.4: np.percentile([1, 2, 3, 4], 95) etc.
        assert_eq!(
            percentile_linear(&mut [4.0, 1.0, 3.0, 2.0], 95.0),
            3.8499999999999996
        );
        assert_eq!(percentile_linear(&mut [4.0, 1.0, 3.0, 2.0], 50.0), 2.5);
        assert_eq!(percentile_linear(&mut [4.0, 1.0, 3.0, 2.0], 100.0), 4.0);
        assert_eq!(percentile_linear(&mut [4.0, 1.0, 3.0, 2.0], 0.0), 1.0);
        assert_eq!(percentile_linear(&mut [7.0], 95.0), 7.0);
        // np.percentile(np.arange(10.0), 95) = 8.549999999999999 (index 8.549999999999999).
        let mut v: Vec<f64> = (0..10).rev().map(f64::from).collect();
        assert_eq!(percentile_linear(&mut v, 95.0), 8.549999999999999);
        // np.percentile([0, 0, 1, 2, ..., 9], 95) = 8.5 (index 9.5: t >= 0.5 branch).
        let mut v: Vec<f64> = (0..10).map(f64::from).chain([0.0]).collect();
        assert_eq!(percentile_linear(&mut v, 95.0), 8.5);
    }

    #[test]
    fn pairwise_mean_is_exact_on_representable_sums() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(mean(&v), 499.5);
        assert_eq!(mean(&[2.0]), 2.0);
    }
}

//! Small statistics: quantiles, ranks, the Mann–Whitney U test and the
//! normal distribution's tail.

/// The `q` quantile (0 ≤ q ≤ 1) of sorted values, by linear interpolation
/// between closest ranks (type 7, as R and NumPy default to).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let fraction = position - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * fraction)
}

/// The median of values in any order.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

/// Ranks (1-based, ties get their average rank) and the tie term
/// `Σ (t³ − t)` over groups of `t` tied values.
pub fn ranks(values: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]].total_cmp(&values[order[start]]).is_eq() {
            end += 1;
        }
        let average = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = average;
        }
        let t = (end - start) as f64;
        ties += t * t * t - t;
        start = end;
    }
    (ranks, ties)
}

/// One-sided p-value that the values after position `split` tend to be
/// larger than the ones before it: Mann–Whitney U with the normal
/// approximation, tie correction and continuity correction.
///
/// `rank_sum_after` is the sum of the ranks (in the whole series) of the
/// values after the split; `ties` is the tie term of [`ranks`].
pub fn mann_whitney_greater(
    n_before: usize,
    n_after: usize,
    rank_sum_after: f64,
    ties: f64,
) -> f64 {
    let (n1, n2) = (n_before as f64, n_after as f64);
    let n = n1 + n2;
    if n1 == 0.0 || n2 == 0.0 {
        return 1.0;
    }
    let u = rank_sum_after - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        return 1.0;
    }
    let z = (u - mean - 0.5) / variance.sqrt();
    normal_tail(z)
}

/// P(Z > z) for a standard normal Z.
pub fn normal_tail(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, with a fractional error below 1.2e-7
/// everywhere (Chebyshev fit, Numerical Recipes `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&sorted, 0.5), Some(2.5));
        assert_eq!(quantile(&sorted, 1.0), Some(4.0));
        assert_eq!(quantile(&sorted, 0.0), Some(1.0));
        assert!((quantile(&sorted, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn ties_share_their_average_rank() {
        let (ranks, ties) = ranks(&[3.0, 1.0, 3.0, 2.0]);
        assert_eq!(ranks, [3.5, 1.0, 3.5, 2.0]);
        assert!((ties - 6.0).abs() < 1e-12);
    }

    #[test]
    fn the_normal_tail_matches_known_values() {
        assert!((normal_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_tail(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_tail(-1.644_854) - 0.95).abs() < 1e-6);
        assert!(normal_tail(8.0) < 1e-14);
    }

    #[test]
    fn a_clear_shift_is_significant_and_no_shift_is_not() {
        let values: Vec<f64> = (0..20)
            .map(|i| {
                if i < 10 {
                    1.0 + f64::from(i) * 0.01
                } else {
                    3.0 + f64::from(i) * 0.01
                }
            })
            .collect();
        let (ranks, ties) = ranks(&values);
        let after: f64 = ranks[10..].iter().sum();
        assert!(mann_whitney_greater(10, 10, after, ties) < 1e-3);
        let flat = vec![1.0; 20];
        let (ranks, ties) = super::ranks(&flat);
        let after: f64 = ranks[10..].iter().sum();
        assert!(mann_whitney_greater(10, 10, after, ties) >= 0.5);
    }
}

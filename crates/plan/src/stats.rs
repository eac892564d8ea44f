//! Small statistics helpers.

/// Median (sorts the slice); 0 for an empty slice.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    quantile_sorted(values, 0.5)
}

/// Linear-interpolated quantile of a sorted, non-empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Mean and population variance.
pub fn mean_var(values: impl IntoIterator<Item = f64>) -> (u64, f64, f64) {
    // Welford.
    let (mut n, mut mean, mut m2) = (0u64, 0.0, 0.0);
    for x in values {
        n += 1;
        let d = x - mean;
        mean += d / n as f64;
        m2 += d * (x - mean);
    }
    let var = if n > 1 { m2 / n as f64 } else { 0.0 };
    (n, mean, var)
}

//! Theil–Sen trends and block-bootstrap forecasts of weekly series.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;
use crate::stats::{median, quantile_sorted};
use crate::week::IsoWeek;

/// A robust linear trend of a weekly series (x = week index, 0 = oldest).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Trend {
    /// Change per week: the median of the slopes between every pair of weeks.
    pub slope_per_week: f64,
    /// Value of the fitted line at the oldest week.
    pub intercept: f64,
    /// Value of the fitted line at the newest week.
    pub level: f64,
    /// `slope / level`: growth per week as a share of the current level
    /// (0 when the level is not positive).
    pub growth_rate_per_week: f64,
    /// Weeks the trend was fitted on.
    pub weeks: u32,
}

impl Trend {
    /// The fitted value at week index `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope_per_week * x
    }
}

/// The Theil–Sen estimator: slope = median of `(y_j - y_i) / (j - i)` over
/// all pairs `i < j`, intercept = median of `y_i - slope · i`. Robust to
/// up to ~29% of outlying weeks. O(n²) pairs: 370 weeks (seven years) are
/// 68,000 slopes.
pub fn theil_sen(values: &[f64]) -> Trend {
    let n = values.len();
    if n == 0 {
        return Trend::default();
    }
    if n == 1 {
        return Trend {
            slope_per_week: 0.0,
            intercept: values[0],
            level: values[0],
            growth_rate_per_week: 0.0,
            weeks: 1,
        };
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            slopes.push((values[j] - values[i]) / (j - i) as f64);
        }
    }
    let slope = median(&mut slopes);
    let mut offsets: Vec<f64> = values
        .iter()
        .enumerate()
        .map(|(i, y)| y - slope * i as f64)
        .collect();
    let intercept = median(&mut offsets);
    let level = intercept + slope * (n - 1) as f64;
    Trend {
        slope_per_week: slope,
        intercept,
        level,
        growth_rate_per_week: if level > 0.0 { slope / level } else { 0.0 },
        weeks: n as u32,
    }
}

/// How to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForecastSettings {
    /// Weeks ahead.
    pub horizon_weeks: u32,
    /// Central share of the bootstrap distribution the interval holds (0.8 =
    /// 10th to 90th percentile).
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: u32,
    /// Block length in weeks; 0 = `round(n^(1/3))`, at least 1.
    pub block_weeks: u32,
    pub seed: u64,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        ForecastSettings {
            horizon_weeks: 8,
            confidence: 0.8,
            resamples: 200,
            block_weeks: 0,
            seed: 0x686f_7572_676c_6173,
        }
    }
}

/// One week ahead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    pub week: IsoWeek,
    /// The trend line extended to this week (at least 0).
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A forecast of a weekly series with an interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Forecast {
    pub points: Vec<ForecastPoint>,
    pub confidence: f64,
    pub block_weeks: u32,
    pub resamples: u32,
    pub seed: u64,
}

/// Forecasts `values` (one per week, the last one being `last_week`) by a
/// moving-block bootstrap over whole weeks.
///
/// The point forecast is the Theil–Sen line extended. For the interval, each
/// resample builds a synthetic history (fitted line + residuals drawn in
/// blocks of consecutive weeks, so that runs of busy or quiet weeks stay
/// together), refits the line (so the interval carries the slope's
/// uncertainty), and extends it with residual blocks drawn likewise. The
/// interval is the central `confidence` share of the resampled values at
/// each week, widened, if needed, to hold the point forecast; values are
/// clamped at 0. Same inputs and seed, same forecast.
pub fn forecast(values: &[f64], last_week: IsoWeek, settings: &ForecastSettings) -> Forecast {
    let n = values.len();
    let mut out = Forecast {
        points: Vec::new(),
        confidence: settings.confidence,
        block_weeks: 0,
        resamples: settings.resamples,
        seed: settings.seed,
    };
    if n == 0 || settings.horizon_weeks == 0 {
        return out;
    }
    let trend = theil_sen(values);
    let residuals: Vec<f64> = values
        .iter()
        .enumerate()
        .map(|(i, y)| y - trend.at(i as f64))
        .collect();
    let block = if settings.block_weeks == 0 {
        ((n as f64).cbrt().round() as usize).max(1)
    } else {
        settings.block_weeks as usize
    }
    .min(n);
    out.block_weeks = block as u32;
    let horizon = settings.horizon_weeks as usize;
    let mut rng = SplitMix64::new(settings.seed);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(settings.resamples as usize); horizon];
    let mut path = Vec::with_capacity(n + horizon);
    let mut synthetic = Vec::with_capacity(n);
    for _ in 0..settings.resamples {
        draw_blocks(&residuals, block, n + horizon, &mut rng, &mut path);
        synthetic.clear();
        synthetic.extend((0..n).map(|i| trend.at(i as f64) + path[i]));
        let refit = theil_sen(&synthetic);
        for (k, bucket) in samples.iter_mut().enumerate() {
            let x = (n + k) as f64;
            bucket.push((refit.at(x) + path[n + k]).max(0.0));
        }
    }
    let tail = (1.0 - settings.confidence.clamp(0.0, 1.0)) / 2.0;
    let mut week = last_week;
    for (k, bucket) in samples.iter_mut().enumerate() {
        week = week.next();
        let value = trend.at((n + k) as f64).max(0.0);
        bucket.sort_by(f64::total_cmp);
        let (lower, upper) = if bucket.is_empty() {
            (value, value)
        } else {
            (
                quantile_sorted(bucket, tail).min(value),
                quantile_sorted(bucket, 1.0 - tail).max(value),
            )
        };
        out.points.push(ForecastPoint {
            week,
            value,
            lower,
            upper,
        });
    }
    out
}

/// Fills `path` with `len` residuals made of blocks of `block` consecutive
/// residuals starting at random positions.
fn draw_blocks(
    residuals: &[f64],
    block: usize,
    len: usize,
    rng: &mut SplitMix64,
    path: &mut Vec<f64>,
) {
    path.clear();
    let starts = residuals.len() - block + 1;
    while path.len() < len {
        let start = rng.below(starts);
        let take = block.min(len - path.len());
        path.extend_from_slice(&residuals[start..start + take]);
    }
}

//! Theil–Sen and block-bootstrap properties.

use hourglass_plan::{ForecastSettings, IsoWeek, forecast, theil_sen};
use proptest::prelude::*;

fn week() -> IsoWeek {
    "2026-W10".parse().unwrap()
}

proptest! {
    #[test]
    fn trend_of_a_linear_series_is_its_slope(
        intercept in -1000.0f64..1000.0,
        slope in -50.0f64..50.0,
        n in 2usize..120,
    ) {
        let values: Vec<f64> = (0..n).map(|i| intercept + slope * i as f64).collect();
        let trend = theil_sen(&values);
        prop_assert!((trend.slope_per_week - slope).abs() < 1e-9 * (1.0 + slope.abs()));
        prop_assert!((trend.intercept - intercept).abs() < 1e-6 * (1.0 + intercept.abs()));
    }

    #[test]
    fn trend_ignores_a_minority_of_outliers(
        slope in 0.0f64..20.0,
        spikes in proptest::collection::vec((0usize..60, 1000.0f64..1e6), 0..8),
    ) {
        let mut values: Vec<f64> = (0..60).map(|i| 100.0 + slope * f64::from(i)).collect();
        for (at, height) in spikes {
            values[at] += height;
        }
        let trend = theil_sen(&values);
        // At most 8 of 60 weeks are spikes: the slope moves by little.
        prop_assert!((trend.slope_per_week - slope).abs() < 0.2 * slope + 1.0);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn interval_contains_the_point_forecast(
        values in proptest::collection::vec(0.0f64..500.0, 1..80),
        seed in any::<u64>(),
        horizon in 1u32..12,
    ) {
        let settings = ForecastSettings { horizon_weeks: horizon, resamples: 30, seed, ..ForecastSettings::default() };
        let f = forecast(&values, week(), &settings);
        prop_assert_eq!(f.points.len(), horizon as usize);
        for p in &f.points {
            prop_assert!(p.lower <= p.value && p.value <= p.upper, "{:?}", p);
            prop_assert!(p.lower >= 0.0);
        }
    }

    #[test]
    fn same_seed_same_forecast(
        values in proptest::collection::vec(0.0f64..500.0, 1..60),
        seed in any::<u64>(),
    ) {
        let settings = ForecastSettings { resamples: 20, seed, ..ForecastSettings::default() };
        prop_assert_eq!(forecast(&values, week(), &settings), forecast(&values, week(), &settings));
    }
}

#[test]
fn forecast_weeks_follow_the_last_week_across_a_year_end() {
    let settings = ForecastSettings {
        horizon_weeks: 3,
        ..ForecastSettings::default()
    };
    let f = forecast(&[5.0, 6.0, 7.0], "2026-W52".parse().unwrap(), &settings);
    let weeks: Vec<String> = f.points.iter().map(|p| p.week.to_string()).collect();
    assert_eq!(weeks, ["2026-W53", "2027-W01", "2027-W02"]);
    // A noiseless line: every resample is the line itself.
    assert!((f.points[0].value - 8.0).abs() < 1e-9);
    assert!((f.points[0].upper - f.points[0].lower).abs() < 1e-9);
}

#[test]
fn noisy_series_has_an_interval_that_widens() {
    let values: Vec<f64> = (0..104)
        .map(|i| 50.0 + 0.5 * f64::from(i) + if i % 3 == 0 { 15.0 } else { -7.0 })
        .collect();
    let f = forecast(&values, week(), &ForecastSettings::default());
    let first = f.points.first().unwrap();
    let last = f.points.last().unwrap();
    assert!(first.upper > first.lower);
    assert!(last.upper - last.lower >= first.upper - first.lower);
}

//! Where the test time goes, and which tests slowed down.
//!
//! # How it works
//!
//! [`SlowAnalyzer::analyze`] takes one test's observations in run order and
//! keeps the known durations (unknown ones are skipped, never read as 0;
//! skipped results are left out). It reports the p50, p95 (linear
//! interpolation between closest ranks) and the maximum, and the total time.
//!
//! A *duration regression* is found with a change-point test, not a fixed
//! threshold. Every split of the series that leaves at least
//! [`SlowSettings::min_segment`] durations on each side is a candidate; the
//! chosen one is the split with the largest two-sample t statistic on log
//! durations (equivalently, the least-squares single change point in the
//! mean of the logs), among those where the later runs are slower. It is a
//! regression when:
//!
//! - the ratio of the medians after and before is at least
//!   [`SlowSettings::regression_factor`],
//! - the medians differ by at least [`SlowSettings::min_increase_s`] seconds,
//! - a one-sided Mann–Whitney U test (normal approximation with tie and
//!   continuity corrections) at that split gives a p-value at most
//!   [`SlowSettings::max_p_value`]; the small default allows for the many
//!   splits tried.
//!
//! The regression names the first run (and commit) after the split.
//! [`SlowReport::new`] gathers the per-test timings into shares of the total
//! time and per-suite totals.
//!
//! # Limitations
//!
//! One change point per test and window: a test that slowed down twice is
//! reported at the more significant of the two. A slowdown needs
//! `min_segment` runs after it before it can be seen.

use std::collections::BTreeMap;

use hourglass_model::{Outcome, TestKey};
use serde::{Deserialize, Serialize};

use crate::series::{Observation, Run, RunRef, ordered};
use crate::stats;

/// Thresholds of the duration analysis. [`Default`] gives the documented
/// defaults, matching the `[slow]` table of the embedded defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowSettings {
    /// Smallest ratio of medians reported as a regression. Default 1.5.
    pub regression_factor: f64,
    /// Fewest durations on each side of a change point. Default 5.
    pub min_segment: usize,
    /// Smallest increase of the median, in seconds. Default 0.05.
    pub min_increase_s: f64,
    /// Largest p-value of the Mann–Whitney test. Default 0.001.
    pub max_p_value: f64,
}

impl Default for SlowSettings {
    fn default() -> Self {
        Self {
            regression_factor: 1.5,
            min_segment: 5,
            min_increase_s: 0.05,
            max_p_value: 0.001,
        }
    }
}

/// What a test's durations must reach before they can hold a regression
/// ([`SlowSettings::regression_bounds`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionBounds {
    /// Fewest durations.
    pub min_samples: usize,
    /// Smallest gap between the largest and the smallest duration.
    pub min_spread_s: f64,
    /// Smallest ratio of the largest to the smallest duration.
    pub min_ratio: f64,
}

impl RegressionBounds {
    /// Whether durations of this count and range can hold a regression.
    pub fn admit(&self, samples: usize, min_s: f64, max_s: f64) -> bool {
        samples >= self.min_samples
            && max_s - min_s >= self.min_spread_s
            && max_s >= self.min_ratio * min_s
    }
}

impl SlowSettings {
    /// Bounds that every series [`SlowAnalyzer::analyze`] reports as a
    /// regression meets, so that a series outside them can be timed from
    /// its summary ([`SlowAnalyzer::steady`]). The medians on either side of
    /// a change point lie between the smallest and the largest duration,
    /// so the increase is at most their gap and the factor at most their
    /// ratio; the bounds are loosened by a billionth against rounding, and
    /// a threshold that is not a number admits everything.
    pub fn regression_bounds(&self) -> RegressionBounds {
        let loosen = |x: f64| x - x.abs() * 1e-9 - 1e-12;
        RegressionBounds {
            min_samples: 2 * self.min_segment.max(1),
            min_spread_s: if self.min_increase_s.is_nan() {
                f64::NEG_INFINITY
            } else {
                loosen(self.min_increase_s)
            },
            min_ratio: if self.regression_factor.is_nan() {
                0.0
            } else {
                loosen(self.regression_factor).max(0.0)
            },
        }
    }
}

/// A test that became slower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The first run after the change point.
    pub since: RunRef,
    /// Median after / median before.
    pub factor: f64,
    pub before_s: f64,
    pub after_s: f64,
    pub p_value: f64,
    /// Durations after the change point.
    pub runs_after: u32,
}

/// One test's durations over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestTiming {
    pub key: TestKey,
    /// Known durations counted.
    pub samples: u32,
    pub p50_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    pub total_s: f64,
    /// Share of the total test time of the report; set by [`SlowReport::new`].
    pub share: f64,
    pub regression: Option<Regression>,
}

/// Duration analysis against the runs of a window.
#[derive(Debug, Clone)]
pub struct SlowAnalyzer<'r> {
    settings: SlowSettings,
    runs: &'r [Run],
    excluded: Vec<bool>,
}

impl<'r> SlowAnalyzer<'r> {
    pub fn new(settings: SlowSettings, runs: &'r [Run]) -> Self {
        Self {
            settings,
            runs,
            excluded: vec![false; runs.len()],
        }
    }

    /// Leaves the durations of these runs out (infrastructure failures,
    /// whose durations say nothing about the tests).
    #[must_use]
    pub fn excluding(mut self, runs: impl IntoIterator<Item = usize>) -> Self {
        for run in runs {
            if let Some(excluded) = self.excluded.get_mut(run) {
                *excluded = true;
            }
        }
        self
    }

    /// One test's timing; `None` when no duration is known.
    pub fn analyze(&self, key: &TestKey, observations: &[Observation]) -> Option<TestTiming> {
        let observations = ordered(observations, self.runs.len());
        let mut runs = Vec::with_capacity(observations.len());
        let mut durations = Vec::with_capacity(observations.len());
        for observation in observations.iter() {
            if observation.outcome == Outcome::Skipped || self.excluded[observation.run] {
                continue;
            }
            if let Some(duration) = observation
                .duration_s
                .filter(|d| d.is_finite() && *d >= 0.0)
            {
                runs.push(observation.run);
                durations.push(duration);
            }
        }
        if durations.is_empty() {
            return None;
        }
        let mut sorted = durations.clone();
        sorted.sort_by(f64::total_cmp);
        let regression = self.change_point(&runs, &durations);
        Some(TestTiming {
            key: key.clone(),
            samples: durations.len() as u32,
            p50_s: stats::quantile(&sorted, 0.5).unwrap_or(0.0),
            p95_s: stats::quantile(&sorted, 0.95).unwrap_or(0.0),
            max_s: *sorted.last().expect("not empty"),
            total_s: durations.iter().sum(),
            share: 0.0,
            regression,
        })
    }

    /// The timing of a test whose durations stay inside
    /// [`SlowSettings::regression_bounds`], from their summary: `samples`
    /// known durations (skipped results and excluded runs left out) with
    /// these quantiles (as [`stats::quantile`] computes them), largest and
    /// sum in run order. It is what [`SlowAnalyzer::analyze`] gives for
    /// such a series; no regression can be in it.
    pub fn steady(
        &self,
        key: &TestKey,
        samples: u32,
        p50_s: f64,
        p95_s: f64,
        max_s: f64,
        total_s: f64,
    ) -> TestTiming {
        TestTiming {
            key: key.clone(),
            samples,
            p50_s,
            p95_s,
            max_s,
            total_s,
            share: 0.0,
            regression: None,
        }
    }

    fn change_point(&self, runs: &[usize], durations: &[f64]) -> Option<Regression> {
        let n = durations.len();
        let m = self.settings.min_segment.max(1);
        if n < 2 * m {
            return None;
        }
        let logs: Vec<f64> = durations.iter().map(|d| d.max(1e-6).ln()).collect();
        let mut sum = vec![0.0; n + 1];
        let mut squares = vec![0.0; n + 1];
        for (i, x) in logs.iter().enumerate() {
            sum[i + 1] = sum[i] + x;
            squares[i + 1] = squares[i] + x * x;
        }
        let sse = |from: usize, to: usize| {
            let count = (to - from) as f64;
            let s = sum[to] - sum[from];
            (squares[to] - squares[from]) - s * s / count
        };
        let mut best: Option<(usize, f64)> = None;
        for split in m..=n - m {
            let mean_before = (sum[split] - sum[0]) / split as f64;
            let mean_after = (sum[n] - sum[split]) / (n - split) as f64;
            if mean_after <= mean_before {
                continue;
            }
            let cost = sse(0, split) + sse(split, n);
            if best.is_none_or(|(_, c)| cost < c - 1e-12) {
                best = Some((split, cost));
            }
        }
        let (split, _) = best?;
        let before_s = stats::median(&durations[..split])?;
        let after_s = stats::median(&durations[split..])?;
        let factor = if before_s > 0.0 {
            after_s / before_s
        } else if after_s > 0.0 {
            f64::INFINITY
        } else {
            1.0
        };
        if factor < self.settings.regression_factor
            || after_s - before_s < self.settings.min_increase_s
        {
            return None;
        }
        let (ranks, ties) = stats::ranks(durations);
        let rank_sum_after: f64 = ranks[split..].iter().sum();
        let p_value = stats::mann_whitney_greater(split, n - split, rank_sum_after, ties);
        if p_value > self.settings.max_p_value {
            return None;
        }
        Some(Regression {
            since: RunRef::of(self.runs, runs[split]),
            factor,
            before_s,
            after_s,
            p_value,
            runs_after: (n - split) as u32,
        })
    }
}

/// Time spent by one suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteTotal {
    pub suite: String,
    pub tests: u32,
    pub total_s: f64,
    pub share: f64,
}

/// Timings of every test, with shares and suite totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowReport {
    /// Slowest first (by total time, then by key).
    pub tests: Vec<TestTiming>,
    /// Slowest first.
    pub suites: Vec<SuiteTotal>,
    pub total_s: f64,
}

/// A sum of seconds that does not depend on the order of its terms (the
/// stores send tests in different orders): each term is counted in whole
/// nanoseconds, exactly.
#[derive(Debug, Clone, Copy, Default)]
struct Seconds {
    nanos: i128,
}

impl Seconds {
    fn add(&mut self, seconds: f64) {
        if seconds.is_finite() {
            self.nanos = self.nanos.saturating_add((seconds * 1e9).round() as i128);
        }
    }

    fn get(self) -> f64 {
        self.nanos as f64 / 1e9
    }
}

impl SlowReport {
    pub fn new(mut tests: Vec<TestTiming>) -> Self {
        let mut total = Seconds::default();
        let mut suites: BTreeMap<&str, (u32, Seconds)> = BTreeMap::new();
        for test in &tests {
            total.add(test.total_s);
            let entry = suites.entry(test.key.suite.as_str()).or_default();
            entry.0 += 1;
            entry.1.add(test.total_s);
        }
        let total_s = total.get();
        let share = |part: f64| if total_s > 0.0 { part / total_s } else { 0.0 };
        let mut suites: Vec<SuiteTotal> = suites
            .into_iter()
            .map(|(suite, (count, total))| SuiteTotal {
                suite: suite.to_owned(),
                tests: count,
                total_s: total.get(),
                share: share(total.get()),
            })
            .collect();
        suites.sort_by(|a, b| {
            b.total_s
                .total_cmp(&a.total_s)
                .then_with(|| a.suite.cmp(&b.suite))
        });
        for test in &mut tests {
            test.share = share(test.total_s);
        }
        tests.sort_by(|a, b| {
            b.total_s
                .total_cmp(&a.total_s)
                .then_with(|| a.key.cmp(&b.key))
        });
        Self {
            tests,
            suites,
            total_s,
        }
    }

    /// A report built from a stream of timings that keeps only the `top`
    /// slowest tests and every test that slowed down: memory follows `top`
    /// and the regressions, not the number of tests. Totals, shares and
    /// suite totals still count every test.
    pub fn streaming(top: usize) -> SlowReportBuilder {
        SlowReportBuilder {
            top,
            total: Seconds::default(),
            suites: BTreeMap::new(),
            slowest: std::collections::BinaryHeap::new(),
            regressed: Vec::new(),
        }
    }

    /// The tests that slowed down, largest factor first.
    pub fn regressions(&self) -> Vec<&TestTiming> {
        let mut found: Vec<&TestTiming> = self
            .tests
            .iter()
            .filter(|t| t.regression.is_some())
            .collect();
        found.sort_by(|a, b| {
            let factor = |t: &TestTiming| t.regression.as_ref().map_or(0.0, |r| r.factor);
            factor(b)
                .total_cmp(&factor(a))
                .then_with(|| a.key.cmp(&b.key))
        });
        found
    }
}

/// A timing ranked slowest first: greater is slower (more total time,
/// then the smaller key).
struct Ranked(TestTiming);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .total_s
            .total_cmp(&other.0.total_s)
            .then_with(|| other.0.key.cmp(&self.0.key))
    }
}

/// See [`SlowReport::streaming`].
pub struct SlowReportBuilder {
    top: usize,
    total: Seconds,
    suites: BTreeMap<String, (u32, Seconds)>,
    /// The `top` slowest so far, the least slow on top of the heap.
    slowest: std::collections::BinaryHeap<std::cmp::Reverse<Ranked>>,
    /// Regressions that are not among the slowest.
    regressed: Vec<TestTiming>,
}

impl SlowReportBuilder {
    pub fn push(&mut self, timing: TestTiming) {
        self.total.add(timing.total_s);
        if let Some(entry) = self.suites.get_mut(timing.key.suite.as_str()) {
            entry.0 += 1;
            entry.1.add(timing.total_s);
        } else {
            let mut total = Seconds::default();
            total.add(timing.total_s);
            self.suites.insert(timing.key.suite.clone(), (1, total));
        }
        let ranked = Ranked(timing);
        let out = if self.slowest.len() < self.top {
            self.slowest.push(std::cmp::Reverse(ranked));
            None
        } else if self.slowest.peek().is_some_and(|least| ranked > least.0) {
            let least = self.slowest.pop().map(|least| least.0.0);
            self.slowest.push(std::cmp::Reverse(ranked));
            least
        } else {
            Some(ranked.0)
        };
        if let Some(timing) = out.filter(|t| t.regression.is_some()) {
            self.regressed.push(timing);
        }
    }

    pub fn finish(self) -> SlowReport {
        let total_s = self.total.get();
        let share = |part: f64| if total_s > 0.0 { part / total_s } else { 0.0 };
        let mut tests: Vec<TestTiming> = self
            .slowest
            .into_iter()
            .map(|ranked| ranked.0.0)
            .chain(self.regressed)
            .collect();
        for test in &mut tests {
            test.share = share(test.total_s);
        }
        tests.sort_by(|a, b| {
            b.total_s
                .total_cmp(&a.total_s)
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut suites: Vec<SuiteTotal> = self
            .suites
            .into_iter()
            .map(|(suite, (count, total))| SuiteTotal {
                suite,
                tests: count,
                total_s: total.get(),
                share: share(total.get()),
            })
            .collect();
        suites.sort_by(|a, b| {
            b.total_s
                .total_cmp(&a.total_s)
                .then_with(|| a.suite.cmp(&b.suite))
        });
        SlowReport {
            tests,
            suites,
            total_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(suite: &str, name: &str, total_s: f64, regressed: bool) -> TestTiming {
        TestTiming {
            key: TestKey {
                suite: suite.into(),
                classname: "c".into(),
                name: name.into(),
            },
            samples: 1,
            p50_s: total_s,
            p95_s: total_s,
            max_s: total_s,
            total_s,
            share: 0.0,
            regression: regressed.then(|| Regression {
                since: RunRef {
                    index: 0,
                    run_id: "r0".into(),
                    commit: None,
                    timestamp: None,
                },
                factor: 2.0,
                before_s: 1.0,
                after_s: 2.0,
                p_value: 0.01,
                runs_after: 5,
            }),
        }
    }

    #[test]
    fn the_streaming_report_keeps_the_top_and_the_regressions_with_whole_totals() {
        let all: Vec<TestTiming> = (0..50)
            .map(|i| {
                let suite = if i % 2 == 0 { "even" } else { "odd" };
                timing(suite, &format!("t{i:02}"), f64::from(i % 10), i == 3)
            })
            .collect();
        let whole = SlowReport::new(all.clone());
        let mut builder = SlowReport::streaming(4);
        for each in all {
            builder.push(each);
        }
        let streamed = builder.finish();
        assert_eq!(streamed.total_s, whole.total_s);
        assert_eq!(streamed.suites, whole.suites);
        // The four slowest, as the whole report orders them, then t03 (a regression).
        assert_eq!(&streamed.tests[..4], &whole.tests[..4]);
        assert_eq!(streamed.tests.len(), 5);
        assert_eq!(streamed.tests[4].key.name, "t03");
        assert_eq!(streamed.regressions().len(), 1);
    }

    fn runs(n: usize) -> Vec<Run> {
        (0..n)
            .map(|i| Run {
                run_id: format!("r{i}"),
                commit: Some(format!("c{i}")),
                ..Run::default()
            })
            .collect()
    }

    fn key(suite: &str, name: &str) -> TestKey {
        TestKey {
            suite: suite.into(),
            classname: "c".into(),
            name: name.into(),
        }
    }

    fn observations(durations: &[Option<f64>]) -> Vec<Observation> {
        durations
            .iter()
            .enumerate()
            .map(|(i, d)| Observation::new(i, Outcome::Passed, *d))
            .collect()
    }

    /// A deterministic wobble of ±5 %.
    fn wobble(i: usize) -> f64 {
        1.0 + 0.05 * (((i * 7919) % 11) as f64 / 5.0 - 1.0)
    }

    #[test]
    fn unknown_durations_are_skipped_not_zero() {
        let runs = runs(4);
        let analyzer = SlowAnalyzer::new(SlowSettings::default(), &runs);
        let timing = analyzer
            .analyze(
                &key("s", "t"),
                &observations(&[Some(2.0), None, Some(4.0), None]),
            )
            .expect("timing");
        assert_eq!(timing.samples, 2);
        assert!((timing.p50_s - 3.0).abs() < 1e-12);
        assert!((timing.max_s - 4.0).abs() < 1e-12);
        assert!(
            analyzer
                .analyze(&key("s", "t"), &observations(&[None, None]))
                .is_none()
        );
    }

    #[test]
    fn a_step_up_is_found_at_its_run() {
        let runs = runs(30);
        let durations: Vec<Option<f64>> = (0..30)
            .map(|i| Some(if i < 17 { 0.4 } else { 1.2 } * wobble(i)))
            .collect();
        let timing = SlowAnalyzer::new(SlowSettings::default(), &runs)
            .analyze(&key("s", "t"), &observations(&durations))
            .expect("timing");
        let regression = timing.regression.expect("regression");
        assert_eq!(regression.since.index, 17);
        assert_eq!(regression.since.commit.as_deref(), Some("c17"));
        assert!((regression.factor - 3.0).abs() < 0.2, "{regression:?}");
        assert!(regression.p_value < 1e-3);
    }

    #[test]
    fn noise_and_small_or_tiny_steps_are_not_regressions() {
        let runs = runs(30);
        let analyzer = SlowAnalyzer::new(SlowSettings::default(), &runs);
        let flat: Vec<Option<f64>> = (0..30).map(|i| Some(wobble(i))).collect();
        assert!(
            analyzer
                .analyze(&key("s", "t"), &observations(&flat))
                .unwrap()
                .regression
                .is_none()
        );
        let small: Vec<Option<f64>> = (0..30)
            .map(|i| Some(if i < 15 { 1.0 } else { 1.3 } * wobble(i)))
            .collect();
        assert!(
            analyzer
                .analyze(&key("s", "t"), &observations(&small))
                .unwrap()
                .regression
                .is_none()
        );
        let tiny: Vec<Option<f64>> = (0..30)
            .map(|i| Some(if i < 15 { 0.001 } else { 0.004 } * wobble(i)))
            .collect();
        assert!(
            analyzer
                .analyze(&key("s", "t"), &observations(&tiny))
                .unwrap()
                .regression
                .is_none()
        );
    }

    #[test]
    fn a_step_too_close_to_the_end_is_not_seen() {
        let runs = runs(20);
        let durations: Vec<Option<f64>> = (0..20)
            .map(|i| Some(if i < 17 { 1.0 } else { 5.0 } * wobble(i)))
            .collect();
        let timing = SlowAnalyzer::new(SlowSettings::default(), &runs)
            .analyze(&key("s", "t"), &observations(&durations))
            .unwrap();
        assert!(timing.regression.is_none());
    }

    #[test]
    fn the_report_gives_shares_and_suite_totals() {
        let runs = runs(2);
        let analyzer = SlowAnalyzer::new(SlowSettings::default(), &runs);
        let timings = vec![
            analyzer
                .analyze(&key("a", "x"), &observations(&[Some(1.0), Some(1.0)]))
                .unwrap(),
            analyzer
                .analyze(&key("b", "y"), &observations(&[Some(3.0), Some(3.0)]))
                .unwrap(),
            analyzer
                .analyze(&key("a", "z"), &observations(&[Some(2.0), Some(2.0)]))
                .unwrap(),
        ];
        let report = SlowReport::new(timings);
        assert!((report.total_s - 12.0).abs() < 1e-12);
        assert_eq!(report.tests[0].key.name, "y");
        assert!((report.tests[0].share - 0.5).abs() < 1e-12);
        assert_eq!(report.suites[0].suite, "a");
        assert_eq!(report.suites[0].tests, 2);
        assert!((report.suites[0].share - 0.5).abs() < 1e-12);
        let shares: f64 = report.tests.iter().map(|t| t.share).sum();
        assert!((shares - 1.0).abs() < 1e-12);
    }

    #[test]
    fn totals_do_not_depend_on_the_order_tests_come_in() {
        let timings = [
            timing("s", "a", 0.1, false),
            timing("s", "b", 0.2, false),
            timing("s", "c", 0.3, false),
        ];
        let forward = SlowReport::new(timings.to_vec());
        let backward = SlowReport::new(timings.iter().rev().cloned().collect());
        assert_eq!(forward.total_s.to_bits(), backward.total_s.to_bits());
        assert_eq!(forward.total_s, 0.6);
        assert_eq!(forward, backward);
        let mut streamed = SlowReport::streaming(1);
        for timing in timings.iter().rev() {
            streamed.push(timing.clone());
        }
        let streamed = streamed.finish();
        assert_eq!(streamed.total_s.to_bits(), forward.total_s.to_bits());
        assert_eq!(streamed.suites, forward.suites);
    }
}

//! Per-test outlines of a window: what the flaky and slow analyses need of a
//! test that only passed, counted and summed in the store, and the whole
//! series of the few tests that did something else.
//!
//! [`HistoryStore::for_each_test_outline`] visits one [`TestOutline`] per
//! test of the window. A test whose results outside the
//! set-aside runs are all passes or skips, and whose durations do not spread as far as
//! [`SpreadRule`] says a slowdown needs, is described by its counts and a
//! [`DurationSummary`]; any other test comes with its [`OutlinePoint`]s, so
//! that the analyses judge it exactly as from [`HistoryStore::for_each_result`].
//!
//! [`over_results`] computes the outlines from [`HistoryStore::for_each_result`]
//! (the trait's default, what SQLite uses); the PostgreSQL store groups in
//! the database and sends one row per test ([`crate::pg`]).

use hourglass_model::{Outcome, TestKey};

use crate::{HistoryStore, ResultFilter, StoreError, VisitError};

/// What [`HistoryStore::for_each_test_outline`] is asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutlineRequest {
    /// The runs of the window.
    pub filter: ResultFilter,
    /// Run indexes ([`crate::RunSummary::index`] under the same filter) whose
    /// results are only counted ([`TestOutline::set_aside`]): neither passes
    /// nor durations are taken from them (infrastructure failures).
    pub set_aside: Vec<u64>,
    /// Summarise durations too ([`TestOutline::durations`]), and send the
    /// series of a test whose durations spread as this rule says. `None`:
    /// no durations, and a series only for a test that did more than pass
    /// or skip.
    pub durations: Option<SpreadRule>,
}

/// When a test's durations spread enough that only its whole series can
/// tell whether it slowed down: at least `min_samples` durations, and the
/// largest at least `min_increase_s` above and `min_ratio` times the
/// smallest. A test outside the rule cannot have slowed down by that much.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadRule {
    pub min_samples: u32,
    pub min_increase_s: f64,
    pub min_ratio: f64,
}

impl SpreadRule {
    /// Whether durations of this count and range need the series.
    pub fn needs_series(&self, samples: u32, min_s: f64, max_s: f64) -> bool {
        samples >= self.min_samples
            && max_s - min_s >= self.min_increase_s
            && max_s >= self.min_ratio * min_s
    }
}

/// One test's durations: the known, finite, non-negative durations of its
/// results that were not skipped, outside the set-aside runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationSummary {
    pub samples: u32,
    /// The median and 95th percentile, interpolated linearly between
    /// closest ranks.
    pub p50_s: f64,
    pub p95_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// Summed in run order.
    pub total_s: f64,
}

/// One result of a test's series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutlinePoint {
    /// The run's [`crate::RunSummary::index`].
    pub run_index: u64,
    pub outcome: Outcome,
    pub duration_s: Option<f64>,
}

/// One test of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutline {
    pub key: TestKey,
    /// The first source file its results name, in run order.
    pub file: Option<String>,
    /// Results in set-aside runs, whatever their outcome.
    pub set_aside: u32,
    /// Passes outside the set-aside runs.
    pub passed: u32,
    /// When durations were asked for and the test has any.
    pub durations: Option<DurationSummary>,
    /// Every result in run order, when the test failed, errored or passed
    /// on a retry outside the set-aside runs, or its durations spread as
    /// the rule says; else `None`, and the counts say all there is.
    pub series: Option<Vec<OutlinePoint>>,
}

/// Whether `duration` is one a summary counts.
pub(crate) fn usable(duration: f64) -> bool {
    duration.is_finite() && duration >= 0.0
}

/// The `q` quantile of sorted values, linear between closest ranks (as
/// PostgreSQL's `percentile_cont` and the analyses compute it).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let fraction = position - low as f64;
    sorted[low] + (sorted[high] - sorted[low]) * fraction
}

/// The outline of one test from its series in run order.
fn outline_of(
    key: TestKey,
    file: Option<String>,
    mut series: Vec<OutlinePoint>,
    set_aside: &[bool],
    rule: Option<&SpreadRule>,
) -> TestOutline {
    series.sort_by_key(|point| point.run_index);
    let aside = |point: &OutlinePoint| {
        usize::try_from(point.run_index)
            .ok()
            .and_then(|index| set_aside.get(index))
            .copied()
            .unwrap_or(false)
    };
    let mut outline = TestOutline {
        key,
        file,
        set_aside: 0,
        passed: 0,
        durations: None,
        series: None,
    };
    let mut troubled = false;
    let mut durations = Vec::new();
    for point in &series {
        if aside(point) {
            outline.set_aside += 1;
            continue;
        }
        match point.outcome {
            Outcome::Passed => outline.passed += 1,
            Outcome::Skipped => {}
            _ => troubled = true,
        }
        if point.outcome != Outcome::Skipped
            && let Some(duration) = point.duration_s.filter(|d| usable(*d))
        {
            durations.push(duration);
        }
    }
    let mut spread = false;
    if let Some(rule) = rule
        && !durations.is_empty()
    {
        let total_s = durations.iter().sum();
        durations.sort_by(f64::total_cmp);
        let summary = DurationSummary {
            samples: durations.len() as u32,
            p50_s: quantile(&durations, 0.5),
            p95_s: quantile(&durations, 0.95),
            min_s: durations[0],
            max_s: durations[durations.len() - 1],
            total_s,
        };
        spread = rule.needs_series(summary.samples, summary.min_s, summary.max_s);
        outline.durations = Some(summary);
    }
    if troubled || spread {
        outline.series = Some(series);
    }
    outline
}

/// [`HistoryStore::for_each_test_outline`] computed from
/// [`HistoryStore::for_each_result`]: one test's results are held at a
/// time.
pub fn over_results<S: HistoryStore + ?Sized>(
    store: &S,
    request: &OutlineRequest,
    visit: &mut dyn FnMut(TestOutline) -> Result<(), VisitError>,
) -> Result<(), StoreError> {
    let mut set_aside = Vec::new();
    for &index in &request.set_aside {
        if let Ok(index) = usize::try_from(index) {
            if set_aside.len() <= index {
                set_aside.resize(index + 1, false);
            }
            set_aside[index] = true;
        }
    }
    let rule = request.durations.as_ref();
    let mut current: Option<(TestKey, Option<String>, Vec<OutlinePoint>)> = None;
    store.for_each_result(&request.filter, &mut |row| {
        let point = OutlinePoint {
            run_index: row.run_index,
            outcome: row.outcome,
            duration_s: row.duration_s,
        };
        if let Some((key, file, series)) = &mut current
            && *key == row.key
        {
            series.push(point);
            if file.is_none() {
                *file = row.file;
            }
            return Ok(());
        }
        if let Some((key, file, series)) = current.replace((row.key, row.file, vec![point])) {
            visit(outline_of(key, file, series, &set_aside, rule))?;
        }
        Ok(())
    })?;
    if let Some((key, file, series)) = current {
        visit(outline_of(key, file, series, &set_aside, rule)).map_err(StoreError::Visit)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(run_index: u64, outcome: Outcome, duration_s: Option<f64>) -> OutlinePoint {
        OutlinePoint {
            run_index,
            outcome,
            duration_s,
        }
    }

    fn key() -> TestKey {
        TestKey {
            suite: "s".into(),
            classname: "c".into(),
            name: "t".into(),
        }
    }

    const RULE: SpreadRule = SpreadRule {
        min_samples: 4,
        min_increase_s: 0.05,
        min_ratio: 1.5,
    };

    #[test]
    fn a_passing_steady_test_is_counted_and_summed_without_its_series() {
        let series = vec![
            point(0, Outcome::Passed, Some(1.0)),
            point(1, Outcome::Skipped, Some(9.0)),
            point(2, Outcome::Passed, Some(1.2)),
            point(3, Outcome::Passed, Some(50.0)),
            point(4, Outcome::Passed, None),
            point(5, Outcome::Passed, Some(1.1)),
        ];
        let outline = outline_of(
            key(),
            None,
            series,
            &[false, false, false, true],
            Some(&RULE),
        );
        assert_eq!(outline.passed, 4);
        assert_eq!(outline.set_aside, 1);
        assert!(outline.series.is_none());
        let durations = outline.durations.unwrap();
        assert_eq!(durations.samples, 3);
        assert_eq!(durations.p50_s, 1.1);
        assert_eq!(durations.min_s, 1.0);
        assert_eq!(durations.max_s, 1.2);
        assert_eq!(durations.total_s.to_bits(), (1.0f64 + 1.2 + 1.1).to_bits());
    }

    #[test]
    fn a_failure_outside_the_set_aside_runs_or_a_wide_spread_sends_the_series() {
        let failing = vec![
            point(0, Outcome::Passed, None),
            point(1, Outcome::Flaky, None),
        ];
        let outline = outline_of(key(), None, failing.clone(), &[false, false], None);
        assert_eq!(outline.series, Some(failing.clone()));
        let outline = outline_of(key(), None, failing, &[false, true], None);
        assert!(outline.series.is_none(), "a failure in a set-aside run");
        assert_eq!((outline.passed, outline.set_aside), (1, 1));
        let slower: Vec<OutlinePoint> = (0..4)
            .map(|run| point(run, Outcome::Passed, Some(if run < 2 { 1.0 } else { 2.0 })))
            .collect();
        let outline = outline_of(key(), None, slower.clone(), &[], Some(&RULE));
        assert_eq!(outline.series, Some(slower.clone()));
        let outline = outline_of(key(), None, slower, &[], None);
        assert!(outline.series.is_none(), "without durations asked");
    }
}

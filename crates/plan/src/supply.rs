//! Supply: what CI did with the changes, from the result history.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::stats::mean_var;
use crate::trend::theil_sen;
use crate::week::IsoWeek;

/// One CI run, summarised from the history store and the flaky verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// When the run happened, Unix seconds.
    pub time_s: i64,
    /// Sum of the durations of its test results (every attempt), seconds.
    pub test_time_s: f64,
    /// Wall time, where the run says it: its CI job records (first start
    /// to last finish), else the span of its JUnit suites (`timestamp` and
    /// `time`), seconds.
    pub wall_time_s: Option<f64>,
    /// The wall time includes the runners' set-up (it comes from CI job
    /// records); a JUnit span covers the tests only.
    pub wall_time_includes_setup: bool,
    /// Test results in the run.
    pub tests: u32,
    /// Tests that failed (or errored) in the run, after retries.
    pub failed_tests: u32,
    /// The run failed, and every test that failed in it is one whose verdict
    /// is flaky.
    pub failed_only_flaky: bool,
    /// Time spent on reruns of flaky tests (retries in the run, and the
    /// whole test time of a run that failed only through flaky tests is not
    /// counted here: see [`RunRecord::failed_only_flaky`]).
    pub flaky_rerun_time_s: f64,
    /// Tests newly broken in this run (their breakage starts here).
    pub new_broken: u32,
    /// Tests first seen flaky in this run.
    pub new_flaky: u32,
}

impl RunRecord {
    /// The run is red: a test failed in it.
    pub fn is_red(&self) -> bool {
        self.failed_tests > 0
    }
}

/// One ISO week of supply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplyWeek {
    pub week: IsoWeek,
    /// CI runs.
    pub runs: u32,
    /// Sum of test time over the runs, seconds.
    pub test_time_s: f64,
    /// Mean test time per run, seconds (0 without runs).
    pub test_time_per_run_s: f64,
    /// Sum of wall time over runs that say it.
    pub wall_time_s: Option<f64>,
    /// Mean wall time per run over the runs that say it, seconds.
    #[serde(default)]
    pub wall_time_per_run_s: Option<f64>,
    /// Runs that say their wall time.
    #[serde(default)]
    pub wall_time_runs: u32,
    /// Share of runs without a failed test (1 without runs).
    pub pass_rate: f64,
    /// Test time spent on reruns of flaky tests, seconds.
    pub flaky_rerun_time_s: f64,
    /// Runs that failed only through flaky tests.
    pub flaky_only_failures: u32,
    /// Test time of those runs, seconds.
    pub flaky_only_failure_time_s: f64,
    /// Largest number of tests in a run of the week.
    pub tests: u32,
}

/// Mean and coefficient of variation of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    /// Standard deviation / mean (0 for fewer than two values or a zero mean).
    pub cv: f64,
}

/// Supply over the weeks shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supply {
    /// Oldest first, every week from the first to the last run.
    pub weeks: Vec<SupplyWeek>,
    /// Test time per run, seconds.
    pub test_time_per_run: Moments,
    /// Wall time per run, over runs that say it.
    pub wall_time_per_run: Option<Moments>,
    /// Share of runs without a failed test.
    pub pass_rate: f64,
    /// Share of all test time spent on flaky reruns and on runs that failed
    /// only through flaky tests.
    pub flaky_time_share: f64,
    /// Tests per run, growth per week (Theil–Sen slope).
    pub suite_growth_per_week: f64,
    /// CI runs per merged change over the weeks both histories cover (1 when
    /// they do not overlap).
    pub runs_per_change: f64,
}

/// Mean and coefficient of variation.
pub fn moments(values: impl IntoIterator<Item = f64>) -> Moments {
    let (count, mean, var) = mean_var(values);
    Moments {
        count,
        mean,
        cv: if count > 1 && mean > 0.0 {
            var.sqrt() / mean
        } else {
            0.0
        },
    }
}

/// Supply over `weeks`. `runs_per_change` is left at 1: the plan sets it
/// from the weeks both histories cover.
pub fn summarise(runs: &[RunRecord], weeks: &[IsoWeek]) -> Supply {
    let mut by_week: BTreeMap<IsoWeek, (SupplyWeek, u32)> = weeks
        .iter()
        .map(|&week| {
            (
                week,
                (
                    SupplyWeek {
                        week,
                        runs: 0,
                        test_time_s: 0.0,
                        test_time_per_run_s: 0.0,
                        wall_time_s: None,
                        wall_time_per_run_s: None,
                        wall_time_runs: 0,
                        pass_rate: 1.0,
                        flaky_rerun_time_s: 0.0,
                        flaky_only_failures: 0,
                        flaky_only_failure_time_s: 0.0,
                        tests: 0,
                    },
                    0,
                ),
            )
        })
        .collect();
    let mut in_window = Vec::new();
    let mut flaky_time = 0.0;
    let mut total_time = 0.0;
    let mut green = 0u64;
    for run in runs {
        let Some((row, green_runs)) = by_week.get_mut(&IsoWeek::of_unix(run.time_s)) else {
            continue;
        };
        in_window.push(run);
        row.runs += 1;
        row.test_time_s += run.test_time_s;
        total_time += run.test_time_s;
        if let Some(wall) = run.wall_time_s {
            *row.wall_time_s.get_or_insert(0.0) += wall;
            row.wall_time_runs += 1;
        }
        if !run.is_red() {
            *green_runs += 1;
            green += 1;
        }
        row.flaky_rerun_time_s += run.flaky_rerun_time_s;
        flaky_time += run.flaky_rerun_time_s;
        if run.failed_only_flaky {
            row.flaky_only_failures += 1;
            row.flaky_only_failure_time_s += run.test_time_s;
            flaky_time += run.test_time_s;
        }
        row.tests = row.tests.max(run.tests);
    }
    let rows: Vec<SupplyWeek> = by_week
        .into_values()
        .map(|(mut row, green_runs)| {
            if row.runs > 0 {
                row.test_time_per_run_s = row.test_time_s / f64::from(row.runs);
                row.pass_rate = f64::from(green_runs) / f64::from(row.runs);
            }
            if row.wall_time_runs > 0 {
                row.wall_time_per_run_s = row
                    .wall_time_s
                    .map(|sum| sum / f64::from(row.wall_time_runs));
            }
            row
        })
        .collect();
    let run_count = in_window.len() as u64;
    let walls: Vec<f64> = in_window.iter().filter_map(|r| r.wall_time_s).collect();
    let tests_series: Vec<f64> = rows
        .iter()
        .filter(|r| r.runs > 0)
        .map(|r| f64::from(r.tests))
        .collect();
    Supply {
        test_time_per_run: moments(in_window.iter().map(|r| r.test_time_s)),
        wall_time_per_run: (!walls.is_empty()).then(|| moments(walls.iter().copied())),
        pass_rate: if run_count > 0 {
            green as f64 / run_count as f64
        } else {
            1.0
        },
        flaky_time_share: if total_time > 0.0 {
            (flaky_time / total_time).min(1.0)
        } else {
            0.0
        },
        suite_growth_per_week: theil_sen(&tests_series).slope_per_week,
        runs_per_change: 1.0,
        weeks: rows,
    }
}

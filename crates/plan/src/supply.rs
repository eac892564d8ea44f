//! Supply: what CI did with the changes, from the result history.

use serde::{Deserialize, Serialize};

use crate::week::IsoWeek;

/// One CI run, summarised from the history store and the flaky verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// When the run happened, Unix seconds.
    pub time_s: i64,
    /// Sum of the durations of its test results (every attempt), seconds.
    pub test_time_s: f64,
    /// Wall time, where the run's JUnit says it (suite times, `time` on
    /// `<testsuites>`).
    pub wall_time_s: Option<f64>,
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

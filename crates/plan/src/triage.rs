//! The human side: triage load against triage hours.

use serde::{Deserialize, Serialize};

use crate::week::IsoWeek;

/// One week of triage work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageWeek {
    pub week: IsoWeek,
    /// Runs with a failed test.
    pub red_runs: u32,
    /// Tests that broke this week.
    pub new_broken: u32,
    /// Tests first seen flaky this week.
    pub new_flaky: u32,
    /// `red_runs + new_broken + new_flaky`.
    pub items: u32,
    /// Items × minutes per item, in hours.
    pub hours_needed: f64,
}

/// Which side limits absorbing more change volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Both runners and triage keep up.
    None,
    /// The runners (queue wait or utilisation over target).
    Runners,
    /// The people triaging (hours needed over hours available).
    Headcount,
    /// Both.
    Both,
}

/// Triage load over the weeks shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageLoad {
    pub weeks: Vec<TriageWeek>,
    /// Mean items per week.
    pub items_per_week: f64,
    /// Mean hours needed per week.
    pub hours_needed_per_week: f64,
    pub hours_available_per_week: f64,
    /// Hours needed / hours available (infinite hours are never available:
    /// 0 available gives a null).
    pub load: Option<f64>,
    /// Today's constraint, runners and triage together.
    pub constraint: Constraint,
}

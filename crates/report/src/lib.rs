//! The weekly QA capacity report: one sentence a lead reads first (can
//! testing absorb +50% change volume, and what to do if not), the weekly
//! trends behind it, and the tests that need an owner's attention.
//!
//! # What it does
//!
//! [`build`] turns a [`CapacityPlan`] and the measured outcomes
//! ([`ReportInputs`]) into a [`WeeklyReport`], a plain value that
//! serializes as the report's JSON contract; [`markdown`] and [`html`]
//! render it. Pure: no I/O, no clock.
//!
//! # How it works
//!
//! - **Headline.** The `x1.5` scenario without levers decides: `absorbs`
//!   says yes; otherwise the report names the first `x1.5` scenario with a
//!   lever that absorbs (or is only at risk), and the runner slots the
//!   model says are needed.
//! - **Weeks.** The planner's demand and supply weeks, joined by week with
//!   the measured CI queue wait and runner occupancy and the time to green.
//!   Change failure rate is reverts over merged changes; deployment
//!   frequency is release tags per week.
//! - **HTML.** One page, no scripts, no external resources: CSS in a
//!   `<style>` element, charts as inline SVG. Every chart is an
//!   `<svg class="chart" data-chart="...">` whose data marks carry
//!   `class="mark"`, so a test can tell a drawn chart from an empty one.
//!
//! # Limitations
//!
//! - Capacity in changes per week is the model's headroom times the mean
//!   weekly volume: it assumes the mix of runs per change stays as it is.
//! - Charts are static pictures: no hover, no zoom.

use hourglass_insight::outcomes::{CiWeek, GreenWeek};
use hourglass_plan::{CapacityPlan, IsoWeek, Scenario, Verdict};
use serde::{Deserialize, Serialize};

mod html;
mod markdown;

pub use html::html;
pub use markdown::markdown;

/// A test in one of the report's tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRow {
    /// `classname name` (or `suite name`).
    pub test: String,
    pub owners: Vec<String>,
    /// Flakiness score (flaky), 1 (broken), share of test time (slow).
    pub score: f64,
    /// One line: the evidence, since when it is broken, or p50/p95.
    pub detail: String,
}

/// Totals of what the report was made from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub runs: usize,
    pub tests: usize,
    pub changes: usize,
    pub ci_jobs: usize,
}

/// What the report is made of.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    /// The week the report is for; `None` = the newest week of the plan.
    pub week: Option<IsoWeek>,
    pub plan: CapacityPlan,
    pub ci_weeks: Vec<CiWeek>,
    pub green_weeks: Vec<GreenWeek>,
    pub flaky: Vec<TestRow>,
    pub broken: Vec<TestRow>,
    pub slow: Vec<TestRow>,
    pub totals: Totals,
    /// Sentences about what is missing.
    pub notes: Vec<String>,
}

/// One week of the trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportWeek {
    pub week: String,
    /// Merged changes (first-parent commits of the default branch).
    pub changes: u32,
    pub commits: u32,
    pub lines: u64,
    /// CI runs in the history.
    pub runs: u32,
    pub test_time_s: f64,
    /// Test time over merged changes; `None` without changes.
    pub test_time_per_change_s: Option<f64>,
    /// Mean wall time per run over the runs that say it (CI job records,
    /// else the span of their JUnit suites); `None` when none does.
    pub wall_time_per_run_s: Option<f64>,
    /// Test time spent on flaky reruns and on runs that failed only
    /// through flaky tests, seconds.
    pub flaky_time_s: f64,
    /// Median lead time for changes (first commit → merge), seconds.
    pub lead_time_p50_s: Option<f64>,
    /// Deployment frequency: release tags in the week.
    pub releases: u32,
    pub reverts: u32,
    /// Reverts over changes; `None` without changes.
    pub change_failure_rate: Option<f64>,
    /// Broken tests fixed this week, and the median time from the first red
    /// run to the green one.
    pub fixes: u32,
    pub time_to_green_p50_s: Option<f64>,
    /// Measured from CI job records; `None` without them.
    pub ci_jobs: u32,
    pub queue_wait_p50_s: Option<f64>,
    pub queue_wait_p95_s: Option<f64>,
    pub runner_occupancy: Option<f64>,
}

/// The answer to "can testing absorb +50%?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    AtRisk,
    No,
    /// Not enough history to say.
    Unknown,
}

/// The report, as its JSON contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeeklyReport {
    /// `YYYY-Www`, or `null` for an empty history.
    pub week: Option<String>,
    /// The one sentence the report opens with.
    pub headline: String,
    pub answer: Answer,
    /// The `x1.5` scenario's verdict (`absorbs|at_risk|saturates`).
    pub verdict_at_1_5: Option<Verdict>,
    /// A scenario with a lever that makes +50% work, when one does.
    pub remedy: Option<String>,
    pub totals: Totals,
    pub weeks: Vec<ReportWeek>,
    /// Changes per week the CI model absorbs at today's mix (headroom ×
    /// mean weekly changes); `None` without a model.
    pub capacity_changes_per_week: Option<f64>,
    pub model: hourglass_plan::QueueModel,
    pub scenarios: Vec<Scenario>,
    /// Merged changes per hour of the week (UTC), 168 values, Monday 00:00 first.
    pub hour_of_week: Vec<u32>,
    pub flaky: Vec<TestRow>,
    pub broken: Vec<TestRow>,
    pub slow: Vec<TestRow>,
    pub notes: Vec<String>,
}

/// Builds the report.
pub fn build(inputs: ReportInputs) -> WeeklyReport {
    let ReportInputs {
        week,
        plan,
        ci_weeks,
        green_weeks,
        flaky,
        broken,
        slow,
        totals,
        mut notes,
    } = inputs;
    let weeks: Vec<ReportWeek> = plan
        .demand
        .weeks
        .iter()
        .zip(&plan.supply.weeks)
        .map(|(demand, supply)| {
            let label = demand.week.to_string();
            let ci = ci_weeks.iter().find(|c| c.week == label);
            let green = green_weeks.iter().find(|g| g.week == label);
            let per_change = (demand.changes > 0)
                .then(|| round3(supply.test_time_s / f64::from(demand.changes)));
            ReportWeek {
                changes: demand.changes,
                commits: demand.commits,
                lines: demand.lines,
                runs: supply.runs,
                test_time_s: round3(supply.test_time_s),
                test_time_per_change_s: per_change,
                wall_time_per_run_s: supply.wall_time_per_run_s.map(round3),
                flaky_time_s: round3(supply.flaky_rerun_time_s + supply.flaky_only_failure_time_s),
                lead_time_p50_s: demand.lead_time_p50_s,
                releases: demand.releases,
                reverts: demand.reverts,
                change_failure_rate: (demand.changes > 0)
                    .then(|| f64::from(demand.reverts) / f64::from(demand.changes)),
                fixes: green.map_or(0, |g| g.fixes),
                time_to_green_p50_s: green.map(|g| g.p50_s),
                ci_jobs: ci.map_or(0, |c| c.jobs),
                queue_wait_p50_s: ci.and_then(|c| c.wait_p50_s),
                queue_wait_p95_s: ci.and_then(|c| c.wait_p95_s),
                runner_occupancy: ci
                    .and_then(|c| c.occupancy)
                    .map(|o| (o * 1e4).round() / 1e4),
                week: label,
            }
        })
        .collect();
    let week = week
        .map(|w| w.to_string())
        .or_else(|| weeks.last().map(|w| w.week.clone()));
    let has_history = totals.runs > 0 && totals.changes > 0;
    let model = plan.model.clone();
    let capacity_changes_per_week = (has_history && model.arrival_rate_per_hour > 0.0).then(|| {
        let mean =
            weeks.iter().map(|w| f64::from(w.changes)).sum::<f64>() / weeks.len().max(1) as f64;
        mean * model.max_arrival_rate_per_hour / model.arrival_rate_per_hour
    });
    let (headline, answer, verdict_at_1_5, remedy) =
        headline(&plan.scenarios, &model, has_history, &totals);
    notes.extend(plan.notes.iter().cloned());
    WeeklyReport {
        week,
        headline,
        answer,
        verdict_at_1_5,
        remedy,
        totals,
        weeks,
        capacity_changes_per_week,
        model,
        // Without both histories the scenarios are made of nothing.
        scenarios: if has_history {
            plan.scenarios
        } else {
            Vec::new()
        },
        hour_of_week: plan.demand.hour_of_week,
        flaky,
        broken,
        slow,
        notes,
    }
}

/// Milliseconds are plenty for durations in seconds.
fn round3(value: f64) -> f64 {
    (value * 1e3).round() / 1e3
}

/// An optional figure as text, `–` when unknown.
pub(crate) fn opt(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_owned(), show)
}

/// The weekly outcomes table's rows: the last 12 weeks, oldest first, each
/// as its cells (week, changes, runs, test time per change, wall time per
/// run, flaky time, lead time, releases, change failure rate, time to green,
/// queue wait, runner occupancy). Markdown and HTML frame the same cells.
pub(crate) fn week_rows(report: &WeeklyReport) -> Vec<[String; 12]> {
    let start = report.weeks.len().saturating_sub(12);
    report.weeks[start..]
        .iter()
        .map(|w| {
            [
                w.week.clone(),
                w.changes.to_string(),
                w.runs.to_string(),
                opt(w.test_time_per_change_s, duration),
                opt(w.wall_time_per_run_s, duration),
                duration(w.flaky_time_s),
                opt(w.lead_time_p50_s, duration),
                w.releases.to_string(),
                opt(w.change_failure_rate, percent),
                opt(w.time_to_green_p50_s, duration),
                opt(w.queue_wait_p50_s, duration),
                opt(w.runner_occupancy, percent),
            ]
        })
        .collect()
}

/// `4 min`, `2.5 h`, `3.1 d`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "∞".to_owned();
    }
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 36.0 * 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

/// `73%`.
pub fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn wait_text(wait_s: Option<f64>) -> String {
    wait_s.map_or_else(
        || "an unbounded queue".to_owned(),
        |w| format!("a mean wait of {}", duration(w)),
    )
}

fn headline(
    scenarios: &[Scenario],
    model: &hourglass_plan::QueueModel,
    has_history: bool,
    totals: &Totals,
) -> (String, Answer, Option<Verdict>, Option<String>) {
    if !has_history {
        let missing = match (totals.runs > 0, totals.changes > 0) {
            (false, false) => {
                "store CI test results with `hourglass ingest` and run the report in the git repository they test"
            }
            (false, true) => {
                "store CI test results with `hourglass ingest` (JUnit XML of each CI run)"
            }
            _ => {
                "run the report in the git repository the results are for, so that merged changes can be counted"
            }
        };
        return (
            format!("Not known yet whether testing can absorb +50% change volume: {missing}."),
            Answer::Unknown,
            None,
            None,
        );
    }
    let at = |levers: bool| {
        scenarios
            .iter()
            .filter(move |s| (s.volume_factor - 1.5).abs() < 1e-9 && s.levers.is_empty() != levers)
    };
    let Some(plain) = at(false).next() else {
        return (
            "Not known whether testing can absorb +50% change volume: the plan has no ×1.5 scenario (add 1.5 to `volume-factors` in hourglass.toml).".to_owned(),
            Answer::Unknown,
            None,
            None,
        );
    };
    let now = format!("{} utilisation now", percent(model.utilisation));
    match plain.verdict {
        Verdict::Absorbs => (
            format!(
                "Yes: testing can absorb +50% change volume — CI would run at {} utilisation with {} ({now}).",
                percent(plain.utilisation),
                wait_text(plain.wait_s)
            ),
            Answer::Yes,
            Some(plain.verdict),
            None,
        ),
        verdict => {
            let fix = at(true)
                .find(|s| s.verdict == Verdict::Absorbs)
                .or_else(|| at(true).find(|s| s.verdict == Verdict::AtRisk));
            let remedy = fix.map(|s| {
                let levers: Vec<String> = s.levers.iter().map(ToString::to_string).collect();
                format!(
                    "{} ({} utilisation, {})",
                    levers.join(" + "),
                    percent(s.utilisation),
                    wait_text(s.wait_s)
                )
            });
            let runners = plain.runners_needed.map(|n| format!("{n} runner slots"));
            let todo = match (&remedy, runners) {
                (Some(remedy), Some(runners)) if !remedy.contains("runner slots") => {
                    format!("; to absorb it, use {remedy}, or provide {runners}")
                }
                (Some(remedy), _) => format!("; to absorb it, use {remedy}"),
                (None, Some(runners)) => format!("; to absorb it, provide {runners}"),
                (None, None) => {
                    "; no single lever in the plan is enough: combine them (see the scenarios)"
                        .to_owned()
                }
            };
            let (answer, word) = if verdict == Verdict::AtRisk {
                (Answer::AtRisk, "At risk")
            } else {
                (Answer::No, "No")
            };
            (
                format!(
                    "{word}: at +50% change volume CI would run at {} utilisation with {}{todo}.",
                    percent(plain.utilisation),
                    wait_text(plain.wait_s)
                ),
                answer,
                Some(verdict),
                remedy,
            )
        }
    }
}

#[cfg(test)]
mod tests;

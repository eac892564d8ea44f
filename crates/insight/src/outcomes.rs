//! Weekly outcomes measured from the history: CI queue wait and runner
//! occupancy from CI job records, and time to green (a test's failing
//! streak to its first pass).
//!
//! # How it decides
//!
//! - **Queue wait** of a job: GitLab's `queued_duration` when given (GitLab
//!   creates every job of a pipeline at its start, so `started_at −
//!   created_at` would count the wait for earlier stages), else
//!   `started_at − created_at`. Jobs that never started have none. A job
//!   counts in the week (ISO, UTC) it was created in.
//! - **Runner occupancy** of a week: the busy seconds of the jobs that
//!   started in it (`finished_at − started_at`) over the seconds the runners
//!   seen that week could have worked (runners × 168 h). It is a lower
//!   bound for autoscaled fleets whose runners live for one job.
//! - **Time to green**: for a test that is not flaky, each streak of at
//!   least [`MIN_RED_STREAK`] consecutive failing runs that ends with a
//!   passing one: the time from the first failing run to that passing run,
//!   counted in the week of the fix.

use hourglass_model::{CiJob, Outcome};
use serde::{Deserialize, Serialize};

use crate::series::{Observation, Run};

/// Failing runs in a row before a test counts as broken for time to green.
pub const MIN_RED_STREAK: usize = 2;

/// Milliseconds since the epoch of an RFC 3339 time (zoneless read as UTC).
pub fn millis(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    Some(
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

/// `YYYY-Www` of the ISO week (UTC) holding the instant.
pub fn iso_week(millis: i64) -> String {
    let timestamp =
        jiff::Timestamp::from_millisecond(millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let week = timestamp
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// Queue wait and runner occupancy of one week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiWeek {
    pub week: String,
    /// Jobs created in the week.
    pub jobs: u32,
    /// Jobs with a measured wait.
    pub waits: u32,
    pub wait_p50_s: Option<f64>,
    pub wait_p95_s: Option<f64>,
    /// Runners that started a job in the week.
    pub runners: u32,
    /// Seconds runners were busy with jobs started in the week.
    pub busy_s: f64,
    /// `busy_s / (runners × 168 h)`; `None` without runners.
    pub occupancy: Option<f64>,
}

/// The queue wait of a job, seconds.
pub fn queue_wait_s(job: &CiJob) -> Option<f64> {
    if let Some(queued) = job.queued_s {
        return Some(queued);
    }
    let created = millis(&job.created_at)?;
    let started = millis(job.started_at.as_deref()?)?;
    (started >= created).then(|| (started - created) as f64 / 1000.0)
}

/// Folds CI jobs, in any order, into weeks.
#[derive(Debug, Default)]
pub struct CiWeeks {
    weeks: std::collections::BTreeMap<String, WeekAccumulator>,
}

#[derive(Debug, Default)]
struct WeekAccumulator {
    jobs: u32,
    waits: Vec<f64>,
    runners: std::collections::BTreeSet<String>,
    busy_s: f64,
}

impl CiWeeks {
    pub fn push(&mut self, job: &CiJob) {
        let Some(created) = millis(&job.created_at) else {
            return;
        };
        let entry = self.weeks.entry(iso_week(created)).or_default();
        entry.jobs += 1;
        if let Some(wait) = queue_wait_s(job) {
            entry.waits.push(wait);
        }
        let started = job.started_at.as_deref().and_then(millis);
        let finished = job.finished_at.as_deref().and_then(millis);
        if let (Some(started), Some(finished)) = (started, finished) {
            let entry = self.weeks.entry(iso_week(started)).or_default();
            if finished > started {
                entry.busy_s += (finished - started) as f64 / 1000.0;
            }
            if let Some(runner) = &job.runner {
                entry.runners.insert(runner.clone());
            }
        }
    }

    pub fn finish(self) -> Vec<CiWeek> {
        self.weeks
            .into_iter()
            .map(|(week, mut acc)| {
                acc.waits.sort_by(f64::total_cmp);
                let runners = acc.runners.len() as u32;
                CiWeek {
                    week,
                    jobs: acc.jobs,
                    waits: acc.waits.len() as u32,
                    wait_p50_s: quantile(&acc.waits, 0.5),
                    wait_p95_s: quantile(&acc.waits, 0.95),
                    runners,
                    busy_s: acc.busy_s,
                    occupancy: (runners > 0)
                        .then(|| acc.busy_s / (f64::from(runners) * 168.0 * 3600.0)),
                }
            })
            .collect()
    }
}

/// Nearest-rank quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// One failing streak that ended green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreenAgain {
    /// Index (in the runs) of the first failing run.
    pub red_run: usize,
    /// Index of the passing run that ended the streak.
    pub green_run: usize,
    pub seconds: f64,
}

/// The failing streaks of one test's observations (ordered by run) that
/// ended with a pass. `runs` gives each run's time.
pub fn time_to_green(observations: &[Observation], runs: &[Run]) -> Vec<GreenAgain> {
    let time = |run: usize| {
        runs.get(run)
            .and_then(|r| r.timestamp.as_deref())
            .and_then(millis)
    };
    let mut found = Vec::new();
    let mut streak: Option<(usize, usize)> = None; // (first failing run, length)
    for observation in observations {
        match observation.outcome {
            Outcome::Failed | Outcome::Error => {
                streak = Some(match streak {
                    Some((first, length)) => (first, length + 1),
                    None => (observation.run, 1),
                });
            }
            Outcome::Passed | Outcome::Flaky => {
                if let Some((first, length)) = streak.take()
                    && length >= MIN_RED_STREAK
                    && let (Some(red), Some(green)) = (time(first), time(observation.run))
                    && green >= red
                {
                    found.push(GreenAgain {
                        red_run: first,
                        green_run: observation.run,
                        seconds: (green - red) as f64 / 1000.0,
                    });
                }
            }
            Outcome::Skipped => {}
        }
    }
    found
}

/// Time to green per week of the fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GreenWeek {
    pub week: String,
    pub fixes: u32,
    pub p50_s: f64,
    pub max_s: f64,
}

/// Groups time-to-green samples by the week of their green run.
pub fn green_weeks(samples: &[GreenAgain], runs: &[Run]) -> Vec<GreenWeek> {
    let mut weeks: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for sample in samples {
        if let Some(at) = runs
            .get(sample.green_run)
            .and_then(|r| r.timestamp.as_deref())
            .and_then(millis)
        {
            weeks.entry(iso_week(at)).or_default().push(sample.seconds);
        }
    }
    weeks
        .into_iter()
        .map(|(week, mut values)| {
            values.sort_by(f64::total_cmp);
            GreenWeek {
                week,
                fixes: values.len() as u32,
                p50_s: quantile(&values, 0.5).unwrap_or(0.0),
                max_s: values.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hourglass_model::CiProvider;

    use super::*;

    fn job(created: &str, started: Option<&str>, finished: Option<&str>, runner: &str) -> CiJob {
        CiJob {
            provider: CiProvider::GitHub,
            job_id: created.into(),
            pipeline_id: None,
            commit: None,
            name: "test".into(),
            runner: Some(runner.into()),
            status: "completed".into(),
            conclusion: None,
            created_at: created.into(),
            started_at: started.map(str::to_owned),
            finished_at: finished.map(str::to_owned),
            queued_s: None,
        }
    }

    #[test]
    fn queue_wait_is_start_minus_creation_unless_the_service_measured_it() {
        let mut github = job(
            "2026-03-02T10:00:00Z",
            Some("2026-03-02T10:02:30Z"),
            None,
            "r",
        );
        assert_eq!(queue_wait_s(&github), Some(150.0));
        github.queued_s = Some(12.5);
        assert_eq!(queue_wait_s(&github), Some(12.5));
        let queued = job("2026-03-02T10:00:00Z", None, None, "r");
        assert_eq!(queue_wait_s(&queued), None);
    }

    #[test]
    fn weeks_hold_waits_and_occupancy() {
        let mut weeks = CiWeeks::default();
        // Monday 2026-03-02 is in 2026-W10; one hour of work on each of two runners.
        weeks.push(&job(
            "2026-03-02T10:00:00Z",
            Some("2026-03-02T10:01:00Z"),
            Some("2026-03-02T11:01:00Z"),
            "a",
        ));
        weeks.push(&job(
            "2026-03-03T10:00:00Z",
            Some("2026-03-03T10:05:00Z"),
            Some("2026-03-03T11:05:00Z"),
            "b",
        ));
        weeks.push(&job("2026-03-09T10:00:00Z", None, None, "a"));
        let weeks = weeks.finish();
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].week, "2026-W10");
        assert_eq!(weeks[0].jobs, 2);
        assert_eq!(weeks[0].wait_p50_s, Some(60.0));
        assert_eq!(weeks[0].wait_p95_s, Some(300.0));
        assert_eq!(weeks[0].runners, 2);
        let occupancy = weeks[0].occupancy.unwrap();
        assert!((occupancy - 7200.0 / (2.0 * 168.0 * 3600.0)).abs() < 1e-12);
        assert_eq!(weeks[1].week, "2026-W11");
        assert_eq!(weeks[1].wait_p50_s, None);
        assert_eq!(weeks[1].occupancy, None);
    }

    fn run(at: &str) -> Run {
        Run {
            run_id: at.into(),
            commit: None,
            branch: None,
            timestamp: Some(at.into()),
            tests: 1,
            failures: 0,
        }
    }

    #[test]
    fn time_to_green_runs_from_the_first_red_run_to_the_next_pass() {
        let runs: Vec<Run> = (0..6)
            .map(|day| run(&format!("2026-03-0{}T12:00:00Z", day + 2)))
            .collect();
        let o = |run, outcome| Observation::new(run, outcome, None);
        let observations = [
            o(0, Outcome::Passed),
            o(1, Outcome::Failed),
            o(2, Outcome::Error),
            o(3, Outcome::Failed),
            o(4, Outcome::Passed),
            o(5, Outcome::Failed),
        ];
        let found = time_to_green(&observations, &runs);
        assert_eq!(found.len(), 1, "the last red streak has not ended green");
        assert_eq!((found[0].red_run, found[0].green_run), (1, 4));
        assert!((found[0].seconds - 3.0 * 86_400.0).abs() < 1e-9);
        // A single red run followed by a pass is not a breakage.
        let blip = [o(0, Outcome::Failed), o(1, Outcome::Passed)];
        assert!(time_to_green(&blip, &runs).is_empty());
        let weeks = green_weeks(&found, &runs);
        assert_eq!(weeks[0].week, "2026-W10");
        assert_eq!(weeks[0].fixes, 1);
    }
}

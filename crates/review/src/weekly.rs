//! What the weekly report is made of, read from git and the history.
//!
//! [`gather`] reads, in order: the flaky window (the analyses of
//! [`crate::analyze`], for the tables of flaky, broken and slow tests), the
//! whole result history once more test by test (runs for the planner's
//! supply, time to green), the CI job records (queue wait, runner
//! occupancy), and git's merged changes and release tags (the planner's
//! demand). Everything up to the end of the report's week; nothing after.
//!
//! Memory: one test's series at a time for the history scan; one record
//! per run, per merged change and per week.

use std::collections::HashMap;
use std::path::Path;

use hourglass_config::Settings;
use hourglass_git::activity::{ActivityOptions, activity};
use hourglass_history::{HistoryStore, ResultFilter, SqliteStore};
use hourglass_insight::outcomes::{
    CiWeek, CiWeeks, GreenAgain, GreenWeek, green_weeks, time_to_green,
};
use hourglass_insight::{Observation, Run, SeriesGrouper, TestSeries, Verdict};
use hourglass_model::Outcome;
use hourglass_plan::{Capacity, IsoWeek, MergedChange, PlanInputs, Release, RunRecord};

use crate::{Analysis, ReviewError, Window, analyze};

/// Everything the report needs besides rendering.
#[derive(Debug)]
pub struct Gathered {
    /// The planner's inputs (demand from git, supply from the history).
    pub plan_inputs: PlanInputs,
    /// Flaky, broken and slow tests of the flaky window ending at the
    /// report's week.
    pub analysis: Analysis,
    pub ci_weeks: Vec<CiWeek>,
    pub green_weeks: Vec<GreenWeek>,
    /// Runs and tests in the whole history up to the week's end.
    pub total_runs: usize,
    pub total_tests: usize,
    pub ci_jobs: usize,
    /// What could not be read, in sentences.
    pub notes: Vec<String>,
}

/// The planner's capacity from `hourglass.toml`.
pub fn capacity(settings: &Settings) -> Capacity {
    let c = &settings.capacity;
    Capacity {
        runner_slots: c.runner_slots,
        working_hours_per_week: c.working_hours_per_week,
        shards_per_run: c.shards_per_run,
        setup_overhead_per_shard_s: c.setup_seconds_per_shard,
        target_utilisation: c.target_utilisation,
        target_queue_wait_s: c.target_queue_wait_seconds,
        triage_hours_per_week: c.triage_hours_per_week,
        triage_minutes_per_item: c.triage_minutes_per_item,
        busy_hours: c.busy_hours,
        volume_factors: c.volume_factors.clone(),
    }
}

/// The first instant after `week` (Monday 00:00 UTC of the next week), Unix ms.
pub fn week_end_ms(week: IsoWeek) -> i64 {
    week.next()
        .monday()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(i64::MAX, |zoned| zoned.timestamp().as_millisecond())
}

/// Reads what the report needs. `week` ends the report (default: the week
/// of the newest run or change); `weeks` is how many weeks the trends show.
pub fn gather(
    root: &Path,
    store: &SqliteStore,
    settings: &Settings,
    week: Option<IsoWeek>,
    weeks: u32,
) -> Result<Gathered, ReviewError> {
    let mut notes = Vec::new();
    let end_ms = week.map(week_end_ms);

    // Git: merged changes and releases.
    let options = ActivityOptions {
        release_pattern: Some(settings.capacity.release_tag_pattern.clone()),
        cache_dir: Some(root.join(".hourglass").join("cache").join("activity")),
        ..ActivityOptions::default()
    };
    let (mut changes, mut releases) = match activity(root, &options) {
        Ok(activity) => (
            activity
                .changes
                .into_iter()
                .map(|c| MergedChange {
                    commit: c.commit,
                    time_s: c.time_s,
                    commits: c.commits,
                    authors: c.authors,
                    files: c.files,
                    lines_added: c.lines_added,
                    lines_deleted: c.lines_deleted,
                    lead_time_s: c.lead_time_s,
                    is_revert: c.is_revert,
                })
                .collect::<Vec<_>>(),
            activity
                .releases
                .into_iter()
                .map(|r| Release {
                    tag: r.name,
                    time_s: r.time_s,
                })
                .collect::<Vec<_>>(),
        ),
        Err(error) => {
            notes.push(format!("no change history from git: {error}"));
            (Vec::new(), Vec::new())
        }
    };
    if let Some(end) = end_ms {
        changes.retain(|c| c.time_s * 1000 < end);
        releases.retain(|r| r.time_s * 1000 < end);
    }

    // The flaky window, ending at the week's end.
    let window_filter = match end_ms {
        Some(end) => {
            let start = end - i64::from(settings.flaky.window_days) * 86_400_000;
            ResultFilter {
                since: Some(timestamp_text(start)),
                ..ResultFilter::default()
            }
        }
        None => Window::default().filter(settings.flaky.window_days, jiff::Timestamp::now())?,
    };
    let mut analysis = analyze(store, &window_filter, settings)?;
    if let Some(end) = end_ms {
        // Runs after the week are not the report's; judge again without them.
        let late = analysis.runs.iter().any(|r| {
            r.timestamp
                .as_deref()
                .and_then(crate::millis)
                .is_some_and(|t| t >= end)
        });
        if late {
            analysis = analyze_until(store, &window_filter, settings, end)?;
        }
    }
    let verdict_of: HashMap<&hourglass_model::TestKey, Verdict> = analysis
        .verdicts
        .iter()
        .map(|v| (&v.key, v.verdict))
        .collect();

    // The whole history: runs and time to green.
    let all = ResultFilter::default();
    let summaries: Vec<_> = store
        .runs(&all)?
        .into_iter()
        .filter(|s| {
            end_ms.is_none_or(|end| crate::millis(&s.info.timestamp).is_some_and(|t| t < end))
        })
        .collect();
    let keep = summaries.len();
    let runs: Vec<Run> = summaries
        .iter()
        .map(|s| Run {
            run_id: s.info.run_id.clone(),
            commit: s.info.commit.clone(),
            branch: s.info.branch.clone(),
            timestamp: Some(s.info.timestamp.clone()),
            tests: s.tests.saturating_sub(s.skipped) as u32,
            failures: (s.failed + s.error) as u32,
        })
        .collect();
    let mut flaky_failures = vec![0u32; keep];
    let mut other_failures = vec![0u32; keep];
    let mut greens: Vec<GreenAgain> = Vec::new();
    let mut total_tests = 0usize;
    let mut consume = |series: TestSeries| {
        total_tests += 1;
        let flaky = verdict_of.get(&series.key) == Some(&Verdict::Flaky);
        for observation in &series.observations {
            if matches!(observation.outcome, Outcome::Failed | Outcome::Error) {
                if flaky {
                    flaky_failures[observation.run] += 1;
                } else {
                    other_failures[observation.run] += 1;
                }
            }
        }
        if !flaky {
            greens.extend(time_to_green(&series.observations, &runs));
        }
    };
    let mut grouper = SeriesGrouper::new();
    store.for_each_result(&all, &mut |row| {
        let index = row.run_index as usize;
        if index >= keep {
            return Ok(());
        }
        let observation = Observation::new(index, row.outcome, row.duration_s);
        if let Some(done) = grouper.push(row.key, observation, None) {
            consume(done);
        }
        Ok(())
    })?;
    if let Some(last) = grouper.finish() {
        consume(last);
    }
    let mut new_broken: HashMap<&str, u32> = HashMap::new();
    let mut new_flaky: HashMap<&str, u32> = HashMap::new();
    for verdict in &analysis.verdicts {
        if verdict.verdict == Verdict::Broken
            && let Some(breakage) = &verdict.breakage
            && !breakage.since_before_window()
        {
            *new_broken
                .entry(breakage.first_failing.run_id.as_str())
                .or_default() += 1;
        }
        if verdict.verdict == Verdict::Flaky
            && let Some(first) = &verdict.first_flaky
        {
            *new_flaky.entry(first.run_id.as_str()).or_default() += 1;
        }
    }
    let run_records: Vec<RunRecord> = summaries
        .iter()
        .enumerate()
        .filter_map(|(index, s)| {
            let time_s = crate::millis(&s.info.timestamp)? / 1000;
            let failed = (s.failed + s.error) as u32;
            Some(RunRecord {
                time_s,
                test_time_s: s.duration_s,
                wall_time_s: None,
                tests: s.tests as u32,
                failed_tests: failed,
                failed_only_flaky: failed > 0
                    && other_failures[index] == 0
                    && flaky_failures[index] > 0,
                flaky_rerun_time_s: 0.0,
                new_broken: new_broken.get(s.info.run_id.as_str()).copied().unwrap_or(0),
                new_flaky: new_flaky.get(s.info.run_id.as_str()).copied().unwrap_or(0),
            })
        })
        .collect();
    let green = green_weeks(&greens, &runs);

    // CI jobs.
    let mut ci = CiWeeks::default();
    let mut ci_jobs = 0usize;
    store.for_each_ci_job(None, &mut |job| {
        let created = crate::millis(&job.created_at);
        if end_ms.is_none_or(|end| created.is_some_and(|t| t < end)) {
            ci_jobs += 1;
            ci.push(&job);
        }
        Ok(())
    })?;

    if runs.is_empty() {
        notes.push(
            "no test runs in the history: store CI results with `hourglass ingest`".to_owned(),
        );
    }
    if changes.is_empty() {
        notes.push("no merged changes in git".to_owned());
    }
    if ci_jobs == 0 {
        notes.push(
            "no CI job records: queue wait and runner occupancy are modelled, not measured (`hourglass ingest --ci-jobs`)"
                .to_owned(),
        );
    }
    Ok(Gathered {
        plan_inputs: PlanInputs {
            changes,
            releases,
            all_branches: false,
            runs: run_records,
            capacity: capacity(settings),
            weeks,
            replay: None,
            forecast: hourglass_plan::ForecastSettings::default(),
        },
        analysis,
        ci_weeks: ci.finish(),
        green_weeks: green,
        total_runs: runs.len(),
        total_tests,
        ci_jobs,
        notes,
    })
}

/// The window's analysis, its runs after `end_ms` left out.
fn analyze_until(
    store: &SqliteStore,
    filter: &ResultFilter,
    settings: &Settings,
    end_ms: i64,
) -> Result<Analysis, ReviewError> {
    let runs = store.runs(filter)?;
    let before = runs
        .iter()
        .filter(|r| crate::millis(&r.info.timestamp).is_some_and(|t| t < end_ms))
        .count();
    let bounded = BoundedStore {
        inner: store,
        runs: before,
    };
    analyze(&bounded, filter, settings)
}

/// A store seen through its first `runs` runs (in time order).
struct BoundedStore<'a> {
    inner: &'a SqliteStore,
    runs: usize,
}

impl HistoryStore for BoundedStore<'_> {
    fn ingest_file(
        &mut self,
        _run: &hourglass_model::RunMeta,
        _file: &hourglass_history::FileIngest,
        _produce: &mut hourglass_history::Producer<'_>,
    ) -> Result<hourglass_history::IngestOutcome, hourglass_history::StoreError> {
        Err(hourglass_history::StoreError::Corrupt {
            what: "read-only view",
            detail: "a bounded view of the history takes no writes".to_owned(),
        })
    }

    fn runs(
        &self,
        filter: &ResultFilter,
    ) -> Result<Vec<hourglass_history::RunSummary>, hourglass_history::StoreError> {
        let mut runs = self.inner.runs(filter)?;
        runs.truncate(self.runs);
        Ok(runs)
    }

    fn for_each_result(
        &self,
        filter: &ResultFilter,
        visit: &mut dyn FnMut(
            hourglass_history::HistoryRow,
        ) -> Result<(), hourglass_history::VisitError>,
    ) -> Result<(), hourglass_history::StoreError> {
        let limit = self.runs as u64;
        self.inner.for_each_result(filter, &mut |row| {
            if row.run_index < limit {
                visit(row)
            } else {
                Ok(())
            }
        })
    }

    fn for_each_export(
        &self,
        visit: &mut dyn FnMut(
            hourglass_history::ExportRow,
        ) -> Result<(), hourglass_history::VisitError>,
    ) -> Result<(), hourglass_history::StoreError> {
        self.inner.for_each_export(visit)
    }

    fn set_keep_output(&mut self, _keep_output: hourglass_history::KeepOutput) {}

    fn run_files(
        &self,
        run_id: &str,
    ) -> Result<Vec<hourglass_history::StoredFile>, hourglass_history::StoreError> {
        self.inner.run_files(run_id)
    }

    fn for_each_run_export(
        &self,
        run_id: &str,
        visit: &mut dyn FnMut(
            hourglass_history::ExportRow,
        ) -> Result<(), hourglass_history::VisitError>,
    ) -> Result<(), hourglass_history::StoreError> {
        self.inner.for_each_run_export(run_id, visit)
    }

    fn import_run(
        &mut self,
        _run: &hourglass_history::RunInfo,
        _files: &[hourglass_history::StoredFile],
        _produce: &mut hourglass_history::Producer<'_>,
    ) -> Result<hourglass_history::ImportOutcome, hourglass_history::StoreError> {
        Err(hourglass_history::StoreError::Corrupt {
            what: "read-only view",
            detail: "a bounded view of the history takes no writes".to_owned(),
        })
    }
}

fn timestamp_text(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

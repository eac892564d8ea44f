//! The capacity planner's inputs, gathered once for `plan` and `report`.
//!
//! [`gather`] reads, for the weeks shown:
//!
//! - **Demand**: merged changes and release tags from git
//!   ([`hourglass_git::activity()`]).
//! - **Supply**: one [`RunRecord`] per CI run of the result history, in one
//!   streaming pass over the results (one test's rows at a time): the run's
//!   test time, its flaky rerun time (the earlier attempts of results that
//!   passed on a retry, each at the last attempt's duration), whether it
//!   failed only through tests whose verdict over the weeks read is flaky,
//!   and the tests newly broken or newly flaky in it; with the wall time
//!   the run says ([`HistoryStore::run_wall_times`]), replaced by its CI
//!   job records when they are stored ([`job_wall_time`]).
//! - **Measured CI**: queue wait and runner occupancy per week from the CI
//!   job records ([`CiWeeks`]).
//! - **Capacity** from `hourglass.toml` ([`capacity`]).
//!
//! Nothing after [`PlanningOptions::until`] is read. Memory: one record per
//! run, per change and per week, and one test's series at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hourglass_config::Settings;
use hourglass_git::activity::{ActivityOptions, CacheStats, activity_with_progress};
use hourglass_history::{HistoryStore, ResultFilter};
use hourglass_insight::outcomes::{CiWeek, CiWeeks, GreenAgain, time_to_green};
use hourglass_insight::{FlakyAnalyzer, Observation, Run, SeriesGrouper, TestSeries, Verdict};
use hourglass_model::{CiJob, Outcome, TestKey};
use hourglass_plan::{Capacity, IsoWeek, MergedChange, PlanInputs, Release, RunRecord};

use crate::{ReviewError, flaky_settings, millis};

/// What to read.
#[derive(Debug, Clone)]
pub struct PlanningOptions {
    /// The tip of the default branch.
    pub rev: String,
    /// Every non-merge commit on every branch instead of the merged changes.
    pub all_branches: bool,
    /// Weeks shown, ending at `until` or at the newest change or run; 0 =
    /// the whole history. One more week is read, for the partial first one.
    pub weeks: u32,
    /// Read nothing after this week.
    pub until: Option<IsoWeek>,
    /// The per-commit cache of the git history; `None` = no cache.
    pub cache_dir: Option<PathBuf>,
    /// Keep each test's mean duration (for `plan --replay`).
    pub durations: bool,
    /// Keep the red-to-green spans of broken tests (for the report).
    pub time_to_green: bool,
}

/// The planner's inputs and what was measured beside them.
#[derive(Debug, Default)]
pub struct PlanningInputs {
    /// Demand, supply and capacity, for [`hourglass_plan::plan`].
    pub plan_inputs: PlanInputs,
    /// `(commit, first parent)` of each merged change, newest first.
    pub parents: Vec<(String, Option<String>)>,
    /// Each test's mean duration (with [`PlanningOptions::durations`]).
    pub durations: HashMap<TestKey, f64>,
    /// The runs read, oldest first.
    pub runs: Vec<Run>,
    /// Tests in the runs read.
    pub tests: usize,
    /// Red-to-green spans (with [`PlanningOptions::time_to_green`]).
    pub greens: Vec<GreenAgain>,
    /// Measured queue wait and runner occupancy per week.
    pub ci_weeks: Vec<CiWeek>,
    /// CI job records read.
    pub ci_jobs: usize,
    /// Runs whose wall time their CI job records give.
    pub runs_timed_by_jobs: usize,
    /// The git cache's hits and misses, when git was read.
    pub cache: Option<CacheStats>,
    /// Whether the directory is a git repository.
    pub has_git: bool,
    /// Whether there was a result history to read.
    pub has_history: bool,
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

/// Reads the planner's inputs: git at `root` (when it is a repository),
/// the result history in `store` (when there is one), the capacity of
/// `settings`.
pub fn gather(
    root: &Path,
    store: Option<&dyn HistoryStore>,
    settings: &Settings,
    options: &PlanningOptions,
) -> Result<PlanningInputs, ReviewError> {
    gather_with_progress(root, store, settings, options, &|_, _| {})
}

/// [`gather`], calling `progress(done, total)` (from worker threads) as the
/// statistics of changes the cache does not hold are computed.
pub fn gather_with_progress(
    root: &Path,
    store: Option<&dyn HistoryStore>,
    settings: &Settings,
    options: &PlanningOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<PlanningInputs, ReviewError> {
    let mut out = PlanningInputs {
        has_history: store.is_some(),
        ..PlanningInputs::default()
    };
    let end_ms = options.until.map(week_end_ms);
    let window_ms = (options.weeks > 0).then(|| (i64::from(options.weeks) + 1) * 7 * 86_400_000);

    // Demand.
    let (mut changes, mut releases) = (Vec::new(), Vec::new());
    if hourglass_git::discover_root(root).is_ok() {
        out.has_git = true;
        let activity_options = ActivityOptions {
            rev: options.rev.clone(),
            all_branches: options.all_branches,
            since_s: end_ms.zip(window_ms).map(|(end, w)| (end - w) / 1000),
            window_weeks: if end_ms.is_none() && options.weeks > 0 {
                Some(options.weeks + 1)
            } else {
                None
            },
            release_pattern: Some(settings.capacity.release_tag_pattern.clone()),
            cache_dir: options.cache_dir.clone(),
        };
        match activity_with_progress(root, &activity_options, progress) {
            Ok(read) => {
                if read.cache.damaged {
                    out.notes
                        .push("the change cache was damaged and has been rebuilt".to_owned());
                }
                out.cache = Some(read.cache);
                out.parents = read
                    .changes
                    .iter()
                    .filter(|c| end_ms.is_none_or(|end| c.time_s * 1000 < end))
                    .map(|c| (c.commit.clone(), c.parent.clone()))
                    .collect();
                changes = read
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
                    .collect();
                releases = read
                    .releases
                    .into_iter()
                    .map(|r| Release {
                        tag: r.name,
                        time_s: r.time_s,
                    })
                    .collect();
            }
            Err(error) => out
                .notes
                .push(format!("no change history from git: {error}")),
        }
    } else {
        out.notes.push(format!(
            "{}: not inside a git repository: no change history to read",
            root.display()
        ));
    }
    if let Some(end) = end_ms {
        changes.retain(|c| c.time_s * 1000 < end);
        releases.retain(|r| r.time_s * 1000 < end);
    }

    // Supply.
    let mut records = Vec::new();
    if let Some(store) = store {
        let since = match (window_ms, end_ms) {
            (None, _) => None,
            (Some(window), Some(end)) => Some(end - window),
            (Some(window), None) => {
                let newest_run = store
                    .runs(&ResultFilter {
                        last_runs: Some(1),
                        ..ResultFilter::default()
                    })?
                    .first()
                    .and_then(|r| millis(&r.info.timestamp));
                let newest_change = changes.iter().map(|c| c.time_s * 1000).max();
                newest_run.max(newest_change).map(|end| end - window)
            }
        };
        let filter = ResultFilter {
            since: since.map(timestamp_text),
            ..ResultFilter::default()
        };
        records = supply(store, &filter, settings, end_ms, options, &mut out)?;
        ci_jobs(store, since, end_ms, &mut records, &mut out)?;
    }
    out.plan_inputs = PlanInputs {
        changes,
        releases,
        all_branches: options.all_branches,
        runs: records,
        capacity: capacity(settings),
        weeks: options.weeks,
        replay: None,
        forecast: hourglass_plan::ForecastSettings::default(),
    };
    Ok(out)
}

/// One test's rows while they are read.
struct Current {
    series: TestSeries,
    /// (run, rerun seconds) of results that passed on a retry.
    reruns: Vec<(usize, f64)>,
}

/// One record per run of `filter` before `end_ms`, from the run list and
/// one streaming pass over the results.
fn supply(
    store: &dyn HistoryStore,
    filter: &ResultFilter,
    settings: &Settings,
    end_ms: Option<i64>,
    options: &PlanningOptions,
    out: &mut PlanningInputs,
) -> Result<Vec<RunRecord>, ReviewError> {
    let mut summaries = store.runs(filter)?;
    // Runs are listed oldest first: those after the end are the tail.
    let keep = summaries
        .iter()
        .take_while(|s| end_ms.is_none_or(|end| millis(&s.info.timestamp).is_some_and(|t| t < end)))
        .count();
    summaries.truncate(keep);
    let walls: HashMap<String, f64> = store
        .run_wall_times(filter)?
        .into_iter()
        .filter_map(|w| Some((w.run_id, w.wall_time_s?)))
        .collect();
    out.runs = summaries
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
    let mut records: Vec<RunRecord> = summaries
        .iter()
        .map(|s| RunRecord {
            time_s: millis(&s.info.timestamp).unwrap_or(0).div_euclid(1000),
            test_time_s: s.duration_s,
            wall_time_s: walls.get(&s.info.run_id).copied(),
            wall_time_includes_setup: false,
            tests: s.tests.saturating_sub(s.skipped) as u32,
            failed_tests: (s.failed + s.error) as u32,
            failed_only_flaky: false,
            flaky_rerun_time_s: 0.0,
            new_broken: 0,
            new_flaky: 0,
        })
        .collect();
    let analyzer = FlakyAnalyzer::new(flaky_settings(settings), &out.runs);
    let mut flaky_failures = vec![0u32; keep];
    let mut tests = 0usize;
    let mut greens = Vec::new();
    let mut durations = HashMap::new();
    let runs = &out.runs;
    let mut finish = |done: Current, records: &mut [RunRecord]| {
        tests += 1;
        let series = done.series;
        let verdict = analyzer.analyze(&series.key, &series.observations);
        let flaky = verdict.verdict == Verdict::Flaky;
        if flaky {
            for o in &series.observations {
                if matches!(o.outcome, Outcome::Failed | Outcome::Error) {
                    flaky_failures[o.run] += 1;
                }
            }
            if let Some(first) = &verdict.first_flaky {
                records[first.index].new_flaky += 1;
            }
        }
        for &(run, seconds) in &done.reruns {
            records[run].flaky_rerun_time_s += seconds;
            records[run].test_time_s += seconds;
        }
        if verdict.verdict == Verdict::Broken
            && let Some(breakage) = &verdict.breakage
            && !breakage.since_before_window()
        {
            records[breakage.first_failing.index].new_broken += 1;
        }
        if options.time_to_green && !flaky {
            greens.extend(time_to_green(&series.observations, runs));
        }
        if options.durations {
            let timed: Vec<f64> = series
                .observations
                .iter()
                .filter_map(|o| o.duration_s)
                .collect();
            if !timed.is_empty() {
                durations.insert(series.key, timed.iter().sum::<f64>() / timed.len() as f64);
            }
        }
    };
    let mut grouper = SeriesGrouper::new();
    let mut reruns: Vec<(usize, f64)> = Vec::new();
    store.for_each_result(filter, &mut |row| {
        let run = row.run_index as usize;
        if run >= keep {
            return Ok(());
        }
        let rerun = match row.duration_s {
            // A result that passed on a retry: the attempts before the last
            // are rerun time, each estimated at the last attempt's duration.
            Some(d) if row.outcome == Outcome::Flaky && row.attempts > 1 => {
                Some((run, d * f64::from(row.attempts - 1)))
            }
            _ => None,
        };
        let observation = Observation::new(run, row.outcome, row.duration_s);
        if let Some(done) = grouper.push(row.key, observation, None) {
            // The row just pushed starts the next test: its rerun is not
            // the finished test's.
            finish(
                Current {
                    series: done,
                    reruns: std::mem::take(&mut reruns),
                },
                &mut records,
            );
        }
        reruns.extend(rerun);
        Ok(())
    })?;
    if let Some(last) = grouper.finish() {
        finish(
            Current {
                series: last,
                reruns,
            },
            &mut records,
        );
    }
    for (record, flaky) in records.iter_mut().zip(flaky_failures) {
        record.failed_only_flaky = record.failed_tests > 0 && flaky >= record.failed_tests;
    }
    out.tests = tests;
    out.greens = greens;
    out.durations = durations;
    Ok(records)
}

/// Reads the CI job records from `since_ms` to `end_ms` into measured weeks,
/// and gives each run the wall time of its jobs ([`job_wall_time`]).
fn ci_jobs(
    store: &dyn HistoryStore,
    since_ms: Option<i64>,
    end_ms: Option<i64>,
    records: &mut [RunRecord],
    out: &mut PlanningInputs,
) -> Result<(), ReviewError> {
    let mut weeks = CiWeeks::default();
    let mut jobs: Vec<CiJob> = Vec::new();
    store.for_each_ci_job(since_ms, &mut |job| {
        let created = millis(&job.created_at);
        if end_ms.is_none_or(|end| created.is_some_and(|t| t < end)) {
            weeks.push(&job);
            jobs.push(job);
        }
        Ok(())
    })?;
    out.ci_jobs = jobs.len();
    out.ci_weeks = weeks.finish();
    if jobs.is_empty() {
        return Ok(());
    }
    let mut by_pipeline: HashMap<(&str, &str), Vec<&CiJob>> = HashMap::new();
    for job in &jobs {
        if let Some(pipeline) = job.pipeline_id.as_deref() {
            by_pipeline
                .entry((job.provider.as_str(), pipeline))
                .or_default()
                .push(job);
        }
    }
    for (record, run) in records.iter_mut().zip(&out.runs) {
        if let Some(wall) = job_wall_time(&run.run_id, &by_pipeline) {
            record.wall_time_s = Some(wall);
            record.wall_time_includes_setup = true;
            out.runs_timed_by_jobs += 1;
        }
    }
    Ok(())
}

/// The wall time of a run from its CI job records: the run id that
/// `ingest` takes from the CI variables (`github:RUN:ATTEMPT:JOB`,
/// `gitlab:PIPELINE:JOB`) names the pipeline and the job; the jobs of that
/// pipeline with that name (GitHub: or `JOB (matrix values)`) that started
/// and finished span from the first start to the last finish. `None` when
/// the run id names no stored job.
pub fn job_wall_time<S: std::hash::BuildHasher>(
    run_id: &str,
    by_pipeline: &HashMap<(&str, &str), Vec<&CiJob>, S>,
) -> Option<f64> {
    let mut parts = run_id.split(':');
    let provider = parts.next()?;
    let pipeline = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let job_name = match provider {
        // github:RUN:ATTEMPT[:JOB]
        "github" => rest.get(1).copied(),
        _ => rest.first().copied(),
    };
    let jobs = by_pipeline.get(&(provider, pipeline))?;
    let matches = |job: &&&CiJob| match job_name {
        None => true,
        Some(name) => {
            job.name == name
                || job
                    .name
                    .strip_prefix(name)
                    .is_some_and(|tail| tail.starts_with(" ("))
        }
    };
    let (mut start, mut end) = (None::<i64>, None::<i64>);
    for job in jobs.iter().filter(matches) {
        let (Some(s), Some(e)) = (
            job.started_at.as_deref().and_then(millis),
            job.finished_at.as_deref().and_then(millis),
        ) else {
            continue;
        };
        start = Some(start.map_or(s, |x| x.min(s)));
        end = Some(end.map_or(e, |x| x.max(e)));
    }
    match (start, end) {
        (Some(s), Some(e)) if e >= s => Some((e - s) as f64 / 1000.0),
        _ => None,
    }
}

/// RFC 3339 text of Unix milliseconds (the epoch when out of range).
pub(crate) fn timestamp_text(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hourglass_history::{FileIngest, FileWallTime, SqliteStore};
    use hourglass_model::{Attempt, AttemptOutcome, CiProvider, RunMeta, TestResult};

    fn result(name: &str, outcome: Outcome, seconds: f64) -> TestResult {
        let mut result = TestResult::new(
            TestKey {
                suite: "s".into(),
                classname: "c".into(),
                name: name.into(),
            },
            outcome,
        );
        result.duration_s = Some(seconds);
        result
    }

    /// Ten daily runs of three tests: `flaky` fails in every other run
    /// (the only failure of runs 0, 2, 4, 6, 8), `retried` passes on its
    /// second attempt in run 3 (a 5 s rerun), `steady` passes. Each run
    /// ran from 10:00:00 for 42 s.
    fn store(dir: &Path) -> SqliteStore {
        let mut store = SqliteStore::open(&dir.join("history.db")).unwrap();
        for run in 0..10u8 {
            let meta = RunMeta {
                run_id: Some(format!("r{run}")),
                commit: Some(format!("c{run}")),
                branch: Some("main".into()),
                timestamp: Some(format!("2026-03-{:02}T10:00:00Z", run + 2)),
                job: None,
            };
            let file = FileIngest {
                path: format!("r{run}.xml"),
                content_hash: [run; 32],
            };
            let mut results = vec![
                result(
                    "flaky",
                    if run % 2 == 0 {
                        Outcome::Failed
                    } else {
                        Outcome::Passed
                    },
                    1.0,
                ),
                result("steady", Outcome::Passed, 2.0),
            ];
            let mut retried = result(
                "retried",
                if run == 3 {
                    Outcome::Flaky
                } else {
                    Outcome::Passed
                },
                5.0,
            );
            if run == 3 {
                for outcome in [AttemptOutcome::Failed, AttemptOutcome::Passed] {
                    retried.attempts.push(Attempt {
                        outcome: Some(outcome),
                        duration_s: Some(5.0),
                        message: None,
                        failure_type: None,
                    });
                }
            }
            results.push(retried);
            store
                .ingest_file(&meta, &file, &mut |sink| {
                    for r in &results {
                        sink(r)?;
                    }
                    Ok(())
                })
                .unwrap();
            let start =
                hourglass_history::timestamp_millis(&format!("2026-03-{:02}T10:00:00Z", run + 2));
            let wall = FileWallTime {
                start_ms: start,
                end_ms: start.map(|s| s + 42_000),
                time_ms: None,
            };
            assert!(
                store
                    .set_file_wall_time(&format!("r{run}"), &[run; 32], &wall)
                    .unwrap()
            );
        }
        store
    }

    fn options() -> PlanningOptions {
        PlanningOptions {
            rev: "HEAD".into(),
            all_branches: false,
            weeks: 0,
            until: None,
            cache_dir: None,
            durations: true,
            time_to_green: false,
        }
    }

    #[test]
    fn supply_counts_flaky_reruns_and_runs_red_only_through_flaky_tests() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let settings = Settings::defaults();
        let read = gather(dir.path(), Some(&store), &settings, &options()).unwrap();
        let runs = &read.plan_inputs.runs;
        assert_eq!(runs.len(), 10);
        assert_eq!(read.tests, 3);
        let red_only_flaky: Vec<usize> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.failed_only_flaky)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(red_only_flaky, [0, 2, 4, 6, 8]);
        let reruns: Vec<f64> = runs.iter().map(|r| r.flaky_rerun_time_s).collect();
        assert_eq!(reruns[3], 5.0);
        assert_eq!(reruns.iter().sum::<f64>(), 5.0);
        // The rerun is test time too: 1 + 2 + 5 of the results, + 5 rerun.
        assert_eq!(runs[3].test_time_s, 13.0);
        assert!(runs.iter().all(|r| r.wall_time_s == Some(42.0)));
        assert!(runs.iter().all(|r| !r.wall_time_includes_setup));
        assert_eq!(read.durations.len(), 3);
        // Not a git repository: said, not an error.
        assert!(!read.has_git);
        assert!(
            read.notes
                .iter()
                .any(|n| n.contains("not inside a git repository"))
        );

        let plan = hourglass_plan::plan(&read.plan_inputs);
        let weeks = &plan.supply.weeks;
        let rerun: f64 = weeks.iter().map(|w| w.flaky_rerun_time_s).sum();
        let only: u32 = weeks.iter().map(|w| w.flaky_only_failures).sum();
        assert_eq!(rerun, 5.0);
        assert_eq!(only, 5);
        assert!(plan.supply.flaky_time_share > 0.0);
        assert_eq!(
            plan.model.service_basis,
            hourglass_plan::ServiceBasis::WallTime
        );
    }

    #[test]
    fn nothing_after_the_week_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let settings = Settings::defaults();
        // 2026-W10 is 2026-03-02 to 2026-03-08: runs 0 to 6.
        let until = PlanningOptions {
            until: Some("2026-W10".parse().unwrap()),
            ..options()
        };
        let read = gather(dir.path(), Some(&store), &settings, &until).unwrap();
        assert_eq!(read.plan_inputs.runs.len(), 7);
        assert_eq!(read.runs.len(), 7);
    }

    #[test]
    fn ci_job_records_give_the_runs_wall_time_set_up_included() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path());
        // Run r1 is github:77:1:test by name: rename it through its id.
        let meta = RunMeta {
            run_id: Some("github:77:1:test".into()),
            commit: Some("c77".into()),
            branch: Some("main".into()),
            timestamp: Some("2026-03-20T10:00:00Z".into()),
            job: Some("test".into()),
        };
        let file = FileIngest {
            path: "gh.xml".into(),
            content_hash: [77; 32],
        };
        store
            .ingest_file(&meta, &file, &mut |sink| {
                sink(&result("steady", Outcome::Passed, 2.0))
            })
            .unwrap();
        store
            .ingest_ci_jobs(&[job(
                "test (1)",
                "77",
                "2026-03-20T09:58:00Z",
                "2026-03-20T10:03:00Z",
            )])
            .unwrap();
        let read = gather(dir.path(), Some(&store), &Settings::defaults(), &options()).unwrap();
        let last = read.plan_inputs.runs.last().unwrap();
        assert_eq!(last.wall_time_s, Some(300.0));
        assert!(last.wall_time_includes_setup);
        assert_eq!(read.runs_timed_by_jobs, 1);
        assert_eq!(read.ci_jobs, 1);
        assert_eq!(read.ci_weeks.len(), 1);
    }

    fn job(name: &str, pipeline: &str, started: &str, finished: &str) -> CiJob {
        CiJob {
            provider: CiProvider::GitHub,
            job_id: format!("{name}-{started}"),
            pipeline_id: Some(pipeline.into()),
            commit: None,
            name: name.into(),
            runner: None,
            status: "completed".into(),
            conclusion: None,
            created_at: started.into(),
            started_at: Some(started.into()),
            finished_at: Some(finished.into()),
            queued_s: None,
        }
    }

    #[test]
    fn a_runs_jobs_give_its_wall_time_from_first_start_to_last_finish() {
        let jobs = [
            job(
                "test (1)",
                "7",
                "2026-03-01T10:00:00Z",
                "2026-03-01T10:05:00Z",
            ),
            job(
                "test (2)",
                "7",
                "2026-03-01T10:01:00Z",
                "2026-03-01T10:06:00Z",
            ),
            job("lint", "7", "2026-03-01T09:00:00Z", "2026-03-01T11:00:00Z"),
            job("test", "8", "2026-03-01T12:00:00Z", "2026-03-01T12:01:00Z"),
        ];
        let mut by_pipeline: HashMap<(&str, &str), Vec<&CiJob>> = HashMap::new();
        for j in &jobs {
            by_pipeline
                .entry(("github", j.pipeline_id.as_deref().unwrap()))
                .or_default()
                .push(j);
        }
        assert_eq!(job_wall_time("github:7:1:test", &by_pipeline), Some(360.0));
        assert_eq!(job_wall_time("github:8:1:test", &by_pipeline), Some(60.0));
        // Without a job name, every job of the pipeline.
        assert_eq!(job_wall_time("github:7:1", &by_pipeline), Some(7200.0));
        assert_eq!(job_wall_time("github:9:1:test", &by_pipeline), None);
        assert_eq!(job_wall_time("run-1", &by_pipeline), None);
    }
}

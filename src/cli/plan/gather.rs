//! What the plan is made from: the git history, the result history and,
//! with `--replay`, test selection replayed over past changes. Shared by
//! `plan` and `report`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use hourglass_config::Settings;
use hourglass_git::{Activity, ActivityOptions, ChangeStats};
use hourglass_history::{HistoryStore, ResultFilter, SqliteStore};
use hourglass_insight::{FlakyAnalyzer, Observation, Run, Verdict};
use hourglass_model::{Outcome, TestKey};
use hourglass_plan::{Capacity, MergedChange, Replay, ReplayedChange, RunRecord};

use super::super::select::{ChangeArgs, prepare, rules};
use super::super::{Context, Failure};
use hourglass_review::flaky_settings;

/// What to read.
#[derive(Debug, Clone)]
pub struct GatherOptions {
    pub db: std::path::PathBuf,
    pub rev: String,
    pub all_branches: bool,
    /// Weeks of history to read (0 = all).
    pub weeks: u32,
    pub use_cache: bool,
}

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

/// Reads the git history of the repository around `context`.
pub fn demand(
    context: &Context,
    options: &GatherOptions,
    settings: &Settings,
) -> Result<(Option<Activity>, Vec<String>), Failure> {
    let Ok(root) = hourglass_git::discover_root(&context.cwd) else {
        return Ok((
            None,
            vec![format!(
                "{}: not inside a git repository: no change history to read",
                context.cwd.display()
            )],
        ));
    };
    let activity_options = ActivityOptions {
        rev: options.rev.clone(),
        all_branches: options.all_branches,
        since_s: None,
        window_weeks: (options.weeks > 0).then_some(options.weeks + 1),
        release_pattern: Some(settings.capacity.release_tag_pattern.clone()),
        cache_dir: options
            .use_cache
            .then(|| root.join(".hourglass").join("cache").join("plan")),
    };
    if options.use_cache {
        super::super::select::keep_out_of_git(&root.join(".hourglass"));
    }
    let activity = hourglass_git::activity(&root, &activity_options)
        .with_context(|| format!("reading the history of {}", root.display()))?;
    let mut notes = Vec::new();
    if activity.cache.damaged {
        notes.push("the change cache was damaged and has been rebuilt".to_owned());
    }
    Ok((Some(activity), notes))
}

pub fn merged_change(stats: &ChangeStats) -> MergedChange {
    MergedChange {
        commit: stats.commit.clone(),
        time_s: stats.time_s,
        commits: stats.commits,
        authors: stats.authors.clone(),
        files: stats.files,
        lines_added: stats.lines_added,
        lines_deleted: stats.lines_deleted,
        lead_time_s: stats.lead_time_s,
        is_revert: stats.is_revert,
    }
}

/// Runs of the result history as the planner needs them, read in one
/// streaming pass: per-run counts from the run list, flaky verdicts and
/// rerun time from the results (one test's rows at a time), and, when
/// `durations` is given, each test's mean duration for the replay.
pub fn supply(
    store: &SqliteStore,
    since: Option<String>,
    settings: &Settings,
    mut durations: Option<&mut HashMap<TestKey, f64>>,
) -> Result<Vec<RunRecord>, Failure> {
    let filter = ResultFilter {
        since,
        ..ResultFilter::default()
    };
    let summaries = store.runs(&filter)?;
    let runs: Vec<Run> = summaries
        .iter()
        .map(|summary| Run {
            run_id: summary.info.run_id.clone(),
            commit: summary.info.commit.clone(),
            branch: summary.info.branch.clone(),
            timestamp: Some(summary.info.timestamp.clone()),
            tests: summary.tests.saturating_sub(summary.skipped) as u32,
            failures: (summary.failed + summary.error) as u32,
        })
        .collect();
    let mut records: Vec<RunRecord> = summaries
        .iter()
        .map(|s| RunRecord {
            time_s: hourglass_history::timestamp_millis(&s.info.timestamp).unwrap_or(0) / 1000,
            test_time_s: s.duration_s,
            wall_time_s: None,
            tests: s.tests.saturating_sub(s.skipped) as u32,
            failed_tests: (s.failed + s.error) as u32,
            failed_only_flaky: false,
            flaky_rerun_time_s: 0.0,
            new_broken: 0,
            new_flaky: 0,
        })
        .collect();
    let analyzer = FlakyAnalyzer::new(flaky_settings(settings), &runs);
    // Per run: failures of tests judged flaky.
    let mut flaky_failures = vec![0u32; records.len()];

    let mut current: Option<Current> = None;
    let mut finish = |done: Current, records: &mut [RunRecord], flaky_failures: &mut [u32]| {
        let verdict = analyzer.analyze(&done.key, &done.observations);
        if verdict.verdict == Verdict::Flaky {
            for o in &done.observations {
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
        if let Some(map) = durations.as_deref_mut()
            && done.timed > 0
        {
            map.insert(done.key, done.time / f64::from(done.timed));
        }
    };
    store.for_each_result(&filter, &mut |row| {
        let run = row.run_index as usize;
        if current.as_ref().is_none_or(|c| c.key != row.key) {
            if let Some(done) = current.take() {
                finish(done, &mut records, &mut flaky_failures);
            }
            current = Some(Current {
                key: row.key.clone(),
                observations: Vec::new(),
                reruns: Vec::new(),
                time: 0.0,
                timed: 0,
            });
        }
        let c = current.as_mut().expect("set above");
        c.observations
            .push(Observation::new(run, row.outcome, row.duration_s));
        if let Some(d) = row.duration_s {
            c.time += d;
            c.timed += 1;
            // A result that passed on a retry: the attempts before the last
            // are rerun time, each estimated at the last attempt's duration.
            if row.outcome == Outcome::Flaky && row.attempts > 1 {
                c.reruns.push((run, d * f64::from(row.attempts - 1)));
            }
        }
        Ok(())
    })?;
    if let Some(done) = current.take() {
        finish(done, &mut records, &mut flaky_failures);
    }
    for (record, flaky) in records.iter_mut().zip(flaky_failures) {
        record.failed_only_flaky = record.failed_tests > 0 && flaky >= record.failed_tests;
    }
    Ok(records)
}

/// One test's rows while they are read.
struct Current {
    key: TestKey,
    observations: Vec<Observation>,
    /// (run, rerun seconds) of results that passed on a retry.
    reruns: Vec<(usize, f64)>,
    time: f64,
    timed: u32,
}

/// Opens the store when its file exists.
pub fn open_store(db: &Path) -> Result<Option<SqliteStore>, Failure> {
    if !db.exists() {
        return Ok(None);
    }
    let store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
    Ok(Some(store))
}

/// Replays `hourglass select` over merged changes (newest first): for each,
/// the graph of the change's commit (as `select --head` builds it, through
/// the graph cache) and the change against its first parent.
pub fn replay(
    context: &Context,
    changes: &[(String, Option<String>)],
    requested: u32,
    durations: &HashMap<TestKey, f64>,
) -> Result<Replay, Failure> {
    let rules = rules(context)?;
    let total_time: f64 = durations.values().sum();
    let mut by_binary: HashMap<&str, f64> = HashMap::new();
    for (key, d) in durations {
        *by_binary.entry(key.classname.as_str()).or_default() += d;
    }
    let mut replayed = Vec::new();
    let mut skipped = 0;
    for (commit, parent) in changes.iter().take(requested as usize) {
        let Some(parent) = parent else {
            skipped += 1;
            continue;
        };
        let change = ChangeArgs {
            base: parent.clone(),
            head: Some(commit.clone()),
            diff: None,
        };
        let Ok(prepared) = prepare(&change, context) else {
            skipped += 1;
            continue;
        };
        let selection = hourglass_select::select(
            &prepared.graph,
            &prepared.changes,
            &rules,
            &prepared.context,
        );
        let selected_time = if selection.run_all {
            total_time
        } else {
            let mut chosen: std::collections::HashSet<(&str, &str)> =
                std::collections::HashSet::new();
            let mut time = 0.0;
            for test in &selection.selected {
                if test.whole_binary {
                    time += by_binary
                        .get(test.binary_id.as_str())
                        .copied()
                        .unwrap_or(0.0);
                } else {
                    chosen.insert((test.binary_id.as_str(), test.name.as_str()));
                }
            }
            let known: std::collections::HashSet<(&str, &str)> = prepared
                .graph
                .tests()
                .iter()
                .map(|t| (t.id.binary_id.as_str(), t.id.name.as_str()))
                .collect();
            for (key, d) in durations {
                let id = (key.classname.as_str(), key.name.as_str());
                // A test of the history the graph does not know runs: it
                // cannot be ruled out.
                if chosen.contains(&id) || !known.contains(&id) {
                    time += d;
                }
            }
            time.min(total_time)
        };
        replayed.push(ReplayedChange {
            commit: commit.clone(),
            run_all: selection.run_all,
            selected_tests: selection.selected.len() as u32,
            total_tests: selection.total_tests as u32,
            selected_time_s: selected_time,
            total_time_s: total_time,
        });
    }
    Ok(Replay::from_changes(requested, replayed, skipped))
}

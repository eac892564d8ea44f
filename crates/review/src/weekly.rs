//! What the weekly report is made of, read from git and the history.
//!
//! [`gather`] reads the planner's inputs with [`crate::planning::gather`]
//! (demand from git, supply from the result history, measured CI from the
//! job records, capacity; with the time to green of broken tests from the
//! same pass), then the flaky window (the analyses of [`crate::analyze`],
//! for the tables of flaky, broken and slow tests). Everything up to the
//! end of the report's week; nothing after.
//!
//! Memory: one test's series at a time for the history scan; one record
//! per run, per merged change and per week.

use std::path::Path;

use hourglass_config::Settings;
use hourglass_history::{HistoryStore, ResultFilter};
use hourglass_insight::outcomes::{CiWeek, GreenWeek, green_weeks};
use hourglass_plan::{IsoWeek, PlanInputs};

use crate::planning::{self, PlanningOptions, timestamp_text};
use crate::{Analysis, ReviewError, Window, analyze};

pub use crate::planning::{capacity, week_end_ms};

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
    /// Runs and tests in the weeks read (the weeks shown and one more).
    pub total_runs: usize,
    pub total_tests: usize,
    pub ci_jobs: usize,
    /// What could not be read, in sentences.
    pub notes: Vec<String>,
}

/// Reads what the report needs. `week` ends the report (default: the week
/// of the newest run or change); `weeks` is how many weeks the trends show.
pub fn gather(
    root: &Path,
    store: &dyn HistoryStore,
    settings: &Settings,
    week: Option<IsoWeek>,
    weeks: u32,
) -> Result<Gathered, ReviewError> {
    let end_ms = week.map(week_end_ms);
    let options = PlanningOptions {
        rev: "HEAD".to_owned(),
        all_branches: false,
        weeks,
        until: week,
        cache_dir: Some(root.join(".hourglass").join("cache").join("activity")),
        durations: false,
        time_to_green: true,
    };
    let inputs = planning::gather(root, Some(store), settings, &options)?;
    let mut notes = inputs.notes;

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
    let green = green_weeks(&inputs.greens, &inputs.runs);

    if inputs.runs.is_empty() {
        notes.push(
            "no test runs in the history: store CI results with `hourglass ingest`".to_owned(),
        );
    }
    if inputs.plan_inputs.changes.is_empty() {
        notes.push("no merged changes in git".to_owned());
    }
    if inputs.ci_jobs == 0 {
        notes.push(
            "no CI job records: queue wait and runner occupancy are modelled, not measured (`hourglass ingest --ci-jobs`)"
                .to_owned(),
        );
    }
    Ok(Gathered {
        plan_inputs: inputs.plan_inputs,
        analysis,
        ci_weeks: inputs.ci_weeks,
        green_weeks: green,
        total_runs: inputs.runs.len(),
        total_tests: inputs.tests,
        ci_jobs: inputs.ci_jobs,
        notes,
    })
}

/// The window's analysis, its runs after `end_ms` left out.
fn analyze_until(
    store: &dyn HistoryStore,
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
    inner: &'a dyn HistoryStore,
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

    fn set_file_wall_time(
        &mut self,
        _run_id: &str,
        _content_hash: &[u8; 32],
        _wall: &hourglass_history::FileWallTime,
    ) -> Result<bool, hourglass_history::StoreError> {
        Err(hourglass_history::StoreError::Corrupt {
            what: "read-only view",
            detail: "a bounded view of the history takes no writes".to_owned(),
        })
    }

    fn run_wall_times(
        &self,
        filter: &ResultFilter,
    ) -> Result<Vec<hourglass_history::RunWallTime>, hourglass_history::StoreError> {
        let mut walls = self.inner.run_wall_times(filter)?;
        walls.truncate(self.runs);
        Ok(walls)
    }

    fn for_each_ci_job(
        &self,
        since_ms: Option<i64>,
        visit: &mut dyn FnMut(hourglass_model::CiJob) -> Result<(), hourglass_history::VisitError>,
    ) -> Result<(), hourglass_history::StoreError> {
        self.inner.for_each_ci_job(since_ms, visit)
    }
}

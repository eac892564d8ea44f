//! The result store: every test result of every CI run, kept so that flaky,
//! broken and slow tests can be found across runs.
//!
//! # What it does
//!
//! [`HistoryStore`] is what the rest of hourglass needs from a store:
//! ingest one JUnit file's results into a run ([`HistoryStore::ingest_file`]),
//! list runs ([`HistoryStore::runs`]), and stream results for the analyses
//! ([`HistoryStore::for_each_result`]) and for export
//! ([`HistoryStore::for_each_export`]). [`SqliteStore`] implements it over
//! one SQLite file; a server database can implement the same trait without
//! touching its callers.
//!
//! # How it works
//!
//! - **Schema.** `runs` (one row per CI run, unique `run_id`), `files` (the
//!   JUnit files stored into a run, by blake3 content hash), `classes` (one
//!   row per `(suite, classname)`), `tests` (one row per name in a class, so
//!   the long suite and class names are stored once per class) and
//!   `results` (one row per test per run, its rowid `run << 32 | test`, so
//!   that a run's results are stored together in test order and need no
//!   index of their own; the run's time is copied in so that one test's
//!   results over time are read off one index). Plain passes (nothing but a
//!   duration to keep, most results) are not rows: they are packed into
//!   `passes`, one blob per run and block of 1,024 test ids, about 3 bytes
//!   each instead of about 80 (see `packed`). The schema is versioned
//!   with `PRAGMA user_version` and an ordered list of migrations
//!   ([`schema::MIGRATIONS`]); opening a store applies the missing ones in
//!   one transaction. A new file gets 16 KiB pages. Each `files` row also
//!   keeps when the file's suites ran ([`FileWallTime`], recorded by
//!   [`HistoryStore::set_file_wall_time`] after the file's transaction),
//!   from which [`HistoryStore::run_wall_times`] makes each run's wall time
//!   ([`run_wall_time`]).
//! - **Writing.** Each result costs at most two statements: its test is
//!   looked up, or inserted when new, then the result is inserted; they are
//!   prepared once per file. The class of the latest result is remembered,
//!   since a file's testcases come class by class; in a class the
//!   transaction created, the test is inserted without a lookup first.
//!   Foreign keys are declared but not enforced: every id written was read
//!   or created in the same transaction.
//! - **Ingest.** One `BEGIN IMMEDIATE` transaction per file: the file is
//!   stored whole or not at all. The results arrive through a *producer*
//!   (a closure that pushes `TestResult`s into a sink, typically the JUnit
//!   reader), so a file is never held in memory. When the producer fails
//!   midway (a truncated file) the transaction rolls back. A file whose
//!   content hash is already stored for the same run is skipped
//!   ([`IngestOutcome::AlreadyStored`]), so ingesting twice stores once. A
//!   test seen twice in one run (a rerun written as a second testcase, or a
//!   second file of the same run) is merged with
//!   [`TestResult::absorb_rerun`].
//! - **Run identity.** A run is named by [`RunMeta::run_id`]. Without one,
//!   [`derive_run_id`] makes one deterministically: from the commit, job and
//!   timestamp when any is known (`derived-<hex>`), else from the file's
//!   content hash (`file-<hex>`). A run without a timestamp is stamped with
//!   the time of its first ingest.
//! - **Concurrency.** WAL journal, `synchronous = NORMAL`, a busy timeout,
//!   and `BEGIN IMMEDIATE` retried while the database is busy: several
//!   processes can ingest into one file at once; writers take turns.
//! - **Durability.** With WAL and `synchronous = NORMAL`, a committed file
//!   survives the process crashing; an operating-system crash or a power
//!   loss can undo the files committed since the last checkpoint (SQLite
//!   checkpoints, and syncs, at the first commit after the log passes 1,000
//!   pages and when the last connection closes), but never leaves a file
//!   half stored or the database corrupt.
//! - **Messages and outputs** are stored once by content hash in `blobs`
//!   (the first 16 bytes of blake3), zstd-compressed from 64 bytes on when
//!   that makes them smaller, and referred to from `results`: a stack trace
//!   repeated over a hundred runs costs one blob and a hundred small ids.
//!   [`KeepOutput`] decides whose output is kept (by default that of every
//!   result that did not pass); what is dropped is counted in
//!   `output_dropped_bytes`.
//! - **Reading.** Iteration is a callback, block of 1,024 test ids by
//!   block: the block's rows off the `(test, run_ts, run)` index and each
//!   window run's blob of the block, sorted together. Memory holds one
//!   block of the window (and the list of runs), whatever the history's
//!   size; tests come in id order, each test's results oldest first.
//! - **Outlines.** [`HistoryStore::for_each_test_outline`] gives the
//!   analyses one row per test: counts and a duration summary for a test
//!   that only passed, the whole series for the others ([`outline`]).
//!   Both stores derive them from their block-by-block scan, one test at a
//!   time (PostgreSQL's passes are blobs that only the client decodes);
//!   PostgreSQL groups a window without packed passes in the database when
//!   no durations are asked for (`flaky`), as before.
//!
//! # Limitations
//!
//! - Writers take turns: a file's transaction holds the write lock while
//!   its producer runs, so a slow producer delays other writers (they wait
//!   up to the busy timeout, ten minutes).
//! - A zoneless timestamp (Surefire writes local time) is read as UTC for
//!   ordering; the text is kept as written.
//! - Nothing is deleted but by [`SqliteStore::prune`], which drops whole
//!   runs older than a date and gives their space back (see [`Vacuum`]).

use std::error::Error;

use hourglass_model::{Outcome, RunMeta, TestKey, TestResult};
use serde::Serialize;

mod blobs;
pub mod ci_env;
pub mod ci_jobs;
mod codec;
mod copy;
mod location;
pub mod outline;
mod packed;
pub mod pg;
mod prune;
pub mod schema;
mod sqlite;
#[doc(hidden)]
pub mod testing;

pub use copy::{CopyProgress, CopyReport, copy_runs};
pub use location::{StoreLocation, open_store};
pub use outline::{DurationSummary, OutlinePoint, OutlineRequest, SpreadRule, TestOutline};
pub use pg::PgStore;
pub use prune::{PruneReport, Vacuum};
pub use sqlite::{CiJobsOutcome, SqliteStore};

/// A duration in whole nanoseconds, for run totals that do not depend on
/// the order results are added in (each store adds them in its own):
/// `floor(seconds * 1e9 + 0.5)`, as the PostgreSQL store computes it in SQL;
/// `None` past ±9.2e9 s (an `int8` of nanoseconds), which totals leave out.
pub(crate) fn nanos(seconds: f64) -> Option<i64> {
    (seconds.abs() < 9.2e9).then(|| (seconds * 1e9 + 0.5).floor() as i64)
}

/// What a sink returns when it cannot take a result.
pub type SinkError = Box<dyn Error + Send + Sync>;
/// What a producer returns when it cannot produce the whole file.
pub type ProduceError = Box<dyn Error + Send + Sync>;
/// What a visitor returns to stop an iteration (an `io::Error` from a
/// closed pipe, say).
pub type VisitError = Box<dyn Error + Send + Sync>;

/// A sink the producer pushes results into. The sink only reads a result,
/// so the producer keeps it (and may reuse its memory).
pub type Sink<'a> = dyn FnMut(&TestResult) -> Result<(), SinkError> + 'a;
/// A producer: pushes every result of one file into the sink it is given.
pub type Producer<'a> = dyn FnMut(&mut Sink<'_>) -> Result<(), ProduceError> + 'a;

/// Runs `produce`, handing each result to `write`. A store failure stops the
/// producer and is returned as it is; a producer failure becomes
/// [`StoreError::Produce`] naming `path`. Both stores write through it.
pub(crate) fn write_produced(
    path: &str,
    produce: &mut Producer<'_>,
    write: &mut dyn FnMut(&TestResult) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut store_failure = None;
    let produced = produce(&mut |result| match write(result) {
        Ok(()) => Ok(()),
        Err(error) => {
            let message = error.to_string();
            store_failure = Some(error);
            Err(message.into())
        }
    });
    if let Some(error) = store_failure {
        return Err(error);
    }
    produced.map_err(|source| StoreError::Produce {
        path: path.to_owned(),
        source,
    })
}

/// Whose output (system-out, system-err, failure bodies) the store keeps.
/// Messages are always kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepOutput {
    /// The output of every result that did not pass: failed, errored,
    /// flaky (its failed attempts' output) and skipped. A pass's output
    /// explains nothing and is dropped (counted in `output_dropped_bytes`).
    #[default]
    Failures,
    /// Every result's output.
    All,
    /// No output at all (counted in `output_dropped_bytes`).
    None,
}

impl KeepOutput {
    /// The output of `result` to store under this policy, and the bytes it
    /// drops.
    pub fn apply(self, result: &TestResult) -> (Option<&str>, u64) {
        let output = result.output.as_deref();
        let keep = match self {
            KeepOutput::All => true,
            KeepOutput::None => false,
            KeepOutput::Failures => result.outcome != Outcome::Passed,
        };
        match output {
            Some(text) if !keep => (None, text.len() as u64),
            _ => (output, 0),
        }
    }
}

/// A store error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot create the directory {path}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the history database says: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the history database is at schema version {found}, newer than this hourglass knows ({known}); upgrade hourglass"
    )]
    TooNew { found: i64, known: i64 },
    #[error("{path}: stored nothing from this file")]
    Produce {
        path: String,
        #[source]
        source: ProduceError,
    },
    #[error("not an RFC 3339 timestamp: {text:?}")]
    Timestamp { text: String },
    #[error(
        "the history has no room for a {what} id of {id}: a result is keyed by its run id (31 bits) and test id (32 bits)"
    )]
    KeySpace { what: &'static str, id: i64 },
    #[error("a stored {what} cannot be read back: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("stopped reading the history")]
    Visit(#[source] VisitError),
    #[error("the PostgreSQL history says: {0}")]
    Postgres(#[from] postgres::Error),
    #[error(
        "{location:?} is a URL, and hourglass reads only postgres:// and postgresql:// URLs (or a file path for SQLite)"
    )]
    UnsupportedUrl { location: String, scheme: String },
    #[error("{url}: {message}")]
    PgUrl { url: String, message: String },
    #[error("{url}: the server refused user {user:?}: {detail}")]
    PgAuth {
        url: String,
        user: String,
        detail: String,
    },
    #[error("{url}: the database does not exist: {detail}")]
    PgNoDatabase { url: String, detail: String },
    #[error("{url}: cannot reach the server (gave up after {attempts} attempts)")]
    PgUnreachable {
        url: String,
        /// How many times the connection was tried.
        attempts: u32,
        #[source]
        source: postgres::Error,
    },
    #[error("{url}: cannot connect")]
    PgConnect {
        url: String,
        #[source]
        source: postgres::Error,
    },
    #[error(
        "{url}: lost the connection to the server; the transaction under way was rolled back, nothing of it is stored"
    )]
    PgConnectionLost {
        url: String,
        #[source]
        source: postgres::Error,
    },
}

impl StoreError {
    /// True when the error is about where the store is or who may use it
    /// (a bad URL, a refused password, an unreachable server, a database
    /// newer than this hourglass), not about the data.
    pub fn is_location_error(&self) -> bool {
        matches!(
            self,
            StoreError::UnsupportedUrl { .. }
                | StoreError::PgUrl { .. }
                | StoreError::PgAuth { .. }
                | StoreError::PgNoDatabase { .. }
                | StoreError::PgUnreachable { .. }
                | StoreError::PgConnect { .. }
                | StoreError::TooNew { .. }
                | StoreError::CreateDir { .. }
        )
    }
}

/// One JUnit file about to be ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIngest {
    /// The path as the user gave it (kept for display; not part of the identity).
    pub path: String,
    /// blake3 of the file's bytes: with the run, the identity that makes
    /// re-ingest idempotent.
    pub content_hash: [u8; 32],
}

/// What an ingest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// The file's results were stored (`results` testcases, reruns included).
    Stored { results: u64 },
    /// The same file was already stored for this run: nothing was written.
    AlreadyStored,
}

/// A JUnit file stored into a run, as kept (for copying a run between
/// stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub content_hash: Vec<u8>,
    pub path: String,
    pub testcases: u64,
    pub ingested_at: String,
    /// When its suites ran, as recorded.
    pub wall: FileWallTime,
}

/// What copying a run into a store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    /// The run was copied with this many results.
    Copied { results: u64 },
    /// A run of that id is already in the store: nothing was written.
    AlreadyThere,
}

/// Which results an iteration visits. The default visits everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultFilter {
    /// Only runs at or after this instant (RFC 3339; a zoneless time is
    /// read as UTC).
    pub since: Option<String>,
    /// Only the last N runs by timestamp, counted after `since` and `branch`.
    pub last_runs: Option<usize>,
    /// Only runs of this branch.
    pub branch: Option<String>,
}

/// A run's metadata as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339, as given (or the time of the first ingest).
    pub timestamp: String,
    pub job: Option<String>,
}

/// One run with its counts, as [`HistoryStore::runs`] lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// 0-based position in timestamp order among the runs listed.
    pub index: u64,
    #[serde(flatten)]
    pub info: RunInfo,
    /// JUnit files stored into the run.
    pub files: u64,
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub error: u64,
    pub skipped: u64,
    pub flaky: u64,
    /// Sum of the known durations, in seconds.
    pub duration_s: f64,
}

/// When a stored file's test suites ran, as its JUnit says (`timestamp`
/// and `time` of its `<testsuite>`s and `<testsuites>`); every part may be
/// unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileWallTime {
    /// The earliest suite start, Unix milliseconds.
    pub start_ms: Option<i64>,
    /// The latest suite end, Unix milliseconds.
    pub end_ms: Option<i64>,
    /// The file's own wall time (`time` on `<testsuites>`, else the sum of
    /// its top-level suites' `time`), milliseconds.
    pub time_ms: Option<i64>,
}

impl FileWallTime {
    /// True when nothing is known.
    pub fn is_unknown(&self) -> bool {
        self.start_ms.is_none() && self.end_ms.is_none() && self.time_ms.is_none()
    }
}

/// A run's wall time as its files say it ([`HistoryStore::run_wall_times`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunWallTime {
    pub run_id: String,
    /// Seconds: see [`run_wall_time`]; `None` when a file of the run does
    /// not say when it ran.
    pub wall_time_s: Option<f64>,
}

/// A run's wall time from its files' [`FileWallTime`]s: when every file has
/// a start and an end, the span from the earliest start to the latest end
/// (shards that ran side by side count once, shards that ran one after
/// another add up, and a gap between them counts too); else, when every
/// file knows its own wall time, the longest of them (files taken to have
/// run side by side, as a run's shards do); else `None`.
pub fn run_wall_time(files: &[FileWallTime]) -> Option<f64> {
    if files.is_empty() {
        return None;
    }
    let spans: Option<Vec<(i64, i64)>> = files
        .iter()
        .map(|f| match (f.start_ms, f.end_ms) {
            (Some(start), Some(end)) if end >= start => Some((start, end)),
            _ => None,
        })
        .collect();
    if let Some(spans) = spans {
        let start = spans.iter().map(|s| s.0).min()?;
        let end = spans.iter().map(|s| s.1).max()?;
        return Some((end - start) as f64 / 1000.0);
    }
    let own: Option<Vec<i64>> = files
        .iter()
        .map(|f| match (f.start_ms, f.end_ms) {
            (Some(start), Some(end)) if end >= start => Some(end - start),
            _ => f.time_ms,
        })
        .collect();
    own.and_then(|walls| walls.into_iter().max())
        .map(|ms| ms as f64 / 1000.0)
}

/// One result as the analyses read it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The run's [`RunSummary::index`] under the same filter.
    pub run_index: u64,
    pub run_id: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub timestamp: String,
    pub key: TestKey,
    pub outcome: Outcome,
    pub duration_s: Option<f64>,
    /// How many attempts the result holds (0 when the file gave none).
    pub attempts: u32,
    /// The test's source file ([`TestResult::file`]), for CODEOWNERS.
    pub file: Option<String>,
}

/// One stored result with everything kept of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub run: RunInfo,
    pub result: TestResult,
}

/// A result history.
pub trait HistoryStore {
    /// Sets whose output later ingests keep (default:
    /// [`KeepOutput::Failures`]); applied by [`KeepOutput::apply`] in every
    /// store, so the same files keep the same bytes wherever they go.
    fn set_keep_output(&mut self, keep_output: KeepOutput);

    /// Stores one file's results into `run`, in one transaction: all of
    /// them, or none when `produce` fails. Returns
    /// [`IngestOutcome::AlreadyStored`] without writing when the same
    /// content hash is already stored for this run.
    fn ingest_file(
        &mut self,
        run: &RunMeta,
        file: &FileIngest,
        produce: &mut Producer<'_>,
    ) -> Result<IngestOutcome, StoreError>;

    /// The runs the filter selects, oldest first, with their counts.
    fn runs(&self, filter: &ResultFilter) -> Result<Vec<RunSummary>, StoreError>;

    /// Visits the results of the selected runs grouped by test: one test's
    /// rows are contiguous, oldest first (by run time). The order of the
    /// tests is the store's: both stores send them by block of test ids
    /// (see [`SqliteStore`]), and test ids differ between stores. A visitor
    /// error stops the scan and is returned as [`StoreError::Visit`].
    fn for_each_result(
        &self,
        filter: &ResultFilter,
        visit: &mut dyn FnMut(HistoryRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError>;

    /// Visits every stored result with all its fields, ordered by run time,
    /// then test key.
    fn for_each_export(
        &self,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError>;

    /// The files stored into the run `run_id`, in the order they came.
    fn run_files(&self, run_id: &str) -> Result<Vec<StoredFile>, StoreError>;

    /// Visits the results of the run `run_id` with all their fields,
    /// ordered by test key (nothing when there is no such run).
    fn for_each_run_export(
        &self,
        run_id: &str,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError>;

    /// Copies a run from another store, in one transaction: the run, the
    /// results `produce` gives and the `files` records. Does nothing and
    /// returns [`ImportOutcome::AlreadyThere`] when a run of that id is
    /// stored.
    fn import_run(
        &mut self,
        run: &RunInfo,
        files: &[StoredFile],
        produce: &mut Producer<'_>,
    ) -> Result<ImportOutcome, StoreError>;

    /// Records when the file of `content_hash` stored into the run `run_id`
    /// ran ([`FileWallTime`]), replacing what was recorded; false when no
    /// such file is stored. Separate from [`HistoryStore::ingest_file`]
    /// because the reader knows the file's times only at its end: a file
    /// whose times could not be recorded has an unknown wall time, nothing
    /// worse.
    fn set_file_wall_time(
        &mut self,
        run_id: &str,
        content_hash: &[u8; 32],
        wall: &FileWallTime,
    ) -> Result<bool, StoreError>;

    /// The wall time of each run the filter selects, in the order of
    /// [`HistoryStore::runs`] ([`run_wall_time`] over its files).
    fn run_wall_times(&self, filter: &ResultFilter) -> Result<Vec<RunWallTime>, StoreError>;

    /// Visits the stored CI job records created at or after `since_ms`
    /// (all when `None`), oldest first.
    fn for_each_ci_job(
        &self,
        since_ms: Option<i64>,
        visit: &mut dyn FnMut(hourglass_model::CiJob) -> Result<(), VisitError>,
    ) -> Result<(), StoreError>;

    /// Visits one [`TestOutline`] per test of the window, in the order of
    /// [`HistoryStore::for_each_result`]: a test that only passed or was skipped (outside the set-aside
    /// runs), and whose durations do
    /// not spread as [`OutlineRequest::durations`] says, as counts and a
    /// duration summary; any other test with its whole series (see
    /// [`outline`]). The default computes the outlines from
    /// [`HistoryStore::for_each_result`], one test at a time; PostgreSQL
    /// groups a window without packed passes in the database when no
    /// durations are asked for. A visitor
    /// error stops the scan and is returned as [`StoreError::Visit`].
    fn for_each_test_outline(
        &self,
        request: &OutlineRequest,
        visit: &mut dyn FnMut(TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        outline::over_results(self, request, visit)
    }
}

/// The run id used when [`RunMeta::run_id`] is absent: `derived-` and 16
/// hex digits of blake3 over the commit, job and timestamp when any of them
/// is known, else `file-` and the first 16 hex digits of the file's content
/// hash (every such file is a run of its own).
pub fn derive_run_id(run: &RunMeta, content_hash: &[u8; 32]) -> String {
    if let Some(id) = run.run_id.as_deref().filter(|id| !id.is_empty()) {
        return id.to_owned();
    }
    let parts = [&run.commit, &run.job, &run.timestamp];
    if parts.iter().all(|part| part.is_none()) {
        return format!("file-{}", hex(&content_hash[..8]));
    }
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        // A tag byte keeps `None` apart from `Some("")`.
        match part {
            Some(text) => {
                hasher.update(&[1]);
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            None => {
                hasher.update(&[0]);
            }
        }
    }
    format!("derived-{}", hex(&hasher.finalize().as_bytes()[..8]))
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp; a zoneless
/// `YYYY-MM-DDTHH:MM:SS[.fff]` is read as UTC. `None` when unreadable.
pub fn timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_run_id_is_kept() {
        let run = RunMeta {
            run_id: Some("ci-42".into()),
            ..RunMeta::default()
        };
        assert_eq!(derive_run_id(&run, &[7; 32]), "ci-42");
    }

    #[test]
    fn derived_run_ids_follow_commit_job_and_timestamp() {
        let run = RunMeta {
            commit: Some("abc".into()),
            job: Some("test".into()),
            ..RunMeta::default()
        };
        let id = derive_run_id(&run, &[1; 32]);
        assert!(id.starts_with("derived-"), "{id}");
        // The file does not matter once the run is known.
        assert_eq!(derive_run_id(&run, &[2; 32]), id);
        let other_job = RunMeta {
            job: Some("lint".into()),
            ..run.clone()
        };
        assert_ne!(derive_run_id(&other_job, &[1; 32]), id);
    }

    #[test]
    fn without_metadata_each_file_is_its_own_run() {
        let run = RunMeta::default();
        assert_eq!(derive_run_id(&run, &[0xab; 32]), "file-abababababababab");
        assert_ne!(derive_run_id(&run, &[1; 32]), derive_run_id(&run, &[2; 32]));
    }

    #[test]
    fn a_runs_wall_time_is_the_span_of_its_files_else_the_longest_file() {
        let span = |start: i64, end: i64| FileWallTime {
            start_ms: Some(start),
            end_ms: Some(end),
            time_ms: None,
        };
        // Two shards side by side: 0..60 s and 5..50 s.
        assert_eq!(
            run_wall_time(&[span(0, 60_000), span(5_000, 50_000)]),
            Some(60.0)
        );
        // One after another: 0..60 s, then 70..100 s (the gap counts).
        assert_eq!(
            run_wall_time(&[span(0, 60_000), span(70_000, 100_000)]),
            Some(100.0)
        );
        let own = |ms: i64| FileWallTime {
            time_ms: Some(ms),
            ..FileWallTime::default()
        };
        assert_eq!(run_wall_time(&[span(0, 60_000), own(80_000)]), Some(80.0));
        assert_eq!(
            run_wall_time(&[span(0, 60_000), FileWallTime::default()]),
            None
        );
        assert_eq!(run_wall_time(&[]), None);
    }

    #[test]
    fn zoneless_timestamps_read_as_utc() {
        assert_eq!(
            timestamp_millis("2026-03-01T12:00:00"),
            timestamp_millis("2026-03-01T12:00:00Z")
        );
        assert_eq!(
            timestamp_millis("2026-03-01T13:00:00+01:00"),
            timestamp_millis("2026-03-01T12:00:00Z")
        );
        assert_eq!(timestamp_millis("yesterday"), None);
    }
}

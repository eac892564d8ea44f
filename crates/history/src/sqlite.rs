//! [`SqliteStore`]: the history in one SQLite file.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use hourglass_model::{Attempt, Outcome, Property, RunMeta, TestKey, TestResult};
use rusqlite::{CachedStatement, Connection, ErrorCode, OptionalExtension, Row, params};

use crate::blobs::{self, BlobWriter};
use crate::codec::{attempts_json, implied_attempt, json_list, parse_json_list, parse_outcome};
use crate::prune::PruneReport;
use crate::schema;
pub(crate) mod passes;

use passes::{Pass, PassBuffer, TestSet};

use crate::{
    ExportRow, FileIngest, FileWallTime, HistoryRow, HistoryStore, ImportOutcome, IngestOutcome,
    KeepOutput, Producer, ResultFilter, RunInfo, RunSummary, RunWallTime, StoreError, StoredFile,
    VisitError, derive_run_id, run_wall_time, timestamp_millis,
};

/// How long a statement waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(600);
/// How often `BEGIN IMMEDIATE` (and the journal mode switch) are retried
/// when SQLite still reports the database busy after the timeout.
const BUSY_RETRIES: u32 = 50;

/// The history in one SQLite file (WAL journal; several processes may
/// write at once).
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
    keep_output: KeepOutput,
    /// The schema has `passes` (version 7 on; tests open older ones).
    packed: bool,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories when missing) the store
    /// at `path`, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at_version(path, schema::latest_version())
    }

    /// Opens the store at `path` and migrates it only up to `version`.
    /// For tests of the migrations; [`SqliteStore::open`] is what callers
    /// want.
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: i64) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // 16 KiB pages for a new file (an existing one keeps its own): fewer
        // B-tree pages to split and to write for a big file's results.
        connection.pragma_update(None, "page_size", 16 * 1024)?;
        // Incremental auto-vacuum for a new file, so that `prune` can give
        // freed pages back without rewriting the whole store.
        connection.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        retry_busy(|| {
            connection
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        })?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        // 32 MiB of page cache: a big file's transaction stays in memory
        // instead of spilling pages to the WAL midway.
        connection.pragma_update(None, "cache_size", -32 * 1024)?;
        connection.set_prepared_statement_cache_capacity(32);
        // The foreign keys are declared, not enforced: the writer only
        // writes ids it has just read or created in the same transaction, so
        // a per-row check of each would only repeat that (and costs more than
        // a tenth of a big file's ingest); and a migration copies an older
        // file's rows as they are.
        connection.pragma_update(None, "foreign_keys", false)?;
        schema::migrate_to(&mut connection, version)?;
        let packed = schema::version(&connection)? >= schema::PASSES_VERSION;
        Ok(Self {
            connection,
            keep_output: KeepOutput::default(),
            packed,
        })
    }

    /// Drops every run strictly before `before` (RFC 3339; a zoneless time
    /// is read as UTC) with its files and results, then the blobs, tests
    /// and classes nothing refers to any more, and gives the space back.
    /// `dry_run` counts without dropping.
    pub fn prune(&mut self, before: &str, dry_run: bool) -> Result<PruneReport, StoreError> {
        let before_ms = timestamp_millis(before).ok_or_else(|| StoreError::Timestamp {
            text: before.to_owned(),
        })?;
        crate::prune::prune(&self.connection, self.packed, before, before_ms, dry_run)
    }

    /// Results stored, rows and packed passes (for tests and diagnostics).
    #[doc(hidden)]
    pub fn result_count(&self) -> Result<u64, StoreError> {
        let rows: i64 = self
            .connection
            .query_row("SELECT count(*) FROM results", [], |row| row.get(0))?;
        let mut packed = 0u64;
        passes::for_each(&self.connection, self.packed, |_| {
            packed += 1;
            Ok(())
        })?;
        Ok(rows as u64 + packed)
    }

    /// A read transaction for a reader's statements, so that they all see
    /// one state of the store while other processes write (each statement
    /// alone would see the latest); `None` inside a transaction already.
    /// Dropping it ends it.
    fn snapshot(&self) -> Result<Option<rusqlite::Transaction<'_>>, StoreError> {
        if !self.connection.is_autocommit() {
            return Ok(None);
        }
        Ok(Some(self.connection.unchecked_transaction()?))
    }

    /// The underlying connection (for tests and diagnostics).
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The selected runs, oldest first, with their index; `last_runs`
    /// applied.
    fn selected_runs(&self, filter: &ResultFilter) -> Result<Vec<(i64, RunInfo)>, StoreError> {
        let since = since_millis(filter)?;
        let mut statement = self.connection.prepare_cached(
            r#"SELECT id, run_id, "commit", branch, timestamp, job FROM runs
               WHERE (?1 IS NULL OR ts >= ?1) AND (?2 IS NULL OR branch = ?2)
               ORDER BY ts, run_id"#,
        )?;
        let rows = statement.query_map(params![since, filter.branch], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                RunInfo {
                    run_id: row.get(1)?,
                    commit: row.get(2)?,
                    branch: row.get(3)?,
                    timestamp: row.get(4)?,
                    job: row.get(5)?,
                },
            ))
        })?;
        let mut runs = rows.collect::<Result<Vec<_>, _>>()?;
        if let Some(last) = filter.last_runs {
            let drop = runs.len().saturating_sub(last);
            runs.drain(..drop);
        }
        Ok(runs)
    }
}

fn since_millis(filter: &ResultFilter) -> Result<Option<i64>, StoreError> {
    filter
        .since
        .as_deref()
        .map(|text| {
            timestamp_millis(text).ok_or_else(|| StoreError::Timestamp {
                text: text.to_owned(),
            })
        })
        .transpose()
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn retry_busy<T>(mut attempt: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut tries = 0;
    loop {
        match attempt() {
            Err(error) if is_busy(&error) && tries < BUSY_RETRIES => {
                tries += 1;
                thread::sleep(Duration::from_millis(20 * u64::from(tries.min(10))));
            }
            other => return other,
        }
    }
}

/// An open `BEGIN IMMEDIATE` transaction that rolls back unless committed.
struct WriteTransaction<'c> {
    connection: &'c Connection,
    open: bool,
}

impl<'c> WriteTransaction<'c> {
    fn begin(connection: &'c Connection) -> Result<Self, StoreError> {
        retry_busy(|| connection.execute_batch("BEGIN IMMEDIATE"))?;
        Ok(Self {
            connection,
            open: true,
        })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        retry_busy(|| self.connection.execute_batch("COMMIT"))?;
        self.open = false;
        Ok(())
    }
}

/// Runs `work` in a write transaction; commits when it returns `true`
/// with its value, rolls back otherwise (and on an error).
pub(crate) fn with_write_transaction<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<(T, bool), StoreError>,
) -> Result<T, StoreError> {
    let transaction = WriteTransaction::begin(connection)?;
    let (value, commit) = work(connection)?;
    if commit {
        transaction.commit()?;
    }
    Ok(value)
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

fn now_rfc3339() -> (String, i64) {
    let now = jiff::Timestamp::now();
    let second = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    (second.to_string(), second.as_millisecond())
}

/// A run of the window [`HistoryStore::for_each_result`] reads.
struct WindowRun {
    index: u64,
    ts: i64,
    info: Rc<RunInfo>,
}

/// One result of a block of tests, before it is visited.
pub(crate) struct WindowPoint {
    pub(crate) test: i64,
    pub(crate) ts: i64,
    pub(crate) run: i64,
    pub(crate) outcome: Outcome,
    pub(crate) duration_s: Option<f64>,
    pub(crate) attempts: u32,
    pub(crate) file: Option<String>,
}

/// Writes one file's results into one run, inside a write transaction.
struct ResultWriter<'c> {
    connection: &'c Connection,
    keep_output: KeepOutput,
    blobs: BlobWriter<'c>,
    run: i64,
    run_ts: i64,
    results: u64,
    /// The class of the latest result: consecutive testcases mostly share it.
    class: CurrentClass,
    find_class: CachedStatement<'c>,
    insert_class: CachedStatement<'c>,
    find_test: CachedStatement<'c>,
    insert_test: CachedStatement<'c>,
    insert_result: CachedStatement<'c>,
    /// Plain passes not stored yet.
    passes: PassBuffer,
    /// Plain passes are packed (the schema has `passes`).
    pack: bool,
    /// Tests with a result in the run (stored or buffered).
    present: TestSet,
}

/// A class id with the suite and classname it stands for.
#[derive(Default)]
struct CurrentClass {
    id: Option<i64>,
    suite: String,
    classname: String,
    /// Created by this transaction: its tests are most likely new too.
    created: bool,
}

const RESULT_COLUMNS: &str = "status, duration_s, message, failure_type, file, line, output, \
     output_dropped_bytes, attempts, properties, attempt_count, message_blob, output_blob";

impl<'c> ResultWriter<'c> {
    /// A writer into `run`; `fresh` when the run has no results yet.
    fn new(
        connection: &'c Connection,
        keep_output: KeepOutput,
        run: i64,
        run_ts: i64,
        fresh: bool,
        pack: bool,
    ) -> Result<Self, StoreError> {
        let present = if fresh {
            TestSet::default()
        } else {
            TestSet::of_run(connection, run, pack)?
        };
        Ok(Self {
            connection,
            keep_output,
            blobs: BlobWriter::new(connection)?,
            run,
            run_ts,
            results: 0,
            class: CurrentClass::default(),
            find_class: connection
                .prepare_cached("SELECT id FROM classes WHERE suite = ?1 AND classname = ?2")?,
            insert_class: connection
                .prepare_cached("INSERT INTO classes (suite, classname) VALUES (?1, ?2)")?,
            find_test: connection
                .prepare_cached("SELECT id FROM tests WHERE class = ?1 AND name = ?2")?,
            insert_test: connection.prepare_cached(
                "INSERT INTO tests (class, name) VALUES (?1, ?2) ON CONFLICT (class, name) DO NOTHING",
            )?,
            insert_result: connection.prepare_cached(
                "INSERT INTO results (id, run, test, run_ts, status, duration_s, message_blob, \
                 failure_type, file, line, output_blob, output_dropped_bytes, attempt_count, \
                 attempts, properties) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                 ON CONFLICT (id) DO NOTHING",
            )?,
            passes: PassBuffer::default(),
            pack,
            present,
        })
    }

    /// Stores what is still buffered; the file's transaction may commit.
    fn finish(&mut self) -> Result<(), StoreError> {
        if !self.pack {
            return Ok(());
        }
        self.passes.flush(self.connection, self.run)
    }

    /// The id of the key's class, and whether this transaction created it.
    fn class_id(&mut self, key: &TestKey) -> Result<(i64, bool), StoreError> {
        let current = &mut self.class;
        if let Some(id) = current.id
            && current.suite == key.suite
            && current.classname == key.classname
        {
            return Ok((id, current.created));
        }
        let found = self
            .find_class
            .query_row(params![key.suite, key.classname], |row| row.get(0))
            .optional()?;
        let (id, created) = if let Some(id) = found {
            (id, false)
        } else {
            self.insert_class
                .execute(params![key.suite, key.classname])?;
            (self.connection.last_insert_rowid(), true)
        };
        current.id = Some(id);
        current.created = created;
        current.suite.clone_from(&key.suite);
        current.classname.clone_from(&key.classname);
        Ok((id, created))
    }

    fn test_id(&mut self, key: &TestKey) -> Result<i64, StoreError> {
        let (class, created) = self.class_id(key)?;
        // In a class this transaction created, a test is new unless it is a
        // rerun: try the insert first. Elsewhere, look it up first.
        if created && self.insert_test.execute(params![class, key.name])? == 1 {
            return Ok(self.connection.last_insert_rowid());
        }
        let found = self
            .find_test
            .query_row(params![class, key.name], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        if self.insert_test.execute(params![class, key.name])? == 0 {
            // Under the write lock a test is either found or inserted.
            return Err(StoreError::Corrupt {
                what: "test",
                detail: format!("{key} is neither stored nor insertable"),
            });
        }
        Ok(self.connection.last_insert_rowid())
    }

    fn write(&mut self, result: &TestResult) -> Result<(), StoreError> {
        let test = self.test_id(&result.key)?;
        let key = result_key(self.run, test)?;
        self.results += 1;
        if !self.present.insert(test) {
            return self.merge(key, test, result);
        }
        let (output, dropped) = self.keep_output.apply(result);
        self.place(
            key,
            test,
            result,
            output,
            result.output_dropped_bytes + dropped,
        )
    }

    /// Stores the run's only result of `test`: packed when it is a plain
    /// pass, else as a row. `output` is what the policy keeps, `dropped`
    /// the bytes of output dropped in all.
    fn place(
        &mut self,
        key: i64,
        test: i64,
        result: &TestResult,
        output: Option<&str>,
        dropped: u64,
    ) -> Result<(), StoreError> {
        if self.pack
            && let Some(pass) = Pass::of(test, result, output, dropped)?
        {
            return self.passes.push(self.connection, self.run, pass);
        }
        let attempts = attempts_json(result)?;
        let properties = json_list(&result.properties)?;
        let message_blob = match result.message.as_deref() {
            Some(text) => Some(self.blobs.intern(text)?),
            None => None,
        };
        let output_blob = match output {
            Some(text) => Some(self.blobs.intern(text)?),
            None => None,
        };
        let inserted = self.insert_result.execute(params![
            key,
            self.run,
            test,
            self.run_ts,
            result.outcome.as_str(),
            result.duration_s,
            message_blob,
            result.failure_type,
            result.file,
            result.line,
            output_blob,
            dropped as i64,
            result.attempts.len() as i64,
            attempts,
            properties,
        ])?;
        if inserted == 0 {
            // The test set said the run had no result of this test.
            return Err(StoreError::Corrupt {
                what: "result",
                detail: format!("{} is stored twice in one run", result.key),
            });
        }
        Ok(())
    }

    /// The test already has a result in this run: fold this one into it.
    fn merge(&mut self, key: i64, test: i64, later: &TestResult) -> Result<(), StoreError> {
        // The later attempt's output passes through the same policy.
        let (later_output, later_dropped) = self.keep_output.apply(later);
        let mut later = later.clone();
        later.output = later_output.map(ToOwned::to_owned);
        later.output_dropped_bytes += later_dropped;
        if self.pack
            && let Some(pass) = self.passes.take(self.connection, self.run, test)?
        {
            let mut stored = pass.result(later.key.clone());
            stored.absorb_rerun(later);
            let output = stored.output.clone();
            let dropped = stored.output_dropped_bytes;
            return self.place(key, test, &stored, output.as_deref(), dropped);
        }
        let sql = format!("SELECT {RESULT_COLUMNS} FROM results WHERE id = ?1");
        let mut stored = self
            .connection
            .prepare_cached(&sql)?
            .query_row(params![key], |row| {
                read_result(self.connection, row, 0, later.key.clone())
            })??;
        stored.absorb_rerun(later);
        let message_blob = match stored.message.as_deref() {
            Some(text) => Some(self.blobs.intern(text)?),
            None => None,
        };
        let output_blob = match stored.output.as_deref() {
            Some(text) => Some(self.blobs.intern(text)?),
            None => None,
        };
        self.connection
            .prepare_cached(
                "UPDATE results SET status = ?2, duration_s = ?3, message = NULL, \
                 message_blob = ?4, failure_type = ?5, file = ?6, line = ?7, output = NULL, \
                 output_blob = ?8, output_dropped_bytes = ?9, \
                 attempt_count = ?10, attempts = ?11, properties = ?12 \
                 WHERE id = ?1",
            )?
            .execute(params![
                key,
                stored.outcome.as_str(),
                stored.duration_s,
                message_blob,
                stored.failure_type,
                stored.file,
                stored.line,
                output_blob,
                stored.output_dropped_bytes as i64,
                stored.attempts.len() as i64,
                attempts_json(&stored)?,
                json_list(&stored.properties)?,
            ])?;
        Ok(())
    }
}

/// Writes every result `produce` gives (see [`crate::write_produced`]).
fn write_produced(
    writer: &mut ResultWriter<'_>,
    path: &str,
    produce: &mut Producer<'_>,
) -> Result<(), StoreError> {
    crate::write_produced(path, produce, &mut |result| writer.write(result))
}

/// The rowid of a run's result for a test: `run << 32 | test`, so that a
/// run's results are stored together, in test order.
fn result_key(run: i64, test: i64) -> Result<i64, StoreError> {
    if !(0..1 << 31).contains(&run) {
        return Err(StoreError::KeySpace {
            what: "run",
            id: run,
        });
    }
    if !(0..1 << 32).contains(&test) {
        return Err(StoreError::KeySpace {
            what: "test",
            id: test,
        });
    }
    Ok(run << 32 | test)
}

/// The rowids of one run's results.
pub(crate) fn run_keys(run: i64) -> (i64, i64) {
    (run << 32, run << 32 | 0xFFFF_FFFF)
}

/// Reads the [`RESULT_COLUMNS`] starting at column `first`.
fn read_result(
    connection: &Connection,
    row: &Row<'_>,
    first: usize,
    key: TestKey,
) -> rusqlite::Result<Result<TestResult, StoreError>> {
    let status: String = row.get(first)?;
    let attempts: Option<String> = row.get(first + 8)?;
    let properties: Option<String> = row.get(first + 9)?;
    let attempt_count: i64 = row.get(first + 10)?;
    let mut result = TestResult::new(key, Outcome::Passed);
    result.duration_s = row.get(first + 1)?;
    result.message = row.get(first + 2)?;
    result.failure_type = row.get(first + 3)?;
    result.file = row.get(first + 4)?;
    result.line = row.get(first + 5)?;
    result.output = row.get(first + 6)?;
    result.output_dropped_bytes = row.get::<_, i64>(first + 7)? as u64;
    let message_blob: Option<i64> = row.get(first + 11)?;
    let output_blob: Option<i64> = row.get(first + 12)?;
    Ok((|| {
        // Since migration 5 the texts are in `blobs`; inline ones are read
        // as they are.
        if let Some(id) = message_blob {
            result.message = Some(blobs::load(connection, id)?);
        }
        if let Some(id) = output_blob {
            result.output = Some(blobs::load(connection, id)?);
        }
        result.outcome = parse_outcome(&status)?;
        result.attempts = match (attempts, attempt_count) {
            (None, 1) => implied_attempt(&result).into_iter().collect(),
            (attempts, _) => parse_json_list::<Attempt>("attempts", attempts)?,
        };
        result.properties = parse_json_list::<Property>("properties", properties)?;
        Ok(result)
    })())
}

impl HistoryStore for SqliteStore {
    fn set_keep_output(&mut self, keep_output: KeepOutput) {
        self.keep_output = keep_output;
    }

    fn for_each_test_outline(
        &self,
        request: &crate::OutlineRequest,
        visit: &mut dyn FnMut(crate::TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        crate::outline::over_results(self, request, visit)
    }

    fn ingest_file(
        &mut self,
        run: &RunMeta,
        file: &FileIngest,
        produce: &mut Producer<'_>,
    ) -> Result<IngestOutcome, StoreError> {
        let run_id = derive_run_id(run, &file.content_hash);
        let (timestamp, ts) = match run.timestamp.as_deref() {
            Some(text) => (
                text.to_owned(),
                timestamp_millis(text).ok_or_else(|| StoreError::Timestamp {
                    text: text.to_owned(),
                })?,
            ),
            None => now_rfc3339(),
        };
        let connection = &self.connection;
        let transaction = WriteTransaction::begin(connection)?;
        let existing = connection
            .prepare_cached("SELECT id, ts FROM runs WHERE run_id = ?1")?
            .query_row(params![run_id], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
            })
            .optional()?;
        let fresh = existing.is_none();
        let (run_row, run_ts) = if let Some((id, ts)) = existing {
            let duplicate = connection
                .prepare_cached("SELECT 1 FROM files WHERE run = ?1 AND content_hash = ?2")?
                .exists(params![id, &file.content_hash[..]])?;
            if duplicate {
                return Ok(IngestOutcome::AlreadyStored);
            }
            // Fill in what an earlier file of the run did not know.
            connection
                .prepare_cached(
                    r#"UPDATE runs SET "commit" = coalesce("commit", ?2),
                       branch = coalesce(branch, ?3), job = coalesce(job, ?4) WHERE id = ?1"#,
                )?
                .execute(params![id, run.commit, run.branch, run.job])?;
            (id, ts)
        } else {
            let (created_at, _) = now_rfc3339();
            connection
                .prepare_cached(
                    r#"INSERT INTO runs (run_id, "commit", branch, timestamp, ts, job, created_at)
                       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"#,
                )?
                .execute(params![
                    run_id, run.commit, run.branch, timestamp, ts, run.job, created_at
                ])?;
            (connection.last_insert_rowid(), ts)
        };

        let mut writer = ResultWriter::new(
            connection,
            self.keep_output,
            run_row,
            run_ts,
            fresh,
            self.packed,
        )?;
        write_produced(&mut writer, &file.path, produce)?;
        writer.finish()?;
        let (ingested_at, _) = now_rfc3339();
        connection
            .prepare_cached(
                "INSERT INTO files (run, content_hash, path, testcases, ingested_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                run_row,
                &file.content_hash[..],
                file.path,
                writer.results as i64,
                ingested_at
            ])?;
        let results = writer.results;
        drop(writer);
        transaction.commit()?;
        Ok(IngestOutcome::Stored { results })
    }

    fn runs(&self, filter: &ResultFilter) -> Result<Vec<RunSummary>, StoreError> {
        let _snapshot = self.snapshot()?;
        let selected = self.selected_runs(filter)?;
        let mut files = self
            .connection
            .prepare_cached("SELECT count(*) FROM files WHERE run = ?1")?;
        let mut rows_of = self
            .connection
            .prepare_cached("SELECT status, duration_s FROM results WHERE id BETWEEN ?1 AND ?2")?;
        let mut runs = Vec::with_capacity(selected.len());
        for (index, (id, info)) in selected.into_iter().enumerate() {
            let mut summary = RunSummary {
                index: index as u64,
                info,
                files: files.query_row(params![id], |row| row.get::<_, i64>(0))? as u64,
                tests: 0,
                passed: 0,
                failed: 0,
                error: 0,
                skipped: 0,
                flaky: 0,
                duration_s: 0.0,
            };
            // Whole nanoseconds, summed exactly (see `crate::nanos`).
            let mut nanos: i128 = 0;
            let mut count = |summary: &mut RunSummary, outcome: Outcome, duration: Option<f64>| {
                summary.tests += 1;
                *match outcome {
                    Outcome::Passed => &mut summary.passed,
                    Outcome::Failed => &mut summary.failed,
                    Outcome::Error => &mut summary.error,
                    Outcome::Skipped => &mut summary.skipped,
                    Outcome::Flaky => &mut summary.flaky,
                } += 1;
                if let Some(n) = duration.and_then(crate::nanos) {
                    nanos += i128::from(n);
                }
            };
            let (first, last) = run_keys(id);
            let mut rows = rows_of.query(params![first, last])?;
            while let Some(row) = rows.next()? {
                let status: String = row.get(0)?;
                count(&mut summary, parse_outcome(&status)?, row.get(1)?);
            }
            passes::for_each_of_run(&self.connection, self.packed.then_some(id), |pass| {
                count(&mut summary, Outcome::Passed, pass.duration_s);
                Ok(())
            })?;
            summary.duration_s = nanos as f64 / 1e9;
            runs.push(summary);
        }
        Ok(runs)
    }

    fn for_each_result(
        &self,
        filter: &ResultFilter,
        visit: &mut dyn FnMut(HistoryRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let _snapshot = self.snapshot()?;
        let selected = self.selected_runs(filter)?;
        if selected.is_empty() {
            return Ok(());
        }
        let mut run_ts = self
            .connection
            .prepare_cached("SELECT ts FROM runs WHERE id = ?1")?;
        let mut runs: HashMap<i64, WindowRun> = HashMap::with_capacity(selected.len());
        for (index, (id, info)) in selected.into_iter().enumerate() {
            let ts: i64 = run_ts.query_row(params![id], |row| row.get(0))?;
            runs.insert(
                id,
                WindowRun {
                    index: index as u64,
                    ts,
                    info: Rc::new(info),
                },
            );
        }
        drop(run_ts);
        let earliest_ts = runs.values().map(|run| run.ts).min().unwrap_or(i64::MIN);
        let mut window: Vec<(i64, i64)> = runs.iter().map(|(&id, run)| (run.ts, id)).collect();
        window.sort_unstable();
        let last_test: i64 =
            self.connection
                .query_row("SELECT coalesce(max(id), -1) FROM tests", [], |row| {
                    row.get(0)
                })?;
        // Block by block of test ids: the rows of the block's tests off the
        // (test, run_ts, run) index, each run's passes of the block off its
        // blob, sorted together by test and time. Memory holds one block.
        let mut rows_of = self.connection.prepare_cached(
            "SELECT test, run, run_ts, status, duration_s, attempt_count, file FROM results \
             WHERE test BETWEEN ?1 AND ?2 AND run_ts >= ?3",
        )?;
        let mut names_of = self.connection.prepare_cached(
            "SELECT t.id, c.suite, c.classname, t.name FROM tests t \
             JOIN classes c ON c.id = t.class WHERE t.id BETWEEN ?1 AND ?2",
        )?;
        let mut points: Vec<WindowPoint> = Vec::new();
        let mut keys: HashMap<i64, TestKey> = HashMap::new();
        for block in 0..=passes::block_of(last_test) {
            let first = block * passes::BLOCK;
            let last = first + passes::BLOCK - 1;
            points.clear();
            let mut rows = rows_of.query(params![first, last, earliest_ts])?;
            while let Some(row) = rows.next()? {
                if !runs.contains_key(&row.get::<_, i64>(1)?) {
                    continue;
                }
                let status: String = row.get(3)?;
                points.push(WindowPoint {
                    test: row.get(0)?,
                    ts: row.get(2)?,
                    run: row.get(1)?,
                    outcome: parse_outcome(&status)?,
                    duration_s: row.get(4)?,
                    attempts: row.get::<_, i64>(5)? as u32,
                    file: row.get(6)?,
                });
            }
            for &(ts, run) in window.iter().filter(|_| self.packed) {
                for pass in passes::of_block(&self.connection, run, block)? {
                    points.push(WindowPoint {
                        test: pass.test,
                        ts,
                        run,
                        outcome: Outcome::Passed,
                        duration_s: pass.duration_s,
                        attempts: pass.attempt_count(),
                        file: None,
                    });
                }
            }
            if points.is_empty() {
                continue;
            }
            points.sort_unstable_by_key(|point| (point.test, point.ts, point.run));
            keys.clear();
            let mut names = names_of.query(params![first, last])?;
            while let Some(row) = names.next()? {
                keys.insert(
                    row.get(0)?,
                    TestKey {
                        suite: row.get(1)?,
                        classname: row.get(2)?,
                        name: row.get(3)?,
                    },
                );
            }
            for point in points.drain(..) {
                let run = &runs[&point.run];
                let key = keys.get(&point.test).ok_or_else(|| StoreError::Corrupt {
                    what: "result",
                    detail: format!("test {} has results but no name", point.test),
                })?;
                visit(HistoryRow {
                    run_index: run.index,
                    run_id: run.info.run_id.clone(),
                    commit: run.info.commit.clone(),
                    branch: run.info.branch.clone(),
                    timestamp: run.info.timestamp.clone(),
                    key: key.clone(),
                    outcome: point.outcome,
                    duration_s: point.duration_s,
                    attempts: point.attempts,
                    file: point.file,
                })
                .map_err(StoreError::Visit)?;
            }
        }
        Ok(())
    }

    fn for_each_export(
        &self,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let _snapshot = self.snapshot()?;
        let runs = self.selected_runs(&ResultFilter::default())?;
        for (id, info) in runs {
            self.export_run(id, &info, visit)?;
        }
        Ok(())
    }

    fn run_files(&self, run_id: &str) -> Result<Vec<StoredFile>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT f.content_hash, f.path, f.testcases, f.ingested_at, \
             f.wall_start_ts, f.wall_end_ts, f.wall_ms FROM files f \
             JOIN runs r ON r.id = f.run WHERE r.run_id = ?1 ORDER BY f.id",
        )?;
        let rows = statement.query_map(params![run_id], |row| {
            Ok(StoredFile {
                content_hash: row.get(0)?,
                path: row.get(1)?,
                testcases: row.get::<_, i64>(2)? as u64,
                ingested_at: row.get(3)?,
                wall: FileWallTime {
                    start_ms: row.get(4)?,
                    end_ms: row.get(5)?,
                    time_ms: row.get(6)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn for_each_run_export(
        &self,
        run_id: &str,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let _snapshot = self.snapshot()?;
        let found = self
            .connection
            .prepare_cached(
                r#"SELECT id, run_id, "commit", branch, timestamp, job FROM runs WHERE run_id = ?1"#,
            )?
            .query_row(params![run_id], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    RunInfo {
                        run_id: row.get(1)?,
                        commit: row.get(2)?,
                        branch: row.get(3)?,
                        timestamp: row.get(4)?,
                        job: row.get(5)?,
                    },
                ))
            })
            .optional()?;
        match found {
            Some((id, info)) => self.export_run(id, &info, visit),
            None => Ok(()),
        }
    }

    fn import_run(
        &mut self,
        run: &RunInfo,
        files: &[StoredFile],
        produce: &mut Producer<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let ts = timestamp_millis(&run.timestamp).ok_or_else(|| StoreError::Timestamp {
            text: run.timestamp.clone(),
        })?;
        let connection = &self.connection;
        let transaction = WriteTransaction::begin(connection)?;
        let exists = connection
            .prepare_cached("SELECT 1 FROM runs WHERE run_id = ?1")?
            .exists(params![run.run_id])?;
        if exists {
            return Ok(ImportOutcome::AlreadyThere);
        }
        let (created_at, _) = now_rfc3339();
        connection
            .prepare_cached(
                r#"INSERT INTO runs (run_id, "commit", branch, timestamp, ts, job, created_at)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"#,
            )?
            .execute(params![
                run.run_id,
                run.commit,
                run.branch,
                run.timestamp,
                ts,
                run.job,
                created_at
            ])?;
        let run_row = connection.last_insert_rowid();
        let mut writer =
            ResultWriter::new(connection, KeepOutput::All, run_row, ts, true, self.packed)?;
        write_produced(&mut writer, &run.run_id, produce)?;
        writer.finish()?;
        let results = writer.results;
        drop(writer);
        for file in files {
            connection
                .prepare_cached(
                    "INSERT INTO files (run, content_hash, path, testcases, ingested_at, \
                     wall_start_ts, wall_end_ts, wall_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    run_row,
                    file.content_hash,
                    file.path,
                    file.testcases as i64,
                    file.ingested_at,
                    file.wall.start_ms,
                    file.wall.end_ms,
                    file.wall.time_ms
                ])?;
        }
        transaction.commit()?;
        Ok(ImportOutcome::Copied { results })
    }
    fn set_file_wall_time(
        &mut self,
        run_id: &str,
        content_hash: &[u8; 32],
        wall: &FileWallTime,
    ) -> Result<bool, StoreError> {
        let changed = retry_busy(|| {
            self.connection
                .prepare_cached(
                    "UPDATE files SET wall_start_ts = ?3, wall_end_ts = ?4, wall_ms = ?5 \
                     WHERE run = (SELECT id FROM runs WHERE run_id = ?1) AND content_hash = ?2",
                )?
                .execute(params![
                    run_id,
                    &content_hash[..],
                    wall.start_ms,
                    wall.end_ms,
                    wall.time_ms
                ])
        })?;
        Ok(changed > 0)
    }

    fn run_wall_times(&self, filter: &ResultFilter) -> Result<Vec<RunWallTime>, StoreError> {
        let selected = self.selected_runs(filter)?;
        let mut files = self.connection.prepare_cached(
            "SELECT wall_start_ts, wall_end_ts, wall_ms FROM files WHERE run = ?1 ORDER BY id",
        )?;
        let mut out = Vec::with_capacity(selected.len());
        for (id, info) in selected {
            let walls = files
                .query_map(params![id], |row| {
                    Ok(FileWallTime {
                        start_ms: row.get(0)?,
                        end_ms: row.get(1)?,
                        time_ms: row.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(RunWallTime {
                run_id: info.run_id,
                wall_time_s: run_wall_time(&walls),
            });
        }
        Ok(out)
    }

    fn for_each_ci_job(
        &self,
        since_ms: Option<i64>,
        visit: &mut dyn FnMut(hourglass_model::CiJob) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        SqliteStore::for_each_ci_job(self, since_ms, visit)
    }
}

impl SqliteStore {
    /// Visits one run's results with all their fields, by test key: its
    /// rows and its packed passes, each sorted by SQLite, merged.
    fn export_run(
        &self,
        id: i64,
        info: &RunInfo,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT c.suite, c.classname, t.name, {} \
             FROM results r JOIN tests t ON t.id = r.test JOIN classes c ON c.id = t.class \
             WHERE r.id BETWEEN ?1 AND ?2 \
             ORDER BY c.suite, c.classname, t.name",
            RESULT_COLUMNS
                .split(", ")
                .map(|column| format!("r.{column}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // The run's passes go through a temporary table (on disk past the
        // page cache) so that SQLite sorts them by name too.
        self.connection.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS export_passes (
                 test INTEGER PRIMARY KEY, duration_s REAL, dropped INTEGER NOT NULL,
                 implied INTEGER NOT NULL);
             DELETE FROM temp.export_passes;",
        )?;
        {
            let mut insert = self.connection.prepare_cached(
                "INSERT INTO temp.export_passes (test, duration_s, dropped, implied) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            passes::for_each_of_run(&self.connection, self.packed.then_some(id), |pass| {
                insert.execute(params![
                    pass.test,
                    pass.duration_s,
                    pass.dropped as i64,
                    pass.implied
                ])?;
                Ok(())
            })?;
        }
        let mut packed = self.connection.prepare_cached(
            "SELECT c.suite, c.classname, t.name, p.test, p.duration_s, p.dropped, p.implied \
             FROM temp.export_passes p JOIN tests t ON t.id = p.test \
             JOIN classes c ON c.id = t.class ORDER BY c.suite, c.classname, t.name",
        )?;
        let mut passes = packed.query([])?;
        let mut next_pass = || -> Result<Option<TestResult>, StoreError> {
            let Some(row) = passes.next()? else {
                return Ok(None);
            };
            let pass = Pass {
                test: row.get(3)?,
                duration_s: row.get(4)?,
                dropped: row.get::<_, i64>(5)? as u64,
                implied: row.get(6)?,
            };
            Ok(Some(pass.result(TestKey {
                suite: row.get(0)?,
                classname: row.get(1)?,
                name: row.get(2)?,
            })))
        };
        let mut statement = self.connection.prepare_cached(&sql)?;
        let (first, last) = run_keys(id);
        let mut rows = statement.query(params![first, last])?;
        let mut next_row = || -> Result<Option<TestResult>, StoreError> {
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let key = TestKey {
                suite: row.get(0)?,
                classname: row.get(1)?,
                name: row.get(2)?,
            };
            Ok(Some(read_result(&self.connection, row, 3, key)??))
        };
        // SQLite's BINARY order of the three texts is Rust's order of them.
        let mut pass = next_pass()?;
        let mut row = next_row()?;
        loop {
            let take_pass = match (&pass, &row) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(p), Some(r)) => {
                    (&p.key.suite, &p.key.classname, &p.key.name)
                        < (&r.key.suite, &r.key.classname, &r.key.name)
                }
            };
            let result = if take_pass {
                std::mem::replace(&mut pass, next_pass()?)
            } else {
                std::mem::replace(&mut row, next_row()?)
            };
            if let Some(result) = result {
                visit(ExportRow {
                    run: info.clone(),
                    result,
                })
                .map_err(StoreError::Visit)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_keys_order_by_run_then_test_and_fall_in_their_run_range() {
        let key = result_key(3, 7).unwrap();
        let (first, last) = run_keys(3);
        assert!((first..=last).contains(&key));
        assert!(result_key(3, (1 << 32) - 1).unwrap() <= last);
        assert!(result_key(4, 0).unwrap() > last);
        assert!(result_key(3, 8).unwrap() > key);
        assert!(matches!(
            result_key(3, 1 << 32),
            Err(StoreError::KeySpace { what: "test", .. })
        ));
        assert!(matches!(
            result_key(1 << 31, 1),
            Err(StoreError::KeySpace { what: "run", .. })
        ));
    }
}

/// What storing a file of CI jobs did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CiJobsOutcome {
    /// Jobs not stored before.
    pub stored: u64,
    /// Jobs stored before, now replaced by the newer record (a job read
    /// again after it finished, say).
    pub updated: u64,
}

impl SqliteStore {
    /// Stores CI jobs in one transaction: all or none. A job is identified
    /// by its provider and id; storing it again replaces its record.
    pub fn ingest_ci_jobs(
        &mut self,
        jobs: &[hourglass_model::CiJob],
    ) -> Result<CiJobsOutcome, StoreError> {
        let connection = &self.connection;
        let transaction = WriteTransaction::begin(connection)?;
        let mut outcome = CiJobsOutcome {
            stored: 0,
            updated: 0,
        };
        let millis = |text: Option<&str>| -> Result<Option<i64>, StoreError> {
            text.map(|text| {
                timestamp_millis(text).ok_or_else(|| StoreError::Timestamp {
                    text: text.to_owned(),
                })
            })
            .transpose()
        };
        let mut exists = connection
            .prepare_cached("SELECT 1 FROM ci_jobs WHERE provider = ?1 AND job_id = ?2")?;
        let mut upsert = connection.prepare_cached(
            r#"INSERT INTO ci_jobs (provider, job_id, pipeline_id, "commit", name, runner, status,
                   conclusion, created_at, created_ts, started_at, started_ts, finished_at,
                   finished_ts, queued_s)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
               ON CONFLICT (provider, job_id) DO UPDATE SET
                   pipeline_id = excluded.pipeline_id, "commit" = excluded."commit",
                   name = excluded.name, runner = excluded.runner, status = excluded.status,
                   conclusion = excluded.conclusion, created_at = excluded.created_at,
                   created_ts = excluded.created_ts, started_at = excluded.started_at,
                   started_ts = excluded.started_ts, finished_at = excluded.finished_at,
                   finished_ts = excluded.finished_ts, queued_s = excluded.queued_s"#,
        )?;
        for job in jobs {
            let provider = job.provider.as_str();
            let created = millis(Some(&job.created_at))?;
            let started = millis(job.started_at.as_deref())?;
            let finished = millis(job.finished_at.as_deref())?;
            if exists.exists(params![provider, job.job_id])? {
                outcome.updated += 1;
            } else {
                outcome.stored += 1;
            }
            upsert.execute(params![
                provider,
                job.job_id,
                job.pipeline_id,
                job.commit,
                job.name,
                job.runner,
                job.status,
                job.conclusion,
                job.created_at,
                created,
                job.started_at,
                started,
                job.finished_at,
                finished,
                job.queued_s,
            ])?;
        }
        drop(exists);
        drop(upsert);
        transaction.commit()?;
        Ok(outcome)
    }

    /// Visits the stored CI jobs created at or after `since_ms` (all when
    /// `None`), oldest first.
    pub fn for_each_ci_job(
        &self,
        since_ms: Option<i64>,
        visit: &mut dyn FnMut(hourglass_model::CiJob) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let mut statement = self.connection.prepare_cached(
            r#"SELECT provider, job_id, pipeline_id, "commit", name, runner, status, conclusion,
                      created_at, started_at, finished_at, queued_s
               FROM ci_jobs WHERE (?1 IS NULL OR created_ts >= ?1)
               ORDER BY created_ts, provider, job_id"#,
        )?;
        let mut rows = statement.query(params![since_ms])?;
        while let Some(row) = rows.next()? {
            let provider: String = row.get(0)?;
            let provider = hourglass_model::CiProvider::parse(&provider).ok_or_else(|| {
                StoreError::Corrupt {
                    what: "CI job provider",
                    detail: provider.clone(),
                }
            })?;
            let job = hourglass_model::CiJob {
                provider,
                job_id: row.get(1)?,
                pipeline_id: row.get(2)?,
                commit: row.get(3)?,
                name: row.get(4)?,
                runner: row.get(5)?,
                status: row.get(6)?,
                conclusion: row.get(7)?,
                created_at: row.get(8)?,
                started_at: row.get(9)?,
                finished_at: row.get(10)?,
                queued_s: row.get(11)?,
            };
            visit(job).map_err(StoreError::Visit)?;
        }
        Ok(())
    }
}

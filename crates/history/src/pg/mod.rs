//! [`PgStore`]: the history in a PostgreSQL database, shared by a fleet of
//! CI runners.
//!
//! # How it works
//!
//! - **Schema.** The tables of the SQLite store (`runs`, `files`,
//!   `classes`, `tests`, `results`), versioned in `hourglass_migrations`
//!   and migrated on first use under an advisory lock ([`schema`]).
//!   `results` is partitioned by the run's time, one partition a month,
//!   created when a run first needs it. The texts of a test's key compare
//!   byte by byte (`COLLATE "C"`) whatever the database's locale, and
//!   `tests` has no foreign key to `classes`: the store writes a class
//!   before its tests, in one transaction.
//! - **Ingest.** One transaction per file. The run's row is inserted or
//!   locked (`FOR UPDATE`), so that files of one run are stored one after
//!   the other and files of different runs in parallel. The file's results
//!   stream through binary `COPY` into a temporary staging table; one
//!   statement each then adds the new classes and tests and moves the
//!   results into `results`. New tests and a new run's results go in with
//!   plain inserts, each under a savepoint (`ON CONFLICT` costs a
//!   speculative insertion a row): only when one breaks a key is it rolled
//!   back and taken the slower way, for tests when another writer added
//!   the same test meanwhile (`ON CONFLICT DO NOTHING`), for results when
//!   a test came twice in the file. A test seen twice (a rerun in the file,
//!   or a result already stored for the run by an earlier file) is merged
//!   in Rust with [`TestResult::absorb_rerun`], exactly as the SQLite store
//!   does. The transaction sorts and hashes in memory (`work_mem`), and a
//!   big file joins its rows to `tests` by hash, not one index lookup each.
//!   A producer failing midway aborts the `COPY` and the transaction:
//!   nothing of the file is stored.
//! - **Reading.** Runs and their counts come from one grouped query in the
//!   database; results stream off one ordered query (text ordered with the
//!   `"C"` collation, byte order, as in SQLite), so memory does not grow
//!   with the history.
//!
//! # Limitations
//!
//! - Two files of the same run are written one after the other (the run's
//!   row is locked for the file's transaction).
//! - A connection lost midway fails the file with
//!   [`StoreError::PgConnectionLost`]; its transaction never committed, so
//!   nothing of it is stored, and the store does not reconnect. Only
//!   opening a store retries ([`connect::with_retry`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use hourglass_model::{Property, RunMeta, TestKey, TestResult};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Transaction};

use crate::blobs::{self, Encoder};
use crate::codec::{attempts_json, implied_attempt, json_list, parse_json_list, parse_outcome};
use crate::{
    CiJobsOutcome, ExportRow, FileIngest, FileWallTime, HistoryRow, HistoryStore, ImportOutcome,
    IngestOutcome, KeepOutput, Producer, PruneReport, ResultFilter, RunInfo, RunSummary,
    RunWallTime, StoreError, StoredFile, VisitError, derive_run_id, run_wall_time,
    timestamp_millis,
};

mod aggregate;
pub mod connect;
pub mod schema;

/// The history in a PostgreSQL database.
pub struct PgStore {
    client: RefCell<Client>,
    /// The URL without its password.
    display: String,
    /// Whose output ingests keep.
    keep_output: KeepOutput,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

/// The staging table; its key texts compare byte by byte, as those of
/// `classes` and `tests` (schema version 5).
const STAGING: &str = r#"CREATE TEMPORARY TABLE hourglass_staging (
    seq                   integer NOT NULL,
    suite                 text COLLATE "C" NOT NULL,
    classname             text COLLATE "C" NOT NULL,
    name                  text COLLATE "C" NOT NULL,
    status                text NOT NULL,
    duration_s            double precision,
    message_hash          bytea,
    message_codec         integer,
    message_data          bytea,
    failure_type          text,
    file                  text,
    line                  bigint,
    output_hash           bytea,
    output_codec          integer,
    output_data           bytea,
    output_dropped_bytes  bigint NOT NULL,
    attempt_count         integer NOT NULL,
    attempts              text,
    properties            text
) ON COMMIT DELETE ROWS"#;

const STAGING_TYPES: [Type; 19] = [
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::BYTEA,
    Type::INT4,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BYTEA,
    Type::INT4,
    Type::BYTEA,
    Type::INT8,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
];

/// From how many results a file's rows are joined by hash, not by index
/// lookups.
const BIG_FILE: u64 = 20_000;

/// The stored columns of a result, as written.
const RESULT_COLUMNS: &str = "status, duration_s, message_blob, failure_type, file, line, \
     output_blob, output_dropped_bytes, attempt_count, attempts, properties";

/// A stored result `r` as [`decode`] reads it, with [`BLOB_JOINS`]: texts
/// as codec and bytes, from `blobs`, or inline as schema version 2 wrote
/// them.
const READ_RESULTS: &str = "r.status, r.duration_s, coalesce(mb.codec, 0), \
     coalesce(mb.data, convert_to(r.message, 'UTF8')), r.failure_type, r.file, r.line, \
     coalesce(ob.codec, 0), coalesce(ob.data, convert_to(r.output, 'UTF8')), \
     r.output_dropped_bytes, r.attempt_count, r.attempts, r.properties";

/// The blobs of a result `r`'s message and output.
const BLOB_JOINS: &str = "LEFT JOIN blobs mb ON mb.id = r.message_blob \
     LEFT JOIN blobs ob ON ob.id = r.output_blob";

/// A staged result `s` as [`decode`] reads it.
const READ_STAGING: &str = "s.status, s.duration_s, s.message_codec, s.message_data, \
     s.failure_type, s.file, s.line, s.output_codec, s.output_data, s.output_dropped_bytes, \
     s.attempt_count, s.attempts, s.properties";

/// Staging rows joined to their test ids.
const KEYED_STAGING: &str = "hourglass_staging s \
     JOIN classes c ON c.suite = s.suite AND c.classname = s.classname \
     JOIN tests t ON t.class = c.id AND t.name = s.name";

/// Adds the staged tests that `tests` lacks, in key order.
const NEW_TESTS: &str = "INSERT INTO tests (class, name) \
     SELECT DISTINCT c.id, s.name FROM hourglass_staging s \
     JOIN classes c ON c.suite = s.suite AND c.classname = s.classname \
     WHERE NOT EXISTS (SELECT 1 FROM tests t WHERE t.class = c.id AND t.name = s.name) \
     ORDER BY 1, 2";

impl PgStore {
    /// Connects to the database at `url` (resolved with the process's
    /// environment: `PGPASSWORD`, `~/.pgpass`, `PGSSLMODE`, …) and brings
    /// its schema up to date.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_at_version(url, schema::latest_version())
    }

    /// Opens and migrates only up to `version` (for tests of migrations).
    #[doc(hidden)]
    pub fn open_at_version(url: &str, version: i64) -> Result<Self, StoreError> {
        let target = connect::resolve(url, &connect::Environment::process())?;
        let client = connect::with_retry(&target, || {
            let mut client = connect::connect(&target)?;
            schema::migrate_to(&mut client, version)?;
            client.batch_execute(STAGING)?;
            Ok(client)
        })?;
        Ok(Self {
            client: RefCell::new(client),
            display: target.display,
            keep_output: KeepOutput::default(),
        })
    }

    /// Drops every run strictly before `before` (RFC 3339; a zoneless
    /// time is read as UTC) with its files and results, then the blobs,
    /// tests and classes nothing refers to any more, in one transaction;
    /// `dry_run` counts the same and rolls back. The space is left to
    /// PostgreSQL's autovacuum, which reuses it for later runs (the report
    /// gives the database's size and [`Vacuum::None`](crate::Vacuum::None)).
    ///
    /// The transaction first locks `classes`, `tests` and `blobs` against
    /// writers (in the order an ingest writes them): an ingest under way
    /// finishes first, a later one waits, so that nothing a writer is about
    /// to refer to is dropped under it.
    pub fn prune(&mut self, before: &str, dry_run: bool) -> Result<PruneReport, StoreError> {
        let before_ms = timestamp_millis(before).ok_or_else(|| StoreError::Timestamp {
            text: before.to_owned(),
        })?;
        let client = self.client.get_mut();
        let size = |client: &mut Client| -> Result<u64, StoreError> {
            let bytes: i64 = client
                .query_one("SELECT pg_database_size(current_database())", &[])?
                .get(0);
            Ok(bytes as u64)
        };
        let bytes_before = size(client)?;
        let mut transaction = client.transaction()?;
        transaction.batch_execute(
            "LOCK TABLE classes IN SHARE ROW EXCLUSIVE MODE;
             LOCK TABLE tests IN SHARE ROW EXCLUSIVE MODE;
             LOCK TABLE blobs IN SHARE ROW EXCLUSIVE MODE;",
        )?;
        let runs = transaction.execute(
            "CREATE TEMPORARY TABLE hourglass_pruned ON COMMIT DROP AS \
             SELECT id, ts FROM runs WHERE ts < $1",
            &[&before_ms],
        )?;
        let results = transaction.execute(
            "DELETE FROM results r USING hourglass_pruned p \
             WHERE r.run = p.id AND r.run_ts = p.ts AND r.run_ts < $1",
            &[&before_ms],
        )?;
        let files = transaction.execute(
            "DELETE FROM files f USING hourglass_pruned p WHERE f.run = p.id",
            &[],
        )?;
        transaction.execute(
            "DELETE FROM runs r USING hourglass_pruned p WHERE r.id = p.id",
            &[],
        )?;
        let (mut blobs, mut tests, mut classes) = (0, 0, 0);
        if runs > 0 {
            blobs = transaction.execute(
                "DELETE FROM blobs b WHERE \
                 NOT EXISTS (SELECT 1 FROM results r WHERE r.message_blob = b.id) \
                 AND NOT EXISTS (SELECT 1 FROM results r WHERE r.output_blob = b.id)",
                &[],
            )?;
            tests = transaction.execute(
                "DELETE FROM tests t WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.test = t.id)",
                &[],
            )?;
            classes = transaction.execute(
                "DELETE FROM classes c WHERE NOT EXISTS (SELECT 1 FROM tests t WHERE t.class = c.id)",
                &[],
            )?;
        }
        if dry_run {
            transaction.rollback()?;
        } else {
            transaction.commit()?;
        }
        let bytes_after = if dry_run { bytes_before } else { size(client)? };
        Ok(PruneReport {
            before: before.to_owned(),
            dry_run,
            runs,
            files,
            results,
            blobs,
            tests,
            classes,
            bytes_before,
            bytes_after,
            vacuum: crate::Vacuum::None,
        })
    }

    /// Stores CI job records in one transaction: a job already stored
    /// (same provider and id) is replaced by the newer record, as in
    /// [`SqliteStore::ingest_ci_jobs`](crate::SqliteStore::ingest_ci_jobs).
    pub fn ingest_ci_jobs(
        &mut self,
        jobs: &[hourglass_model::CiJob],
    ) -> Result<CiJobsOutcome, StoreError> {
        let millis = |text: Option<&str>| -> Result<Option<i64>, StoreError> {
            text.map(|text| {
                timestamp_millis(text).ok_or_else(|| StoreError::Timestamp {
                    text: text.to_owned(),
                })
            })
            .transpose()
        };
        let mut transaction = self.client.get_mut().transaction()?;
        let upsert = transaction.prepare(
            r#"INSERT INTO ci_jobs (provider, job_id, pipeline_id, "commit", name, runner, status,
                   conclusion, created_at, created_ts, started_at, started_ts, finished_at,
                   finished_ts, queued_s)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (provider, job_id) DO UPDATE SET
                   pipeline_id = excluded.pipeline_id, "commit" = excluded."commit",
                   name = excluded.name, runner = excluded.runner, status = excluded.status,
                   conclusion = excluded.conclusion, created_at = excluded.created_at,
                   created_ts = excluded.created_ts, started_at = excluded.started_at,
                   started_ts = excluded.started_ts, finished_at = excluded.finished_at,
                   finished_ts = excluded.finished_ts, queued_s = excluded.queued_s
               RETURNING xmax = 0"#,
        )?;
        let mut outcome = CiJobsOutcome {
            stored: 0,
            updated: 0,
        };
        for job in jobs {
            let created = millis(Some(&job.created_at))?;
            let started = millis(job.started_at.as_deref())?;
            let finished = millis(job.finished_at.as_deref())?;
            let inserted: bool = transaction
                .query_one(
                    &upsert,
                    &[
                        &job.provider.as_str(),
                        &job.job_id,
                        &job.pipeline_id,
                        &job.commit,
                        &job.name,
                        &job.runner,
                        &job.status,
                        &job.conclusion,
                        &job.created_at,
                        &created,
                        &job.started_at,
                        &started,
                        &job.finished_at,
                        &finished,
                        &job.queued_s,
                    ],
                )?
                .get(0);
            if inserted {
                outcome.stored += 1;
            } else {
                outcome.updated += 1;
            }
        }
        transaction.commit()?;
        Ok(outcome)
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        &self.display
    }

    /// Rows in a table (for tests and diagnostics).
    #[doc(hidden)]
    pub fn row_count(&self, table: &str) -> Result<i64, StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?;
        Ok(row.get(0))
    }

    /// The underlying client (for tests and diagnostics).
    #[doc(hidden)]
    pub fn client(&self) -> std::cell::RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    /// A driver error, named as a lost connection when it is one.
    fn lost(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::Postgres(source) if connection_lost(&source) => {
                StoreError::PgConnectionLost {
                    url: self.display.clone(),
                    source,
                }
            }
            other => other,
        }
    }

    fn selected_runs(&self, filter: &ResultFilter) -> Result<Vec<(i64, i64, RunInfo)>, StoreError> {
        let since = since_millis(filter)?;
        let limit = filter.last_runs.map(|n| n as i64);
        let rows = self.client.borrow_mut().query(
            r#"SELECT id, ts, run_id, "commit", branch, timestamp, job FROM (
                   SELECT * FROM runs
                   WHERE ($1::int8 IS NULL OR ts >= $1) AND ($2::text IS NULL OR branch = $2)
                   ORDER BY ts DESC, run_id COLLATE "C" DESC LIMIT $3::int8) selected
               ORDER BY ts, run_id COLLATE "C""#,
            &[&since, &filter.branch, &limit],
        )?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), row.get(1), run_info(row, 2)))
            .collect())
    }

    /// Stores one file's results (or one copied run's) into `run_row`
    /// inside `transaction`; returns how many results the producer gave.
    fn store_results(
        transaction: &mut Transaction<'_>,
        run_row: i64,
        run_ts: i64,
        run_existed: bool,
        path: &str,
        keep_output: KeepOutput,
        produce: &mut Producer<'_>,
    ) -> Result<u64, StoreError> {
        let mut results = 0u64;
        let mut encoder = Encoder::new()?;
        // The sorts and hashes over a big file's staged rows stay in
        // memory (the server's default, 4 MB, spills them to disk).
        transaction.batch_execute("SET LOCAL work_mem = '64MB'")?;
        {
            let copy = transaction.copy_in(
                "COPY hourglass_staging (seq, suite, classname, name, status, duration_s, \
                 message_hash, message_codec, message_data, failure_type, file, line, \
                 output_hash, output_codec, output_data, output_dropped_bytes, attempt_count, \
                 attempts, properties) FROM STDIN BINARY",
            )?;
            let mut writer = BinaryCopyInWriter::new(copy, &STAGING_TYPES);
            // On an error, dropping the writer unfinished aborts the COPY.
            crate::write_produced(path, produce, &mut |result| {
                write_staging(&mut writer, &mut encoder, keep_output, results, result)?;
                results += 1;
                Ok(())
            })?;
            writer.finish()?;
        }
        let big = results >= BIG_FILE;
        if big {
            // The statistics of the columns joined on, from a sample of
            // 3,000 rows (not 30,000, which reads every page of a big file).
            transaction.batch_execute("SET LOCAL default_statistics_target = 10")?;
        }
        transaction.batch_execute(
            "ANALYZE hourglass_staging (suite, classname, name, message_hash, output_hash);
             INSERT INTO classes (suite, classname)
                 SELECT DISTINCT suite, classname FROM hourglass_staging
                 ORDER BY 1, 2 ON CONFLICT DO NOTHING;",
        )?;
        // The statements below join every staged row to its test. The
        // planner cannot see that the staged (suite, classname) pairs are
        // few, underestimates the rows, and looks each test up by index;
        // for a big file one hash join is much cheaper.
        if big {
            transaction.batch_execute("SET LOCAL enable_nestloop = off")?;
        }
        // The tests the store lacks, in key order (so that writers adding
        // the same new tests wait for each other in one order). A plain
        // insert: `ON CONFLICT` would pay a speculative insertion for every
        // row. Only when another writer stored one of them meanwhile does
        // the insert break the key; it is then rolled back and done again
        // with `ON CONFLICT DO NOTHING`.
        if plain_insert(transaction, NEW_TESTS, &[])?.is_none() {
            transaction.batch_execute(&format!("{NEW_TESTS} ON CONFLICT DO NOTHING"))?;
        }
        transaction.batch_execute(
            "INSERT INTO blobs (hash, codec, data)
                 SELECT DISTINCT ON (hash) hash, codec, data FROM (
                     SELECT message_hash, message_codec, message_data FROM hourglass_staging
                         WHERE message_hash IS NOT NULL
                     UNION ALL
                     SELECT output_hash, output_codec, output_data FROM hourglass_staging
                         WHERE output_hash IS NOT NULL
                 ) texts (hash, codec, data)
                 ORDER BY hash ON CONFLICT (hash) DO NOTHING",
        )?;
        // Every staged result of the tests not in `$3`, unsorted: a big
        // file's rows come off the hash join in the order of `tests`, the
        // order of both indexes of `results`; a small file's in file order,
        // a class at a time. (Sorting the wide rows cost more than it
        // saved.) The few results with a message or an output look their
        // blob up by index: joined to `blobs`, the planner, which expects a
        // handful of staged rows, may hash them and hand them over in hash
        // order, scattering the index inserts.
        let move_over = |excluding: bool| {
            format!(
                "INSERT INTO results (run, test, run_ts, {RESULT_COLUMNS}) \
                 SELECT $1, t.id, $2, s.status, s.duration_s, \
                 CASE WHEN s.message_hash IS NOT NULL THEN \
                     (SELECT b.id FROM blobs b WHERE b.hash = s.message_hash) END, \
                 s.failure_type, s.file, s.line, \
                 CASE WHEN s.output_hash IS NOT NULL THEN \
                     (SELECT b.id FROM blobs b WHERE b.hash = s.output_hash) END, \
                 s.output_dropped_bytes, s.attempt_count, s.attempts, s.properties \
                 FROM {KEYED_STAGING} {}",
                if excluding {
                    "WHERE NOT EXISTS (SELECT 1 FROM unnest($3::int8[]) m (id) WHERE m.id = t.id)"
                } else {
                    ""
                },
            )
        };
        let duplicates = |transaction: &mut Transaction<'_>| -> Result<Vec<i64>, StoreError> {
            Ok(transaction
                .query(
                    &format!("SELECT t.id FROM {KEYED_STAGING} GROUP BY t.id HAVING count(*) > 1"),
                    &[],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect())
        };
        if !run_existed {
            // A new run: nothing of it is stored, and no other writer can
            // store into it (its row is not committed). Everything moves
            // over in one plain insert. Only when a test came twice in the
            // file does it break the primary key; it is then rolled back,
            // and the results go the way of a run that has some.
            if plain_insert(transaction, &move_over(false), &[&run_row, &run_ts])?.is_some() {
                return Ok(results);
            }
        }
        // Tests seen twice in the file, or already stored for the run:
        // these are merged in Rust, the rest move over in one statement.
        let mut merged = duplicates(transaction)?;
        if run_existed {
            let stored = transaction.query(
                &format!(
                    "SELECT DISTINCT t.id FROM {KEYED_STAGING} \
                     JOIN results r ON r.run = $1 AND r.run_ts = $2 AND r.test = t.id"
                ),
                &[&run_row, &run_ts],
            )?;
            merged.extend(stored.iter().map(|row| row.get::<_, i64>(0)));
            merged.sort_unstable();
            merged.dedup();
        }
        transaction.execute(&move_over(true), &[&run_row, &run_ts, &merged])?;
        if !merged.is_empty() {
            // A few tests, each looked up by index.
            if big {
                transaction.batch_execute("SET LOCAL enable_nestloop = on")?;
            }
            merge(transaction, run_row, run_ts, &merged)?;
        }
        Ok(results)
    }

    fn ingest(
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
        let keep_output = self.keep_output;
        let client = self.client.get_mut();
        schema::ensure_partition(client, ts)?;
        let mut transaction = client.transaction()?;
        let (created_at, _) = now_rfc3339();
        let inserted = transaction.query_opt(
            r#"INSERT INTO runs (run_id, "commit", branch, timestamp, ts, job, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (run_id) DO NOTHING RETURNING id, ts"#,
            &[
                &run_id,
                &run.commit,
                &run.branch,
                &timestamp,
                &ts,
                &run.job,
                &created_at,
            ],
        )?;
        let (run_row, run_ts, existed) = if let Some(row) = inserted {
            (row.get::<_, i64>(0), row.get::<_, i64>(1), false)
        } else {
            let row = transaction.query_one(
                "SELECT id, ts FROM runs WHERE run_id = $1 FOR UPDATE",
                &[&run_id],
            )?;
            let (id, ts): (i64, i64) = (row.get(0), row.get(1));
            let duplicate = transaction
                .query_opt(
                    "SELECT 1 FROM files WHERE run = $1 AND content_hash = $2",
                    &[&id, &&file.content_hash[..]],
                )?
                .is_some();
            if duplicate {
                return Ok(IngestOutcome::AlreadyStored);
            }
            transaction.execute(
                r#"UPDATE runs SET "commit" = coalesce("commit", $2),
                   branch = coalesce(branch, $3), job = coalesce(job, $4) WHERE id = $1"#,
                &[&id, &run.commit, &run.branch, &run.job],
            )?;
            (id, ts, true)
        };
        let results = Self::store_results(
            &mut transaction,
            run_row,
            run_ts,
            existed,
            &file.path,
            keep_output,
            produce,
        )?;
        let (ingested_at, _) = now_rfc3339();
        transaction.execute(
            "INSERT INTO files (run, content_hash, path, testcases, ingested_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &run_row,
                &&file.content_hash[..],
                &file.path,
                &(results as i64),
                &ingested_at,
            ],
        )?;
        transaction.commit()?;
        Ok(IngestOutcome::Stored { results })
    }

    fn import(
        &mut self,
        run: &RunInfo,
        files: &[StoredFile],
        produce: &mut Producer<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let ts = timestamp_millis(&run.timestamp).ok_or_else(|| StoreError::Timestamp {
            text: run.timestamp.clone(),
        })?;
        let client = self.client.get_mut();
        let exists = client
            .query_opt("SELECT 1 FROM runs WHERE run_id = $1", &[&run.run_id])?
            .is_some();
        if exists {
            return Ok(ImportOutcome::AlreadyThere);
        }
        schema::ensure_partition(client, ts)?;
        let mut transaction = client.transaction()?;
        let (created_at, _) = now_rfc3339();
        let Some(row) = transaction.query_opt(
            r#"INSERT INTO runs (run_id, "commit", branch, timestamp, ts, job, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (run_id) DO NOTHING RETURNING id"#,
            &[
                &run.run_id,
                &run.commit,
                &run.branch,
                &run.timestamp,
                &ts,
                &run.job,
                &created_at,
            ],
        )?
        else {
            return Ok(ImportOutcome::AlreadyThere);
        };
        let run_row: i64 = row.get(0);
        // A copy keeps what the source kept.
        let results = Self::store_results(
            &mut transaction,
            run_row,
            ts,
            false,
            &run.run_id,
            KeepOutput::All,
            produce,
        )?;
        for file in files {
            transaction.execute(
                "INSERT INTO files (run, content_hash, path, testcases, ingested_at, \
                 wall_start_ts, wall_end_ts, wall_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &run_row,
                    &file.content_hash,
                    &file.path,
                    &(file.testcases as i64),
                    &file.ingested_at,
                    &file.wall.start_ms,
                    &file.wall.end_ms,
                    &file.wall.time_ms,
                ],
            )?;
        }
        transaction.commit()?;
        Ok(ImportOutcome::Copied { results })
    }

    fn export_run(
        &self,
        run_row: i64,
        run_ts: i64,
        info: &RunInfo,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        let sql = format!(
            r#"SELECT c.suite, c.classname, t.name, {READ_RESULTS}
               FROM results r JOIN tests t ON t.id = r.test JOIN classes c ON c.id = t.class
               {BLOB_JOINS}
               WHERE r.run = $1 AND r.run_ts = $2
               ORDER BY c.suite COLLATE "C", c.classname COLLATE "C", t.name COLLATE "C""#
        );
        let params: [&(dyn ToSql + Sync); 2] = [&run_row, &run_ts];
        let mut rows = client.query_raw(&sql, params)?;
        while let Some(row) = rows.next()? {
            let key = TestKey {
                suite: row.get(0),
                classname: row.get(1),
                name: row.get(2),
            };
            let result = decode(&row, 3, key)?;
            visit(ExportRow {
                run: info.clone(),
                result,
            })
            .map_err(StoreError::Visit)?;
        }
        Ok(())
    }
}

fn connection_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        return *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::CONNECTION_FAILURE;
    }
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some()
}

/// A text's key, codec and bytes for `blobs`.
type Encoded<'t> = (Vec<u8>, i32, std::borrow::Cow<'t, [u8]>);

fn encode_text<'t>(encoder: &mut Encoder, text: Option<&'t str>) -> Option<Encoded<'t>> {
    text.map(|text| {
        let (codec, data) = encoder.encode(text);
        (blobs::hash(text).to_vec(), codec as i32, data)
    })
}

fn write_staging(
    writer: &mut BinaryCopyInWriter<'_>,
    encoder: &mut Encoder,
    keep_output: KeepOutput,
    seq: u64,
    result: &TestResult,
) -> Result<(), StoreError> {
    let seq = i32::try_from(seq).map_err(|_| StoreError::KeySpace {
        what: "result in one file",
        id: seq as i64,
    })?;
    let line = result.line.map(i64::from);
    let (output, dropped_now) = keep_output.apply(result);
    let dropped = (result.output_dropped_bytes + dropped_now) as i64;
    let message = encode_text(encoder, result.message.as_deref());
    let output = encode_text(encoder, output);
    let (message_hash, message_codec, message_data) = split(message.as_ref());
    let (output_hash, output_codec, output_data) = split(output.as_ref());
    let attempt_count = result.attempts.len() as i32;
    let attempts = attempts_json(result)?;
    let properties = json_list(&result.properties)?;
    let status = result.outcome.as_str();
    writer.write(&[
        &seq,
        &result.key.suite,
        &result.key.classname,
        &result.key.name,
        &status,
        &result.duration_s,
        &message_hash,
        &message_codec,
        &message_data,
        &result.failure_type,
        &result.file,
        &line,
        &output_hash,
        &output_codec,
        &output_data,
        &dropped,
        &attempt_count,
        &attempts,
        &properties,
    ])?;
    Ok(())
}

/// An encoded text's columns, each `None` when there is no text.
fn split<'a>(
    encoded: Option<&'a Encoded<'_>>,
) -> (Option<&'a [u8]>, Option<i32>, Option<&'a [u8]>) {
    match encoded {
        Some((hash, codec, data)) => (Some(hash), Some(*codec), Some(data)),
        None => (None, None, None),
    }
}

/// Stores the messages and outputs of `results` in `blobs` in one
/// statement, in hash order (so that writers storing the same new texts
/// take their locks in the same order), and returns hash → id.
fn intern_all<'r>(
    transaction: &mut Transaction<'_>,
    results: impl Iterator<Item = &'r TestResult>,
) -> Result<HashMap<Vec<u8>, i64>, StoreError> {
    let mut encoder = Encoder::new()?;
    let mut texts: Vec<(Vec<u8>, i32, Vec<u8>)> = Vec::new();
    for result in results {
        for text in [result.message.as_deref(), result.output.as_deref()] {
            if let Some((hash, codec, data)) = encode_text(&mut encoder, text) {
                texts.push((hash, codec, data.into_owned()));
            }
        }
    }
    texts.sort_by(|a, b| a.0.cmp(&b.0));
    texts.dedup_by(|a, b| a.0 == b.0);
    if texts.is_empty() {
        return Ok(HashMap::new());
    }
    let mut hashes = Vec::with_capacity(texts.len());
    let mut codecs = Vec::with_capacity(texts.len());
    let mut datas = Vec::with_capacity(texts.len());
    for (hash, codec, data) in texts {
        hashes.push(hash);
        codecs.push(codec);
        datas.push(data);
    }
    transaction.execute(
        "INSERT INTO blobs (hash, codec, data) \
         SELECT * FROM unnest($1::bytea[], $2::int4[], $3::bytea[]) ORDER BY 1 \
         ON CONFLICT (hash) DO NOTHING",
        &[&hashes, &codecs, &datas],
    )?;
    Ok(transaction
        .query(
            "SELECT hash, id FROM blobs WHERE hash = ANY($1)",
            &[&hashes],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// Runs `insert` under a savepoint and returns the rows it wrote, or
/// `None` when it broke a unique key: the savepoint is then rolled back,
/// and nothing of the statement is left.
fn plain_insert(
    transaction: &mut Transaction<'_>,
    insert: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<u64>, StoreError> {
    let mut savepoint = transaction.savepoint("hourglass_plain_insert")?;
    match savepoint.execute(insert, params) {
        Ok(rows) => {
            savepoint.commit()?;
            Ok(Some(rows))
        }
        Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            savepoint.rollback()?;
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Folds the staged results of `tests` (in file order) into what is
/// stored for them in the run, and writes the merged results back.
fn merge(
    transaction: &mut Transaction<'_>,
    run_row: i64,
    run_ts: i64,
    tests: &[i64],
) -> Result<(), StoreError> {
    let mut merged: HashMap<i64, TestResult> = HashMap::new();
    let stored = transaction.query(
        &format!(
            "SELECT r.test, c.suite, c.classname, t.name, {READ_RESULTS} FROM results r \
             JOIN tests t ON t.id = r.test JOIN classes c ON c.id = t.class {BLOB_JOINS} \
             WHERE r.run = $1 AND r.run_ts = $2 AND r.test = ANY($3)"
        ),
        &[&run_row, &run_ts, &tests],
    )?;
    for row in &stored {
        let key = TestKey {
            suite: row.get(1),
            classname: row.get(2),
            name: row.get(3),
        };
        merged.insert(row.get(0), decode(row, 4, key)?);
    }
    let staged = transaction.query(
        &format!(
            "SELECT t.id, s.suite, s.classname, s.name, {READ_STAGING} FROM {KEYED_STAGING} \
             WHERE t.id = ANY($1) ORDER BY s.seq"
        ),
        &[&tests],
    )?;
    for row in &staged {
        let key = TestKey {
            suite: row.get(1),
            classname: row.get(2),
            name: row.get(3),
        };
        let later = decode(row, 4, key)?;
        match merged.entry(row.get(0)) {
            std::collections::hash_map::Entry::Occupied(mut earlier) => {
                earlier.get_mut().absorb_rerun(later);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(later);
            }
        }
    }
    transaction.execute(
        "DELETE FROM results WHERE run = $1 AND run_ts = $2 AND test = ANY($3)",
        &[&run_row, &run_ts, &tests],
    )?;
    let insert = transaction.prepare(&format!(
        "INSERT INTO results (run, test, run_ts, {RESULT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))?;
    let ids = intern_all(transaction, merged.values())?;
    let id_of = |text: Option<&str>| text.and_then(|text| ids.get(&blobs::hash(text)[..]).copied());
    for (test, result) in &merged {
        let message = id_of(result.message.as_deref());
        let output = id_of(result.output.as_deref());
        transaction.execute(
            &insert,
            &[
                &run_row,
                test,
                &run_ts,
                &result.outcome.as_str(),
                &result.duration_s,
                &message,
                &result.failure_type,
                &result.file,
                &result.line.map(i64::from),
                &output,
                &(result.output_dropped_bytes as i64),
                &(result.attempts.len() as i32),
                &attempts_json(result)?,
                &json_list(&result.properties)?,
            ],
        )?;
    }
    Ok(())
}

/// Reads the [`RESULT_COLUMNS`] starting at column `first`.
fn decode(row: &Row, first: usize, key: TestKey) -> Result<TestResult, StoreError> {
    let status: String = row.try_get(first)?;
    let mut result = TestResult::new(key, parse_outcome(&status)?);
    result.duration_s = row.try_get(first + 1)?;
    result.message = text(row, first + 2)?;
    result.failure_type = row.try_get(first + 4)?;
    result.file = row.try_get(first + 5)?;
    result.line = row
        .try_get::<_, Option<i64>>(first + 6)?
        .map(|line| line as u32);
    result.output = text(row, first + 7)?;
    result.output_dropped_bytes = row.try_get::<_, i64>(first + 9)? as u64;
    let attempt_count: i32 = row.try_get(first + 10)?;
    let attempts: Option<String> = row.try_get(first + 11)?;
    let properties: Option<String> = row.try_get(first + 12)?;
    result.attempts = match (attempts, attempt_count) {
        (None, 1) => implied_attempt(&result).into_iter().collect(),
        (attempts, _) => parse_json_list("attempts", attempts)?,
    };
    result.properties = parse_json_list::<Property>("properties", properties)?;
    Ok(result)
}

/// A text stored as codec and bytes at columns `at` and `at + 1`.
fn text(row: &Row, at: usize) -> Result<Option<String>, StoreError> {
    let codec: Option<i32> = row.try_get(at)?;
    let data: Option<Vec<u8>> = row.try_get(at + 1)?;
    data.map(|data| blobs::decode(i64::from(codec.unwrap_or(0)), data))
        .transpose()
}

fn run_info(row: &Row, first: usize) -> RunInfo {
    RunInfo {
        run_id: row.get(first),
        commit: row.get(first + 1),
        branch: row.get(first + 2),
        timestamp: row.get(first + 3),
        job: row.get(first + 4),
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

fn now_rfc3339() -> (String, i64) {
    let now = jiff::Timestamp::now();
    let second = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    (second.to_string(), second.as_millisecond())
}

impl HistoryStore for PgStore {
    fn set_keep_output(&mut self, keep_output: KeepOutput) {
        self.keep_output = keep_output;
    }

    fn for_each_test_outline(
        &self,
        request: &crate::OutlineRequest,
        visit: &mut dyn FnMut(crate::TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        self.outlines(request, visit).map_err(|e| self.lost(e))
    }

    fn ingest_file(
        &mut self,
        run: &RunMeta,
        file: &FileIngest,
        produce: &mut Producer<'_>,
    ) -> Result<IngestOutcome, StoreError> {
        self.ingest(run, file, produce).map_err(|e| self.lost(e))
    }

    fn runs(&self, filter: &ResultFilter) -> Result<Vec<RunSummary>, StoreError> {
        self.run_summaries(filter).map_err(|e| self.lost(e))
    }

    fn for_each_result(
        &self,
        filter: &ResultFilter,
        visit: &mut dyn FnMut(HistoryRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let selected = self.selected_runs(filter).map_err(|e| self.lost(e))?;
        let Some(earliest_ts) = selected.first().map(|(_, ts, _)| *ts) else {
            return Ok(());
        };
        let ids: Vec<i64> = selected.iter().map(|(id, _, _)| *id).collect();
        let runs: HashMap<i64, (u64, Rc<RunInfo>)> = selected
            .into_iter()
            .enumerate()
            .map(|(index, (id, _, info))| (id, (index as u64, Rc::new(info))))
            .collect();
        let mut client = self.client.borrow_mut();
        let params: [&(dyn ToSql + Sync); 2] = [&earliest_ts, &ids];
        let scan = (|| -> Result<(), StoreError> {
            let mut rows = client.query_raw(
                r#"SELECT c.suite, c.classname, t.name, r.run, r.status, r.duration_s,
                          r.attempt_count, r.file
                   FROM results r JOIN tests t ON t.id = r.test JOIN classes c ON c.id = t.class
                   WHERE r.run_ts >= $1 AND r.run = ANY($2)
                   ORDER BY c.suite COLLATE "C", c.classname COLLATE "C", t.name COLLATE "C",
                            r.run_ts, r.run"#,
                params,
            )?;
            while let Some(row) = rows.next()? {
                let Some((run_index, info)) = runs.get(&row.get::<_, i64>(3)) else {
                    continue;
                };
                let status: &str = row.get(4);
                visit(HistoryRow {
                    run_index: *run_index,
                    run_id: info.run_id.clone(),
                    commit: info.commit.clone(),
                    branch: info.branch.clone(),
                    timestamp: info.timestamp.clone(),
                    key: TestKey {
                        suite: row.get(0),
                        classname: row.get(1),
                        name: row.get(2),
                    },
                    outcome: parse_outcome(status)?,
                    duration_s: row.get(5),
                    attempts: row.get::<_, i32>(6) as u32,
                    file: row.get(7),
                })
                .map_err(StoreError::Visit)?;
            }
            Ok(())
        })();
        drop(client);
        scan.map_err(|e| self.lost(e))
    }

    fn for_each_export(
        &self,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let runs = self
            .selected_runs(&ResultFilter::default())
            .map_err(|e| self.lost(e))?;
        for (id, ts, info) in runs {
            self.export_run(id, ts, &info, visit)
                .map_err(|e| self.lost(e))?;
        }
        Ok(())
    }

    fn run_files(&self, run_id: &str) -> Result<Vec<StoredFile>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT f.content_hash, f.path, f.testcases, f.ingested_at, \
                 f.wall_start_ts, f.wall_end_ts, f.wall_ms FROM files f \
                 JOIN runs r ON r.id = f.run WHERE r.run_id = $1 ORDER BY f.id",
                &[&run_id],
            )
            .map_err(|e| self.lost(e.into()))?;
        Ok(rows
            .iter()
            .map(|row| StoredFile {
                content_hash: row.get(0),
                path: row.get(1),
                testcases: row.get::<_, i64>(2) as u64,
                ingested_at: row.get(3),
                wall: FileWallTime {
                    start_ms: row.get(4),
                    end_ms: row.get(5),
                    time_ms: row.get(6),
                },
            })
            .collect())
    }

    fn for_each_run_export(
        &self,
        run_id: &str,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                r#"SELECT id, ts, run_id, "commit", branch, timestamp, job FROM runs WHERE run_id = $1"#,
                &[&run_id],
            )
            .map_err(|e| self.lost(e.into()))?;
        let Some(row) = row else {
            return Ok(());
        };
        let info = run_info(&row, 2);
        self.export_run(row.get(0), row.get(1), &info, visit)
            .map_err(|e| self.lost(e))
    }

    fn import_run(
        &mut self,
        run: &RunInfo,
        files: &[StoredFile],
        produce: &mut Producer<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        self.import(run, files, produce).map_err(|e| self.lost(e))
    }
    fn set_file_wall_time(
        &mut self,
        run_id: &str,
        content_hash: &[u8; 32],
        wall: &FileWallTime,
    ) -> Result<bool, StoreError> {
        let changed = self
            .client
            .get_mut()
            .execute(
                "UPDATE files SET wall_start_ts = $3, wall_end_ts = $4, wall_ms = $5 \
                 WHERE run = (SELECT id FROM runs WHERE run_id = $1) AND content_hash = $2",
                &[
                    &run_id,
                    &&content_hash[..],
                    &wall.start_ms,
                    &wall.end_ms,
                    &wall.time_ms,
                ],
            )
            .map_err(|e| self.lost(e.into()))?;
        Ok(changed > 0)
    }

    fn run_wall_times(&self, filter: &ResultFilter) -> Result<Vec<RunWallTime>, StoreError> {
        let selected = self.selected_runs(filter).map_err(|e| self.lost(e))?;
        let ids: Vec<i64> = selected.iter().map(|(id, _, _)| *id).collect();
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT run, wall_start_ts, wall_end_ts, wall_ms FROM files \
                 WHERE run = ANY($1) ORDER BY run, id",
                &[&ids],
            )
            .map_err(|e| self.lost(e.into()))?;
        let mut by_run: HashMap<i64, Vec<FileWallTime>> = HashMap::new();
        for row in &rows {
            by_run.entry(row.get(0)).or_default().push(FileWallTime {
                start_ms: row.get(1),
                end_ms: row.get(2),
                time_ms: row.get(3),
            });
        }
        Ok(selected
            .into_iter()
            .map(|(id, _, info)| RunWallTime {
                run_id: info.run_id,
                wall_time_s: by_run.get(&id).and_then(|walls| run_wall_time(walls)),
            })
            .collect())
    }

    fn for_each_ci_job(
        &self,
        since_ms: Option<i64>,
        visit: &mut dyn FnMut(hourglass_model::CiJob) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                r#"SELECT provider, job_id, pipeline_id, "commit", name, runner, status, conclusion,
                          created_at, started_at, finished_at, queued_s
                   FROM ci_jobs WHERE ($1::int8 IS NULL OR created_ts >= $1)
                   ORDER BY created_ts, provider COLLATE "C", job_id COLLATE "C""#,
                &[&since_ms],
            )
            .map_err(|e| self.lost(e.into()))?;
        for row in &rows {
            let provider: String = row.get(0);
            let provider = hourglass_model::CiProvider::parse(&provider).ok_or_else(|| {
                StoreError::Corrupt {
                    what: "CI job provider",
                    detail: provider.clone(),
                }
            })?;
            let job = hourglass_model::CiJob {
                provider,
                job_id: row.get(1),
                pipeline_id: row.get(2),
                commit: row.get(3),
                name: row.get(4),
                runner: row.get(5),
                status: row.get(6),
                conclusion: row.get(7),
                created_at: row.get(8),
                started_at: row.get(9),
                finished_at: row.get(10),
                queued_s: row.get(11),
            };
            visit(job).map_err(StoreError::Visit)?;
        }
        Ok(())
    }
}

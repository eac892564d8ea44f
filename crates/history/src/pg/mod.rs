//! [`PgStore`]: the history in a PostgreSQL database, shared by a fleet of
//! CI runners.
//!
//! # How it works
//!
//! - **Schema.** The tables of the SQLite store (`runs`, `files`,
//!   `classes`, `tests`, `results`), versioned in `hourglass_migrations`
//!   and migrated on first use under an advisory lock ([`schema`]).
//!   `results` is partitioned by the run's time, one partition a month,
//!   created when a run first needs it. Plain passes are not rows but
//!   entries of `passes` blobs, one per run and block of 1,024 test ids,
//!   about 3 bytes each (schema version 6; the codec is SQLite's, see
//!   `crate::packed`). The texts of a test's key compare
//!   byte by byte (`COLLATE "C"`) whatever the database's locale, and
//!   `tests` has no foreign key to `classes`: the store writes a class
//!   before its tests, in one transaction.
//! - **Ingest.** One transaction per file. The run's row is inserted or
//!   locked (`FOR UPDATE`), so that files of one run are stored one after
//!   the other and files of different runs in parallel. The file goes in
//!   chunk by chunk (`chunks`, 25,000 results): the reading thread makes
//!   a chunk (its classes, each result's class and name, the plain passes
//!   as they will be packed, the other results as binary `COPY` rows, the
//!   distinct texts) while a second thread, which holds the transaction,
//!   stores the one before. A chunk's missing classes go in (in key
//!   order); its tests are found by reading their classes' tests (by key
//!   when those are many more), except those of a class the chunk added,
//!   which are new; the new tests go in by binary `COPY` in key order
//!   under ids from `tests`' sequence, and the new texts into `blobs` by
//!   binary `COPY` in hash order (only when another writer added one of
//!   them meanwhile is a `COPY` rolled back to a savepoint and done again
//!   with `ON CONFLICT DO NOTHING`). Writers add these keys under an
//!   advisory lock, shared for a file of one chunk and exclusive for a
//!   file of several (whose chunks would not add keys in one order). Then,
//!   by test: the plain passes of the tests seen once become the run's
//!   blobs, block by block, written by binary `COPY` (a block the run has
//!   already, from an earlier file or chunk, is merged with it); the other
//!   results of those tests move from the staging table into `results` in
//!   one statement. A test seen twice (a rerun in the chunk, in an earlier
//!   chunk, or a result already stored for the run by an earlier file, as
//!   a row or a pass) is merged in Rust with
//!   [`TestResult::absorb_rerun`], exactly as the SQLite store does, and
//!   stored as a row.
//!   A producer failing midway stops the chunks and rolls the
//!   transaction back: nothing of the file is stored.
//! - **Reading.** Runs and their counts come from one grouped query of the
//!   rows and the runs' blobs, decoded. Results are read as SQLite reads
//!   them, block of test ids by block (a few blocks at a time when the
//!   window has few runs): the rows off the primary key `(run, test,
//!   run_ts)`, one range for each run of the window (schema version 6
//!   drops the `(test, run_ts, run)` index that reads of one test over
//!   time used), and the blobs of the block, sorted together, so memory
//!   does not grow with the history; outlines are made from that scan
//!   when the window has packed passes or durations are asked for, else
//!   grouped in the database (`aggregate`). An export decodes a
//!   run's blobs into a temporary table and reads them and the rows in one
//!   query ordered by key (`"C"` collation, byte order, as in SQLite).
//!
//! # Limitations
//!
//! - Two files of the same run are written one after the other (the run's
//!   row is locked for the file's transaction).
//! - A file of more than one chunk that adds classes, tests or texts holds
//!   the advisory lock for them exclusively until it commits: other
//!   writers that add keys meanwhile wait for it (those that add none do
//!   not).
//! - A connection lost midway fails the file with
//!   [`StoreError::PgConnectionLost`]; its transaction never committed, so
//!   nothing of it is stored, and the store does not reconnect. Only
//!   opening a store retries ([`connect::with_retry`]).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use hourglass_model::{Outcome, Property, RunMeta, TestKey, TestResult};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, Row, Transaction};

use crate::blobs::{self, Encoder};
use crate::codec::{implied_attempt, parse_json_list, parse_outcome};
use crate::packed::{BLOCK, TestSet, block_of};
use crate::sqlite::WindowPoint;
use crate::{
    CiJobsOutcome, ExportRow, FileIngest, FileWallTime, HistoryRow, HistoryStore, ImportOutcome,
    IngestOutcome, KeepOutput, Producer, PruneReport, ResultFilter, RunInfo, RunSummary,
    RunWallTime, StoreError, StoredFile, VisitError, derive_run_id, run_wall_time,
    timestamp_millis,
};

mod aggregate;
mod chunks;
pub mod connect;
mod passes;
pub mod schema;

/// The history in a PostgreSQL database.
pub struct PgStore {
    client: RefCell<Client>,
    /// The URL without its password.
    display: String,
    /// Whose output ingests keep.
    keep_output: KeepOutput,
    /// Plain passes are packed (the schema has `passes`: version 6 on;
    /// tests open older ones).
    packed: bool,
    /// Results a chunk of an ingested file holds at most.
    chunk_results: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

/// A run's passes, decoded for its export to be sorted by key with its rows.
const EXPORT_PASSES: &str = "CREATE TEMPORARY TABLE hourglass_export_passes (
    test        bigint NOT NULL,
    duration_s  double precision,
    dropped     bigint NOT NULL,
    implied     boolean NOT NULL
) ON COMMIT DELETE ROWS";

/// How an ingest stores results.
#[derive(Clone, Copy)]
struct WritePolicy {
    /// Whose output is kept.
    keep_output: KeepOutput,
    /// Plain passes are packed (else every result is a row).
    pack: bool,
    /// Results a chunk of a file holds at most.
    chunk_results: usize,
}

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
        let mut client = connect::with_retry(&target, || {
            let mut client = connect::connect(&target)?;
            schema::migrate_to(&mut client, version)?;
            // The store's statements are short or stream their rows: the
            // JIT compiler, which the planner calls on estimated costs
            // (staging tables and arrays estimate badly), took a third of a
            // second to compile for a statement that ran for a few
            // milliseconds.
            client.batch_execute("SET jit = off")?;
            // A chunk of staged rows (a few MB) stays in the session's
            // buffers for the statements that read it, instead of going
            // out to a temporary file and back (the default is 8 MB;
            // only what is used is allocated).
            client.batch_execute("SET temp_buffers = '64MB'")?;
            client.batch_execute(chunks::STAGING)?;
            client.batch_execute(EXPORT_PASSES)?;
            Ok(client)
        })?;
        let packed = schema::version(&mut client)? >= 6;
        Ok(Self {
            packed,
            client: RefCell::new(client),
            display: target.display,
            keep_output: KeepOutput::default(),
            chunk_results: chunks::CHUNK_RESULTS,
        })
    }

    /// Sets how many results a chunk of an ingested file holds at most
    /// (for tests of files of several chunks; at least one).
    #[doc(hidden)]
    pub fn set_chunk_results(&mut self, results: usize) {
        self.chunk_results = results.max(1);
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
        let packed = self.packed;
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
        let mut results = transaction.execute(
            "DELETE FROM results r USING hourglass_pruned p \
             WHERE r.run = p.id AND r.run_ts = p.ts AND r.run_ts < $1",
            &[&before_ms],
        )?;
        if packed {
            passes::for_each(
                &mut transaction,
                "SELECT run, block, data FROM passes WHERE run IN (SELECT id FROM hourglass_pruned)",
                &[],
                |_, _| {
                    results += 1;
                    Ok(())
                },
            )?;
            transaction.execute(
                "DELETE FROM passes s USING hourglass_pruned p WHERE s.run = p.id",
                &[],
            )?;
        }
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
            // The tests a pass still names are kept: the passes' tests, from
            // a scan of every blob, into a temporary table.
            transaction.batch_execute(
                "CREATE TEMPORARY TABLE hourglass_kept (test bigint NOT NULL) ON COMMIT DROP",
            )?;
            if packed {
                let kept = passes::tests_of_all(&mut transaction)?;
                let copy = transaction.copy_in("COPY hourglass_kept (test) FROM STDIN BINARY")?;
                let mut writer = BinaryCopyInWriter::new(copy, &[Type::INT8]);
                for test in kept.iter() {
                    writer.write(&[&test])?;
                }
                writer.finish()?;
                transaction.batch_execute("ANALYZE hourglass_kept")?;
            }
            tests = transaction.execute(
                "DELETE FROM tests t WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.test = t.id) \
                 AND NOT EXISTS (SELECT 1 FROM hourglass_kept k WHERE k.test = t.id)",
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

    /// Results stored, rows and packed passes (for tests and diagnostics).
    #[doc(hidden)]
    pub fn result_count(&self) -> Result<u64, StoreError> {
        let mut client = self.client.borrow_mut();
        let rows: i64 = client
            .query_one("SELECT count(*) FROM results", &[])?
            .get(0);
        let passes = if self.packed {
            passes::count(&mut *client)?
        } else {
            0
        };
        Ok(rows as u64 + passes)
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
    ///
    /// The file goes in chunk by chunk ([`CHUNK_RESULTS`]): this thread
    /// encodes the producer's results into binary `COPY` rows while a
    /// second thread, which holds the transaction, stores the chunk
    /// before (see [`store_chunk`]), so that the server's work overlaps
    /// with the reading of the file.
    fn store_results(
        transaction: &mut Transaction<'_>,
        run_row: i64,
        run_ts: i64,
        run_existed: bool,
        path: &str,
        policy: WritePolicy,
        produce: &mut Producer<'_>,
    ) -> Result<u64, StoreError> {
        // The sorts and hashes over a chunk's staged rows stay in memory
        // (the server's default, 4 MB, spills them to disk). The tables a
        // writer adds keys to are locked in the order `prune` locks them.
        transaction.batch_execute(
            "SET LOCAL work_mem = '64MB';
             LOCK TABLE classes, tests, blobs IN ROW EXCLUSIVE MODE;",
        )?;
        let (stored, existing) = if run_existed {
            passes::stored_of_run(transaction, run_row, run_ts, policy.pack)?
        } else {
            (TestSet::default(), HashSet::new())
        };
        let mut file = chunks::FileState::new(run_row, run_ts, stored, existing);
        let (send, received) = std::sync::mpsc::sync_channel::<chunks::Chunk>(1);
        let mut encoder = Encoder::new()?;
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> Result<(), StoreError> {
                for chunk in received {
                    let last = chunk.last;
                    chunks::store_chunk(transaction, &mut file, chunk)?;
                    if last {
                        return Ok(());
                    }
                }
                // The producer failed: its error is the caller's.
                Ok(())
            });
            let mut results = 0u64;
            let mut chunk = chunks::ChunkBuilder::new(policy.chunk_results);
            let stopped = || StoreError::Corrupt {
                what: "ingest",
                detail: "the store's writer stopped".into(),
            };
            let produced = crate::write_produced(path, produce, &mut |result| {
                chunk.push(&mut encoder, policy, results, result)?;
                results += 1;
                if chunk.is_full() {
                    let full = std::mem::replace(
                        &mut chunk,
                        chunks::ChunkBuilder::new(policy.chunk_results),
                    );
                    send.send(full.finish(false)).map_err(|_| stopped())?;
                }
                Ok(())
            });
            let sent = match produced {
                Ok(()) => send.send(chunk.finish(true)).map_err(|_| stopped()),
                Err(error) => Err(error),
            };
            drop(send);
            let stored = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The writer's own failure is the cause when it stopped first.
            stored?;
            sent.map(|()| results)
        })
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
        let packed = self.packed;
        let chunk_results = self.chunk_results;
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
            WritePolicy {
                keep_output,
                pack: packed,
                chunk_results,
            },
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
        let packed = self.packed;
        let chunk_results = self.chunk_results;
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
            WritePolicy {
                keep_output: KeepOutput::All,
                pack: packed,
                chunk_results,
            },
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

    /// Whether a run of the filter's window has packed passes.
    fn window_has_passes(&self, filter: &ResultFilter) -> Result<bool, StoreError> {
        if !self.packed {
            return Ok(false);
        }
        let ids: Vec<i64> = self
            .selected_runs(filter)?
            .iter()
            .map(|(id, _, _)| *id)
            .collect();
        Ok(self
            .client
            .borrow_mut()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM passes WHERE run = ANY($1))",
                &[&ids],
            )?
            .get(0))
    }

    /// [`HistoryStore::for_each_result`]: block of test ids by block (a
    /// few blocks at a time when the window has few runs), the rows of the
    /// blocks' tests off the primary key (a range for each run) and the
    /// window runs' blobs of the blocks, sorted together by test and time.
    /// Memory holds one such stretch, whatever the history's size.
    fn window_results(
        &self,
        filter: &ResultFilter,
        visit: &mut dyn FnMut(HistoryRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let selected = self.selected_runs(filter)?;
        let Some(earliest_ts) = selected.first().map(|(_, ts, _)| *ts) else {
            return Ok(());
        };
        let ids: Vec<i64> = selected.iter().map(|(id, _, _)| *id).collect();
        let runs: HashMap<i64, (u64, i64, Rc<RunInfo>)> = selected
            .into_iter()
            .enumerate()
            .map(|(index, (id, ts, info))| (id, (index as u64, ts, Rc::new(info))))
            .collect();
        let mut client = self.client.borrow_mut();
        let mut transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let last_test: i64 = transaction
            .query_one("SELECT coalesce(max(id), -1) FROM tests", &[])?
            .get(0);
        // About 64 blocks' worth of one run at a time.
        let stride = (64 / ids.len() as i64).clamp(1, 64);
        let rows_of = transaction.prepare(
            "SELECT test, run, run_ts, status, duration_s, attempt_count, file FROM results \
             WHERE run = ANY($4) AND test BETWEEN $1 AND $2 AND run_ts >= $3",
        )?;
        let names_of = transaction.prepare(
            "SELECT t.id, c.suite, c.classname, t.name FROM tests t \
             JOIN classes c ON c.id = t.class WHERE t.id BETWEEN $1 AND $2",
        )?;
        let passes_of = if self.packed {
            Some(transaction.prepare(
                "SELECT run, block, data FROM passes \
                 WHERE run = ANY($1) AND block BETWEEN $2 AND $3",
            )?)
        } else {
            None
        };
        let mut points: Vec<WindowPoint> = Vec::new();
        let mut keys: HashMap<i64, TestKey> = HashMap::new();
        let mut first_block = 0;
        while first_block <= block_of(last_test) {
            let blocks = (first_block, first_block + stride - 1);
            let (first, last) = (blocks.0 * BLOCK, (blocks.1 + 1) * BLOCK - 1);
            first_block += stride;
            points.clear();
            for row in transaction.query(&rows_of, &[&first, &last, &earliest_ts, &ids])? {
                let status: &str = row.try_get(3)?;
                points.push(WindowPoint {
                    test: row.try_get(0)?,
                    ts: row.try_get(2)?,
                    run: row.try_get(1)?,
                    outcome: parse_outcome(status)?,
                    duration_s: row.try_get(4)?,
                    attempts: row.try_get::<_, i32>(5)? as u32,
                    file: row.try_get(6)?,
                });
            }
            if let Some(passes_of) = &passes_of {
                passes::for_each(
                    &mut transaction,
                    passes_of,
                    &[&ids, &blocks.0, &blocks.1],
                    |run, pass| {
                        let ts = runs.get(&run).map_or(0, |(_, ts, _)| *ts);
                        points.push(WindowPoint {
                            test: pass.test,
                            ts,
                            run,
                            outcome: Outcome::Passed,
                            duration_s: pass.duration_s,
                            attempts: pass.attempt_count(),
                            file: None,
                        });
                        Ok(())
                    },
                )?;
            }
            if points.is_empty() {
                continue;
            }
            points.sort_unstable_by_key(|point| (point.test, point.ts, point.run));
            keys.clear();
            for row in transaction.query(&names_of, &[&first, &last])? {
                let (id, key) = keyed_test(&row)?;
                keys.insert(id, key);
            }
            for point in points.drain(..) {
                let Some((run_index, _, info)) = runs.get(&point.run) else {
                    continue;
                };
                let key = keys.get(&point.test).ok_or_else(|| StoreError::Corrupt {
                    what: "result",
                    detail: format!("test {} has results but no name", point.test),
                })?;
                visit(HistoryRow {
                    run_index: *run_index,
                    run_id: info.run_id.clone(),
                    commit: info.commit.clone(),
                    branch: info.branch.clone(),
                    timestamp: info.timestamp.clone(),
                    key: key.clone(),
                    outcome: point.outcome,
                    duration_s: point.duration_s,
                    attempts: point.attempts,
                    file: point.file,
                })
                .map_err(StoreError::Visit)?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Visits one run's results with all their fields, by test key: its
    /// rows and its passes (decoded into a temporary table) in one ordered
    /// query.
    fn export_run(
        &self,
        run_row: i64,
        run_ts: i64,
        info: &RunInfo,
        visit: &mut dyn FnMut(ExportRow) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        let mut transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut sql = format!(
            "SELECT c.suite, c.classname, t.name, {READ_RESULTS} \
             FROM results r JOIN tests t ON t.id = r.test JOIN classes c ON c.id = t.class \
             {BLOB_JOINS} WHERE r.run = $1 AND r.run_ts = $2"
        );
        if self.packed {
            passes::decode_run(&mut transaction, run_row)?;
            sql.push_str(
                " UNION ALL SELECT c.suite, c.classname, t.name, 'passed', p.duration_s, \
                 0, NULL::bytea, NULL::text, NULL::text, NULL::int8, 0, NULL::bytea, p.dropped, \
                 CASE WHEN p.implied THEN 1 ELSE 0 END, NULL::text, NULL::text \
                 FROM hourglass_export_passes p JOIN tests t ON t.id = p.test \
                 JOIN classes c ON c.id = t.class",
            );
        }
        // The key columns compare byte by byte (`"C"`), as SQLite's.
        sql.push_str(" ORDER BY 1, 2, 3");
        let params: [&(dyn ToSql + Sync); 2] = [&run_row, &run_ts];
        let mut rows = transaction.query_raw(&sql, params)?;
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
        drop(rows);
        transaction.commit()?;
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

/// A row of (test id, suite, classname, name).
fn keyed_test(row: &Row) -> Result<(i64, TestKey), postgres::Error> {
    Ok((
        row.try_get(0)?,
        TestKey {
            suite: row.try_get(1)?,
            classname: row.try_get(2)?,
            name: row.try_get(3)?,
        },
    ))
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

    /// Grouped in the database when no durations are asked for and the
    /// window has no packed passes (see `aggregate`), else from the
    /// block-by-block scan, as SQLite does. (With durations, the grouping
    /// sorts every test's durations and sends most tests' series: the
    /// scan took half its time over 1M results.)
    fn for_each_test_outline(
        &self,
        request: &crate::OutlineRequest,
        visit: &mut dyn FnMut(crate::TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        if request.durations.is_some()
            || self
                .window_has_passes(&request.filter)
                .map_err(|e| self.lost(e))?
        {
            crate::outline::over_results(self, request, visit)
        } else {
            self.outlines(request, visit).map_err(|e| self.lost(e))
        }
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
        self.window_results(filter, visit).map_err(|e| self.lost(e))
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

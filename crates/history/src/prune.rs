//! Dropping old runs and giving their space back.

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::StoreError;

/// How the freed pages went back to the file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vacuum {
    /// Nothing was dropped (or it was a dry run): no vacuum.
    None,
    /// `PRAGMA incremental_vacuum`: the free pages were moved to the end of
    /// the file and cut off; time follows what was freed, not the store.
    Incremental,
    /// A full `VACUUM` of a store made before incremental vacuuming (it
    /// switches the store to incremental mode for the next prune).
    Full,
}

/// What a prune dropped, or would drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Runs strictly before this instant are dropped (RFC 3339).
    pub before: String,
    pub dry_run: bool,
    pub runs: u64,
    pub files: u64,
    pub results: u64,
    /// Messages and outputs no remaining result refers to.
    pub blobs: u64,
    /// Tests (and their classes) without a result left.
    pub tests: u64,
    pub classes: u64,
    /// The store's size (pages in use and free) before and after; after a
    /// dry run, the same as before.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub vacuum: Vacuum,
}

/// Size of the database file as SQLite sees it: pages times page size.
fn bytes(connection: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = connection.pragma_query_value(None, "page_count", |row| row.get(0))?;
    let size: i64 = connection.pragma_query_value(None, "page_size", |row| row.get(0))?;
    Ok((pages * size) as u64)
}

/// Drops the runs before `before_ms` (and their files and results), then
/// the blobs, tests and classes nothing refers to any more, in one
/// transaction; then gives the space back (see [`Vacuum`]). A dry run
/// counts in the same transaction and rolls it back.
pub(crate) fn prune(
    connection: &Connection,
    packed: bool,
    before: &str,
    before_ms: i64,
    dry_run: bool,
) -> Result<PruneReport, StoreError> {
    let bytes_before = bytes(connection)?;
    crate::sqlite::with_write_transaction(connection, |connection| {
        let runs: Vec<i64> = connection
            .prepare("SELECT id FROM runs WHERE ts < ?1 ORDER BY id")?
            .query_map(params![before_ms], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut report = PruneReport {
            before: before.to_owned(),
            dry_run,
            runs: runs.len() as u64,
            files: 0,
            results: 0,
            blobs: 0,
            tests: 0,
            classes: 0,
            bytes_before,
            bytes_after: bytes_before,
            vacuum: Vacuum::None,
        };
        let mut drop_results =
            connection.prepare("DELETE FROM results WHERE id BETWEEN ?1 AND ?2")?;
        let mut drop_passes = packed
            .then(|| connection.prepare("DELETE FROM passes WHERE id BETWEEN ?1 AND ?2"))
            .transpose()?;
        let mut drop_files = connection.prepare("DELETE FROM files WHERE run = ?1")?;
        let mut drop_run = connection.prepare("DELETE FROM runs WHERE id = ?1")?;
        for &run in &runs {
            let (first, last) = crate::sqlite::run_keys(run);
            report.results += drop_results.execute(params![first, last])? as u64;
            crate::sqlite::passes::for_each_of_run(connection, packed.then_some(run), |_| {
                report.results += 1;
                Ok(())
            })?;
            if let Some(drop_passes) = &mut drop_passes {
                drop_passes.execute(params![first, last])?;
            }
            report.files += drop_files.execute(params![run])? as u64;
            drop_run.execute(params![run])?;
        }
        if !runs.is_empty() {
            // One scan of the results for the blobs still referred to.
            report.blobs = connection.execute(
                "DELETE FROM blobs WHERE id NOT IN \
                 (SELECT message_blob FROM results WHERE message_blob IS NOT NULL \
                  UNION SELECT output_blob FROM results WHERE output_blob IS NOT NULL)",
                [],
            )? as u64;
            // The tests with no row left (off the (test, run_ts, run)
            // index), less those a pass of a run left still has.
            let kept = crate::sqlite::passes::tests_of_all(connection, packed)?;
            let unrowed: Vec<i64> = connection
                .prepare(
                    "SELECT id FROM tests WHERE NOT EXISTS \
                     (SELECT 1 FROM results r WHERE r.test = tests.id)",
                )?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut drop_test = connection.prepare("DELETE FROM tests WHERE id = ?1")?;
            for test in unrowed {
                if !kept.contains(test) {
                    report.tests += drop_test.execute(params![test])? as u64;
                }
            }
            report.classes = connection.execute(
                "DELETE FROM classes WHERE NOT EXISTS \
                 (SELECT 1 FROM tests t WHERE t.class = classes.id)",
                [],
            )? as u64;
        }
        Ok((report, !dry_run))
    })
    .and_then(|mut report| {
        if report.dry_run || report.runs == 0 {
            return Ok(report);
        }
        report.vacuum = give_back(connection)?;
        report.bytes_after = bytes(connection)?;
        Ok(report)
    })
}

/// Returns the free pages to the file system: incrementally when the store
/// is in incremental auto-vacuum mode (every store made since migration 5),
/// else by one full `VACUUM` that also switches it to that mode. The WAL is
/// checkpointed and truncated afterwards, so the file shrinks now.
fn give_back(connection: &Connection) -> Result<Vacuum, StoreError> {
    let mode: i64 = connection.pragma_query_value(None, "auto_vacuum", |row| row.get(0))?;
    let vacuum = if mode == 2 {
        // The pragma frees one page per step: step it to the end.
        let mut statement = connection.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = statement.query([])?;
        while rows.next()?.is_some() {}
        Vacuum::Incremental
    } else {
        connection.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM")?;
        Vacuum::Full
    };
    connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(vacuum)
}

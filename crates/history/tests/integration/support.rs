//! Helpers shared by the store tests.

use hourglass_history::{FileIngest, HistoryStore, IngestOutcome, SqliteStore, StoreError};
use hourglass_model::{Attempt, AttemptOutcome, Outcome, RunMeta, TestKey, TestResult};

pub fn key(classname: &str, name: &str) -> TestKey {
    TestKey {
        suite: "suite".into(),
        classname: classname.into(),
        name: name.into(),
    }
}

/// A result with one attempt matching its outcome and a duration.
pub fn result(classname: &str, name: &str, outcome: Outcome, duration_s: f64) -> TestResult {
    let mut result = TestResult::new(key(classname, name), outcome);
    result.duration_s = Some(duration_s);
    let attempt = match outcome {
        Outcome::Passed | Outcome::Flaky => AttemptOutcome::Passed,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Error => AttemptOutcome::Error,
        Outcome::Skipped => AttemptOutcome::Skipped,
    };
    result.attempts.push(Attempt {
        outcome: Some(attempt),
        duration_s: Some(duration_s),
        message: None,
        failure_type: None,
    });
    result
}

pub fn run(run_id: &str, timestamp: &str) -> RunMeta {
    RunMeta {
        run_id: Some(run_id.into()),
        commit: Some(format!("commit-of-{run_id}")),
        branch: Some("main".into()),
        timestamp: Some(timestamp.into()),
        job: None,
    }
}

pub fn file(name: &str) -> FileIngest {
    FileIngest {
        path: name.into(),
        content_hash: *blake3::hash(name.as_bytes()).as_bytes(),
    }
}

/// Ingests `results` as one file.
pub fn ingest(
    store: &mut impl HistoryStore,
    run: &RunMeta,
    file: &FileIngest,
    results: &[TestResult],
) -> Result<IngestOutcome, StoreError> {
    store.ingest_file(run, file, &mut |sink| {
        for result in results {
            sink(result)?;
        }
        Ok(())
    })
}

pub fn count(store: &SqliteStore, table: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count rows")
}

pub fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("nested/dir/history.db")).expect("open store");
    (dir, store)
}

/// Every stored result, through export.
pub fn exported(store: &SqliteStore) -> Vec<hourglass_history::ExportRow> {
    let mut rows = Vec::new();
    store
        .for_each_export(&mut |row| {
            rows.push(row);
            Ok(())
        })
        .expect("export");
    rows
}

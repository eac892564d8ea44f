//! Dropping old runs, their orphaned blobs and tests, and giving the space back.

use hourglass_history::{HistoryStore, ResultFilter, SqliteStore, StoreError, Vacuum};
use hourglass_model::{Outcome, TestResult};

use crate::support::{count, exported, file, ingest, result, run, temp_store};

/// A failure whose stack trace is `trace` (long enough to be compressed).
fn failing(name: &str, trace: &str) -> TestResult {
    let mut failed = result("c", name, Outcome::Failed, 1.0);
    failed.message = Some(format!("{name} failed"));
    failed.output = Some(trace.repeat(40));
    failed
}

/// Three runs: January (a test only it has, and a trace only it has),
/// February and March (a trace shared with January's run).
fn three_runs(store: &mut SqliteStore) {
    let shared = "\tat com.example.Shared.call(Shared.java:1)\n";
    let january_only = "\tat com.example.Gone.call(Gone.java:2)\n";
    ingest(
        store,
        &run("jan", "2026-01-10T08:00:00Z"),
        &file("jan.xml"),
        &[
            failing("shared", shared),
            failing("only-in-january", january_only),
            result("c", "stays", Outcome::Passed, 0.5),
        ],
    )
    .unwrap();
    for (id, timestamp) in [
        ("feb", "2026-02-10T08:00:00Z"),
        ("mar", "2026-03-10T08:00:00Z"),
    ] {
        ingest(
            store,
            &run(id, timestamp),
            &file(&format!("{id}.xml")),
            &[
                failing("shared", shared),
                result("c", "stays", Outcome::Passed, 0.5),
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_new_store_uses_incremental_auto_vacuum() {
    let (_dir, store) = temp_store();
    let mode: i64 = store
        .connection()
        .pragma_query_value(None, "auto_vacuum", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, 2);
}

#[test]
fn prune_drops_old_runs_and_what_only_they_referred_to() {
    let (_dir, mut store) = temp_store();
    three_runs(&mut store);
    let blobs_before = count(&store, "blobs");
    // Two traces and two messages.
    assert_eq!(blobs_before, 4);

    let report = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!(report.runs, 1);
    assert_eq!(report.files, 1);
    assert_eq!(report.results, 3);
    // January's own trace and message; the shared ones stay.
    assert_eq!(report.blobs, 2);
    assert_eq!(report.tests, 1);
    assert_eq!(report.classes, 0);
    assert_eq!(report.vacuum, Vacuum::Incremental);
    assert!(!report.dry_run);

    let runs: Vec<String> = store
        .runs(&ResultFilter::default())
        .unwrap()
        .into_iter()
        .map(|run| run.info.run_id)
        .collect();
    assert_eq!(runs, ["feb", "mar"]);
    assert_eq!(count(&store, "blobs"), 2);
    assert_eq!(count(&store, "tests"), 2);
    // What is left still exports whole, its shared trace included.
    let rows = exported(&store);
    assert_eq!(rows.len(), 4);
    let shared = rows
        .iter()
        .find(|row| row.result.key.name == "shared")
        .unwrap();
    assert!(
        shared
            .result
            .output
            .as_deref()
            .unwrap()
            .contains("Shared.java")
    );
}

#[test]
fn a_dry_run_counts_the_same_and_drops_nothing() {
    let (_dir, mut store) = temp_store();
    three_runs(&mut store);
    let dry = store.prune("2026-03-01T00:00:00Z", true).unwrap();
    assert!(dry.dry_run);
    assert_eq!((dry.runs, dry.results, dry.blobs), (2, 5, 2));
    assert_eq!(dry.vacuum, Vacuum::None);
    assert_eq!(dry.bytes_after, dry.bytes_before);
    assert_eq!(store.runs(&ResultFilter::default()).unwrap().len(), 3);
    assert_eq!(count(&store, "blobs"), 4);
    let real = store.prune("2026-03-01T00:00:00Z", false).unwrap();
    assert_eq!((real.runs, real.results, real.blobs), (2, 5, 2));
}

#[test]
fn pruning_gives_the_space_back_to_the_file_system() {
    let (dir, mut store) = temp_store();
    let big = "\tat com.example.Big.call(Big.java:1) payload ".to_owned();
    // Many distinct, incompressible-enough traces in old runs.
    for index in 0..40 {
        let results: Vec<TestResult> = (0..50)
            .map(|test| {
                let mut failed = result("c", &format!("t{test}"), Outcome::Failed, 1.0);
                failed.output = Some(format!(
                    "{big}{}",
                    blake3::hash(format!("{index}/{test}").as_bytes())
                        .to_hex()
                        .repeat(8)
                ));
                failed
            })
            .collect();
        ingest(
            &mut store,
            &run(
                &format!("r{index}"),
                &format!("2026-01-{:02}T08:00:00Z", 1 + index % 28),
            ),
            &file(&format!("r{index}.xml")),
            &results,
        )
        .unwrap();
    }
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let path = dir.path().join("nested/dir/history.db");
    let before = std::fs::metadata(&path).unwrap().len();
    let report = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!(report.runs, 40);
    let after = std::fs::metadata(&path).unwrap().len();
    // Down to a page or two per table and index.
    assert!(after * 2 < before, "{before} → {after}");
    assert_eq!(report.bytes_after, after);
}

#[test]
fn a_store_made_before_incremental_vacuum_gets_one_full_vacuum_then_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        // A store made by an older hourglass: no auto-vacuum.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch("PRAGMA auto_vacuum = NONE; PRAGMA journal_mode = WAL;")
            .unwrap();
        connection
            .execute_batch("CREATE TABLE placeholder (x); DROP TABLE placeholder;")
            .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let mode = |store: &SqliteStore| -> i64 {
        store
            .connection()
            .pragma_query_value(None, "auto_vacuum", |row| row.get(0))
            .unwrap()
    };
    assert_eq!(mode(&store), 0);
    three_runs(&mut store);
    let first = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!(first.vacuum, Vacuum::Full);
    assert_eq!(mode(&store), 2);
    let second = store.prune("2026-03-01T00:00:00Z", false).unwrap();
    assert_eq!(second.vacuum, Vacuum::Incremental);
    assert_eq!(exported(&store).len(), 2);
}

#[test]
fn nothing_to_prune_does_not_vacuum_and_a_bad_date_is_an_error() {
    let (_dir, mut store) = temp_store();
    three_runs(&mut store);
    let report = store.prune("2025-01-01T00:00:00Z", false).unwrap();
    assert_eq!(report.runs, 0);
    assert_eq!(report.vacuum, Vacuum::None);
    assert!(matches!(
        store.prune("last tuesday", false),
        Err(StoreError::Timestamp { .. })
    ));
}

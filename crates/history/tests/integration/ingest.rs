//! Ingest: idempotence, rollback, reruns, run identity.

use hourglass_history::{
    HistoryStore, IngestOutcome, ResultFilter, SqliteStore, StoreError, derive_run_id,
};
use hourglass_model::{Outcome, RunMeta};

use crate::support::{count, exported, file, ingest, result, run, temp_store};

#[test]
fn ingesting_the_same_file_twice_stores_it_once() {
    let (_dir, mut store) = temp_store();
    let run = run("r1", "2026-03-01T10:00:00Z");
    let results = [
        result("a.B", "one", Outcome::Passed, 0.5),
        result("a.B", "two", Outcome::Failed, 1.0),
    ];
    let first = ingest(&mut store, &run, &file("junit.xml"), &results).unwrap();
    assert_eq!(first, IngestOutcome::Stored { results: 2 });
    let second = ingest(&mut store, &run, &file("junit.xml"), &results).unwrap();
    assert_eq!(second, IngestOutcome::AlreadyStored);
    assert_eq!(count(&store, "runs"), 1);
    assert_eq!(count(&store, "files"), 1);
    assert_eq!(count(&store, "results"), 2);
    let rows = exported(&store);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.result.attempts.len() == 1));
}

#[test]
fn the_same_file_in_another_run_is_stored_again() {
    let (_dir, mut store) = temp_store();
    let results = [result("a.B", "one", Outcome::Passed, 0.5)];
    ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("f"),
        &results,
    )
    .unwrap();
    let again = ingest(
        &mut store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("f"),
        &results,
    );
    assert_eq!(again.unwrap(), IngestOutcome::Stored { results: 1 });
    assert_eq!(count(&store, "results"), 2);
    assert_eq!(count(&store, "tests"), 1);
}

#[derive(Debug)]
struct Truncated;

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("junit.xml:9:1: unexpected end of file")
    }
}

impl std::error::Error for Truncated {}

#[test]
fn a_producer_failing_midway_stores_nothing_of_the_file() {
    let (_dir, mut store) = temp_store();
    let outcome = store.ingest_file(
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("truncated.xml"),
        &mut |sink| {
            sink(&result("a.B", "one", Outcome::Passed, 0.1))?;
            sink(&result("a.B", "two", Outcome::Passed, 0.1))?;
            Err(Box::new(Truncated))
        },
    );
    match outcome {
        Err(StoreError::Produce { path, source }) => {
            assert_eq!(path, "truncated.xml");
            assert!(source.to_string().contains(":9:1:"), "{source}");
        }
        other => panic!("expected a producer failure, got {other:?}"),
    }
    for table in ["runs", "files", "tests", "results"] {
        assert_eq!(count(&store, table), 0, "rows left in {table}");
    }
    // The store still works, and the whole file can be stored afterwards.
    let results = [result("a.B", "one", Outcome::Passed, 0.1)];
    let stored = ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("truncated.xml"),
        &results,
    );
    assert_eq!(stored.unwrap(), IngestOutcome::Stored { results: 1 });
}

#[test]
fn a_rerun_in_the_same_file_is_merged_into_one_flaky_result() {
    let (_dir, mut store) = temp_store();
    let mut failed = result("pkg", "TestX", Outcome::Failed, 2.0);
    failed.message = Some("boom".into());
    let passed = result("pkg", "TestX", Outcome::Passed, 1.0);
    let stored = ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("go.xml"),
        &[failed, passed],
    );
    assert_eq!(stored.unwrap(), IngestOutcome::Stored { results: 2 });
    let rows = exported(&store);
    assert_eq!(rows.len(), 1);
    let merged = &rows[0].result;
    assert_eq!(merged.outcome, Outcome::Flaky);
    assert_eq!(merged.attempts.len(), 2);
    assert_eq!(merged.duration_s, Some(1.0));
    assert_eq!(merged.message.as_deref(), Some("boom"));
}

#[test]
fn a_second_file_of_the_same_run_merges_with_the_first() {
    let (_dir, mut store) = temp_store();
    let run = run("r1", "2026-03-01T10:00:00Z");
    ingest(
        &mut store,
        &run,
        &file("first.xml"),
        &[result("c", "t", Outcome::Failed, 1.0)],
    )
    .unwrap();
    ingest(
        &mut store,
        &run,
        &file("retry.xml"),
        &[result("c", "t", Outcome::Failed, 1.0)],
    )
    .unwrap();
    let rows = exported(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].result.outcome, Outcome::Failed);
    assert_eq!(rows[0].result.attempts.len(), 2);
    let runs = store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].files, 2);
    assert_eq!(runs[0].failed, 1);
}

#[test]
fn runs_without_an_id_get_a_deterministic_one() {
    let (_dir, mut store) = temp_store();
    let meta = RunMeta {
        commit: Some("abc".into()),
        job: Some("unit".into()),
        timestamp: Some("2026-03-01T10:00:00Z".into()),
        ..RunMeta::default()
    };
    ingest(
        &mut store,
        &meta,
        &file("a.xml"),
        &[result("c", "a", Outcome::Passed, 1.0)],
    )
    .unwrap();
    ingest(
        &mut store,
        &meta,
        &file("b.xml"),
        &[result("c", "b", Outcome::Passed, 1.0)],
    )
    .unwrap();
    let runs = store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.len(), 1, "both files share the derived run");
    assert_eq!(runs[0].info.run_id, derive_run_id(&meta, &[0; 32]));
    assert_eq!(runs[0].tests, 2);
    assert_eq!(runs[0].info.commit.as_deref(), Some("abc"));
}

#[test]
fn a_run_without_a_timestamp_is_stamped_with_the_ingest_time() {
    let (_dir, mut store) = temp_store();
    let before = jiff::Timestamp::now().as_second();
    ingest(
        &mut store,
        &RunMeta::default(),
        &file("a.xml"),
        &[result("c", "a", Outcome::Passed, 1.0)],
    )
    .unwrap();
    let runs = store.runs(&ResultFilter::default()).unwrap();
    let stamped: jiff::Timestamp = runs[0].info.timestamp.parse().unwrap();
    assert!(stamped.as_second() >= before);
    assert!(runs[0].info.run_id.starts_with("file-"));
}

#[test]
fn an_unreadable_timestamp_is_refused() {
    let (_dir, mut store) = temp_store();
    let meta = RunMeta {
        timestamp: Some("last tuesday".into()),
        ..RunMeta::default()
    };
    let outcome = ingest(&mut store, &meta, &file("a.xml"), &[]);
    assert!(
        matches!(outcome, Err(StoreError::Timestamp { .. })),
        "{outcome:?}"
    );
    assert_eq!(count(&store, "runs"), 0);
}

#[test]
fn a_store_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        ingest(
            &mut store,
            &run("r1", "2026-03-01T10:00:00Z"),
            &file("a.xml"),
            &[result("c", "a", Outcome::Passed, 1.0)],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(exported(&store).len(), 1);
}

#[test]
fn tests_keep_one_id_when_their_class_comes_back_after_another() {
    let (_dir, mut store) = temp_store();
    let results = [
        result("a.A", "one", Outcome::Failed, 1.0),
        result("b.B", "one", Outcome::Passed, 1.0),
        // A rerun of a.A one, after another class.
        result("a.A", "one", Outcome::Passed, 1.0),
        result("a.A", "two", Outcome::Passed, 1.0),
    ];
    let first = ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("first.xml"),
        &results,
    );
    assert_eq!(first.unwrap(), IngestOutcome::Stored { results: 4 });
    assert_eq!(count(&store, "classes"), 2);
    assert_eq!(count(&store, "tests"), 3);
    assert_eq!(count(&store, "results"), 3);
    let flaky: Vec<_> = exported(&store)
        .into_iter()
        .filter(|row| row.result.outcome == Outcome::Flaky)
        .map(|row| row.result.key.to_string())
        .collect();
    assert_eq!(flaky, ["a.A one"]);

    // Another run finds the same tests.
    ingest(
        &mut store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("second.xml"),
        &results,
    )
    .unwrap();
    assert_eq!(count(&store, "classes"), 2);
    assert_eq!(count(&store, "tests"), 3);
    assert_eq!(count(&store, "results"), 6);
    // Every id written refers to a stored row.
    assert_eq!(count(&store, "pragma_foreign_key_check"), 0);
}

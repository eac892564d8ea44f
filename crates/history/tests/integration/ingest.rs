//! Ingest: idempotence, rollback, reruns, run identity.

use hourglass_history::{HistoryStore, IngestOutcome, ResultFilter, StoreError, derive_run_id};
use hourglass_model::{Outcome, RunMeta};

use crate::support::{Backend, exported, file, ingest, result, run};

pub fn ingesting_the_same_file_twice_stores_it_once<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let run = run("r1", "2026-03-01T10:00:00Z");
    let results = [
        result("a.B", "one", Outcome::Passed, 0.5),
        result("a.B", "two", Outcome::Failed, 1.0),
    ];
    let first = ingest(store, &run, &file("junit.xml"), &results).unwrap();
    assert_eq!(first, IngestOutcome::Stored { results: 2 });
    let second = ingest(store, &run, &file("junit.xml"), &results).unwrap();
    assert_eq!(second, IngestOutcome::AlreadyStored);
    assert_eq!(B::count(store, "runs"), 1);
    assert_eq!(B::count(store, "files"), 1);
    assert_eq!(B::count(store, "results"), 2);
    let rows = exported(store);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.result.attempts.len() == 1));
}

pub fn the_same_file_in_another_run_is_stored_again<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let results = [result("a.B", "one", Outcome::Passed, 0.5)];
    ingest(
        store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("f"),
        &results,
    )
    .unwrap();
    let again = ingest(
        store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("f"),
        &results,
    );
    assert_eq!(again.unwrap(), IngestOutcome::Stored { results: 1 });
    assert_eq!(B::count(store, "results"), 2);
    assert_eq!(B::count(store, "tests"), 1);
}

#[derive(Debug)]
struct Truncated;

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("junit.xml:9:1: unexpected end of file")
    }
}

impl std::error::Error for Truncated {}

pub fn a_producer_failing_midway_stores_nothing_of_the_file<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
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
        assert_eq!(B::count(store, table), 0, "rows left in {table}");
    }
    // The store still works, and the whole file can be stored afterwards.
    let results = [result("a.B", "one", Outcome::Passed, 0.1)];
    let stored = ingest(
        store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("truncated.xml"),
        &results,
    );
    assert_eq!(stored.unwrap(), IngestOutcome::Stored { results: 1 });
}

pub fn a_rerun_in_the_same_file_is_merged_into_one_flaky_result<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let mut failed = result("pkg", "TestX", Outcome::Failed, 2.0);
    failed.message = Some("boom".into());
    let passed = result("pkg", "TestX", Outcome::Passed, 1.0);
    let stored = ingest(
        store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("go.xml"),
        &[failed, passed],
    );
    assert_eq!(stored.unwrap(), IngestOutcome::Stored { results: 2 });
    let rows = exported(store);
    assert_eq!(rows.len(), 1);
    let merged = &rows[0].result;
    assert_eq!(merged.outcome, Outcome::Flaky);
    assert_eq!(merged.attempts.len(), 2);
    assert_eq!(merged.duration_s, Some(1.0));
    assert_eq!(merged.message.as_deref(), Some("boom"));
}

pub fn a_second_file_of_the_same_run_merges_with_the_first<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let run = run("r1", "2026-03-01T10:00:00Z");
    ingest(
        store,
        &run,
        &file("first.xml"),
        &[result("c", "t", Outcome::Failed, 1.0)],
    )
    .unwrap();
    ingest(
        store,
        &run,
        &file("retry.xml"),
        &[result("c", "t", Outcome::Failed, 1.0)],
    )
    .unwrap();
    let rows = exported(store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].result.outcome, Outcome::Failed);
    assert_eq!(rows[0].result.attempts.len(), 2);
    let runs = store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].files, 2);
    assert_eq!(runs[0].failed, 1);
}

pub fn runs_without_an_id_get_a_deterministic_one<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let meta = RunMeta {
        commit: Some("abc".into()),
        job: Some("unit".into()),
        timestamp: Some("2026-03-01T10:00:00Z".into()),
        ..RunMeta::default()
    };
    ingest(
        store,
        &meta,
        &file("a.xml"),
        &[result("c", "a", Outcome::Passed, 1.0)],
    )
    .unwrap();
    ingest(
        store,
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

pub fn a_run_without_a_timestamp_is_stamped_with_the_ingest_time<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let before = jiff::Timestamp::now().as_second();
    ingest(
        store,
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

pub fn an_unreadable_timestamp_is_refused<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let meta = RunMeta {
        timestamp: Some("last tuesday".into()),
        ..RunMeta::default()
    };
    let outcome = ingest(store, &meta, &file("a.xml"), &[]);
    assert!(
        matches!(outcome, Err(StoreError::Timestamp { .. })),
        "{outcome:?}"
    );
    assert_eq!(B::count(store, "runs"), 0);
}

pub fn a_store_reopens_with_its_data<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    ingest(
        &mut fresh.store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("a.xml"),
        &[result("c", "a", Outcome::Passed, 1.0)],
    )
    .unwrap();
    let store = B::reopen(&fresh.location);
    assert_eq!(exported(&store).len(), 1);
}

pub fn tests_keep_one_id_when_their_class_comes_back_after_another<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let results = [
        result("a.A", "one", Outcome::Failed, 1.0),
        result("b.B", "one", Outcome::Passed, 1.0),
        // A rerun of a.A one, after another class.
        result("a.A", "one", Outcome::Passed, 1.0),
        result("a.A", "two", Outcome::Passed, 1.0),
    ];
    let first = ingest(
        store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("first.xml"),
        &results,
    );
    assert_eq!(first.unwrap(), IngestOutcome::Stored { results: 4 });
    assert_eq!(B::count(store, "classes"), 2);
    assert_eq!(B::count(store, "tests"), 3);
    assert_eq!(B::count(store, "results"), 3);
    let flaky: Vec<_> = exported(store)
        .into_iter()
        .filter(|row| row.result.outcome == Outcome::Flaky)
        .map(|row| row.result.key.to_string())
        .collect();
    assert_eq!(flaky, ["a.A one"]);

    // Another run finds the same tests.
    ingest(
        store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("second.xml"),
        &results,
    )
    .unwrap();
    assert_eq!(B::count(store, "classes"), 2);
    assert_eq!(B::count(store, "tests"), 3);
    assert_eq!(B::count(store, "results"), 6);
    // Every id written refers to a stored row.
    assert_eq!(B::dangling(store), 0);
}

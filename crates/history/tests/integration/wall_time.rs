//! Wall times of files and runs, and CI job records read through the store
//! trait: the same on every backend.

use hourglass_history::{FileWallTime, HistoryStore, ResultFilter, SqliteStore, timestamp_millis};
use hourglass_model::{CiJob, CiProvider, Outcome};

use crate::support::{Backend, file, ingest, result, run};

fn at(text: &str) -> i64 {
    timestamp_millis(text).unwrap()
}

fn span(start: &str, seconds: i64) -> FileWallTime {
    FileWallTime {
        start_ms: Some(at(start)),
        end_ms: Some(at(start) + seconds * 1000),
        time_ms: None,
    }
}

fn hash(name: &str) -> [u8; 32] {
    file(name).content_hash
}

/// Run `a`: two shards side by side, 10:00:00 + 60 s and 10:00:05 + 70 s;
/// run `b`: one file that says nothing of its time; run `c`: one file with
/// only its own time (90 s).
pub fn a_runs_wall_time_is_the_span_of_its_files<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let results = [result("c", "t", Outcome::Passed, 1.0)];
    for (run_id, time, files) in [
        ("a", "2026-03-01T10:00:00Z", &["a1", "a2"][..]),
        ("b", "2026-03-02T10:00:00Z", &["b1"][..]),
        ("c", "2026-03-03T10:00:00Z", &["c1"][..]),
    ] {
        for name in files {
            ingest(store, &run(run_id, time), &file(name), &results).unwrap();
        }
    }
    assert!(
        store
            .set_file_wall_time("a", &hash("a1"), &span("2026-03-01T10:00:00Z", 60))
            .unwrap()
    );
    assert!(
        store
            .set_file_wall_time("a", &hash("a2"), &span("2026-03-01T10:00:05Z", 70))
            .unwrap()
    );
    let own = FileWallTime {
        time_ms: Some(90_000),
        ..FileWallTime::default()
    };
    assert!(store.set_file_wall_time("c", &hash("c1"), &own).unwrap());
    // A file the run does not hold is not recorded.
    assert!(!store.set_file_wall_time("b", &hash("a1"), &own).unwrap());
    assert!(!store.set_file_wall_time("nope", &hash("a1"), &own).unwrap());

    let reopened = B::reopen(&fresh.location);
    let walls = reopened.run_wall_times(&ResultFilter::default()).unwrap();
    let got: Vec<(&str, Option<f64>)> = walls
        .iter()
        .map(|w| (w.run_id.as_str(), w.wall_time_s))
        .collect();
    assert_eq!(got, [("a", Some(75.0)), ("b", None), ("c", Some(90.0))]);
    // In the order and selection of `runs`.
    let filter = ResultFilter {
        since: Some("2026-03-02T00:00:00Z".into()),
        ..ResultFilter::default()
    };
    let runs: Vec<String> = reopened
        .runs(&filter)
        .unwrap()
        .into_iter()
        .map(|r| r.info.run_id)
        .collect();
    let walls: Vec<String> = reopened
        .run_wall_times(&filter)
        .unwrap()
        .into_iter()
        .map(|w| w.run_id)
        .collect();
    assert_eq!(walls, runs);
    assert_eq!(walls, ["b", "c"]);
}

/// CI job records stored by each store's `ingest_ci_jobs` come back through
/// the trait, oldest first, `since` applied.
pub fn ci_jobs_read_through_the_trait<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let job = |id: &str, created: &str| CiJob {
        provider: CiProvider::GitHub,
        job_id: id.into(),
        pipeline_id: Some("5".into()),
        commit: Some("abc".into()),
        name: "test".into(),
        runner: Some("runner-1".into()),
        status: "completed".into(),
        conclusion: Some("success".into()),
        created_at: created.into(),
        started_at: Some(created.into()),
        finished_at: Some(created.into()),
        queued_s: None,
    };
    B::ingest_ci_jobs(
        &mut fresh.store,
        &[
            job("2", "2026-03-02T10:00:00Z"),
            job("1", "2026-03-01T10:00:00Z"),
        ],
    );
    let read = |since: Option<i64>| {
        let mut ids = Vec::new();
        HistoryStore::for_each_ci_job(&fresh.store, since, &mut |job| {
            ids.push(job.job_id);
            Ok(())
        })
        .unwrap();
        ids
    };
    assert_eq!(read(None), ["1", "2"]);
    assert_eq!(read(Some(at("2026-03-02T00:00:00Z"))), ["2"]);
}

#[test]
fn files_stored_before_the_wall_time_migration_have_no_wall_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let mut old = SqliteStore::open_at_version(&path, 5).unwrap();
    let results = [result("c", "t", Outcome::Passed, 1.0)];
    ingest(
        &mut old,
        &run("a", "2026-03-01T10:00:00Z"),
        &file("a1"),
        &results,
    )
    .unwrap();
    drop(old);
    let mut store = SqliteStore::open(&path).unwrap();
    let walls = store.run_wall_times(&ResultFilter::default()).unwrap();
    assert_eq!(walls.len(), 1);
    assert_eq!(walls[0].wall_time_s, None);
    // Recording it later fills it in.
    assert!(
        store
            .set_file_wall_time("a", &hash("a1"), &span("2026-03-01T10:00:00Z", 42))
            .unwrap()
    );
    let walls = store.run_wall_times(&ResultFilter::default()).unwrap();
    assert_eq!(walls[0].wall_time_s, Some(42.0));
}

//! CI job records: stored whole, re-stored as updates, read back in time order.

use hourglass_history::SqliteStore;
use hourglass_history::ci_jobs;
use hourglass_model::{CiJob, CiProvider};

fn job(id: &str, created: &str, started: Option<&str>) -> CiJob {
    CiJob {
        provider: CiProvider::GitHub,
        job_id: id.into(),
        pipeline_id: Some("5".into()),
        commit: Some("abc".into()),
        name: "test".into(),
        runner: started.map(|_| "runner-1".to_owned()),
        status: if started.is_some() {
            "completed"
        } else {
            "queued"
        }
        .into(),
        conclusion: None,
        created_at: created.into(),
        started_at: started.map(str::to_owned),
        finished_at: None,
        queued_s: None,
    }
}

fn stored(store: &SqliteStore) -> Vec<CiJob> {
    let mut jobs = Vec::new();
    store
        .for_each_ci_job(None, &mut |job| {
            jobs.push(job);
            Ok(())
        })
        .unwrap();
    jobs
}

#[test]
fn a_job_read_again_replaces_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("h.db")).unwrap();
    let queued = job("1", "2026-03-02T10:00:00Z", None);
    let outcome = store
        .ingest_ci_jobs(&[queued, job("2", "2026-03-01T10:00:00Z", None)])
        .unwrap();
    assert_eq!((outcome.stored, outcome.updated), (2, 0));
    let started = job("1", "2026-03-02T10:00:00Z", Some("2026-03-02T10:03:00Z"));
    let outcome = store
        .ingest_ci_jobs(std::slice::from_ref(&started))
        .unwrap();
    assert_eq!((outcome.stored, outcome.updated), (0, 1));
    let jobs = stored(&store);
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].job_id, "2", "oldest first");
    assert_eq!(jobs[1], started);
}

#[test]
fn a_job_that_cannot_be_stored_stores_nothing_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("h.db")).unwrap();
    let good = job("1", "2026-03-02T10:00:00Z", None);
    let mut bad = job("2", "2026-03-02T10:00:00Z", None);
    bad.created_at = "not a time".into();
    assert!(store.ingest_ci_jobs(&[good, bad]).is_err());
    assert!(stored(&store).is_empty());
}

#[test]
fn the_fixtures_read_and_store() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ci-jobs");
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("h.db")).unwrap();
    let mut total = 0;
    for name in [
        "github-run-jobs.json",
        "github-paginated.json",
        "gitlab-pipeline-jobs.json",
    ] {
        let jobs = ci_jobs::read_file(&root.join(name)).unwrap();
        assert!(!jobs.is_empty(), "{name}");
        total += jobs.len();
        store.ingest_ci_jobs(&jobs).unwrap();
    }
    assert_eq!(stored(&store).len(), total);
    for name in ["bad-truncated.json", "bad-shape.json", "bad-not-utf8.json"] {
        let error = ci_jobs::read_file(&root.join(name)).unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
    }
}

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

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/ci-jobs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_truncation_of_a_page_is_an_error_or_fewer_jobs() {
    let bytes = fixture("github-paginated.json");
    let whole = ci_jobs::parse(std::path::Path::new("p.json"), &bytes)
        .unwrap()
        .len();
    for cut in 0..bytes.len() {
        match ci_jobs::parse(std::path::Path::new("p.json"), &bytes[..cut]) {
            // A cut at the end of the first page leaves a whole first page.
            // Only trailing white space cut: every job is still there.
            Ok(jobs) if bytes[cut..].iter().all(u8::is_ascii_whitespace) => {
                assert_eq!(jobs.len(), whole);
            }
            Ok(jobs) => assert!(jobs.len() < whole, "cut at {cut}"),
            Err(error) => assert!(error.to_string().starts_with("p.json"), "{error}"),
        }
    }
}

#[test]
fn a_hundred_thousand_jobs_parse() {
    let job = r#"{"id":1,"run_id":2,"head_sha":"abc","name":"t","status":"completed","created_at":"2026-03-02T10:00:00Z","started_at":"2026-03-02T10:01:00Z","completed_at":"2026-03-02T10:02:00Z","runner_name":"r"}"#;
    let mut text = String::from(r#"{"jobs":["#);
    for i in 0..100_000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&job.replace(r#""id":1"#, &format!(r#""id":{i}"#)));
    }
    text.push_str("]}");
    let jobs = ci_jobs::parse(std::path::Path::new("big.json"), text.as_bytes()).unwrap();
    assert_eq!(jobs.len(), 100_000);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let _ = ci_jobs::parse(std::path::Path::new("x.json"), &bytes);
    }

    #[test]
    fn hostile_json_never_panics(text in r#"[\[\]{}",:0-9a-z_ \-TZ.]{0,256}"#) {
        let _ = ci_jobs::parse(std::path::Path::new("x.json"), text.as_bytes());
    }
}

//! `hourglass ingest --ci-jobs`: GitHub and GitLab job records into the
//! history; bad files are reported with their position and store nothing.

use std::path::PathBuf;

use crate::support::{TempRepo, stderr, stdout};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ci-jobs")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn ci_jobs_from_github_and_gitlab_are_stored_once() {
    let repo = TempRepo::new();
    let github = fixture("github-run-jobs.json");
    let paginated = fixture("github-paginated.json");
    let gitlab = fixture("gitlab-pipeline-jobs.json");
    let args = [
        "ingest",
        "--format",
        "json",
        "--ci-jobs",
        &github,
        "--ci-jobs",
        &paginated,
        "--ci-jobs",
        &gitlab,
    ];
    let output = repo.run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let jobs: Vec<u64> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["jobs"].as_u64().unwrap())
        .collect();
    assert_eq!(jobs, [3, 3, 3]);
    // Again: every job is already known, none is new.
    let again = repo.run(&args);
    let report: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["stored"], 0, "{file}");
        assert_eq!(file["updated"], file["jobs"], "{file}");
    }
}

#[test]
fn bad_ci_job_files_name_file_and_position_and_store_nothing() {
    let repo = TempRepo::new();
    for (name, position) in [
        (
            "bad-truncated.json",
            "bad-truncated.json:19:15: EOF while parsing",
        ),
        (
            "bad-shape.json",
            "bad-shape.json:1:1: jobs[0].created_at: expected a string",
        ),
        ("bad-not-utf8.json", "bad-not-utf8.json:2:36: not UTF-8"),
    ] {
        std::fs::copy(fixture(name), repo.join(name)).unwrap();
        let output = repo.run(&["ingest", "--db", "h.db", "--ci-jobs", name]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(stderr(&output).contains(position), "{}", stderr(&output));
    }
    // A good file beside a bad one is stored; the bad one adds nothing.
    let good = fixture("github-run-jobs.json");
    let output = repo.run(&[
        "ingest",
        "--db",
        "h.db",
        "--format",
        "json",
        "--ci-jobs",
        "bad-shape.json",
        "--ci-jobs",
        &good,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["files"][0]["outcome"], "failed");
    assert_eq!(report["files"][1]["stored"], 3);
}

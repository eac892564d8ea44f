//! `hourglass ingest`, `export` and `runs` from the command line: the real
//! binary, a real SQLite file in a temporary repository.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use crate::support::{TempRepo, hourglass, stderr, stdout};

/// Variables of every CI service the ingest reads, removed from children so
/// that the tests behave the same on a developer machine and in CI.
const CI_VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_SHA",
    "GITHUB_REF_NAME",
    "GITHUB_HEAD_REF",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_JOB",
    "GITLAB_CI",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "CI_PIPELINE_ID",
    "CI_JOB_NAME",
    "BUILDKITE",
    "BUILDKITE_COMMIT",
    "BUILDKITE_BRANCH",
    "BUILDKITE_BUILD_ID",
    "BUILDKITE_LABEL",
    "CIRCLECI",
    "CIRCLE_SHA1",
    "CIRCLE_BRANCH",
    "CIRCLE_WORKFLOW_ID",
    "CIRCLE_JOB",
    "JENKINS_URL",
    "GIT_COMMIT",
    "GIT_BRANCH",
    "BRANCH_NAME",
    "BUILD_TAG",
    "JOB_NAME",
    "TF_BUILD",
    "BUILD_SOURCEVERSION",
    "BUILD_SOURCEBRANCHNAME",
    "BUILD_BUILDID",
    "SYSTEM_JOBNAME",
    "HOURGLASS_DB",
];

fn command(repo: &TempRepo, args: &[&str]) -> Command {
    let mut command = hourglass();
    command.args(args).current_dir(repo.path());
    for name in CI_VARIABLES {
        command.env_remove(name);
    }
    command
}

fn run(repo: &TempRepo, args: &[&str]) -> Output {
    command(repo, args).output().expect("run hourglass")
}

fn run_with_env(repo: &TempRepo, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(repo, args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run hourglass")
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// A JUnit file with `passed` passing tests of class `class`, one failure
/// and one test without a time.
fn junit(class: &str, passed: usize) -> String {
    use std::fmt::Write as _;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let _ = writeln!(
        xml,
        "<testsuite name=\"{class}\" timestamp=\"2026-03-02T09:30:00Z\">"
    );
    for n in 0..passed {
        let _ = writeln!(
            xml,
            "  <testcase classname=\"{class}\" name=\"passes_{n}\" time=\"0.25\"/>"
        );
    }
    let _ = writeln!(
        xml,
        "  <testcase classname=\"{class}\" name=\"fails\" time=\"1.5\">\n    \
         <failure message=\"expected 1, got 2\" type=\"AssertionError\">at line 3</failure>\n  \
         </testcase>"
    );
    let _ = writeln!(xml, "  <testcase classname=\"{class}\" name=\"untimed\"/>");
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}

/// Every exported result as JSON.
fn export(repo: &TempRepo) -> Vec<serde_json::Value> {
    let output = run(repo, &["export", "--format", "jsonl"]);
    assert_exit(&output, 0);
    stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn ingests_a_directory_and_a_glob() {
    let repo = TempRepo::new();
    repo.write("reports/a.xml", junit("com.example.A", 2));
    repo.write("reports/nested/b.xml", junit("com.example.B", 1));
    repo.write("reports/notes.txt", "not a report");
    repo.write("more/c.xml", junit("com.example.C", 0));
    let output = run(&repo, &["ingest", "reports", "more/*.xml"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(
        text.contains("3 files stored, 0 already stored, 0 failed"),
        "{text}"
    );
    assert!(text.contains("reports/nested/b.xml"), "{text}");
    let rows = export(&repo);
    assert_eq!(rows.len(), (2 + 2) + (1 + 2) + 2);
    assert!(repo.join(".hourglass/history.db").is_file());
}

#[test]
fn a_malformed_file_fails_alone_with_its_position() {
    let repo = TempRepo::new();
    repo.write("reports/a.xml", junit("com.example.A", 1));
    repo.write(
        "reports/bad.xml",
        "<testsuite name=\"s\">\n  <testcase classname=\"c\" name=\"t\">\n    <failure>\n",
    );
    repo.write("reports/c.xml", junit("com.example.C", 1));
    let output = run(&repo, &["ingest", "reports"]);
    assert_exit(&output, 2);
    let errors = stderr(&output);
    let line = errors
        .lines()
        .find(|line| line.contains("reports/bad.xml:"))
        .unwrap_or_else(|| panic!("no position for bad.xml in:\n{errors}"));
    // path:line:column: message
    let position = line.split("reports/bad.xml:").nth(1).unwrap();
    let mut parts = position.splitn(3, ':');
    let line_number: u64 = parts.next().unwrap().parse().expect("a line number");
    let column: u64 = parts.next().unwrap().parse().expect("a column number");
    assert!(line_number >= 3 && column >= 1, "{line}");
    assert!(stdout(&output).contains("2 files stored, 0 already stored, 1 failed"));
    let rows = export(&repo);
    let classes: std::collections::BTreeSet<_> = rows
        .iter()
        .map(|row| row["classname"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        classes.into_iter().collect::<Vec<_>>(),
        ["com.example.A", "com.example.C"],
        "nothing of bad.xml is stored"
    );
}

#[test]
fn the_same_file_twice_is_stored_once() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("com.example.A", 3));
    assert_exit(&run(&repo, &["ingest", "junit.xml"]), 0);
    let again = run(&repo, &["ingest", "junit.xml", "--format", "json"]);
    assert_exit(&again, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(report["already_stored"], 1);
    assert_eq!(report["stored"], 0);
    assert_eq!(report["files"][0]["outcome"], "already_stored");
    assert_eq!(export(&repo).len(), 5);
}

#[test]
fn ci_variables_name_the_run() {
    let repo = TempRepo::new();
    repo.commit_all("initial");
    repo.write("junit.xml", junit("com.example.A", 1));
    let output = run_with_env(
        &repo,
        &["ingest", "junit.xml"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REF_NAME", "release/2.0"),
            ("GITHUB_RUN_ID", "4242"),
            ("GITHUB_RUN_ATTEMPT", "3"),
            ("GITHUB_JOB", "test"),
        ],
    );
    assert_exit(&output, 0);
    let rows = export(&repo);
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row["run_id"], "github:4242:3:test");
        assert_eq!(row["commit"], "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(row["branch"], "release/2.0");
        assert_eq!(row["job"], "test");
    }
}

#[test]
fn outside_ci_the_repository_head_names_the_commit() {
    let repo = TempRepo::new();
    let head = repo.commit_all("initial");
    repo.write("junit.xml", junit("com.example.A", 1));
    assert_exit(&run(&repo, &["ingest", "junit.xml"]), 0);
    let rows = export(&repo);
    assert_eq!(rows[0]["commit"], head.as_str());
    assert_eq!(rows[0]["branch"], "main");
    // The file's testsuite timestamp dates the run.
    assert_eq!(rows[0]["timestamp"], "2026-03-02T09:30:00Z");
    assert!(rows[0]["run_id"].as_str().unwrap().starts_with("derived-"));
}

#[test]
fn flags_override_everything() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("com.example.A", 0));
    let output = run_with_env(
        &repo,
        &[
            "ingest",
            "--db",
            "elsewhere/h.db",
            "--run-id",
            "nightly-7",
            "--commit",
            "feedface",
            "--branch",
            "nightly",
            "--job",
            "integration",
            "--timestamp",
            "2026-04-01T00:00:00Z",
            "junit.xml",
        ],
        &[("GITHUB_SHA", "ignored"), ("GITHUB_RUN_ID", "1")],
    );
    assert_exit(&output, 0);
    let exported = run(&repo, &["export", "--db", "elsewhere/h.db"]);
    assert_exit(&exported, 0);
    let row: serde_json::Value =
        serde_json::from_str(stdout(&exported).lines().next().unwrap()).unwrap();
    assert_eq!(row["run_id"], "nightly-7");
    assert_eq!(row["commit"], "feedface");
    assert_eq!(row["branch"], "nightly");
    assert_eq!(row["job"], "integration");
    assert_eq!(row["timestamp"], "2026-04-01T00:00:00Z");
    assert!(!repo.join(".hourglass").exists(), "--db is honoured");
}

#[test]
fn export_jsonl_has_every_field() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("com.example.A", 1));
    assert_exit(&run(&repo, &["ingest", "junit.xml", "--run-id", "r1"]), 0);
    let rows = export(&repo);
    let by_name = |name: &str| {
        rows.iter()
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
    };
    let failed = by_name("fails");
    for field in [
        "run_id",
        "commit",
        "branch",
        "timestamp",
        "suite",
        "classname",
        "name",
        "status",
        "duration_s",
        "message",
        "attempts",
    ] {
        assert!(failed.get(field).is_some(), "{field} missing from {failed}");
    }
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["duration_s"], 1.5);
    assert_eq!(failed["message"], "expected 1, got 2");
    assert_eq!(failed["suite"], "com.example.A");
    assert_eq!(failed["run_id"], "r1");
    assert!(failed["attempts"].is_array());
    assert_eq!(by_name("passes_0")["status"], "passed");
    assert!(
        by_name("untimed")["duration_s"].is_null(),
        "unknown time is null, not 0"
    );
}

#[test]
fn export_csv_has_a_header_and_a_row_per_result() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("com.example.A", 1));
    assert_exit(&run(&repo, &["ingest", "junit.xml", "--run-id", "r1"]), 0);
    let output = run(&repo, &["export", "--format", "csv"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("run_id,commit,branch,timestamp")
    );
    assert_eq!(lines.count(), 3);
    assert!(text.contains(",fails,failed,1.5,"), "{text}");
}

#[test]
fn export_into_a_closed_pipe_ends_quietly() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("com.example.A", 5000));
    assert_exit(&run(&repo, &["ingest", "junit.xml"]), 0);
    let mut child = command(&repo, &["export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn export");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped: the pipe closes with most of the output unread.
    let output = child.wait_with_output().unwrap();
    assert!(first.contains("\"run_id\""));
    let errors = stderr(&output);
    assert!(!errors.contains("panicked"), "{errors}");
    assert_exit(&output, 0);
}

#[test]
fn runs_lists_each_run_with_its_counts() {
    let repo = TempRepo::new();
    repo.write("one.xml", junit("com.example.A", 2));
    repo.write("two.xml", junit("com.example.B", 4));
    let first = [
        "ingest",
        "one.xml",
        "--run-id",
        "first",
        "--commit",
        "aaaaaaaaaaaaaaaa",
    ];
    assert_exit(&run(&repo, &first), 0);
    let second = [
        "ingest",
        "two.xml",
        "--run-id",
        "second",
        "--timestamp",
        "2026-03-05T00:00:00Z",
    ];
    assert_exit(&run(&repo, &second), 0);
    let output = run(&repo, &["runs"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("RUN") && lines[0].contains("FLAKY"),
        "{text}"
    );
    let first_row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(first_row[0], "first");
    assert_eq!(first_row[1], "aaaaaaaaaa", "the commit is shortened");
    // tests passed failed error skipped flaky
    assert_eq!(&first_row[4..10], ["4", "3", "1", "0", "0", "0"]);
    assert!(lines[2].starts_with("second"));

    let json = run(&repo, &["runs", "--format", "json", "--limit", "1"]);
    assert_exit(&json, 0);
    let runs: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["run_id"], "second");
    assert_eq!(runs[0]["tests"], 6);
}

#[test]
fn a_file_without_testcases_is_stored_with_a_warning() {
    let repo = TempRepo::new();
    repo.write(
        "empty.xml",
        "<testsuites><testsuite name=\"none\"/></testsuites>",
    );
    let output = run(&repo, &["ingest", "empty.xml"]);
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("warning: empty.xml: no testcases"));
}

#[test]
fn reading_commands_refuse_a_missing_history() {
    let repo = TempRepo::new();
    for command in ["export", "runs"] {
        let output = run(&repo, &[command]);
        assert_exit(&output, 2);
        assert!(
            stderr(&output).contains("no history at"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn eight_ingest_processes_at_once_lose_nothing() {
    let repo = TempRepo::new();
    for n in 0..8 {
        repo.write(
            &format!("junit-{n}.xml"),
            junit(&format!("com.example.P{n}"), 200),
        );
    }
    let children: Vec<_> = (0..8)
        .map(|n| {
            let file = format!("junit-{n}.xml");
            let run_id = format!("run-{n}");
            command(&repo, &["ingest", &file, "--run-id", &run_id])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn ingest")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_exit(&output, 0);
    }
    let output = run(&repo, &["runs", "--format", "json"]);
    assert_exit(&output, 0);
    let runs: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 8);
    assert!(runs.iter().all(|run| run["tests"] == 202), "{runs:?}");
    assert_eq!(export(&repo).len(), 8 * 202);
}

#[test]
fn fixtures_from_real_runners_ingest() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/junit");
    if !fixtures.is_dir() {
        return;
    }
    let repo = TempRepo::new();
    let output = run(
        &repo,
        &["ingest", fixtures.to_str().unwrap(), "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|_| panic!("json report: {}", stderr(&output)));
    let stored = report["stored"].as_u64().unwrap();
    assert!(stored > 0, "{report}");
    // Files that fail are ones written to be malformed; each says where.
    for file in report["files"].as_array().unwrap() {
        if file["outcome"] == "failed" {
            assert!(
                file["error"].as_str().unwrap().contains("fixtures/junit"),
                "{file}"
            );
        }
    }
}

#[test]
fn hourglass_toml_sets_how_much_output_is_kept_and_the_flag_wins() {
    let repo = TempRepo::new();
    repo.write(
        "hourglass.toml",
        "[history]\nmax-output-bytes = 16\nkeep-output = \"all\"\n",
    );
    let noisy = "\
<testsuite name=\"noisy\" tests=\"1\">
  <testcase classname=\"noisy\" name=\"talks\" time=\"0.1\">
    <system-out>0123456789abcdefghijklmnopqrstuvwxyz</system-out>
  </testcase>
</testsuite>
";
    repo.write("a/junit.xml", noisy);
    assert_exit(&run(&repo, &["ingest", "--run-id", "r1", "a/junit.xml"]), 0);
    repo.write("b/junit.xml", noisy);
    assert_exit(
        &run(
            &repo,
            &[
                "ingest",
                "--run-id",
                "r2",
                "--max-output-bytes",
                "4",
                "b/junit.xml",
            ],
        ),
        0,
    );
    let rows = export(&repo);
    let kept = |run: &str| {
        let row = rows
            .iter()
            .find(|row| row["run_id"] == run)
            .expect("a row of the run");
        (
            row["output"].as_str().unwrap_or("").len(),
            row["output_dropped_bytes"].as_u64().unwrap_or(0),
        )
    };
    let (kept_r1, dropped_r1) = kept("r1");
    assert!(
        kept_r1 <= 16 && dropped_r1 > 0,
        "r1 kept {kept_r1}, dropped {dropped_r1}"
    );
    let (kept_r2, dropped_r2) = kept("r2");
    assert!(
        kept_r2 <= 4 && dropped_r2 > dropped_r1,
        "r2 kept {kept_r2}, dropped {dropped_r2}"
    );
}

#[test]
fn prune_drops_runs_before_a_date_dry_run_first() {
    let repo = TempRepo::new();
    repo.write("a.xml", junit("com.example.A", 2));
    repo.write("b.xml", junit("com.example.B", 1));
    for (file, run_id, timestamp) in [
        ("a.xml", "old", "2026-01-05T08:00:00Z"),
        ("b.xml", "new", "2026-03-05T08:00:00Z"),
    ] {
        let output = run(
            &repo,
            &["ingest", "--run-id", run_id, "--timestamp", timestamp, file],
        );
        assert_exit(&output, 0);
    }
    let dry = run(
        &repo,
        &[
            "prune",
            "--before",
            "2026-02-01",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_exit(&dry, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&dry)).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["before"], "2026-02-01T00:00:00Z");
    assert_eq!(report["runs"], 1);
    assert_eq!(report["results"], 4);
    assert_eq!(report["tests"], 4);
    assert_eq!(report["vacuum"], "none");
    assert_eq!(export(&repo).len(), 4 + 3);

    let real = run(&repo, &["prune", "--before", "2026-02-01"]);
    assert_exit(&real, 0);
    let text = stdout(&real);
    assert!(
        text.starts_with("dropped 1 runs before 2026-02-01T00:00:00Z: 1 files, 4 results"),
        "{text}"
    );
    assert!(text.contains("incremental vacuum"), "{text}");
    let rows = export(&repo);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|row| row["run_id"] == "new"));
}

#[test]
fn prune_takes_retention_days_from_the_settings_and_needs_a_date_otherwise() {
    let repo = TempRepo::new();
    repo.write("a.xml", junit("com.example.A", 1));
    let output = run(
        &repo,
        &[
            "ingest",
            "--run-id",
            "ancient",
            "--timestamp",
            "2001-01-01T00:00:00Z",
            "a.xml",
        ],
    );
    assert_exit(&output, 0);
    let without = run(&repo, &["prune"]);
    assert_exit(&without, 2);
    assert!(
        stderr(&without).contains("retention-days"),
        "{}",
        stderr(&without)
    );
    let bad = run(&repo, &["prune", "--before", "soon"]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("--before \"soon\""),
        "{}",
        stderr(&bad)
    );

    repo.write("hourglass.toml", "[history]\nretention-days = 30\n");
    let pruned = run(&repo, &["prune", "--format", "json"]);
    assert_exit(&pruned, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&pruned)).unwrap();
    assert_eq!(report["runs"], 1);
    assert!(export(&repo).is_empty());
}

#[test]
fn a_passing_tests_output_is_dropped_unless_asked_for() {
    let repo = TempRepo::new();
    repo.write(
        "out.xml",
        "<testsuite name=\"s\" timestamp=\"2026-03-02T09:30:00Z\">\n\
         <testcase classname=\"c\" name=\"passes\"><system-out>chatty</system-out></testcase>\n\
         <testcase classname=\"c\" name=\"fails\"><failure message=\"m\"/><system-out>why</system-out></testcase>\n\
         </testsuite>\n",
    );
    assert_exit(&run(&repo, &["ingest", "--run-id", "one", "out.xml"]), 0);
    assert_exit(
        &run(
            &repo,
            &[
                "ingest",
                "--run-id",
                "two",
                "--keep-output",
                "all",
                "out.xml",
            ],
        ),
        0,
    );
    let rows = export(&repo);
    let output = |run_id: &str, name: &str| {
        rows.iter()
            .find(|row| row["run_id"] == run_id && row["name"] == name)
            .map(|row| (row["output"].clone(), row["output_dropped_bytes"].clone()))
            .unwrap()
    };
    assert_eq!(output("one", "passes"), (serde_json::Value::Null, 6.into()));
    assert_eq!(output("one", "fails"), ("why".into(), 0.into()));
    assert_eq!(output("two", "passes"), ("chatty".into(), 0.into()));
}

//! The shared PostgreSQL history from the command line: many `hourglass
//! ingest` processes into one database, a process killed mid-file, and
//! the errors that name what is wrong. The PostgreSQL cases run when
//! `HOURGLASS_TEST_PG` names a server (`.ci/postgres start`), and say on
//! stderr that they did not run otherwise (under CI=true they fail).

use std::fmt::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hourglass_history::testing::TestDatabase;

use crate::support::{TempRepo, hourglass, stderr, stdout};

fn command(repo: &TempRepo, args: &[&str]) -> Command {
    let mut command = hourglass();
    command
        .args(args)
        .current_dir(repo.path())
        .env_remove("HOURGLASS_DB")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env_remove("BUILDKITE")
        .env_remove("CIRCLECI")
        .env_remove("JENKINS_URL")
        .env_remove("TF_BUILD");
    command
}

fn run(repo: &TempRepo, args: &[&str]) -> Output {
    command(repo, args).output().expect("run hourglass")
}

/// A JUnit file of `tests` testcases of class `class`, some failing.
fn junit(class: &str, tests: usize) -> String {
    let mut xml = format!("<testsuite name=\"suite\" tests=\"{tests}\">\n");
    for n in 0..tests {
        if n % 7 == 3 {
            let _ = writeln!(
                xml,
                "<testcase classname=\"{class}\" name=\"t{n}\" time=\"0.{n}\"><failure message=\"boom {n}\">trace</failure></testcase>"
            );
        } else {
            let _ = writeln!(
                xml,
                "<testcase classname=\"{class}\" name=\"t{n}\" time=\"0.{n}\"/>"
            );
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn a_url_of_another_scheme_is_an_error_not_a_file() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("c", 2));
    let output = run(
        &repo,
        &["ingest", "--db", "mysql://ci:secret@db/hg", "junit.xml"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("postgres://"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("secret"), "{}", stderr(&output));
    assert!(!repo.join("mysql:").exists(), "a URL became a file name");
}

#[test]
fn an_unreachable_server_and_a_wrong_password_each_get_their_own_message() {
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("c", 2));
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://ci:pw@127.0.0.1:{port}/hg?sslmode=disable");
    let output = run(&repo, &["ingest", "--db", &url, "junit.xml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot reach the server"),
        "{}",
        stderr(&output)
    );

    let Some(database) = TestDatabase::create("cli::postgres::wrong_password") else {
        return;
    };
    let wrong = database
        .url()
        .replacen(":hourglass-test@", ":not-the-password@", 1);
    if wrong == database.url() {
        eprintln!("HOURGLASS_TEST_PG has another password: wrong-password case skipped");
        return;
    }
    let output = run(&repo, &["runs", "--db", &wrong]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("refused user"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("not-the-password"));
}

#[test]
fn a_database_of_a_newer_schema_is_refused_with_exit_2() {
    let Some(database) = TestDatabase::create("cli::postgres::newer_schema") else {
        return;
    };
    let repo = TempRepo::new();
    repo.write("junit.xml", junit("c", 2));
    let output = run(&repo, &["ingest", "--db", database.url(), "junit.xml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let store = hourglass_history::PgStore::open(database.url()).unwrap();
    store
        .client()
        .batch_execute("INSERT INTO hourglass_migrations (version) VALUES (99)")
        .unwrap();
    let output = run(&repo, &["flaky", "--db", database.url()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("schema version 99, newer than this hourglass knows"),
        "{}",
        stderr(&output)
    );
}

/// 8 processes × 10 files into one database at once: nothing lost or
/// doubled, and the export is the one the same files give in SQLite.
#[test]
fn concurrent_ingest_processes_lose_nothing_and_export_what_sqlite_does() {
    const PROCESSES: usize = 8;
    const FILES: usize = 10;
    let Some(database) = TestDatabase::create("cli::postgres::concurrent_ingest") else {
        return;
    };
    let repo = TempRepo::new();
    for p in 0..PROCESSES {
        for f in 0..FILES {
            // Two files a run, some tests in both (reruns merged).
            repo.write(
                &format!("p{p}/run{}/f{f}.xml", f / 2),
                junit(&format!("c{p}"), 20 + f),
            );
        }
    }
    let ingest_args = |p: usize, run: usize, db: &str| -> Vec<String> {
        vec![
            "ingest".into(),
            "--db".into(),
            db.into(),
            "--run-id".into(),
            format!("p{p}-r{run}"),
            "--commit".into(),
            format!("c{p}{run}"),
            "--timestamp".into(),
            format!("2026-0{}-1{}T10:00:00Z", 1 + run % 3, p),
            format!("p{p}/run{run}"),
        ]
    };
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let url = database.url().to_owned();
            std::thread::spawn({
                let path = repo.path().to_path_buf();
                move || {
                    let mut codes = Vec::new();
                    for run in 0..FILES / 2 {
                        let output = hourglass()
                            .args(ingest_args(p, run, &url))
                            .current_dir(&path)
                            .env_remove("HOURGLASS_DB")
                            .output()
                            .expect("run hourglass");
                        codes.push((
                            output.status.code(),
                            String::from_utf8_lossy(&output.stderr).into_owned(),
                        ));
                    }
                    codes
                }
            })
        })
        .collect();
    for child in children {
        for (code, stderr) in child.join().unwrap() {
            assert_eq!(code, Some(0), "{stderr}");
        }
    }
    for p in 0..PROCESSES {
        for run_index in 0..FILES / 2 {
            let args = ingest_args(p, run_index, "sqlite.db");
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = run(&repo, &args);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        }
    }
    let pg = run(
        &repo,
        &["export", "--db", database.url(), "--format", "jsonl"],
    );
    let sqlite = run(&repo, &["export", "--db", "sqlite.db", "--format", "jsonl"]);
    assert_eq!(pg.status.code(), Some(0), "{}", stderr(&pg));
    let pg_lines = sorted_lines(&stdout(&pg));
    // A run's second file holds its first file's tests and one more.
    let expected: usize = PROCESSES * (0..FILES / 2).map(|run| 21 + 2 * run).sum::<usize>();
    assert_eq!(pg_lines.len(), expected);
    assert_eq!(pg_lines, sorted_lines(&stdout(&sqlite)));
    // Ingesting everything again stores nothing.
    let args = ingest_args(0, 0, database.url());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let again = run(&repo, &args);
    assert!(
        stdout(&again).contains("0 files stored, 2 already stored"),
        "{}",
        stdout(&again)
    );
}

/// `.ci/pg-load` (the fleet load test: concurrent `hourglass ingest`
/// processes, one file each, into one database, then the same files into
/// SQLite) at a small scale, 8 processes × 6 files: it checks that no row
/// is lost or doubled, that the exports are identical and that files
/// ingested again by all processes at once store nothing.
#[test]
fn the_load_script_finds_nothing_lost_or_doubled_at_a_small_scale() {
    let Some(server) = hourglass_history::testing::server_url("cli::postgres::load_script") else {
        return;
    };
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-load");
    let output = Command::new(script)
        .args([env!("CARGO_BIN_EXE_hourglass"), &server, "8", "6", "20"])
        .env_remove("HOURGLASS_DB")
        .output()
        .expect("run .ci/pg-load (python3 and psql)");
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("stored results: 480 (expected 480); export identical to SQLite's: True"),
        "{said}"
    );
}

/// `kill -9` of an ingest in the middle of a big file: the file's
/// transaction never commits, nothing of it is stored, and the next
/// ingest stores it whole.
#[test]
fn an_ingest_killed_mid_file_leaves_nothing_of_it() {
    let Some(database) = TestDatabase::create("cli::postgres::killed_mid_file") else {
        return;
    };
    let repo = TempRepo::new();
    repo.write("big.xml", junit("c.Big", 150_000));
    let mut child = command(
        &repo,
        &[
            "ingest",
            "--db",
            database.url(),
            "--run-id",
            "big",
            "big.xml",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let store = hourglass_history::PgStore::open(database.url()).unwrap();
    // Wait until the file is streaming in.
    if !wait_for_copy(&store, &mut child) {
        eprintln!("the ingest finished before it could be killed mid-file: case inconclusive");
        let _ = child.kill();
        return;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The server notices the dead client and rolls its transaction back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while store
        .client()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(store.row_count("runs").unwrap(), 0);
    assert_eq!(store.row_count("files").unwrap(), 0);
    assert_eq!(store.result_count().unwrap(), 0);
    let output = run(
        &repo,
        &[
            "ingest",
            "--db",
            database.url(),
            "--run-id",
            "big",
            "big.xml",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(store.result_count().unwrap(), 150_000);
}

/// A PostgreSQL cluster of a test's own (`.ci/postgres start`), for what
/// would disturb the other cases on the shared one; stopped on drop.
struct OwnCluster {
    url: String,
    dir: String,
}

impl OwnCluster {
    fn script() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres")
    }

    fn start() -> Self {
        let output = Command::new(Self::script())
            .arg("start")
            .output()
            .expect("run .ci/postgres start");
        assert!(output.status.success(), "{}", stderr(&output));
        let exports = stdout(&output);
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}='")))
                .and_then(|rest| rest.strip_suffix('\''))
                .unwrap_or_else(|| panic!("no {name} in {exports}"))
                .to_owned()
        };
        Self {
            url: value("HOURGLASS_TEST_PG"),
            dir: value("HOURGLASS_TEST_PG_DIR"),
        }
    }

    fn restart(&self) {
        let output = Command::new(Self::script())
            .args(["restart", &self.dir])
            .output()
            .expect("run .ci/postgres restart");
        assert!(output.status.success(), "{}", stderr(&output));
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .args(["stop", &self.dir])
            .output();
    }
}

/// Waits until an ingest streams a file into the server (a transaction
/// open after one of its `COPY`s of a chunk: the staged rows, the new
/// tests, the packed passes); false when `child` ended first.
fn wait_for_copy(store: &hourglass_history::PgStore, child: &mut std::process::Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let copying: i64 = store
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND query LIKE 'COPY %'",
                &[],
            )
            .unwrap()
            .get(0);
        if copying > 0 {
            return true;
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server restarted while an ingest streams a file: the ingest fails
/// that file with an error that names it and says nothing of it was
/// stored, exits 2, and after the restart the store holds nothing of it;
/// the same command then stores it whole.
#[test]
fn a_server_restarted_mid_ingest_fails_the_file_cleanly() {
    if hourglass_history::testing::server_url("cli::postgres::server_restarted_mid_ingest")
        .is_none()
    {
        return;
    }
    let cluster = OwnCluster::start();
    let repo = TempRepo::new();
    repo.write("big.xml", junit("c.Big", 150_000));
    let args = [
        "ingest",
        "--db",
        cluster.url.as_str(),
        "--run-id",
        "big",
        "big.xml",
    ];
    let child = command(&repo, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = hourglass_history::PgStore::open(&cluster.url).unwrap();
    let mut child = child;
    if !wait_for_copy(&store, &mut child) {
        eprintln!("the ingest finished before the server could be restarted: case inconclusive");
        return;
    }
    drop(store);
    cluster.restart();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("big.xml"), "{said}");
    assert!(said.contains("lost the connection"), "{said}");
    assert!(said.contains("nothing of it is stored"), "{said}");
    assert!(!said.contains("hourglass-test"), "password shown: {said}");
    let store = hourglass_history::PgStore::open(&cluster.url).unwrap();
    assert_eq!(store.row_count("runs").unwrap(), 0);
    assert_eq!(store.row_count("files").unwrap(), 0);
    assert_eq!(store.result_count().unwrap(), 0);
    let output = run(&repo, &args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(store.result_count().unwrap(), 150_000);
}

/// `plan` and `report` read a PostgreSQL history as they read SQLite: the same files ingested
/// into both give the same supply, model and report figures.
#[test]
fn plan_and_report_read_a_postgres_history_as_they_read_sqlite() {
    let Some(database) = TestDatabase::create("cli::postgres::plan_report") else {
        return;
    };
    let repo = TempRepo::new();
    repo.write("src/lib.rs", "pub fn one() -> u32 { 1 }\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "--quiet", "-m", "one"]);
    repo.write("a.xml", junit("a", 12));
    repo.write("b.xml", junit("b", 9));
    let sqlite = repo.join("h.db");
    let sqlite = sqlite.to_str().unwrap();
    for db in [sqlite, database.url()] {
        for (file, run_id, timestamp) in [
            ("a.xml", "r1", "2026-03-02T10:00:00Z"),
            ("b.xml", "r2", "2026-03-03T11:00:00Z"),
        ] {
            let output = run(
                &repo,
                &[
                    "ingest",
                    "--db",
                    db,
                    "--run-id",
                    run_id,
                    "--commit",
                    run_id,
                    "--timestamp",
                    timestamp,
                    file,
                ],
            );
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        }
    }
    let json = |args: &[&str]| -> serde_json::Value {
        let output = run(&repo, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("secret"), "{}", stderr(&output));
        serde_json::from_str(&stdout(&output)).unwrap()
    };
    let plan = |db: &str| {
        json(&[
            "plan",
            "--db",
            db,
            "--format",
            "json",
            "--weeks",
            "0",
            "--no-cache",
        ])
    };
    let (from_sqlite, from_postgres) = (plan(sqlite), plan(database.url()));
    // Sums may add the same durations in another order: equal up to rounding.
    for key in ["supply", "model"] {
        assert!(
            same_json(&from_sqlite[key], &from_postgres[key]),
            "{key}: SQLite and PostgreSQL differ"
        );
    }
    let runs: u64 = from_postgres["supply"]["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|week| week["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(runs, 2, "{}", from_postgres["supply"]);
    let report = |db: &str| {
        json(&[
            "report", "--db", db, "--format", "json", "--week", "2026-W10",
        ])
    };
    let (from_sqlite, from_postgres) = (report(sqlite), report(database.url()));
    for key in ["headline", "totals", "weeks", "flaky", "broken", "slow"] {
        assert!(
            same_json(&from_sqlite[key], &from_postgres[key]),
            "{key}: SQLite and PostgreSQL differ"
        );
    }
}

/// Equal JSON, numbers equal to within a relative 1e-9.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

#[test]
fn prune_drops_old_runs_from_a_postgres_history() {
    let Some(database) = TestDatabase::create("cli::postgres::prune") else {
        return;
    };
    let repo = TempRepo::new();
    repo.write("old.xml", junit("old", 8));
    repo.write("new.xml", junit("new", 8));
    for (file, run_id, timestamp) in [
        ("old.xml", "old", "2026-01-10T10:00:00Z"),
        ("new.xml", "new", "2026-03-10T10:00:00Z"),
    ] {
        let output = run(
            &repo,
            &[
                "ingest",
                "--db",
                database.url(),
                "--run-id",
                run_id,
                "--timestamp",
                timestamp,
                file,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let output = run(
        &repo,
        &[
            "prune",
            "--db",
            database.url(),
            "--before",
            "2026-02-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["runs"], 1);
    assert_eq!(report["results"], 8);
    assert_eq!(report["dry_run"], false);
    let output = run(&repo, &["export", "--db", database.url()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stdout(&output).contains("\"old\""), "{}", stdout(&output));
    assert_eq!(stdout(&output).lines().count(), 8);
}

#[test]
fn ci_jobs_go_to_a_postgres_history_once_and_are_updated_after() {
    let Some(database) = TestDatabase::create("cli::postgres::ci_jobs") else {
        return;
    };
    let repo = TempRepo::new();
    let fixture = |name: &str| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/ci-jobs")
            .join(name)
            .display()
            .to_string()
    };
    let (github, gitlab) = (
        fixture("github-run-jobs.json"),
        fixture("gitlab-pipeline-jobs.json"),
    );
    let args = [
        "ingest",
        "--db",
        database.url(),
        "--format",
        "json",
        "--ci-jobs",
        &github,
        "--ci-jobs",
        &gitlab,
    ];
    let first = run(&repo, &args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let report: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["stored"], 3, "{file}");
        assert_eq!(file["updated"], 0, "{file}");
    }
    let again = run(&repo, &args);
    let report: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["stored"], 0, "{file}");
        assert_eq!(file["updated"], 3, "{file}");
    }
    let store = hourglass_history::PgStore::open(database.url()).unwrap();
    assert_eq!(store.row_count("ci_jobs").unwrap(), 6);
}

//! `hourglass flaky`, `slow` and `owners` from the command line, on a history
//! built by the real `hourglass ingest` from JUnit files written here.

use serde_json::Value;

use crate::support::{TempRepo, stderr, stdout};

const RUNS: usize = 16;

fn commit(run: usize) -> String {
    // Runs 3 and 4 are a CI re-run of one commit.
    let id = if run == 4 { 3 } else { run };
    format!("{:040x}", 0x00c0_ffee_u64 * 1000 + id as u64)
}

fn testcase(classname: &str, name: &str, time: f64, failed: bool) -> String {
    let body = if failed {
        "<failure message=\"assertion failed\">expected 1, got 2</failure>"
    } else {
        ""
    };
    format!(
        "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"{time}\">{body}</testcase>\n"
    )
}

/// One run's JUnit file.
///
/// - `tests.test_api test_flaky` fails now and then, once on the commit of a re-run.
/// - `tests.test_api test_broken` fails from run 13 on.
/// - `com.acme.PaymentTest testCharge` takes five times longer from run 8 on.
/// - `mycrate::it net::retries` (a nextest id) fails once, then passes on a re-run.
/// - `misc orphan` has no file in the repository.
fn junit(run: usize) -> String {
    let flaky_fails = matches!(run, 1 | 3 | 7 | 10 | 12);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    xml.push_str("  <testsuite name=\"pytest\">\n");
    xml.push_str(&testcase("tests.test_api", "test_flaky", 0.05, flaky_fails));
    xml.push_str(&testcase("tests.test_api", "test_broken", 0.02, run >= 13));
    xml.push_str("  </testsuite>\n  <testsuite name=\"com.acme.PaymentTest\">\n");
    let charge = if run >= 8 { 1.0 } else { 0.2 } * (1.0 + (run % 3) as f64 * 0.01);
    xml.push_str(&testcase(
        "com.acme.PaymentTest",
        "testCharge",
        charge,
        false,
    ));
    xml.push_str(&testcase("com.acme.PaymentTest", "testRefund", 0.01, false));
    xml.push_str("  </testsuite>\n  <testsuite name=\"mycrate::it\">\n");
    xml.push_str(&testcase("mycrate::it", "net::retries", 0.3, run == 3));
    xml.push_str("  </testsuite>\n  <testsuite name=\"misc\">\n");
    xml.push_str(&testcase("misc", "orphan", 2.0, false));
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// A repository with CODEOWNERS and source files, and a history of RUNS runs.
fn repo_with_history() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        ".github/CODEOWNERS",
        "# owners\n* @everyone\n/tests/ @qa\n/src/payments/ @payments\n/src/other/ \n",
    );
    repo.write("tests/test_api.py", "def test_flaky(): pass\n");
    repo.write(
        "src/payments/java/com/acme/PaymentTest.java",
        "class PaymentTest {}\n",
    );
    repo.write("README.md", "readme\n");
    repo.commit_all("initial");
    let now = jiff::Timestamp::now();
    for run in 0..RUNS {
        let path = format!("junit/run-{run:02}.xml");
        repo.write(&path, junit(run));
        let timestamp = now
            .checked_sub(jiff::SignedDuration::from_hours((RUNS - run) as i64))
            .expect("a time in range")
            .to_string();
        let output = repo.run(&[
            "ingest",
            "--run-id",
            &format!("run-{run:02}"),
            "--commit",
            &commit(run),
            "--branch",
            "main",
            "--timestamp",
            &timestamp,
            &path,
        ]);
        assert!(
            output.status.success(),
            "ingest of run {run} failed: {}",
            stderr(&output)
        );
    }
    repo
}

fn json(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        stderr(output)
    );
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

fn find<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|t| t["name"] == name)
}

#[test]
fn flaky_names_flaky_and_broken_tests_with_their_evidence_and_owners() {
    let repo = repo_with_history();
    let list = json(&repo.run(&["flaky", "--format", "json"]));

    let flaky = find(&list, "test_flaky").expect("test_flaky listed");
    assert_eq!(flaky["verdict"], "flaky");
    assert_eq!(flaky["owners"], serde_json::json!(["@qa"]));
    assert_eq!(flaky["file"], "tests/test_api.py");
    let kinds: Vec<&str> = flaky["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"same_commit"), "{kinds:?}");
    assert!(kinds.contains(&"flips"), "{kinds:?}");
    let score = flaky["score"].as_f64().unwrap();
    assert!(score > 0.1 && score <= 1.0, "{score}");

    let broken = find(&list, "test_broken").expect("test_broken listed");
    assert_eq!(broken["verdict"], "broken");
    assert_eq!(broken["since_commit"], commit(13).as_str());
    assert_eq!(broken["since_run"], "run-13");
    assert_eq!(broken["last_passing_commit"], commit(12).as_str());

    let retried = find(&list, "net::retries").expect("net::retries listed");
    assert_eq!(retried["verdict"], "flaky");

    assert!(
        find(&list, "testRefund").is_none(),
        "healthy tests are left out"
    );
    let all = json(&repo.run(&["flaky", "--format", "json", "--all"]));
    assert_eq!(
        find(&all, "testRefund").expect("listed with --all")["verdict"],
        "healthy"
    );
    assert_eq!(
        find(&all, "orphan").expect("listed")["owners"],
        serde_json::json!([])
    );
}

#[test]
fn flaky_fails_on_request_filters_for_nextest_and_updates_the_quarantine() {
    let repo = repo_with_history();
    assert_eq!(repo.run(&["flaky"]).status.code(), Some(0));
    assert_eq!(
        repo.run(&["flaky", "--fail-on", "broken"]).status.code(),
        Some(1)
    );
    let table = repo.run(&["flaky", "--format", "table"]);
    assert!(
        stdout(&table).contains("tests.test_api test_broken"),
        "{}",
        stdout(&table)
    );

    let nextest = repo.run(&["flaky", "--format", "nextest"]);
    assert_eq!(
        stdout(&nextest).trim(),
        "not (binary_id(=mycrate::it) & test(=net::retries))"
    );

    let update = repo.run(&["flaky", "--update-quarantine", "--format", "json"]);
    assert!(update.status.success(), "{}", stderr(&update));
    let text = std::fs::read_to_string(repo.join(".hourglass/quarantine.toml"))
        .expect("quarantine written");
    assert!(text.contains("name = \"test_flaky\""), "{text}");
    assert!(text.contains("name = \"net::retries\""), "{text}");
    assert!(!text.contains("test_broken"), "{text}");
    assert!(text.contains("owner = \"@qa\""), "{text}");
    // A second update changes nothing.
    assert!(repo.run(&["flaky", "--update-quarantine"]).status.success());
    let again = std::fs::read_to_string(repo.join(".hourglass/quarantine.toml")).unwrap();
    assert_eq!(again, text);
}

#[test]
fn slow_reports_shares_and_the_run_a_test_slowed_down_at() {
    let repo = repo_with_history();
    let list = json(&repo.run(&["slow", "--format", "json"]));
    let charge = find(&list, "testCharge").expect("testCharge listed");
    let regression = &charge["regression"];
    assert_eq!(regression["since_run"], "run-08", "{charge}");
    assert_eq!(regression["since_commit"], commit(8).as_str());
    let factor = regression["factor"].as_f64().unwrap();
    assert!((factor - 5.0).abs() < 0.3, "{factor}");
    assert!(find(&list, "testRefund").unwrap()["regression"].is_null());
    let shares: f64 = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["share"].as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-3, "{shares}");
    assert_eq!(list[0]["name"], "orphan", "slowest first");

    let table = stdout(&repo.run(&["slow", "--top", "2"]));
    assert!(
        table.contains("Suites") && table.contains("com.acme.PaymentTest"),
        "{table}"
    );
}

#[test]
fn owners_digests_route_tests_through_codeowners() {
    let repo = repo_with_history();
    let document = json(&repo.run(&["owners", "--format", "json"]));
    let owners = document["owners"].as_array().unwrap();
    let qa = owners
        .iter()
        .find(|d| d["owner"] == "@qa")
        .expect("@qa digest");
    assert_eq!(qa["flaky"][0]["name"], "test_flaky");
    assert_eq!(qa["broken"][0]["since_commit"], commit(13).as_str());
    let payments = owners
        .iter()
        .find(|d| d["owner"] == "@payments")
        .expect("@payments digest");
    assert_eq!(payments["regressions"][0]["name"], "testCharge");
    let unowned = &document["unowned"];
    let unowned_names: Vec<&str> = unowned["slowest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(unowned_names.contains(&"orphan"), "{unowned}");
    assert!(unowned_names.contains(&"net::retries"), "{unowned}");

    let markdown = stdout(&repo.run(&["owners", "--owner", "qa"]));
    assert!(markdown.contains("## @qa"), "{markdown}");
    assert!(!markdown.contains("## @payments"), "{markdown}");
    assert!(markdown.contains("test_broken"), "{markdown}");
}

#[test]
fn a_missing_history_is_bad_input() {
    let repo = TempRepo::new();
    let output = repo.run(&["flaky", "--db", "nowhere.db"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("nowhere.db"),
        "{}",
        stderr(&output)
    );
}

//! Files written by real test runners, read back.
//!
//! Every `<variant>.summary.json` under `fixtures/junit/` sits beside the
//! `<variant>.xml` its runner wrote, and holds the counts that the runner
//! printed on its own console in the same run (`fixtures/junit/regenerate.sh`
//! parses them). The directory is walked at test time, so a new fixture is
//! covered without touching this file.
//!
//! The runner's counts map onto outcomes as the summary's flags say:
//! - `runner_separates_errors`: the runner counts errors apart from failures
//!   (pytest, Ant, PHPUnit); otherwise `failed` covers both, and only the sum
//!   of `Failed` and `Error` results is compared.
//! - `junit_records_retries`: the file keeps a trace of each retry, so a test
//!   that failed and then passed must read as `Flaky`; otherwise the file only
//!   shows the passing attempt and the test reads as `Passed`.
//! - `junit_records_skipped`: the file lists skipped tests (cargo-nextest's
//!   does not, so none may be read from it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hourglass_junit::{ReadOptions, read_all};
use hourglass_model::{Outcome, TestResult};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/junit")
}

/// Every `*.summary.json` below `dir`, sorted, skipping the sample suites and
/// anything a runner installed beside them.
fn summaries_in(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "suite" | "node_modules" | "target") {
                summaries_in(&path, found);
            }
        } else if name.ends_with(".summary.json") {
            found.push(path);
        }
    }
}

/// One fixture: the runner's summary and what the reader made of its file.
struct Fixture {
    name: String,
    xml: PathBuf,
    summary: Value,
    results: Vec<TestResult>,
}

impl Fixture {
    fn count(&self, field: &str) -> u64 {
        self.summary[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: `{field}` is not a count", self.name))
    }

    fn flag(&self, field: &str) -> bool {
        self.summary[field]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: `{field}` is not a flag", self.name))
    }

    fn read(&self, outcome: Outcome) -> u64 {
        self.results.iter().filter(|r| r.outcome == outcome).count() as u64
    }

    /// `(what, expected from the runner, read from the file)` for every count
    /// the runner's summary fixes.
    fn comparisons(&self) -> Vec<(&'static str, u64, u64)> {
        let retries = self.flag("junit_records_retries");
        let flaky = self.count("flaky");
        let skipped = if self.flag("junit_records_skipped") {
            self.count("skipped")
        } else {
            0
        };
        let mut rows = vec![
            (
                "passed",
                self.count("passed") + if retries { 0 } else { flaky },
                self.read(Outcome::Passed),
            ),
            (
                "flaky",
                if retries { flaky } else { 0 },
                self.read(Outcome::Flaky),
            ),
            ("skipped", skipped, self.read(Outcome::Skipped)),
        ];
        if self.flag("runner_separates_errors") {
            rows.push(("failed", self.count("failed"), self.read(Outcome::Failed)));
            rows.push(("errors", self.count("errors"), self.read(Outcome::Error)));
        } else {
            rows.push((
                "failed or errors",
                self.count("failed") + self.count("errors"),
                self.read(Outcome::Failed) + self.read(Outcome::Error),
            ));
        }
        let expected_tests = self.count("tests") - (self.count("skipped") - skipped);
        rows.push(("tests", expected_tests, self.results.len() as u64));
        rows
    }
}

fn fixtures() -> Vec<Fixture> {
    let mut paths = Vec::new();
    summaries_in(&fixtures_dir(), &mut paths);
    paths
        .into_iter()
        .map(|summary_path| {
            let text = std::fs::read_to_string(&summary_path).unwrap();
            let summary: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", summary_path.display()));
            let file_name = summary_path.file_name().unwrap().to_string_lossy();
            let stem = file_name.trim_end_matches(".summary.json");
            let xml = summary_path.with_file_name(format!("{stem}.xml"));
            let name = xml
                .strip_prefix(fixtures_dir())
                .unwrap_or(&xml)
                .display()
                .to_string();
            let (results, _) = read_all(&xml, &ReadOptions::default())
                .unwrap_or_else(|e| panic!("{name}: the reader failed: {e}"));
            Fixture {
                name,
                xml,
                summary,
                results,
            }
        })
        .collect()
}

/// Whether every `<testcase` start tag in the file has a `time` attribute.
fn every_testcase_has_a_time(xml: &Path) -> bool {
    let text = std::fs::read_to_string(xml).unwrap();
    text.match_indices("<testcase")
        .filter(|(at, tag)| {
            // `<testcase` but not `<testcases`.
            text[at + tag.len()..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/')
        })
        .all(|(at, _)| {
            let tag = &text[at..];
            let end = tag.find('>').unwrap_or(tag.len());
            tag[..end].contains(" time=") || tag[..end].contains("\ttime=")
        })
}

#[test]
fn there_are_fixtures_of_many_runners() {
    let fixtures = fixtures();
    let mut runners: Vec<&str> = fixtures
        .iter()
        .map(|f| f.summary["runner"].as_str().unwrap())
        .collect();
    runners.dedup();
    assert!(
        runners.len() >= 5,
        "expected fixtures of at least five runners, found {runners:?}"
    );
}

#[test]
fn counts_per_outcome_match_each_runners_own_summary() {
    let mut report = String::new();
    for fixture in fixtures() {
        for (what, expected, read) in fixture.comparisons() {
            if expected != read {
                let _ = writeln!(
                    report,
                    "{}: {what}: the runner said {expected}, the reader found {read}",
                    fixture.name
                );
            }
        }
    }
    assert!(report.is_empty(), "\n{report}");
}

#[test]
fn every_result_has_a_name() {
    for fixture in fixtures() {
        for result in &fixture.results {
            assert!(
                !result.key.name.trim().is_empty(),
                "{}: a result without a name: {:?}",
                fixture.name,
                result.key
            );
        }
    }
}

#[test]
fn durations_are_known_where_the_runner_writes_a_time() {
    let mut checked = 0;
    for fixture in fixtures() {
        if !every_testcase_has_a_time(&fixture.xml) {
            continue;
        }
        checked += 1;
        for result in &fixture.results {
            assert!(
                result.duration_s.is_some_and(|d| d.is_finite() && d >= 0.0),
                "{}: {} has no duration though every testcase has a time",
                fixture.name,
                result.key
            );
        }
    }
    assert!(checked > 0, "no fixture writes a time on every testcase");
}

#[test]
fn a_test_that_passed_on_a_retry_keeps_every_attempt() {
    let mut checked = 0;
    for fixture in fixtures() {
        if !fixture.flag("junit_records_retries") {
            continue;
        }
        for result in fixture
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Flaky)
        {
            checked += 1;
            assert!(
                result.attempts.len() >= 2,
                "{}: {} is flaky but has {} attempt(s)",
                fixture.name,
                result.key,
                result.attempts.len()
            );
        }
    }
    assert!(checked > 0, "no fixture has a test read as flaky");
}

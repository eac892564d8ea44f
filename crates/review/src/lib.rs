//! The history window, read and judged: what `hourglass flaky`, `slow`,
//! `owners` and `report` share.
//!
//! # What it does
//!
//! - [`Window`] says which runs to look at (since a date, the last N runs,
//!   one branch) and becomes a [`ResultFilter`].
//! - [`analyze`] reads those runs and their results from a
//!   [`HistoryStore`] and judges every test with the pure analyses of
//!   `hourglass-insight`: a [`TestVerdict`] (flaky, broken, fixed, healthy)
//!   and a [`SlowReport`].
//! - [`Routing`] gathers what routing a test to its owners needs from a
//!   repository: CODEOWNERS, `hourglass.toml` overrides, the repository's
//!   files and, for Rust tests, the test graph's map of tests to files.
//! - [`planning::gather`]: the capacity planner's inputs (demand from git,
//!   supply from the history with flaky time and wall time, measured CI
//!   from the job records, capacity), read once for `plan` and `report`.
//! - [`text`]: the one-line forms of tests, commits and verdicts that every
//!   rendering uses.
//!
//! # How it works
//!
//! [`analyze`] lists the window's runs (small) and marks the
//! infrastructure failures among them, then asks the store for one
//! [`TestOutline`] per test ([`HistoryStore::for_each_test_outline`]): a
//! test that only passed or was skipped outside those runs, and whose
//! durations do not spread as far as a slowdown needs
//! ([`SlowSettings::regression_bounds`]), comes as counts and a duration
//! summary, which [`FlakyAnalyzer::analyze_passing`] and
//! [`SlowAnalyzer::steady`] judge exactly as they would judge its series;
//! any other test comes with its series, judged by the analyzers of
//! `hourglass-insight` as before. SQLite groups the outlines in one sorted
//! scan (from its ordered scan when durations are asked, one test at a
//! time); PostgreSQL groups in the database and
//! sends one row per test, so the results of passing tests never cross the
//! connection. Without timings ([`Retain::timings`], as `flaky` asks), no
//! durations are summed at all. The verdicts, the timings and each test's
//! file are kept, one entry per test.
//!
//! [`analyze_with`] keeps less: only the verdicts that are not healthy and
//! the slowest tests' timings (plus every regression), counting the rest as
//! it goes, so that `flaky` and `slow` run in memory that follows what they
//! show, not the number of tests.
//!
//! # Limitations
//!
//! - [`analyze`] ([`Retain::ALL`]), which `owners`, `flaky --all`, `flaky
//!   --update-quarantine` and `slow --format json` without `--top` need,
//!   holds the verdict and timing of every test in the window (one small
//!   record per test, not per result).
//! - Routing reads the repository's file list with `git ls-files` (a walk
//!   when git is absent) and builds the test graph for Rust tests; neither
//!   is cached here.

use std::path::{Path, PathBuf};
use std::process::Command;

use hourglass_config::Settings;
use hourglass_history::{
    HistoryStore, OutlineRequest, ResultFilter, SpreadRule, SqliteStore, StoreError, TestOutline,
};
use hourglass_insight::codeowners::{self, Codeowners, CodeownersError};
use hourglass_insight::{
    FileIndex, FlakyAnalyzer, FlakySettings, Located, Observation, Ownership, Run, SlowAnalyzer,
    SlowReport, SlowSettings, TestLocator, TestTiming, TestVerdict, Verdict,
};
use hourglass_model::TestKey;

pub mod planning;
pub mod text;
pub mod weekly;

/// Milliseconds since the epoch of a stored time.
fn millis(text: &str) -> Option<i64> {
    hourglass_history::timestamp_millis(text)
}

/// What reading the window can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// No store at `path`.
    #[error("{}: no result history here; store results with `hourglass ingest` first", path.display())]
    NoHistory { path: PathBuf },
    /// The store at `path` could not be opened.
    #[error("opening {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    /// `since` is neither a date nor an RFC 3339 time.
    #[error("{text:?}: expected a date (YYYY-MM-DD) or an RFC 3339 time")]
    Since { text: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which runs to analyze.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// Only runs at or after this date (`YYYY-MM-DD`, midnight UTC) or time
    /// (RFC 3339). Without it (and without `runs`), the last `window_days`.
    pub since: Option<String>,
    /// Only the last N runs (counted after `since` and `branch`).
    pub runs: Option<usize>,
    /// Only runs of this branch.
    pub branch: Option<String>,
}

impl Window {
    /// The store filter for this window, `now` and the settings' window.
    pub fn filter(
        &self,
        window_days: u32,
        now: jiff::Timestamp,
    ) -> Result<ResultFilter, ReviewError> {
        let since = if self.since.is_none() && self.runs.is_some() {
            None
        } else {
            since_filter(self.since.as_deref(), window_days, now)?
        };
        Ok(ResultFilter {
            since,
            last_runs: self.runs,
            branch: self.branch.clone(),
        })
    }
}

/// `YYYY-MM-DD` → midnight UTC; anything else is passed on as a time.
fn since_filter(
    since: Option<&str>,
    window_days: u32,
    now: jiff::Timestamp,
) -> Result<Option<String>, ReviewError> {
    let Some(text) = since else {
        let start = now
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * i64::from(window_days),
            ))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        return Ok(Some(start.to_string()));
    };
    let text = text.trim();
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(Some(format!("{date}T00:00:00Z")));
    }
    if hourglass_history::timestamp_millis(text).is_none() {
        return Err(ReviewError::Since {
            text: text.to_owned(),
        });
    }
    Ok(Some(text.to_owned()))
}

/// Opens the SQLite store at `db`, which must exist.
pub fn open(db: &Path) -> Result<SqliteStore, ReviewError> {
    if !db.exists() {
        return Err(ReviewError::NoHistory {
            path: db.to_path_buf(),
        });
    }
    SqliteStore::open(db).map_err(|source| ReviewError::Open {
        path: db.to_path_buf(),
        source,
    })
}

/// What [`analyze_with`] keeps of the tests it judges; what it does not
/// keep is counted and let go, so that memory follows what is kept, not the
/// number of tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retain {
    /// Keep healthy verdicts too (else only flaky, broken and fixed ones).
    pub healthy: bool,
    /// Keep the timings of only this many slowest tests (and of every test
    /// that slowed down); `None` keeps every test's timing.
    pub slowest: Option<usize>,
    /// Time the tests at all; without it the store sums no durations and
    /// [`Analysis::slow`] is empty.
    pub timings: bool,
}

impl Retain {
    /// Everything: every verdict and every timing.
    pub const ALL: Retain = Retain {
        healthy: true,
        slowest: None,
        timings: true,
    };
}

/// Every test of the window, judged and timed.
#[derive(Debug)]
pub struct Analysis {
    pub runs: Vec<Run>,
    /// Tests judged (kept or not).
    pub tests: usize,
    /// The verdicts kept ([`Retain`]), ordered by test key.
    pub verdicts: Vec<TestVerdict>,
    /// The source file the history names for each test, parallel to `verdicts`.
    pub files: Vec<Option<String>>,
    pub slow: SlowReport,
}

impl Analysis {
    /// Index of a test in `verdicts` and `files`.
    pub fn position(&self, key: &TestKey) -> Option<usize> {
        self.verdicts.binary_search_by(|v| v.key.cmp(key)).ok()
    }
}

/// The flaky analysis settings of `hourglass.toml`.
pub fn flaky_settings(settings: &Settings) -> FlakySettings {
    FlakySettings {
        min_runs: settings.flaky.min_runs,
        fixed_after: settings.flaky.fixed_after,
        infra_failure_share: settings.flaky.infra_failure_share,
        infra_failure_min_tests: settings.flaky.infra_failure_min_tests,
        flaky_score: settings.flaky.flaky_score,
        ..FlakySettings::default()
    }
}

/// The slow analysis settings of `hourglass.toml`.
pub fn slow_settings(settings: &Settings) -> SlowSettings {
    SlowSettings {
        regression_factor: settings.slow.regression_factor,
        min_segment: settings.slow.min_segment,
        ..SlowSettings::default()
    }
}

/// Reads the runs `filter` selects and analyzes every test, one at a time,
/// keeping every verdict and timing ([`Retain::ALL`]).
pub fn analyze(
    store: &dyn HistoryStore,
    filter: &ResultFilter,
    settings: &Settings,
) -> Result<Analysis, ReviewError> {
    analyze_with(store, filter, settings, Retain::ALL)
}

/// [`analyze`], keeping only what `retain` asks for.
pub fn analyze_with(
    store: &dyn HistoryStore,
    filter: &ResultFilter,
    settings: &Settings,
    retain: Retain,
) -> Result<Analysis, ReviewError> {
    let runs: Vec<Run> = store
        .runs(filter)?
        .into_iter()
        .map(|summary| Run {
            run_id: summary.info.run_id,
            commit: summary.info.commit,
            branch: summary.info.branch,
            timestamp: Some(summary.info.timestamp),
            tests: summary.tests.saturating_sub(summary.skipped) as u32,
            failures: (summary.failed + summary.error) as u32,
        })
        .collect();
    let flaky = FlakyAnalyzer::new(flaky_settings(settings), &runs);
    let slow_settings = slow_settings(settings);
    let bounds = slow_settings.regression_bounds();
    let slow = SlowAnalyzer::new(slow_settings, &runs).excluding(flaky.infrastructure_failures());
    let request = OutlineRequest {
        filter: filter.clone(),
        set_aside: flaky
            .infrastructure_failures()
            .map(|index| index as u64)
            .collect(),
        durations: retain.timings.then(|| SpreadRule {
            min_samples: u32::try_from(bounds.min_samples).unwrap_or(u32::MAX),
            min_increase_s: bounds.min_spread_s,
            min_ratio: bounds.min_ratio,
        }),
    };
    let mut verdicts = Vec::new();
    let mut files = Vec::new();
    let mut timings = Vec::new();
    let mut slowest = retain.slowest.map(SlowReport::streaming);
    let mut tests = 0;
    store.for_each_test_outline(&request, &mut |outline| {
        tests += 1;
        let (verdict, timing) = judge(&flaky, &slow, retain.timings, &outline);
        if retain.healthy || verdict.verdict != Verdict::Healthy {
            verdicts.push(verdict);
            files.push(outline.file);
        }
        if let Some(timing) = timing {
            match &mut slowest {
                Some(builder) => builder.push(timing),
                None => timings.push(timing),
            }
        }
        Ok(())
    })?;
    // The store orders by key; sort anyway so that lookups by key hold.
    let mut order: Vec<usize> = (0..verdicts.len()).collect();
    order.sort_by(|&a, &b| verdicts[a].key.cmp(&verdicts[b].key));
    let sorted = order.windows(2).all(|w| w[0] < w[1]);
    if !sorted {
        let mut paired: Vec<(TestVerdict, Option<String>)> =
            verdicts.into_iter().zip(files).collect();
        paired.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        (verdicts, files) = paired.into_iter().unzip();
    }
    Ok(Analysis {
        runs,
        tests,
        verdicts,
        files,
        slow: match slowest {
            Some(builder) => builder.finish(),
            None => SlowReport::new(timings),
        },
    })
}

/// One test's verdict, and its timing when `timed`: from its series when
/// the store sent one, else from its counts and duration summary (which
/// give the same, see [`FlakyAnalyzer::analyze_passing`] and
/// [`SlowAnalyzer::steady`]).
fn judge(
    flaky: &FlakyAnalyzer<'_>,
    slow: &SlowAnalyzer<'_>,
    timed: bool,
    outline: &TestOutline,
) -> (TestVerdict, Option<TestTiming>) {
    if let Some(series) = &outline.series {
        let observations: Vec<Observation> = series
            .iter()
            .map(|point| {
                Observation::new(
                    usize::try_from(point.run_index).unwrap_or(usize::MAX),
                    point.outcome,
                    point.duration_s,
                )
            })
            .collect();
        let verdict = flaky.analyze(&outline.key, &observations);
        let timing = timed
            .then(|| slow.analyze(&outline.key, &observations))
            .flatten();
        return (verdict, timing);
    }
    let verdict = flaky.analyze_passing(&outline.key, outline.passed, outline.set_aside);
    let timing = outline.durations.filter(|_| timed).map(|d| {
        slow.steady(
            &outline.key,
            d.samples,
            d.p50_s,
            d.p95_s,
            d.max_s,
            d.total_s,
        )
    });
    (verdict, timing)
}

/// Something routing could not read; routing goes on without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingWarning {
    /// A line of the CODEOWNERS file at `file`.
    #[error("{file}:{error}")]
    Codeowners {
        file: &'static str,
        error: CodeownersError,
    },
    /// An `[owners]` override of `hourglass.toml`.
    #[error("hourglass.toml [owners]: {error}")]
    Override { error: CodeownersError },
    /// The test graph could not be built.
    #[error("the test graph could not be built, Rust tests are routed by name only: {error}")]
    Graph { error: hourglass_graph::GraphError },
}

/// `(binary id, test name)` and the file the test is written in.
type RustTestFile = ((String, String), String);

/// CODEOWNERS, `hourglass.toml` overrides, the repository's files and the
/// Rust test map: everything needed to route a test to its owners.
pub struct Routing {
    codeowners: Codeowners,
    files: FileIndex,
    rust: Vec<RustTestFile>,
    /// Where CODEOWNERS was read from, if anywhere.
    pub source: Option<&'static str>,
    /// What could not be read, in the order it was met.
    pub warnings: Vec<RoutingWarning>,
}

impl Routing {
    /// Reads what routing needs from the repository at `root`. Problems are
    /// kept in [`Routing::warnings`] and do not stop routing.
    pub fn load(root: &Path, settings: &Settings, keys: &[&TestKey]) -> Routing {
        let source = codeowners::locate(|path| root.join(path).is_file());
        let text = source
            .and_then(|path| std::fs::read_to_string(root.join(path)).ok())
            .unwrap_or_default();
        let (parsed, errors) = Codeowners::parse(&text);
        let (codeowners, override_errors) = parsed.with_overrides(&settings.owners);
        let mut warnings: Vec<RoutingWarning> = errors
            .into_iter()
            .map(|error| RoutingWarning::Codeowners {
                file: source.unwrap_or("CODEOWNERS"),
                error,
            })
            .collect();
        warnings.extend(
            override_errors
                .into_iter()
                .map(|error| RoutingWarning::Override { error }),
        );
        let files = FileIndex::new(repository_files(root));
        let rust = if root.join("Cargo.toml").is_file()
            && keys.iter().any(|key| looks_like_nextest(key))
        {
            match rust_test_files(root) {
                Ok(rust) => rust,
                Err(error) => {
                    warnings.push(RoutingWarning::Graph { error });
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        Routing {
            codeowners,
            files,
            rust,
            source,
            warnings,
        }
    }

    pub fn locator(&self) -> TestLocator<'_> {
        TestLocator::new(&self.files, &self.rust)
    }

    /// The file of a test and its owners (unowned when the file is unknown).
    pub fn route(
        &self,
        locator: &TestLocator<'_>,
        key: &TestKey,
        file: Option<&str>,
    ) -> (Located, Ownership) {
        let located = locator.locate(key, file);
        let ownership = located
            .path()
            .map(|path| self.codeowners.owners_of(path))
            .unwrap_or_default();
        (located, ownership)
    }
}

/// `git ls-files`, else a walk that skips `.git`, `target` and `node_modules`.
fn repository_files(root: &Path) -> Vec<String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    if let Ok(output) = output
        && output.status.success()
    {
        return output
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if matches!(name.to_str(), Some(".git" | "target" | "node_modules")) {
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(path),
                Ok(kind) if kind.is_file() => {
                    if let Ok(relative) = path.strip_prefix(root) {
                        files.push(relative.to_string_lossy().replace('\\', "/"));
                    }
                }
                _ => {}
            }
        }
    }
    files
}

/// `(binary id, test name)` → source file, from the test graph.
fn rust_test_files(root: &Path) -> Result<Vec<RustTestFile>, hourglass_graph::GraphError> {
    let options = hourglass_graph::BuildOptions {
        cache_dir: Some(root.join(".hourglass").join("cache").join("graph")),
        source: None,
    };
    let graph = hourglass_graph::Graph::build(root, &options)?;
    Ok(graph
        .tests()
        .iter()
        .map(|test| {
            (
                (test.id.binary_id.clone(), test.id.name.clone()),
                test.file.clone(),
            )
        })
        .collect())
}

/// A Rust test as nextest's JUnit names it: the classname is a binary id
/// (`pkg`, `pkg::target`, `pkg::bin/name`), which never holds a dot.
pub fn looks_like_nextest(key: &TestKey) -> bool {
    let binary = key.classname.as_str();
    let package = binary.split("::").next().unwrap_or("");
    !binary.is_empty()
        && !binary.contains('.')
        && !binary.contains(char::is_whitespace)
        && !package.is_empty()
        && package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.name.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-03-31T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_date_starts_at_midnight_utc() {
        let window = Window {
            since: Some("2026-03-01".into()),
            ..Window::default()
        };
        let filter = window.filter(30, now()).unwrap();
        assert_eq!(filter.since.as_deref(), Some("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn without_since_the_window_is_the_last_days() {
        let filter = Window::default().filter(30, now()).unwrap();
        assert_eq!(filter.since.as_deref(), Some("2026-03-01T12:00:00Z"));
        let last = Window {
            runs: Some(5),
            ..Window::default()
        };
        let filter = last.filter(30, now()).unwrap();
        assert_eq!(filter.since, None);
        assert_eq!(filter.last_runs, Some(5));
    }

    #[test]
    fn an_unreadable_since_is_an_error_naming_it() {
        let window = Window {
            since: Some("last tuesday".into()),
            ..Window::default()
        };
        let error = window.filter(30, now()).unwrap_err();
        assert!(matches!(&error, ReviewError::Since { text } if text == "last tuesday"));
    }

    /// A store of `runs` runs of 30 tests: `t00` fails in every other run
    /// (flaky), `t01` fails from the middle on (broken), the others pass,
    /// `t{i}` taking `i` seconds.
    fn store_with_runs(dir: &Path, runs: usize) -> SqliteStore {
        use hourglass_history::FileIngest;
        use hourglass_model::{Outcome, RunMeta, TestResult};
        let mut store = SqliteStore::open(&dir.join("history.db")).unwrap();
        for run in 0..runs {
            let meta = RunMeta {
                run_id: Some(format!("r{run:02}")),
                commit: Some(format!("c{run:02}")),
                branch: Some("main".into()),
                timestamp: Some(format!("2026-03-{:02}T08:00:00Z", run + 1)),
                job: None,
            };
            let file = FileIngest {
                path: format!("r{run}.xml"),
                content_hash: [run as u8; 32],
            };
            store
                .ingest_file(&meta, &file, &mut |sink| {
                    for test in 0..30u32 {
                        let failing = (test == 0 && run % 2 == 0) || (test == 1 && run >= runs / 2);
                        let outcome = if failing {
                            Outcome::Failed
                        } else {
                            Outcome::Passed
                        };
                        let mut result = TestResult::new(
                            TestKey {
                                suite: "s".into(),
                                classname: "c".into(),
                                name: format!("t{test:02}"),
                            },
                            outcome,
                        );
                        result.duration_s = Some(f64::from(test));
                        sink(&result)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        store
    }

    #[test]
    fn retaining_less_keeps_the_same_findings_and_counts_every_test() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_runs(dir.path(), 20);
        let settings = Settings::defaults();
        let filter = ResultFilter::default();
        let all = analyze(&store, &filter, &settings).unwrap();
        let lean = analyze_with(
            &store,
            &filter,
            &settings,
            Retain {
                healthy: false,
                slowest: Some(3),
                timings: true,
            },
        )
        .unwrap();
        assert_eq!(all.tests, 30);
        assert_eq!(lean.tests, 30);
        assert_eq!(all.verdicts.len(), 30);
        let findings = |analysis: &Analysis| -> Vec<(String, Verdict)> {
            analysis
                .verdicts
                .iter()
                .filter(|v| v.verdict != Verdict::Healthy)
                .map(|v| (v.key.name.clone(), v.verdict))
                .collect()
        };
        assert!(!findings(&all).is_empty());
        assert_eq!(findings(&lean), findings(&all));
        assert_eq!(lean.verdicts.len(), findings(&all).len());
        assert_eq!(lean.files.len(), lean.verdicts.len());
        assert_eq!(lean.slow.tests.len(), 3);
        assert_eq!(lean.slow.tests[..], all.slow.tests[..3]);
        assert_eq!(lean.slow.total_s.to_bits(), all.slow.total_s.to_bits());
    }

    #[test]
    fn a_missing_store_is_no_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nowhere.db");
        let error = open(&path).unwrap_err();
        assert!(matches!(error, ReviewError::NoHistory { .. }));
        assert!(!path.exists(), "opening must not create a store");
    }

    #[test]
    fn nextest_names_are_told_apart() {
        let key = |classname: &str| TestKey {
            suite: "s".into(),
            classname: classname.into(),
            name: "t".into(),
        };
        assert!(looks_like_nextest(&key("hourglass-insight::integration")));
        assert!(!looks_like_nextest(&key("com.example.Test")));
        assert!(!looks_like_nextest(&key("")));
    }
}

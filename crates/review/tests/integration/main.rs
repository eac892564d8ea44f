//! The window judged through the store's per-test outlines gives what the
//! full series give, on a real SQLite file and, when `HOURGLASS_TEST_PG`
//! names a server (`.ci/postgres start`), on a real PostgreSQL database.

use hourglass_config::Settings;
use hourglass_history::testing::TestDatabase;
use hourglass_history::{
    FileIngest, HistoryStore, OutlineRequest, PgStore, ResultFilter, SpreadRule, SqliteStore,
};
use hourglass_insight::simulate::{SimulationConfig, simulate};
use hourglass_insight::{
    FlakyAnalyzer, Observation, Run, SeriesGrouper, SlowAnalyzer, SlowReport, TestVerdict,
};
use hourglass_model::{Outcome, RunMeta, TestResult};
use hourglass_review::{Analysis, Retain, analyze, analyze_with, flaky_settings, slow_settings};

/// A seeded history of 240 tests over 60 runs (flaky, breaking, slowing
/// and healthy tests, re-runs, retries, an infrastructure failure, unknown
/// durations), with some results skipped, a few tests broken then fixed
/// and some tests moving file, stored
/// through `ingest_file` one run at a time.
fn fill(store: &mut dyn HistoryStore) {
    let simulation = simulate(&SimulationConfig {
        seed: 11,
        tests: 240,
        runs: 60,
        ..SimulationConfig::default()
    });
    for (index, run) in simulation.runs.iter().enumerate() {
        let meta = RunMeta {
            run_id: Some(run.run_id.clone()),
            commit: run.commit.clone(),
            branch: run.branch.clone(),
            timestamp: run.timestamp.clone(),
            job: None,
        };
        let file = FileIngest {
            path: format!("{}.xml", run.run_id),
            content_hash: content_hash(index),
        };
        store
            .ingest_file(&meta, &file, &mut |sink| {
                for (number, test) in simulation.tests.iter().enumerate() {
                    let observation = test.observations[index];
                    let outcome = if number % 41 == 3 {
                        // Broken for five runs, then fixed.
                        if (5..10).contains(&index) {
                            Outcome::Failed
                        } else {
                            Outcome::Passed
                        }
                    } else if number % 13 == 5 && index % 7 == 2 {
                        Outcome::Skipped
                    } else {
                        observation.outcome
                    };
                    let mut result = TestResult::new(test.key.clone(), outcome);
                    result.duration_s = observation.duration_s;
                    result.file = match number % 4 {
                        0 => None,
                        1 if index >= 30 => Some(format!("src/moved{number}.rs")),
                        _ => Some(format!("src/t{number}.rs")),
                    };
                    sink(&result)?;
                }
                Ok(())
            })
            .expect("ingest");
    }
}

/// A distinct content hash per run's file.
fn content_hash(index: usize) -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
    hash
}

/// The analysis from every result, one test's series at a time.
fn from_every_result(store: &dyn HistoryStore, settings: &Settings) -> Analysis {
    let filter = ResultFilter::default();
    let runs: Vec<Run> = store
        .runs(&filter)
        .expect("runs")
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
    let slow = SlowAnalyzer::new(slow_settings(settings), &runs)
        .excluding(flaky.infrastructure_failures());
    let mut verdicts: Vec<TestVerdict> = Vec::new();
    let mut files = Vec::new();
    let mut timings = Vec::new();
    let mut grouper = SeriesGrouper::new();
    let mut series = Vec::new();
    store
        .for_each_result(&filter, &mut |row| {
            let observation = Observation::new(row.run_index as usize, row.outcome, row.duration_s);
            if let Some(done) = grouper.push(row.key, observation, row.file) {
                series.push(done);
            }
            Ok(())
        })
        .expect("scan");
    series.extend(grouper.finish());
    // The analysis orders by key, whatever order the store sends tests in.
    series.sort_by(|a, b| a.key.cmp(&b.key));
    let tests = series.len();
    for test in series {
        verdicts.push(flaky.analyze(&test.key, &test.observations));
        files.push(test.file);
        timings.extend(slow.analyze(&test.key, &test.observations));
    }
    Analysis {
        runs,
        tests,
        verdicts,
        files,
        slow: SlowReport::new(timings),
    }
}

fn assert_same(found: &Analysis, expected: &Analysis, what: &str) {
    assert_eq!(found.tests, expected.tests, "{what}: tests");
    assert_eq!(found.runs, expected.runs, "{what}: runs");
    assert_eq!(found.verdicts.len(), expected.verdicts.len(), "{what}");
    for (a, b) in found.verdicts.iter().zip(&expected.verdicts) {
        assert_eq!(a, b, "{what}: verdict of {:?}", b.key);
    }
    assert_eq!(found.files, expected.files, "{what}: files");
    for (a, b) in found.slow.tests.iter().zip(&expected.slow.tests) {
        assert_eq!(a, b, "{what}: timing of {:?}", b.key);
        assert_eq!(a.total_s.to_bits(), b.total_s.to_bits(), "{what}");
    }
    assert_eq!(found.slow, expected.slow, "{what}: slow report");
}

/// Tests of the window, and how many of them the store sent with their
/// series (the infrastructure-failure run set aside, durations asked for
/// when `durations`).
fn outlines(store: &dyn HistoryStore, durations: bool) -> (usize, usize) {
    let runs = store.runs(&ResultFilter::default()).expect("runs");
    let request = OutlineRequest {
        filter: ResultFilter::default(),
        set_aside: runs
            .iter()
            .filter(|run| (run.failed + run.error) * 10 >= run.tests * 9)
            .map(|run| run.index)
            .collect(),
        durations: durations.then_some(SpreadRule {
            min_samples: 10,
            min_increase_s: 0.05,
            min_ratio: 1.5,
        }),
    };
    assert_eq!(request.set_aside.len(), 1);
    let (mut tests, mut with_series) = (0, 0);
    store
        .for_each_test_outline(&request, &mut |outline| {
            tests += 1;
            with_series += usize::from(outline.series.is_some());
            Ok(())
        })
        .expect("outlines");
    (tests, with_series)
}

/// Verdicts and files alone (no timings: the grouped path of both stores)
/// match the full analysis's.
fn assert_same_verdicts(store: &dyn HistoryStore, settings: &Settings, expected: &Analysis) {
    let retain = Retain {
        healthy: true,
        slowest: Some(0),
        timings: false,
    };
    let found = analyze_with(store, &ResultFilter::default(), settings, retain).expect("analyze");
    assert_eq!(found.tests, expected.tests);
    assert_eq!(found.verdicts, expected.verdicts);
    assert_eq!(found.files, expected.files);
    assert!(found.slow.tests.is_empty());
}

fn kinds(analysis: &Analysis) -> [usize; 4] {
    let mut counts = [0; 4];
    for verdict in &analysis.verdicts {
        counts[verdict.verdict as usize] += 1;
    }
    counts
}

#[test]
fn outlines_judge_as_every_result_does_on_sqlite_and_postgres() {
    let settings = Settings::defaults();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut sqlite = SqliteStore::open(&dir.path().join("history.db")).expect("open");
    fill(&mut sqlite);
    let expected = from_every_result(&sqlite, &settings);
    // Every kind of verdict and some slowdowns are in the history.
    assert!(
        kinds(&expected).iter().all(|&n| n > 0),
        "{:?}",
        kinds(&expected)
    );
    assert!(!expected.slow.regressions().is_empty());
    let filter = ResultFilter::default();
    let on_sqlite = analyze(&sqlite, &filter, &settings).expect("analyze sqlite");
    assert_same(&on_sqlite, &expected, "sqlite");
    assert_same_verdicts(&sqlite, &settings, &expected);
    // Most tests only passed outside the infrastructure failure: they come
    // as counts, not series; some more need theirs for their durations.
    let (tests, troubled) = outlines(&sqlite, false);
    assert_eq!(tests, 240);
    assert!(troubled > 0 && troubled < tests / 2, "{troubled}");
    let (_, spread) = outlines(&sqlite, true);
    assert!(spread > troubled && spread < tests, "{spread}");

    let Some(database) = TestDatabase::create("outlines_judge_as_every_result_does") else {
        return;
    };
    let mut pg = PgStore::open(database.url()).expect("open postgres");
    fill(&mut pg);
    assert_same(
        &from_every_result(&pg, &settings),
        &expected,
        "postgres, every result",
    );
    let on_pg = analyze(&pg, &filter, &settings).expect("analyze postgres");
    assert_same(&on_pg, &expected, "postgres");
    assert_same_verdicts(&pg, &settings, &expected);
    assert_eq!(outlines(&pg, false), (tests, troubled));
    assert_eq!(outlines(&pg, true), (tests, spread));
}

#[test]
fn a_window_of_the_last_runs_and_lean_retention_agree_across_stores() {
    let settings = Settings::defaults();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut sqlite = SqliteStore::open(&dir.path().join("history.db")).expect("open");
    fill(&mut sqlite);
    let Some(database) = TestDatabase::create("a_window_of_the_last_runs") else {
        return;
    };
    let mut pg = PgStore::open(database.url()).expect("open postgres");
    fill(&mut pg);
    let filter = ResultFilter {
        last_runs: Some(25),
        ..ResultFilter::default()
    };
    for retain in [
        Retain::ALL,
        Retain {
            healthy: false,
            slowest: Some(5),
            timings: true,
        },
        Retain {
            healthy: false,
            slowest: Some(0),
            timings: false,
        },
    ] {
        let a = analyze_with(&sqlite, &filter, &settings, retain).expect("sqlite");
        let b = analyze_with(&pg, &filter, &settings, retain).expect("postgres");
        assert_same(&b, &a, &format!("{retain:?}"));
    }
}

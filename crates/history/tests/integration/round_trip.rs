//! Ingest then export returns what went in.

use std::collections::BTreeMap;

use hourglass_history::{FileIngest, HistoryStore, IngestOutcome, KeepOutput, SqliteStore};
use hourglass_model::{Attempt, AttemptOutcome, Outcome, Property, TestKey, TestResult};
use proptest::prelude::*;

use crate::support::run;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        proptest::option::of(prop_oneof![
            Just(AttemptOutcome::Passed),
            Just(AttemptOutcome::Failed),
            Just(AttemptOutcome::Error),
            Just(AttemptOutcome::Skipped),
        ]),
        proptest::option::of(0.0..1e6f64),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(|(outcome, duration_s, message, failure_type)| Attempt {
            outcome,
            duration_s,
            message,
            failure_type,
        })
}

fn test_result() -> impl Strategy<Value = TestResult> {
    (
        (text(), text(), text()),
        proptest::sample::select(Outcome::ALL.to_vec()),
        proptest::option::of(0.0..1e6f64),
        (proptest::option::of(text()), proptest::option::of(text())),
        (
            proptest::option::of(text()),
            proptest::option::of(any::<u32>()),
        ),
        (proptest::option::of("\\PC{0,200}"), 0..u64::from(u32::MAX)),
        proptest::collection::vec((text(), text()), 0..3),
        proptest::collection::vec(attempt(), 0..4),
    )
        .prop_map(
            |(
                (suite, classname, name),
                outcome,
                duration_s,
                (message, failure_type),
                (file, line),
                (output, output_dropped_bytes),
                properties,
                attempts,
            )| TestResult {
                key: TestKey {
                    suite,
                    classname,
                    name,
                },
                outcome,
                duration_s,
                message,
                failure_type,
                file,
                line,
                output,
                output_dropped_bytes,
                properties: properties
                    .into_iter()
                    .map(|(name, value)| Property { name, value })
                    .collect(),
                attempts,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn by_default_only_a_pass_loses_its_output_and_counts_it(results in proptest::collection::vec(test_result(), 0..20)) {
        let unique: BTreeMap<TestKey, TestResult> =
            results.into_iter().map(|result| (result.key.clone(), result)).collect();
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("history.db")).unwrap();
        let meta = run("prop", "2026-03-01T10:00:00Z");
        let file = FileIngest { path: "generated.xml".into(), content_hash: [9; 32] };
        store.ingest_file(&meta, &file, &mut |sink| {
            for result in unique.values() {
                sink(result)?;
            }
            Ok(())
        }).unwrap();
        let mut exported = Vec::new();
        store.for_each_export(&mut |row| {
            exported.push(row.result);
            Ok(())
        }).unwrap();
        for result in exported {
            let mut expected = unique[&result.key].clone();
            if expected.outcome == Outcome::Passed
                && let Some(output) = expected.output.take()
            {
                expected.output_dropped_bytes += output.len() as u64;
            }
            prop_assert_eq!(result, expected);
        }
    }

    #[test]
    fn ingest_then_export_returns_what_went_in(results in proptest::collection::vec(test_result(), 0..40)) {
        // One result per test: a repeated key would be merged as a rerun.
        let unique: BTreeMap<TestKey, TestResult> =
            results.into_iter().map(|result| (result.key.clone(), result)).collect();
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("history.db")).unwrap();
        store.set_keep_output(KeepOutput::All);
        let meta = run("prop", "2026-03-01T10:00:00Z");
        let file = FileIngest { path: "generated.xml".into(), content_hash: [9; 32] };
        let outcome = store.ingest_file(&meta, &file, &mut |sink| {
            for result in unique.values() {
                sink(result)?;
            }
            Ok(())
        }).unwrap();
        prop_assert_eq!(outcome, IngestOutcome::Stored { results: unique.len() as u64 });

        let mut exported = Vec::new();
        store.for_each_export(&mut |row| {
            exported.push(row);
            Ok(())
        }).unwrap();
        prop_assert_eq!(exported.len(), unique.len());
        for row in exported {
            prop_assert_eq!(&row.run.run_id, "prop");
            prop_assert_eq!(row.run.commit.as_deref(), Some("commit-of-prop"));
            prop_assert_eq!(Some(&row.result), unique.get(&row.result.key));
        }
    }
}

#[test]
fn single_attempts_round_trip_whether_or_not_the_result_implies_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("history.db")).unwrap();
    let implied = crate::support::result("c", "implied", Outcome::Failed, 1.0);
    let mut differing = crate::support::result("c", "differing", Outcome::Failed, 1.0);
    differing.attempts[0].duration_s = Some(0.5);
    let mut flaky = crate::support::result("c", "flaky", Outcome::Flaky, 1.0);
    flaky.attempts[0].outcome = Some(AttemptOutcome::Passed);
    let mut none = crate::support::result("c", "none", Outcome::Passed, 1.0);
    none.attempts.clear();
    let results = [implied, differing, flaky, none];
    let file = FileIngest {
        path: "f.xml".into(),
        content_hash: [1; 32],
    };
    crate::support::ingest(
        &mut store,
        &run("r", "2026-03-01T10:00:00Z"),
        &file,
        &results,
    )
    .unwrap();
    let exported = crate::support::exported(&store);
    assert_eq!(exported.len(), 4);
    for row in exported {
        let original = results.iter().find(|r| r.key == row.result.key).unwrap();
        assert_eq!(&row.result, original);
    }
}

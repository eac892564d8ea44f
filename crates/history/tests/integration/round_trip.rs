//! Ingest then export returns what went in.

use std::collections::BTreeMap;

use hourglass_history::{FileIngest, HistoryStore, IngestOutcome, KeepOutput};
use hourglass_model::{Attempt, AttemptOutcome, Outcome, Property, TestKey, TestResult};
use proptest::prelude::*;

use crate::support::{Backend, run};

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

/// Ingest then export, on one store: each case is a run of its own.
pub fn ingest_then_export_returns_what_went_in<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    fresh.store.set_keep_output(KeepOutput::All);
    let store = std::cell::RefCell::new(&mut fresh.store);
    let case = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    runner
        .run(
            &proptest::collection::vec(test_result(), 0..40),
            |results| {
                case.set(case.get() + 1);
                let mut store = store.borrow_mut();
                // One result per test: a repeated key would be merged as a rerun.
                let unique: BTreeMap<TestKey, TestResult> = results
                    .into_iter()
                    .map(|result| (result.key.clone(), result))
                    .collect();
                let run_id = format!("prop-{}", case.get());
                let meta = run(&run_id, "2026-03-01T10:00:00Z");
                let file = FileIngest {
                    path: "generated.xml".into(),
                    content_hash: [9; 32],
                };
                let outcome = store
                    .ingest_file(&meta, &file, &mut |sink| {
                        for result in unique.values() {
                            sink(result)?;
                        }
                        Ok(())
                    })
                    .unwrap();
                prop_assert_eq!(
                    outcome,
                    IngestOutcome::Stored {
                        results: unique.len() as u64
                    }
                );

                let mut exported = Vec::new();
                store
                    .for_each_run_export(&run_id, &mut |row| {
                        exported.push(row);
                        Ok(())
                    })
                    .unwrap();
                prop_assert_eq!(exported.len(), unique.len());
                for row in exported {
                    prop_assert_eq!(&row.run.run_id, &run_id);
                    prop_assert_eq!(row.run.commit.clone(), Some(format!("commit-of-{run_id}")));
                    prop_assert_eq!(Some(&row.result), unique.get(&row.result.key));
                }
                Ok(())
            },
        )
        .unwrap();
}

/// By default a pass's output is dropped and counted, on every store.
pub fn by_default_only_a_pass_loses_its_output_and_counts_it<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = std::cell::RefCell::new(&mut fresh.store);
    let case = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(
            &proptest::collection::vec(test_result(), 0..20),
            |results| {
                case.set(case.get() + 1);
                let mut store = store.borrow_mut();
                let unique: BTreeMap<TestKey, TestResult> = results
                    .into_iter()
                    .map(|result| (result.key.clone(), result))
                    .collect();
                let run_id = format!("keep-{}", case.get());
                let meta = run(&run_id, "2026-03-01T10:00:00Z");
                let file = FileIngest {
                    path: "generated.xml".into(),
                    content_hash: [9; 32],
                };
                store
                    .ingest_file(&meta, &file, &mut |sink| {
                        for result in unique.values() {
                            sink(result)?;
                        }
                        Ok(())
                    })
                    .unwrap();
                let mut exported = Vec::new();
                store
                    .for_each_run_export(&run_id, &mut |row| {
                        exported.push(row.result);
                        Ok(())
                    })
                    .unwrap();
                prop_assert_eq!(exported.len(), unique.len());
                for result in exported {
                    let mut expected = unique[&result.key].clone();
                    if expected.outcome == Outcome::Passed
                        && let Some(output) = expected.output.take()
                    {
                        expected.output_dropped_bytes += output.len() as u64;
                    }
                    prop_assert_eq!(result, expected);
                }
                Ok(())
            },
        )
        .unwrap();
}

pub fn single_attempts_round_trip_whether_or_not_the_result_implies_them<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
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
    crate::support::ingest(store, &run("r", "2026-03-01T10:00:00Z"), &file, &results).unwrap();
    let exported = crate::support::exported(store);
    assert_eq!(exported.len(), 4);
    for row in exported {
        let original = results.iter().find(|r| r.key == row.result.key).unwrap();
        assert_eq!(&row.result, original);
    }
}

/// A message and an output repeated over runs are stored once each; a rerun
/// merged into its first attempt is written through the same blobs.
pub fn a_repeated_text_is_stored_once<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    let trace = "\tat com.example.Service.call(Service.java:42)\n".repeat(40);
    let log = "12:00:01.123 [main] INFO step 3 done\n".repeat(50);
    let failing = |name: &str| {
        let mut result = crate::support::result("c", name, Outcome::Failed, 1.0);
        result.message = Some(trace.clone());
        result.attempts[0].message = Some(trace.clone());
        result.output = Some(log.clone());
        result
    };
    for (run_id, name) in [("one", "a.xml"), ("two", "b.xml")] {
        let results = [failing("x"), failing("y")];
        crate::support::ingest(
            store,
            &run(run_id, "2026-03-01T10:00:00Z"),
            &crate::support::file(name),
            &results,
        )
        .unwrap();
    }
    assert_eq!(B::count(store, "blobs"), 2);
    let exported = crate::support::exported(store);
    assert_eq!(exported.len(), 4);
    for row in exported {
        assert_eq!(row.result.message.as_deref(), Some(trace.as_str()));
        assert_eq!(row.result.output.as_deref(), Some(log.as_str()));
    }
    // A second file of run "two" reruns x: merged, written again.
    crate::support::ingest(
        store,
        &run("two", "2026-03-01T10:00:00Z"),
        &crate::support::file("rerun.xml"),
        &[failing("x")],
    )
    .unwrap();
    // The merged result is written through the same blobs: its message
    // is the one stored, and every row still reads back its texts.
    let exported = crate::support::exported(store);
    assert_eq!(exported.len(), 4);
    assert!(B::count(store, "blobs") <= 3);
    for row in exported {
        assert_eq!(row.result.message.as_deref(), Some(trace.as_str()));
        assert!(
            row.result
                .output
                .as_deref()
                .is_some_and(|o| o.contains(log.as_str()))
        );
    }
}

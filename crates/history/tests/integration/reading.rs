//! Reading the history: order, run numbering, filters, counts.

use hourglass_history::{HistoryStore, ResultFilter, StoreError};
use hourglass_model::Outcome;
use hourglass_model::RunMeta;

use crate::support::{Backend, Fresh, file, ingest, result, run};

/// Three runs ingested out of time order, on two branches.
fn three_runs<B: Backend>(test: &str) -> Option<Fresh<B::Store>> {
    let mut fresh = B::fresh(test)?;
    let store = &mut fresh.store;
    let runs = [
        ("r3", "2026-03-03T10:00:00Z", "main", Outcome::Passed),
        ("r1", "2026-03-01T10:00:00Z", "main", Outcome::Failed),
        ("r2", "2026-03-02T10:00:00+02:00", "topic", Outcome::Passed),
    ];
    for (id, timestamp, branch, outcome) in runs {
        let meta = RunMeta {
            branch: Some(branch.into()),
            ..run(id, timestamp)
        };
        let results = [
            result("z.Last", "only", Outcome::Passed, 3.0),
            result("a.First", "beta", outcome, 2.0),
            result("a.First", "alpha", Outcome::Skipped, 1.0),
        ];
        ingest(store, &meta, &file(id), &results).unwrap();
    }
    Some(fresh)
}

fn rows(
    store: &impl HistoryStore,
    filter: &ResultFilter,
) -> Vec<(String, String, u64, String, Outcome)> {
    let mut seen = Vec::new();
    store
        .for_each_result(filter, &mut |row| {
            seen.push((
                row.key.classname,
                row.key.name,
                row.run_index,
                row.run_id,
                row.outcome,
            ));
            Ok(())
        })
        .unwrap();
    seen
}

pub fn results_come_grouped_by_test_oldest_first<B: Backend>(test: &str) {
    let Some(fresh) = three_runs::<B>(test) else {
        return;
    };
    let store = &fresh.store;
    let seen = rows(store, &ResultFilter::default());
    // One test's rows are contiguous and in run order; the order of the
    // tests is the store's.
    let mut tests: Vec<String> = Vec::new();
    for window in seen.windows(2) {
        let (a, b) = (&window[0], &window[1]);
        if (&a.0, &a.1) == (&b.0, &b.1) {
            assert!(a.2 < b.2, "{a:?} before {b:?}");
        }
    }
    for (class, name, ..) in &seen {
        let test = format!("{class} {name}");
        if tests.last() != Some(&test) {
            assert!(!tests.contains(&test), "{test} comes twice: {seen:?}");
            tests.push(test);
        }
    }
    let mut order: Vec<_> = seen
        .iter()
        .map(|(class, name, index, run, _)| format!("{class} {name} {index} {run}"))
        .collect();
    order.sort();
    assert_eq!(
        order,
        [
            "a.First alpha 0 r1",
            "a.First alpha 1 r2",
            "a.First alpha 2 r3",
            "a.First beta 0 r1",
            "a.First beta 1 r2",
            "a.First beta 2 r3",
            "z.Last only 0 r1",
            "z.Last only 1 r2",
            "z.Last only 2 r3",
        ]
    );
    let beta_r1 = seen
        .iter()
        .find(|row| row.1 == "beta" && row.3 == "r1")
        .unwrap();
    assert_eq!(beta_r1.4, Outcome::Failed);
}

pub fn filters_select_runs<B: Backend>(test: &str) {
    let Some(fresh) = three_runs::<B>(test) else {
        return;
    };
    let store = &fresh.store;
    let last_two = rows(
        store,
        &ResultFilter {
            last_runs: Some(2),
            ..ResultFilter::default()
        },
    );
    assert_eq!(last_two.len(), 6);
    assert!(last_two.iter().all(|row| row.3 != "r1"));
    assert_eq!(last_two[0].2, 0, "run indexes restart within the selection");

    let main = rows(
        store,
        &ResultFilter {
            branch: Some("main".into()),
            ..ResultFilter::default()
        },
    );
    assert!(main.iter().all(|row| row.3 != "r2"));
    assert_eq!(main.len(), 6);

    // r2 is 08:00 UTC on the 2nd.
    let since = rows(
        store,
        &ResultFilter {
            since: Some("2026-03-02T08:00:00Z".into()),
            ..ResultFilter::default()
        },
    );
    assert_eq!(since.len(), 6);
    assert!(since.iter().all(|row| row.3 != "r1"));
}

pub fn runs_are_listed_oldest_first_with_counts<B: Backend>(test: &str) {
    let Some(fresh) = three_runs::<B>(test) else {
        return;
    };
    let store = &fresh.store;
    let runs = store.runs(&ResultFilter::default()).unwrap();
    let ids: Vec<_> = runs.iter().map(|run| run.info.run_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);
    let first = &runs[0];
    assert_eq!(
        (first.tests, first.passed, first.failed, first.skipped),
        (3, 1, 1, 1)
    );
    assert!((first.duration_s - 6.0).abs() < 1e-9);
    assert_eq!(runs[1].info.branch.as_deref(), Some("topic"));
    let limited = store
        .runs(&ResultFilter {
            last_runs: Some(1),
            ..ResultFilter::default()
        })
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].info.run_id, "r3");
}

pub fn a_visitor_error_stops_the_scan<B: Backend>(test: &str) {
    let Some(fresh) = three_runs::<B>(test) else {
        return;
    };
    let store = &fresh.store;
    let mut visited = 0;
    let outcome = store.for_each_result(&ResultFilter::default(), &mut |_| {
        visited += 1;
        Err(Box::new(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        )))
    });
    assert_eq!(visited, 1);
    match outcome {
        Err(StoreError::Visit(source)) => {
            assert_eq!(
                source
                    .downcast_ref::<std::io::Error>()
                    .map(std::io::Error::kind),
                Some(std::io::ErrorKind::BrokenPipe)
            );
        }
        other => panic!("expected a visit error, got {other:?}"),
    }
}

pub fn a_bad_since_is_an_error<B: Backend>(test: &str) {
    let Some(fresh) = three_runs::<B>(test) else {
        return;
    };
    let store = &fresh.store;
    let outcome = store.for_each_result(
        &ResultFilter {
            since: Some("soon".into()),
            ..ResultFilter::default()
        },
        &mut |_| Ok(()),
    );
    assert!(matches!(outcome, Err(StoreError::Timestamp { .. })));
}

pub fn a_runs_total_time_is_the_same_in_any_order<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let store = &mut fresh.store;
    // Added as floats in this order, 0.1 + 0.2 + 0.3 is 0.6000000000000001.
    let forward = [
        result("c", "a", Outcome::Passed, 0.1),
        result("c", "b", Outcome::Failed, 0.2),
        result("c", "c", Outcome::Passed, 0.3),
    ];
    let mut backward = forward.clone();
    backward.reverse();
    ingest(
        store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("f"),
        &forward,
    )
    .unwrap();
    ingest(
        store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("b"),
        &backward,
    )
    .unwrap();
    let runs = store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    for summary in &runs {
        assert_eq!(
            summary.duration_s.to_bits(),
            0.6f64.to_bits(),
            "{summary:?}"
        );
    }
}

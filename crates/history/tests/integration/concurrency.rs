//! Several writers on one database file at once.

use hourglass_history::{HistoryStore, IngestOutcome, ResultFilter};
use hourglass_model::Outcome;

use crate::support::{Backend, file, ingest, result, run};

pub fn eight_writers_with_their_own_connections_lose_nothing<B: Backend>(test: &str) {
    const WRITERS: usize = 8;
    const FILES: usize = 5;
    const TESTS: usize = 200;
    let Some(fresh) = B::fresh(test) else {
        return;
    };
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let location = fresh.location.as_str();
            scope.spawn(move || {
                // Each writer opens the store itself.
                let mut store = B::reopen(location);
                for n in 0..FILES {
                    let results: Vec<_> = (0..TESTS)
                        .map(|t| {
                            result(
                                &format!("w{writer}"),
                                &format!("t{t}"),
                                Outcome::Passed,
                                0.01,
                            )
                        })
                        .collect();
                    let run = run(&format!("run-{writer}-{n}"), "2026-03-01T10:00:00Z");
                    let outcome = ingest(
                        &mut store,
                        &run,
                        &file(&format!("{writer}-{n}.xml")),
                        &results,
                    );
                    assert_eq!(
                        outcome.expect("ingest"),
                        IngestOutcome::Stored {
                            results: TESTS as u64
                        }
                    );
                }
            });
        }
    });
    let store = &fresh.store;
    let runs = store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.len(), WRITERS * FILES);
    assert!(
        runs.iter()
            .all(|run| run.tests == TESTS as u64 && run.files == 1)
    );
    let mut rows = 0;
    store
        .for_each_result(&ResultFilter::default(), &mut |_| {
            rows += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(rows, WRITERS * FILES * TESTS);
}

//! Copying a history into another store, run by run.

use hourglass_history::{HistoryStore, ResultFilter, SqliteStore, copy_runs};
use hourglass_model::Outcome;

use crate::support::{Backend, exported, file, ingest, result, run};

/// A local SQLite history copied into the backend under test: every run,
/// result and file record arrives; a second copy skips every run.
pub fn a_copy_carries_every_run_and_a_second_copy_writes_nothing<B: Backend>(test: &str) {
    let Some(mut fresh) = B::fresh(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut local = SqliteStore::open(&dir.path().join("local.db")).unwrap();
    for (n, day) in ["2026-01-30", "2026-02-02", "2026-03-04"]
        .iter()
        .enumerate()
    {
        let meta = run(&format!("r{n}"), &format!("{day}T10:00:00Z"));
        let mut flaky = result("c", "flaky", Outcome::Failed, 1.0);
        flaky.message = Some(format!("boom {n}"));
        ingest(
            &mut local,
            &meta,
            &file(&format!("{n}.xml")),
            &[
                result("c", "ok", Outcome::Passed, 0.5),
                flaky,
                result("c", "flaky", Outcome::Passed, 0.7),
            ],
        )
        .unwrap();
    }
    // r0's file says when it ran: the copy carries it.
    let wall = hourglass_history::FileWallTime {
        start_ms: hourglass_history::timestamp_millis("2026-01-30T10:00:00Z"),
        end_ms: hourglass_history::timestamp_millis("2026-01-30T10:01:00Z"),
        time_ms: Some(55_000),
    };
    assert!(
        local
            .set_file_wall_time("r0", &file("0.xml").content_hash, &wall)
            .unwrap()
    );
    // The target already has one of the runs: it is skipped, not doubled.
    ingest(
        &mut fresh.store,
        &run("r1", "2026-02-02T10:00:00Z"),
        &file("1.xml"),
        &[
            result("c", "ok", Outcome::Passed, 0.5),
            result("c", "flaky", Outcome::Passed, 0.7),
        ],
    )
    .unwrap();
    let mut seen = Vec::new();
    let report = copy_runs(&local, &mut fresh.store, &mut |progress| {
        seen.push((
            progress.position,
            progress.total,
            progress.run.run_id.clone(),
        ));
    })
    .unwrap();
    assert_eq!(
        (report.runs, report.copied, report.already_there),
        (3, 2, 1)
    );
    assert_eq!(report.results, 4, "two results a copied run");
    assert_eq!(seen[2], (3, 3, "r2".to_owned()));
    let copied = exported(&fresh.store);
    let local_rows = exported(&local);
    for run_id in ["r0", "r2"] {
        let of = |rows: &[hourglass_history::ExportRow]| {
            rows.iter()
                .filter(|row| row.run.run_id == run_id)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(of(&copied), of(&local_rows), "{run_id}");
    }
    assert_eq!(
        fresh.store.run_files("r0").unwrap(),
        local.run_files("r0").unwrap()
    );
    assert_eq!(fresh.store.run_files("r0").unwrap()[0].wall, wall);
    let walls = fresh
        .store
        .run_wall_times(&ResultFilter::default())
        .unwrap();
    assert_eq!(walls[0].wall_time_s, Some(60.0));
    // Copying again writes nothing.
    let again = copy_runs(&local, &mut fresh.store, &mut |_| {}).unwrap();
    assert_eq!((again.copied, again.already_there), (0, 3));
    assert_eq!(B::count(&fresh.store, "runs"), 3);
    let runs = fresh.store.runs(&ResultFilter::default()).unwrap();
    assert_eq!(runs.iter().map(|r| r.flaky).sum::<u64>(), 2);
}

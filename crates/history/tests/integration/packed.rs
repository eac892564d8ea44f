//! Plain passes packed into `passes`: what is read back is what a store of
//! rows (schema version 6, before packing) reads back, and a repeated run
//! costs a few bytes a result.

use hourglass_history::{HistoryStore, ResultFilter, SqliteStore};
use hourglass_model::{Outcome, Property, TestResult};

use crate::support::{count, exported, file, ingest, result, run};

/// A store of rows: the schema before passes were packed.
fn rows_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open_at_version(&dir.path().join("rows.db"), 6).unwrap()
}

fn packed_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("packed.db")).unwrap()
}

/// Every kind of result: plain passes of many durations, passes that are
/// not plain, and the other outcomes.
pub fn mixed(run_seed: u32) -> Vec<TestResult> {
    let mut results = Vec::new();
    let durations = [
        0.0,
        0.001,
        0.003,
        1.5,
        3.4e-5,
        1e-9,
        12_345.678_901,
        0.1 + 0.2,
        86_400.25,
    ];
    for (i, duration) in durations.iter().enumerate() {
        results.push(result(
            "pkg.Plain",
            &format!("t{i}"),
            Outcome::Passed,
            *duration,
        ));
    }
    let mut unknown = result("pkg.Plain", "unknown_time", Outcome::Passed, 0.0);
    unknown.duration_s = None;
    unknown.attempts.clear();
    results.push(unknown);
    let mut chatty = result("pkg.Plain", "chatty", Outcome::Passed, 0.2);
    chatty.output = Some("a pass's output, dropped by default".into());
    results.push(chatty);
    let mut with_file = result("pkg.Rich", "with_file", Outcome::Passed, 0.1);
    with_file.file = Some("src/lib.rs".into());
    with_file.line = Some(12);
    results.push(with_file);
    let mut with_property = result("pkg.Rich", "with_property", Outcome::Passed, 0.1);
    with_property.properties.push(Property {
        name: "seed".into(),
        value: run_seed.to_string(),
    });
    results.push(with_property);
    let mut failed = result("pkg.Rich", "failed", Outcome::Failed, 0.4);
    failed.message = Some("boom".into());
    failed.output = Some("stack".into());
    results.push(failed);
    results.push(result("pkg.Rich", "skipped", Outcome::Skipped, 0.0));
    results
}

fn exports(store: &SqliteStore) -> Vec<(String, TestResult)> {
    let mut rows: Vec<_> = exported(store)
        .into_iter()
        .map(|row| (row.run.run_id, row.result))
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1.key).cmp(&(&b.0, &b.1.key)));
    rows
}

/// The same ingests into a store of rows and a packed one.
fn both(
    ingests: &[(&str, &str, &str, Vec<TestResult>)],
) -> (tempfile::TempDir, SqliteStore, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = rows_store(&dir);
    let mut packed = packed_store(&dir);
    for (run_id, timestamp, name, results) in ingests {
        for store in [&mut rows, &mut packed] {
            ingest(store, &run(run_id, timestamp), &file(name), results).unwrap();
        }
    }
    (dir, rows, packed)
}

/// The same runs, counts and summed durations (whole nanoseconds, summed
/// exactly: the order rows and passes are added in does not show).
fn same_runs(rows: &SqliteStore, packed: &SqliteStore) {
    assert_eq!(
        rows.runs(&ResultFilter::default()).unwrap(),
        packed.runs(&ResultFilter::default()).unwrap()
    );
}

fn bits(results: &[(String, TestResult)]) -> Vec<Option<u64>> {
    results
        .iter()
        .map(|(_, result)| result.duration_s.map(f64::to_bits))
        .collect()
}

#[test]
fn packed_passes_read_back_as_rows_do() {
    let (_dir, rows, packed) = both(&[
        ("r1", "2026-03-01T10:00:00Z", "a.xml", mixed(1)),
        ("r2", "2026-03-02T10:00:00Z", "a.xml", mixed(2)),
    ]);
    let plain = 11;
    let total = mixed(1).len() as i64;
    assert_eq!(count(&packed, "results"), 2 * total);
    let row_count: i64 = packed
        .connection()
        .query_row("SELECT count(*) FROM results", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        row_count,
        2 * (total - plain),
        "only what is not plain is a row"
    );
    let (a, b) = (exports(&rows), exports(&packed));
    assert_eq!(a, b);
    assert_eq!(bits(&a), bits(&b));
    let chatty = b.iter().find(|(_, r)| r.key.name == "chatty").unwrap();
    assert!(chatty.1.output_dropped_bytes > 0);
    same_runs(&rows, &packed);
    let visit = |store: &SqliteStore| {
        let mut seen = Vec::new();
        store
            .for_each_result(&ResultFilter::default(), &mut |row| {
                seen.push((
                    row.key,
                    row.run_id,
                    row.outcome,
                    row.duration_s.map(f64::to_bits),
                    row.attempts,
                    row.file,
                ));
                Ok(())
            })
            .unwrap();
        seen.sort();
        seen
    };
    assert_eq!(visit(&rows), visit(&packed));
}

#[test]
fn reruns_of_a_packed_pass_fold_into_it() {
    let first = vec![
        result("pkg.A", "flaky", Outcome::Passed, 0.5),
        result("pkg.A", "twice", Outcome::Passed, 0.5),
        result("pkg.A", "steady", Outcome::Passed, 0.5),
    ];
    // In the same file: a pass seen twice (still buffered).
    let mut same_file = first.clone();
    same_file.push(result("pkg.A", "twice", Outcome::Passed, 0.7));
    // A second file of the run: a failure of a test whose pass is stored.
    let second = vec![
        result("pkg.A", "flaky", Outcome::Failed, 0.9),
        result("pkg.A", "steady", Outcome::Passed, 0.6),
        result("pkg.B", "new", Outcome::Passed, 0.1),
    ];
    let (_dir, rows, packed) = both(&[
        ("r1", "2026-03-01T10:00:00Z", "a.xml", same_file),
        ("r1", "2026-03-01T10:00:00Z", "b.xml", second),
    ]);
    let (a, b) = (exports(&rows), exports(&packed));
    assert_eq!(a, b);
    assert_eq!(b.len(), 4);
    let flaky = b.iter().find(|(_, r)| r.key.name == "flaky").unwrap();
    assert_ne!(flaky.1.outcome, Outcome::Passed, "{flaky:?}");
}

#[test]
fn many_tests_over_many_blocks_and_flushes_read_back() {
    // More passes than a writer buffers, over many blocks, in an order
    // that is not the test ids' (the second run reverses it).
    let forward: Vec<TestResult> = (0..70_000)
        .map(|i| {
            result(
                &format!("pkg.C{}", i % 97),
                &format!("t{i}"),
                Outcome::Passed,
                f64::from(i) / 1e3,
            )
        })
        .collect();
    let mut backward = forward.clone();
    backward.reverse();
    backward[10].outcome = Outcome::Failed;
    backward[10].attempts.clear();
    let (_dir, rows, packed) = both(&[
        ("r1", "2026-03-01T10:00:00Z", "a.xml", forward),
        ("r2", "2026-03-02T10:00:00Z", "b.xml", backward),
    ]);
    assert_eq!(count(&packed, "results"), 140_000);
    assert_eq!(exports(&rows), exports(&packed));
    same_runs(&rows, &packed);
}

fn store_bytes(store: &SqliteStore) -> i64 {
    let connection = store.connection();
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let pages: i64 = connection
        .pragma_query_value(None, "page_count", |row| row.get(0))
        .unwrap();
    let free: i64 = connection
        .pragma_query_value(None, "freelist_count", |row| row.get(0))
        .unwrap();
    let size: i64 = connection
        .pragma_query_value(None, "page_size", |row| row.get(0))
        .unwrap();
    (pages - free) * size
}

#[test]
fn a_repeated_run_of_passes_costs_a_few_bytes_a_result() {
    let results: Vec<TestResult> = (0..20_000)
        .map(|i| {
            result(
                &format!("pkg.C{}", i % 50),
                &format!("t{i}"),
                Outcome::Passed,
                f64::from(i % 700) / 1e3,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for store in [rows_store(&dir), packed_store(&dir)] {
        let mut store = store;
        ingest(
            &mut store,
            &run("r1", "2026-03-01T10:00:00Z"),
            &file("a"),
            &results,
        )
        .unwrap();
        let after_one = store_bytes(&store);
        ingest(
            &mut store,
            &run("r2", "2026-03-02T10:00:00Z"),
            &file("a"),
            &results,
        )
        .unwrap();
        sizes.push((store_bytes(&store) - after_one) as f64 / results.len() as f64);
    }
    let (rows, packed) = (sizes[0], sizes[1]);
    assert!(packed <= 8.0, "{packed:.1} bytes a result");
    assert!(
        rows >= 5.0 * packed,
        "rows {rows:.1}, packed {packed:.1} bytes a result"
    );
}

#[test]
fn prune_keeps_the_tests_that_only_packed_passes_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = packed_store(&dir);
    let old = vec![
        result("pkg.A", "kept", Outcome::Passed, 0.1),
        result("pkg.A", "gone", Outcome::Passed, 0.1),
    ];
    let new = vec![result("pkg.A", "kept", Outcome::Passed, 0.2)];
    ingest(
        &mut store,
        &run("old", "2026-01-01T00:00:00Z"),
        &file("o"),
        &old,
    )
    .unwrap();
    ingest(
        &mut store,
        &run("new", "2026-03-01T00:00:00Z"),
        &file("n"),
        &new,
    )
    .unwrap();
    let report = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!((report.runs, report.results, report.tests), (1, 2, 1));
    let left = exports(&store);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.key.name, "kept");
    assert_eq!(left[0].1.duration_s, Some(0.2));
    assert_eq!(count(&store, "results"), 1);
}

#[test]
fn a_scan_sees_one_state_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let mut reader = SqliteStore::open(&path).unwrap();
    let passes: Vec<TestResult> = (0..3_000)
        .map(|i| result("pkg.C", &format!("t{i:04}"), Outcome::Passed, 0.1))
        .collect();
    let r1 = run("r1", "2026-03-01T10:00:00Z");
    ingest(&mut reader, &r1, &file("a"), &passes).unwrap();
    // A second file of the run fails the tests of the later blocks.
    let failures: Vec<TestResult> = passes[1_500..]
        .iter()
        .map(|pass| {
            let mut failed = pass.clone();
            failed.outcome = Outcome::Failed;
            failed.attempts.clear();
            failed
        })
        .collect();
    let mut writer = SqliteStore::open(&path).unwrap();
    let (mut seen, mut failed) = (0, 0);
    reader
        .for_each_result(&ResultFilter::default(), &mut |row| {
            if seen == 0 {
                ingest(&mut writer, &r1, &file("b"), &failures).unwrap();
            }
            seen += 1;
            failed += usize::from(row.outcome != Outcome::Passed);
            Ok(())
        })
        .unwrap();
    assert_eq!((seen, failed), (3_000, 0), "the scan saw the later write");
    // The next scan sees it.
    let mut failed = 0;
    reader
        .for_each_result(&ResultFilter::default(), &mut |row| {
            failed += usize::from(row.outcome != Outcome::Passed);
            Ok(())
        })
        .unwrap();
    assert_eq!(failed, 1_500);
}

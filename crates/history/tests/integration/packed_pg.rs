//! Plain passes packed in PostgreSQL (schema version 6): what is read back
//! is what a PostgreSQL store of rows (version 5) and the packed SQLite
//! store read back, byte for byte, and a repeated run costs a few bytes a
//! result.

use hourglass_history::testing::TestDatabase;
use hourglass_history::{HistoryStore, OutlineRequest, PgStore, ResultFilter, SqliteStore};
use hourglass_model::{Outcome, TestResult};

use crate::packed::mixed;
use crate::support::{exported, file, ingest, result, run};

/// A PostgreSQL store of rows (before packing), a packed one and a packed
/// SQLite store; `None` without a server.
struct Stores {
    _databases: [TestDatabase; 2],
    _dir: tempfile::TempDir,
    rows: PgStore,
    packed: PgStore,
    sqlite: SqliteStore,
}

impl Stores {
    fn new(test: &str) -> Option<Self> {
        let rows_db = TestDatabase::create(&format!("{test}_rows"))?;
        let packed_db = TestDatabase::create(&format!("{test}_packed"))?;
        let rows = PgStore::open_at_version(rows_db.url(), 5).unwrap();
        let packed = PgStore::open(packed_db.url()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("history.db")).unwrap();
        Some(Self {
            _databases: [rows_db, packed_db],
            _dir: dir,
            rows,
            packed,
            sqlite,
        })
    }

    fn ingest(&mut self, run_id: &str, timestamp: &str, name: &str, results: &[TestResult]) {
        let meta = run(run_id, timestamp);
        ingest(&mut self.rows, &meta, &file(name), results).unwrap();
        ingest(&mut self.packed, &meta, &file(name), results).unwrap();
        ingest(&mut self.sqlite, &meta, &file(name), results).unwrap();
    }

    /// All three read back the same: exports (durations to the bit), runs,
    /// results and outlines.
    fn agree(&self) -> Vec<(String, TestResult)> {
        let packed = exports(&self.packed);
        assert_eq!(exports(&self.rows), packed);
        assert_eq!(exports(&self.sqlite), packed);
        assert_eq!(jsonl(&self.packed), jsonl(&self.sqlite));
        assert_eq!(jsonl(&self.packed), jsonl(&self.rows));
        let runs = self.packed.runs(&ResultFilter::default()).unwrap();
        assert_eq!(self.rows.runs(&ResultFilter::default()).unwrap(), runs);
        assert_eq!(self.sqlite.runs(&ResultFilter::default()).unwrap(), runs);
        assert_eq!(visited(&self.rows), visited(&self.packed));
        assert_eq!(visited(&self.sqlite), visited(&self.packed));
        assert_eq!(outlines(&self.rows), outlines(&self.packed));
        assert_eq!(outlines(&self.sqlite), outlines(&self.packed));
        packed
    }
}

/// The export, in the store's order (run, then test key).
fn exports(store: &impl HistoryStore) -> Vec<(String, TestResult)> {
    exported(store)
        .into_iter()
        .map(|row| (row.run.run_id, row.result))
        .collect()
}

/// The export as JSON lines: durations to the bit, in the store's order.
fn jsonl(store: &impl HistoryStore) -> String {
    let mut out = String::new();
    store
        .for_each_export(&mut |row| {
            out.push_str(&serde_json::to_string(&row.result).unwrap());
            out.push('\n');
            Ok(())
        })
        .unwrap();
    out
}

type Visited = (String, String, Outcome, Option<u64>, u32, Option<String>);

fn visited(store: &impl HistoryStore) -> Vec<Visited> {
    let mut seen = Vec::new();
    store
        .for_each_result(&ResultFilter::default(), &mut |row| {
            seen.push((
                row.key.to_string(),
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
}

fn outlines(store: &impl HistoryStore) -> Vec<String> {
    let mut seen = Vec::new();
    store
        .for_each_test_outline(&OutlineRequest::default(), &mut |outline| {
            seen.push(format!("{outline:?}"));
            Ok(())
        })
        .unwrap();
    seen.sort();
    seen
}

#[test]
fn packed_passes_read_back_as_rows_and_sqlite_do() {
    let Some(mut stores) = Stores::new("packed_pg_read_back") else {
        return;
    };
    stores.ingest("r1", "2026-03-01T10:00:00Z", "a.xml", &mixed(1));
    stores.ingest("r2", "2026-03-02T10:00:00Z", "a.xml", &mixed(2));
    let exported = stores.agree();
    assert_eq!(exported.len(), 2 * mixed(1).len());
    let rows = stores.packed.row_count("results").unwrap();
    assert_eq!(
        rows,
        2 * (mixed(1).len() as i64 - 11),
        "only what is not plain is a row"
    );
    assert_eq!(stores.packed.result_count().unwrap(), exported.len() as u64);
}

#[test]
fn reruns_of_a_packed_pass_fold_into_it() {
    let Some(mut stores) = Stores::new("packed_pg_reruns") else {
        return;
    };
    let first = vec![
        result("pkg.A", "flaky", Outcome::Passed, 0.5),
        result("pkg.A", "twice", Outcome::Passed, 0.5),
        result("pkg.A", "steady", Outcome::Passed, 0.5),
        result("pkg.A", "plain_then_pass", Outcome::Passed, 0.5),
    ];
    // In the same file: a pass seen twice.
    let mut same_file = first.clone();
    same_file.push(result("pkg.A", "twice", Outcome::Passed, 0.7));
    // A second file of the run: reruns of tests whose passes are packed,
    // and new tests, some in blocks the run has.
    let second = vec![
        result("pkg.A", "flaky", Outcome::Failed, 0.9),
        result("pkg.A", "steady", Outcome::Passed, 0.6),
        result("pkg.B", "new", Outcome::Passed, 0.1),
    ];
    // A third: a rerun of a merged result, and of a packed pass again.
    let third = vec![
        result("pkg.A", "flaky", Outcome::Passed, 0.3),
        result("pkg.A", "plain_then_pass", Outcome::Passed, 0.2),
        result("pkg.B", "newer", Outcome::Passed, 0.1),
    ];
    stores.ingest("r1", "2026-03-01T10:00:00Z", "a.xml", &same_file);
    stores.ingest("r1", "2026-03-01T10:00:00Z", "b.xml", &second);
    stores.ingest("r1", "2026-03-01T10:00:00Z", "c.xml", &third);
    // The same file again is stored once.
    stores.ingest("r1", "2026-03-01T10:00:00Z", "c.xml", &third);
    stores.ingest("r2", "2026-03-02T10:00:00Z", "a.xml", &first);
    let exported = stores.agree();
    assert_eq!(exported.len(), 6 + 4);
    let flaky = exported
        .iter()
        .find(|(_, r)| r.key.name == "flaky")
        .unwrap();
    assert_ne!(flaky.1.outcome, Outcome::Passed, "{flaky:?}");
    assert_eq!(stores.packed.result_count().unwrap(), 10);
}

#[test]
fn rows_stored_before_packing_read_back_beside_packed_passes() {
    let Some(database) = TestDatabase::create("packed_pg_old_rows") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("history.db")).unwrap();
    let old = PgStore::open_at_version(database.url(), 5);
    let mut old = old.unwrap();
    let r1 = run("r1", "2026-03-01T10:00:00Z");
    ingest(&mut old, &r1, &file("a"), &mixed(1)).unwrap();
    ingest(&mut sqlite, &r1, &file("a"), &mixed(1)).unwrap();
    drop(old);
    let mut packed = PgStore::open(database.url()).unwrap();
    assert_eq!(packed.row_count("passes").unwrap(), 0);
    // A second file of the old run rerunning its rows, and a new run.
    let reruns: Vec<TestResult> = mixed(1)
        .into_iter()
        .take(4)
        .chain([result("pkg.New", "t", Outcome::Passed, 0.25)])
        .collect();
    let r2 = run("r2", "2026-03-02T10:00:00Z");
    ingest(&mut packed, &r1, &file("b"), &reruns).unwrap();
    ingest(&mut packed, &r2, &file("a"), &mixed(2)).unwrap();
    ingest(&mut sqlite, &r1, &file("b"), &reruns).unwrap();
    ingest(&mut sqlite, &r2, &file("a"), &mixed(2)).unwrap();
    assert!(packed.row_count("passes").unwrap() > 0);
    assert_eq!(exports(&packed), exports(&sqlite));
    assert_eq!(jsonl(&packed), jsonl(&sqlite));
    assert_eq!(
        packed.runs(&ResultFilter::default()).unwrap(),
        sqlite.runs(&ResultFilter::default()).unwrap()
    );
    assert_eq!(visited(&packed), visited(&sqlite));
    assert_eq!(outlines(&packed), outlines(&sqlite));
}

#[test]
fn many_tests_over_many_blocks_read_back() {
    let Some(mut stores) = Stores::new("packed_pg_many") else {
        return;
    };
    // More passes than one read-back batch, over many blocks; the second
    // run's file in reverse order, a failure and a rerun in it.
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
    backward.push(forward[5].clone());
    stores.ingest("r1", "2026-03-01T10:00:00Z", "a.xml", &forward);
    stores.ingest("r2", "2026-03-02T10:00:00Z", "b.xml", &backward);
    let exported = stores.agree();
    assert_eq!(exported.len(), 140_000);
}

/// Bytes of `results` (every partition, with indexes) and `passes`.
fn result_bytes(store: &PgStore) -> i64 {
    let mut client = store.client();
    client.batch_execute("CHECKPOINT").unwrap();
    client
        .query_one(
            "SELECT (coalesce(pg_total_relation_size(to_regclass('passes')), 0) + coalesce((SELECT \
             sum(pg_total_relation_size(inhrelid)) FROM pg_inherits \
             WHERE inhparent = 'results'::regclass), 0))::int8",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_repeated_run_of_passes_costs_a_few_bytes_a_result() {
    let Some(stores) = Stores::new("packed_pg_bytes") else {
        return;
    };
    let Stores {
        _databases,
        mut rows,
        mut packed,
        ..
    } = stores;
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
    let mut sizes = Vec::new();
    for store in [&mut rows, &mut packed] {
        // The first run creates the tests and the month's partition.
        ingest(
            store,
            &run("r1", "2026-03-01T10:00:00Z"),
            &file("a"),
            &results,
        )
        .unwrap();
        let after_one = result_bytes(store);
        ingest(
            store,
            &run("r2", "2026-03-02T10:00:00Z"),
            &file("a"),
            &results,
        )
        .unwrap();
        sizes.push((result_bytes(store) - after_one) as f64 / results.len() as f64);
    }
    let (rows, packed) = (sizes[0], sizes[1]);
    assert!(packed <= 8.0, "{packed:.1} bytes a result");
    assert!(
        rows >= 10.0 * packed,
        "rows {rows:.1}, packed {packed:.1} bytes a result"
    );
}

#[test]
fn prune_keeps_the_tests_that_only_packed_passes_name() {
    let Some(database) = TestDatabase::create("packed_pg_prune") else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
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
    let dry = store.prune("2026-02-01T00:00:00Z", true).unwrap();
    assert_eq!((dry.runs, dry.results, dry.tests), (1, 2, 1));
    assert_eq!(store.result_count().unwrap(), 3);
    let report = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!((report.runs, report.results, report.tests), (1, 2, 1));
    let left = exports(&store);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.key.name, "kept");
    assert_eq!(left[0].1.duration_s, Some(0.2));
    assert_eq!(store.result_count().unwrap(), 1);
    assert_eq!(store.row_count("passes").unwrap(), 1);
}

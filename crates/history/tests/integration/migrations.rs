//! Migrations from every earlier schema version.

use hourglass_history::schema::{MIGRATIONS, latest_version, version};
use hourglass_history::{HistoryStore, ResultFilter, SqliteStore, StoreError};
use hourglass_model::Outcome;

use crate::support::{exported, file, ingest, result, run};

/// Writes one run with one result using only the columns version `at` has.
fn seed(store: &SqliteStore, at: i64) {
    let connection = store.connection();
    connection
        .execute(
            r#"INSERT INTO runs (id, run_id, "commit", branch, timestamp, ts, job, created_at)
               VALUES (1, 'old-run', 'c0ffee', 'main', '2026-01-05T08:00:00Z', 1767600000000, NULL,
                       '2026-01-05T08:00:00Z')"#,
            [],
        )
        .unwrap();
    if at >= 3 {
        connection
            .execute_batch(
                "INSERT INTO classes (id, suite, classname) VALUES (1, 'suite', 'c');
                 INSERT INTO tests (id, class, name) VALUES (1, 1, 'old');",
            )
            .unwrap();
    } else {
        connection
            .execute(
                "INSERT INTO tests (id, suite, classname, name) VALUES (1, 'suite', 'c', 'old')",
                [],
            )
            .unwrap();
    }
    let run_ts = if at >= 2 { ", run_ts" } else { "" };
    let run_ts_value = if at >= 2 { ", 1767600000000" } else { "" };
    let id = if at >= 3 { "id, " } else { "" };
    let id_value = if at >= 3 { "4294967297, " } else { "" };
    if at >= 5 {
        // From version 5 on, texts live in blobs, written by the store.
        connection
            .execute(
                &format!(
                    "INSERT INTO results ({id}run, test, status, duration_s, attempt_count{run_ts})
                     VALUES ({id_value}1, 1, 'failed', 1.5, 0{run_ts_value})"
                ),
                [],
            )
            .unwrap();
        return;
    }
    connection
        .execute(
            &format!(
                "INSERT INTO results ({id}run, test, status, duration_s, attempt_count, message, output{run_ts})
                 VALUES ({id_value}1, 1, 'failed', 1.5, 0, ?1, ?2{run_ts_value})"
            ),
            [OLD_MESSAGE, &old_output()],
        )
        .unwrap();
}

const OLD_MESSAGE: &str = "expected: <42> but was: <41>";

/// Long enough to be compressed by migration 5.
fn old_output() -> String {
    "\tat com.example.Old.check(Old.java:7)\n".repeat(50)
}

#[test]
fn every_earlier_version_migrates_to_the_latest_and_keeps_its_data() {
    assert!(latest_version() >= 2);
    for at in 0..latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let old = SqliteStore::open_at_version(&path, at).unwrap();
            assert_eq!(version(old.connection()).unwrap(), at);
            if at >= 1 {
                seed(&old, at);
            }
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            version(store.connection()).unwrap(),
            latest_version(),
            "from {at}"
        );

        // The store works at the latest version...
        ingest(
            &mut store,
            &run("new-run", "2026-01-12T08:00:00Z"),
            &file("new.xml"),
            &[result("c", "old", Outcome::Passed, 1.0)],
        )
        .unwrap();
        // ...and the old rows read back in time order with the new ones.
        let mut seen = Vec::new();
        store
            .for_each_result(
                &ResultFilter {
                    since: Some("2026-01-01T00:00:00Z".into()),
                    ..ResultFilter::default()
                },
                &mut |row| {
                    seen.push((row.run_id, row.outcome));
                    Ok(())
                },
            )
            .unwrap();
        let expected_old = usize::from(at >= 1);
        assert_eq!(seen.len(), expected_old + 1, "from {at}: {seen:?}");
        if at >= 1 {
            assert_eq!(seen[0], ("old-run".to_owned(), Outcome::Failed));
        }
        if (1..5).contains(&at) {
            // Its message and output moved into blobs and read back.
            let old = exported(&store)
                .into_iter()
                .find(|row| row.run.run_id == "old-run")
                .unwrap()
                .result;
            assert_eq!(old.message.as_deref(), Some(OLD_MESSAGE), "from {at}");
            assert_eq!(old.output, Some(old_output()), "from {at}");
            let inline: i64 = store
                .connection()
                .query_row(
                    "SELECT count(*) FROM results WHERE message IS NOT NULL OR output IS NOT NULL",
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(inline, 0, "from {at}");
            let compressed: i64 = store
                .connection()
                .query_row("SELECT count(*) FROM blobs WHERE codec = 1", [], |row| {
                    row.get(0)
                })
                .unwrap();
            assert_eq!(compressed, 1, "from {at}");
        }
        assert_eq!(
            seen.last().unwrap(),
            &("new-run".to_owned(), Outcome::Passed)
        );
        assert_eq!(exported(&store).len(), expected_old + 1);
    }
}

#[test]
fn migrating_to_tests_keyed_by_class_keeps_test_ids_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        let old = SqliteStore::open_at_version(&path, 2).unwrap();
        old.connection()
            .execute_batch(
                r#"INSERT INTO runs (id, run_id, "commit", branch, timestamp, ts, job, created_at)
                   VALUES (1, 'old-run', 'c0ffee', 'main', '2026-01-05T08:00:00Z', 1767600000000,
                           NULL, '2026-01-05T08:00:00Z');
                   INSERT INTO tests (id, suite, classname, name) VALUES
                       (7, 'suite', 'c', 'b'), (3, 'suite', 'c', 'a'), (5, 'other', 'c', 'a');
                   INSERT INTO results (run, test, status, duration_s, message, output,
                                        attempt_count, run_ts)
                   VALUES (1, 7, 'failed', 2.5, 'boom', 'log', 0, 1767600000000),
                          (1, 3, 'passed', 0.5, NULL, NULL, 0, 1767600000000),
                          (1, 5, 'skipped', NULL, NULL, NULL, 0, 1767600000000);"#,
            )
            .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let results_sql: String = store
        .connection()
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'results'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        results_sql.contains(r#"REFERENCES "tests" (id)"#),
        "{results_sql}"
    );
    let dangling: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    let ids: Vec<(i64, String, String, String)> = store
        .connection()
        .prepare(
            "SELECT t.id, c.suite, c.classname, t.name FROM tests t \
             JOIN classes c ON c.id = t.class ORDER BY t.id",
        )
        .unwrap()
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let text = |s: &str| s.to_owned();
    assert_eq!(
        ids,
        [
            (3, text("suite"), text("c"), text("a")),
            (5, text("other"), text("c"), text("a")),
            (7, text("suite"), text("c"), text("b")),
        ]
    );
    let rows: Vec<_> = exported(&store)
        .into_iter()
        .map(|row| {
            let result = row.result;
            (
                result.key.suite,
                result.key.name,
                result.outcome,
                result.duration_s,
                result.message,
                result.output,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (text("other"), text("a"), Outcome::Skipped, None, None, None),
            (
                text("suite"),
                text("a"),
                Outcome::Passed,
                Some(0.5),
                None,
                None
            ),
            (
                text("suite"),
                text("b"),
                Outcome::Failed,
                Some(2.5),
                Some(text("boom")),
                Some(text("log"))
            ),
        ]
    );
    // A new run of a migrated test is stored under its old id.
    let mut again = result("c", "b", Outcome::Passed, 1.0);
    again.key.suite = "suite".into();
    ingest(
        &mut store,
        &run("new-run", "2026-01-12T08:00:00Z"),
        &file("new.xml"),
        &[again],
    )
    .unwrap();
    let tests: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM tests", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tests, 3, "no new test row");
    let new_run: Vec<_> = exported(&store)
        .into_iter()
        .filter(|row| row.run.run_id == "new-run")
        .map(|row| row.result.key)
        .collect();
    assert_eq!(new_run.len(), 1);
    assert_eq!(
        (new_run[0].classname.as_str(), new_run[0].name.as_str()),
        ("c", "b")
    );
}

#[test]
fn a_result_without_its_test_is_carried_over_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        let old = SqliteStore::open_at_version(&path, 2).unwrap();
        seed(&old, 2);
        // Written by a tool that did not enforce foreign keys.
        old.connection()
            .execute(
                "INSERT INTO results (run, test, status, attempt_count, run_ts) \
                 VALUES (1, 99, 'passed', 0, 1767600000000)",
                [],
            )
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(version(store.connection()).unwrap(), latest_version());
    assert_eq!(
        <crate::support::Sqlite as crate::support::Backend>::count(&store, "results"),
        2
    );
    assert_eq!(exported(&store).len(), 1);
}

#[test]
fn every_migration_step_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    for at in 0..=latest_version() {
        let store = SqliteStore::open_at_version(&path, at).unwrap();
        assert_eq!(version(store.connection()).unwrap(), at);
    }
    // Opening again changes nothing.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        version(store.connection()).unwrap(),
        MIGRATIONS.len() as i64
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(StoreError::TooNew { found, known }) => {
            assert_eq!(found, latest_version() + 1);
            assert_eq!(known, latest_version());
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
}

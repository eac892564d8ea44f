//! What only the PostgreSQL store has: migrations under an advisory lock,
//! monthly partitions, connection errors, a server going away midway.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hourglass_history::pg::connect::CONNECT_ATTEMPTS;
use hourglass_history::pg::schema::latest_version;
use hourglass_history::testing::{TestDatabase, server_url, with_database};
use hourglass_history::{HistoryStore, IngestOutcome, PgStore, ResultFilter, StoreError};
use hourglass_model::Outcome;

use crate::support::{file, ingest, result, run};

#[test]
fn runners_starting_at_once_migrate_once() {
    let Some(database) = TestDatabase::create("pg::runners_starting_at_once_migrate_once") else {
        return;
    };
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| PgStore::open(database.url()).expect("open"));
        }
    });
    let store = PgStore::open(database.url()).unwrap();
    assert_eq!(
        store.row_count("hourglass_migrations").unwrap(),
        latest_version()
    );
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let Some(database) = TestDatabase::create("pg::a_database_of_a_newer_schema_is_refused") else {
        return;
    };
    let store = PgStore::open(database.url()).unwrap();
    store
        .client()
        .batch_execute("INSERT INTO hourglass_migrations (version) VALUES (99)")
        .unwrap();
    drop(store);
    match PgStore::open(database.url()) {
        Err(error @ StoreError::TooNew { found: 99, .. }) => {
            assert!(error.is_location_error());
            assert!(error.to_string().contains("upgrade hourglass"), "{error}");
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
}

#[test]
fn results_go_to_one_partition_a_month() {
    let Some(database) = TestDatabase::create("pg::results_go_to_one_partition_a_month") else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    for (id, at) in [
        ("jan", "2026-01-31T23:00:00Z"),
        ("feb", "2026-02-01T01:00:00+02:00"),
        ("feb2", "2026-02-27T00:00:00Z"),
    ] {
        ingest(
            &mut store,
            &run(id, at),
            &file(id),
            // A failure: a row (a plain pass would be packed into `passes`).
            &[result("c", "t", Outcome::Failed, 1.0)],
        )
        .unwrap();
    }
    let partitions: Vec<String> = store
        .client()
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'results'::regclass AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    // 2026-02-01T01:00+02:00 is still January in UTC.
    assert_eq!(partitions, ["results_2026_01", "results_2026_02"]);
    assert_eq!(store.row_count("results_2026_01").unwrap(), 2);
    assert_eq!(store.row_count("results_2026_02").unwrap(), 1);
}

#[test]
fn a_wrong_password_is_named() {
    let Some(admin) = server_url("pg::a_wrong_password_is_named") else {
        return;
    };
    let Some((before, after)) = admin.split_once('@') else {
        panic!("HOURGLASS_TEST_PG has no user: {admin}");
    };
    let user = before.rsplit_once("://").map_or(before, |(_, u)| u);
    let user = user.split_once(':').map_or(user, |(u, _)| u);
    let scheme = before.split_once("://").map_or("postgres", |(s, _)| s);
    let wrong = format!("{scheme}://{user}:not-the-password@{after}");
    match PgStore::open(&wrong) {
        Err(error @ StoreError::PgAuth { .. }) => {
            assert!(error.is_location_error());
            assert!(!error.to_string().contains("not-the-password"), "{error}");
        }
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_is_named() {
    // A port on loopback where nothing listens (bound, then released).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    match PgStore::open(&format!(
        "postgres://ci:pw@127.0.0.1:{port}/hg?sslmode=disable"
    )) {
        Err(error @ StoreError::PgUnreachable { .. }) => {
            assert!(error.is_location_error());
            assert!(error.to_string().contains("cannot reach"), "{error}");
        }
        other => panic!("expected an unreachable server, got {other:?}"),
    }
}

/// A TCP relay on loopback to the server of `url`: it cuts the first
/// `refuse` connections as soon as they arrive (a server restarting, a
/// flaky network), then relays. Returns `url` through the relay and the
/// count of connections it saw.
fn flaky_relay(url: &str, refuse: usize) -> (String, Arc<AtomicUsize>) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (userinfo, server) = authority.rsplit_once('@').unwrap();
    let upstream: std::net::SocketAddr = server.parse().expect("HOURGLASS_TEST_PG names host:port");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            if counter.fetch_add(1, Ordering::SeqCst) < refuse {
                drop(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (
        format!("{scheme}://{userinfo}@127.0.0.1:{port}{tail}"),
        seen,
    )
}

#[test]
fn a_connection_cut_at_connect_time_is_tried_again() {
    let Some(database) =
        TestDatabase::create("pg::a_connection_cut_at_connect_time_is_tried_again")
    else {
        return;
    };
    let (url, seen) = flaky_relay(database.url(), 2);
    let mut store = PgStore::open(&url).expect("the third attempt gets through");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    ingest(
        &mut store,
        &run("r", "2026-03-01T10:00:00Z"),
        &file("f"),
        &[result("c", "t", Outcome::Passed, 1.0)],
    )
    .unwrap();
    assert_eq!(store.result_count().unwrap(), 1);
}

#[test]
fn a_connection_that_never_gets_through_gives_up_after_a_few_attempts() {
    let Some(database) = TestDatabase::create(
        "pg::a_connection_that_never_gets_through_gives_up_after_a_few_attempts",
    ) else {
        return;
    };
    let (url, seen) = flaky_relay(database.url(), usize::MAX);
    match PgStore::open(&url) {
        Err(error @ StoreError::PgUnreachable { attempts, .. }) => {
            assert_eq!(attempts, CONNECT_ATTEMPTS);
            assert!(
                error
                    .to_string()
                    .contains(&format!("gave up after {CONNECT_ATTEMPTS} attempts")),
                "{error}"
            );
        }
        other => panic!("expected an unreachable server, got {other:?}"),
    }
    assert_eq!(seen.load(Ordering::SeqCst), CONNECT_ATTEMPTS as usize);
    // A refused password is not a reason to try again.
    let (url, seen) = flaky_relay(database.url(), 0);
    let wrong = url.replacen(":hourglass-test@", ":not-the-password@", 1);
    if wrong != url {
        assert!(matches!(
            PgStore::open(&wrong),
            Err(StoreError::PgAuth { .. })
        ));
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_connection_cut_midway_stores_nothing_of_the_file() {
    let Some(database) =
        TestDatabase::create("pg::a_connection_cut_midway_stores_nothing_of_the_file")
    else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    let pid: i32 = store
        .client()
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let killer = PgStore::open(database.url()).unwrap();
    let outcome = store.ingest_file(
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("big.xml"),
        &mut |sink| {
            for n in 0..20_000 {
                if n == 10_000 {
                    killer
                        .client()
                        .execute("SELECT pg_terminate_backend($1)", &[&pid])
                        .unwrap();
                }
                sink(&result("c", &format!("t{n}"), Outcome::Passed, 0.1))?;
            }
            Ok(())
        },
    );
    match outcome {
        Err(error @ StoreError::PgConnectionLost { .. }) => {
            assert!(
                error.to_string().contains("nothing of it is stored"),
                "{error}"
            );
        }
        other => panic!("expected a lost connection, got {other:?}"),
    }
    let store = PgStore::open(database.url()).unwrap();
    assert_eq!(store.row_count("runs").unwrap(), 0);
    assert_eq!(store.result_count().unwrap(), 0);
    assert!(store.runs(&ResultFilter::default()).unwrap().is_empty());
}

#[test]
fn another_database_on_the_same_server_is_another_history() {
    let Some(database) =
        TestDatabase::create("pg::another_database_on_the_same_server_is_another_history")
    else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    let stored = ingest(
        &mut store,
        &run("r", "2026-03-01T10:00:00Z"),
        &file("f"),
        &[],
    )
    .unwrap();
    assert_eq!(stored, IngestOutcome::Stored { results: 0 });
    let missing = with_database(database.url(), "hourglass_no_such_database");
    assert!(matches!(
        PgStore::open(&missing),
        Err(StoreError::PgNoDatabase { .. })
    ));
}

#[test]
fn texts_stored_inline_before_blobs_read_back_after_the_migration() {
    let Some(database) =
        TestDatabase::create("pg::texts_stored_inline_before_blobs_read_back_after_the_migration")
    else {
        return;
    };
    let store = PgStore::open_at_version(database.url(), 2).unwrap();
    let ts = hourglass_history::timestamp_millis("2026-03-01T10:00:00Z").unwrap();
    hourglass_history::pg::schema::ensure_partition(&mut store.client(), ts).unwrap();
    store
        .client()
        .execute(
            "INSERT INTO runs (run_id, timestamp, ts, created_at) \
             VALUES ('old', '2026-03-01T10:00:00Z', $1, '2026-03-01T10:00:00Z')",
            &[&ts],
        )
        .unwrap();
    store
        .client()
        .batch_execute(
            "INSERT INTO classes (suite, classname) VALUES ('s', 'c');
             INSERT INTO tests (class, name) SELECT id, 'n' FROM classes;
             INSERT INTO results (run, test, run_ts, status, message, output, attempt_count)
                 SELECT r.id, t.id, r.ts, 'failed', 'boom', 'stdout', 0 FROM runs r, tests t;",
        )
        .unwrap();
    drop(store);
    let store = PgStore::open(database.url()).unwrap();
    let rows = crate::support::exported(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].result.message.as_deref(), Some("boom"));
    assert_eq!(rows[0].result.output.as_deref(), Some("stdout"));
    assert_eq!(rows[0].result.outcome, Outcome::Failed);
}

#[test]
fn prune_drops_old_runs_and_what_only_they_referred_to() {
    let Some(database) =
        TestDatabase::create("pg::prune_drops_old_runs_and_what_only_they_referred_to")
    else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    let failing = |name: &str, message: &str| {
        let mut result = result("c", name, Outcome::Failed, 1.0);
        result.message = Some(message.to_owned());
        result.attempts[0].message = Some(message.to_owned());
        result
    };
    ingest(
        &mut store,
        &run("old", "2026-01-10T10:00:00Z"),
        &file("old.xml"),
        &[failing("gone", "only old"), failing("kept", "shared")],
    )
    .unwrap();
    ingest(
        &mut store,
        &run("new", "2026-03-10T10:00:00Z"),
        &file("new.xml"),
        &[failing("kept", "shared")],
    )
    .unwrap();
    let dry = store.prune("2026-02-01T00:00:00Z", true).unwrap();
    assert_eq!((dry.runs, dry.results, dry.blobs, dry.tests), (1, 2, 1, 1));
    assert_eq!(store.row_count("runs").unwrap(), 2);
    let report = store.prune("2026-02-01T00:00:00Z", false).unwrap();
    assert_eq!(
        (report.runs, report.files, report.results, report.blobs),
        (1, 1, 2, 1)
    );
    assert_eq!((report.tests, report.classes), (1, 0));
    assert_eq!(store.row_count("runs").unwrap(), 1);
    assert_eq!(store.row_count("blobs").unwrap(), 1);
    let rows = crate::support::exported(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].run.run_id, "new");
    assert_eq!(rows[0].result.message.as_deref(), Some("shared"));
    assert!(matches!(
        store.prune("not a date", false),
        Err(StoreError::Timestamp { .. })
    ));
}

/// A file big enough for the bulk path (hash joins, one statement for a new
/// run) with reruns in it, then a second file of the same run: stored as
/// the SQLite store stores the same files.
#[test]
fn a_big_file_with_reruns_is_stored_as_sqlite_stores_it() {
    let Some(database) =
        TestDatabase::create("pg::a_big_file_with_reruns_is_stored_as_sqlite_stores_it")
    else {
        return;
    };
    let mut first = Vec::new();
    for n in 0..25_000 {
        let outcome = if n % 1000 == 7 {
            Outcome::Failed
        } else {
            Outcome::Passed
        };
        first.push(result(
            &format!("c{}", n % 40),
            &format!("t{n}"),
            outcome,
            0.5,
        ));
    }
    // Reruns of the failures, later in the same file.
    for n in (7..25_000).step_by(1000) {
        first.push(result(
            &format!("c{}", n % 40),
            &format!("t{n}"),
            Outcome::Passed,
            0.25,
        ));
    }
    let second: Vec<_> = (0..30)
        .map(|n| {
            result(
                &format!("c{}", n % 40),
                &format!("t{n}"),
                Outcome::Failed,
                1.0,
            )
        })
        .collect();
    let mut pg = PgStore::open(database.url()).unwrap();
    let (_dir, mut sqlite) = crate::support::temp_store();
    feed_run(&mut pg, "big", &first, &second);
    feed_run(&mut sqlite, "big", &first, &second);
    let pg_rows = crate::support::exported(&pg);
    assert_eq!(pg_rows.len(), 25_000);
    let flaky = pg_rows
        .iter()
        .filter(|row| row.result.outcome == Outcome::Flaky)
        .count();
    assert!(
        flaky > 25,
        "reruns in the file and in the second file merged: {flaky}"
    );
    assert_eq!(shown(&pg_rows), shown(&crate::support::exported(&sqlite)));
}

/// Exported rows as text, every field shown.
fn shown(rows: &[hourglass_history::ExportRow]) -> Vec<String> {
    rows.iter().map(|row| format!("{row:?}")).collect()
}

/// Stores `first` then `second` as two files of the run `run_id`, then
/// `first` again (stored once).
fn feed_run(
    store: &mut impl HistoryStore,
    run_id: &str,
    first: &[hourglass_model::TestResult],
    second: &[hourglass_model::TestResult],
) {
    let run = run(run_id, "2026-03-01T10:00:00Z");
    assert_eq!(
        ingest(store, &run, &file("first.xml"), first).unwrap(),
        IngestOutcome::Stored {
            results: first.len() as u64
        }
    );
    ingest(store, &run, &file("second.xml"), second).unwrap();
    assert_eq!(
        ingest(store, &run, &file("first.xml"), first).unwrap(),
        IngestOutcome::AlreadyStored
    );
}

/// A test that another writer adds while an ingest is adding it too: the
/// ingest's `COPY` of its new tests waits for the other writer and, once
/// that commits, breaks the key; the tests go in again with `ON CONFLICT`
/// and the ingest shares the other writer's row.
#[test]
fn a_test_another_writer_adds_meanwhile_is_shared() {
    let Some((database, store, other)) =
        one_run_and_another_writer("pg::a_test_another_writer_adds_meanwhile_is_shared", "old")
    else {
        return;
    };
    other
        .client()
        .batch_execute(
            "BEGIN;
             INSERT INTO tests (class, name) SELECT id, 'new' FROM classes WHERE classname = 'c';",
        )
        .unwrap();
    let url = database.url().to_owned();
    let writer = std::thread::spawn(move || {
        let mut store = PgStore::open(&url).unwrap();
        ingest(
            &mut store,
            &run("r1", "2026-03-02T10:00:00Z"),
            &file("second.xml"),
            &[
                result("c", "old", Outcome::Passed, 1.0),
                result("c", "new", Outcome::Failed, 2.0),
            ],
        )
    });
    // The writer waits for the uncommitted test.
    wait_for_a_lock(
        &store,
        &writer,
        "the writer never waited for the other's test",
    );
    other.client().batch_execute("COMMIT").unwrap();
    let outcome = writer.join().unwrap().unwrap();
    assert_eq!(outcome, IngestOutcome::Stored { results: 2 });
    assert_eq!(store.row_count("tests").unwrap(), 2);
    let rows = crate::support::exported(&store);
    let shown: Vec<(String, String, Outcome)> = rows
        .iter()
        .map(|row| {
            (
                row.run.run_id.clone(),
                row.result.key.name.clone(),
                row.result.outcome,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("r0".to_owned(), "old".to_owned(), Outcome::Passed),
            ("r1".to_owned(), "new".to_owned(), Outcome::Failed),
            ("r1".to_owned(), "old".to_owned(), Outcome::Passed),
        ]
    );
}

/// A database whose run `r0` holds one pass of the test `test` of class
/// `c`, a store on it, and a second store for another writer.
fn one_run_and_another_writer(name: &str, test: &str) -> Option<(TestDatabase, PgStore, PgStore)> {
    let database = TestDatabase::create(name)?;
    let mut store = PgStore::open(database.url()).unwrap();
    ingest(
        &mut store,
        &run("r0", "2026-03-01T10:00:00Z"),
        &file("first.xml"),
        &[result("c", test, Outcome::Passed, 1.0)],
    )
    .unwrap();
    let other = PgStore::open(database.url()).unwrap();
    Some((database, store, other))
}

/// Waits until a session of `store`'s database waits for a lock, failing
/// with `never` when `writer` ends first or a minute passes.
fn wait_for_a_lock<T>(store: &PgStore, writer: &std::thread::JoinHandle<T>, never: &str) {
    let waiting = || -> bool {
        store
            .client()
            .query_one(
                "SELECT count(*) > 0 FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !waiting() {
        assert!(
            std::time::Instant::now() < deadline && !writer.is_finished(),
            "{never}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A text that another writer adds while an ingest adds it too: the
/// ingest's `COPY` of its new texts waits for the other writer and, once
/// that commits, breaks the key; the texts go in again with `ON CONFLICT`
/// and the result reads the other writer's copy.
#[test]
fn a_text_another_writer_adds_meanwhile_is_shared() {
    let Some((database, store, other)) =
        one_run_and_another_writer("pg::a_text_another_writer_adds_meanwhile_is_shared", "t")
    else {
        return;
    };
    other.client().batch_execute("BEGIN").unwrap();
    other
        .client()
        .execute(
            "INSERT INTO blobs (hash, codec, data) VALUES ($1, 0, $2)",
            &[
                &hourglass_history::testing::text_key("boom"),
                &b"boom".as_slice(),
            ],
        )
        .unwrap();
    let url = database.url().to_owned();
    let writer = std::thread::spawn(move || {
        let mut store = PgStore::open(&url).unwrap();
        let mut failed = result("c", "t", Outcome::Failed, 2.0);
        failed.message = Some("boom".into());
        let mut other_failure = result("c", "u", Outcome::Failed, 2.0);
        other_failure.message = Some("bang".into());
        ingest(
            &mut store,
            &run("r1", "2026-03-02T10:00:00Z"),
            &file("second.xml"),
            &[failed, other_failure],
        )
    });
    wait_for_a_lock(
        &store,
        &writer,
        "the writer never waited for the other's text",
    );
    other.client().batch_execute("COMMIT").unwrap();
    assert_eq!(
        writer.join().unwrap().unwrap(),
        IngestOutcome::Stored { results: 2 }
    );
    assert_eq!(store.row_count("blobs").unwrap(), 2);
    let messages: Vec<(String, Option<String>)> = crate::support::exported(&store)
        .iter()
        .filter(|row| row.run.run_id == "r1")
        .map(|row| (row.result.key.name.clone(), row.result.message.clone()))
        .collect();
    assert_eq!(
        messages,
        [
            ("t".to_owned(), Some("boom".to_owned())),
            ("u".to_owned(), Some("bang".to_owned())),
        ]
    );
}

/// Schema version 5 drops the foreign key from `tests` to `classes` and
/// compares the key texts byte by byte; a history written before reads
/// back the same, and later files find its tests.
#[test]
fn a_history_of_version_4_keeps_its_tests_under_bytewise_keys() {
    let Some(database) =
        TestDatabase::create("pg::a_history_of_version_4_keeps_its_tests_under_bytewise_keys")
    else {
        return;
    };
    let results = [
        result("Zeta", "b", Outcome::Passed, 1.0),
        result("alpha", "B", Outcome::Failed, 1.0),
        result("alpha", "a", Outcome::Passed, 1.0),
        result("Ärger", "ß", Outcome::Skipped, 1.0),
    ];
    let mut old = PgStore::open_at_version(database.url(), 4).unwrap();
    ingest(
        &mut old,
        &run("r0", "2026-03-01T10:00:00Z"),
        &file("first.xml"),
        &results,
    )
    .unwrap();
    let before = crate::support::exported(&old);
    drop(old);
    let mut store = PgStore::open(database.url()).unwrap();
    assert_eq!(
        format!("{:?}", crate::support::exported(&store)),
        format!("{before:?}")
    );
    let foreign_keys: i64 = store
        .client()
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'tests'::regclass AND contype = 'f'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(foreign_keys, 0);
    let collations: Vec<(String, String)> = store
        .client()
        .query(
            "SELECT a.attname::text, c.collname::text FROM pg_attribute a \
             JOIN pg_collation c ON c.oid = a.attcollation \
             WHERE a.attrelid IN ('classes'::regclass, 'tests'::regclass) \
             AND a.attname IN ('suite', 'classname', 'name') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        collations,
        [
            ("classname".to_owned(), "C".to_owned()),
            ("name".to_owned(), "C".to_owned()),
            ("suite".to_owned(), "C".to_owned()),
        ]
    );
    ingest(
        &mut store,
        &run("r1", "2026-03-02T10:00:00Z"),
        &file("second.xml"),
        &results,
    )
    .unwrap();
    assert_eq!(store.row_count("tests").unwrap(), 4);
    assert_eq!(store.row_count("classes").unwrap(), 3);
    let names: Vec<String> = crate::support::exported(&store)
        .iter()
        .filter(|row| row.run.run_id == "r1")
        .map(|row| format!("{}.{}", row.result.key.classname, row.result.key.name))
        .collect();
    // Byte order, as SQLite exports.
    assert_eq!(names, ["Zeta.b", "alpha.B", "alpha.a", "Ärger.ß"]);
}

/// A file of several chunks (of 7 results here): its classes and new
/// tests arrive across chunks, a test comes back in a later chunk (a
/// failure then a pass, two passes, a pass then a failure), texts repeat
/// across chunks. It is stored as SQLite stores it, a second file of the
/// run merges with it, the same file again is stored once, and the same
/// file in another run (its tests known) is stored again.
#[test]
fn a_file_of_several_chunks_is_stored_as_sqlite_stores_it() {
    let Some(database) =
        TestDatabase::create("pg::a_file_of_several_chunks_is_stored_as_sqlite_stores_it")
    else {
        return;
    };
    let mut first = Vec::new();
    for n in 0..60 {
        let outcome = match n % 9 {
            4 => Outcome::Failed,
            7 => Outcome::Skipped,
            _ => Outcome::Passed,
        };
        let mut one = result(&format!("c{}", n / 5), &format!("t{n}"), outcome, 0.5);
        if outcome == Outcome::Failed {
            one.message = Some(format!("expected {}", n % 2));
            one.output = Some("the same output in every chunk".into());
        }
        first.push(one);
    }
    first.push(result("c0", "t4", Outcome::Passed, 0.25));
    first.push(result("c1", "t5", Outcome::Passed, 0.75));
    first.push(result("c2", "t10", Outcome::Failed, 0.5));
    // A class seen before, with a test new to it.
    first.push(result("c0", "late", Outcome::Passed, 0.5));
    let second = vec![
        result("c3", "t15", Outcome::Failed, 1.0),
        result("c9", "new", Outcome::Passed, 1.0),
    ];
    let mut pg = PgStore::open(database.url()).unwrap();
    pg.set_chunk_results(7);
    let (_dir, mut sqlite) = crate::support::temp_store();
    feed_chunked_runs(&mut pg, &first, &second);
    feed_chunked_runs(&mut sqlite, &first, &second);
    let pg_rows = crate::support::exported(&pg);
    assert_eq!(
        pg_rows.len(),
        2 * 61 + 1,
        "61 tests in r1 and r2, one more in r1"
    );
    let of = |run: &str, name: &str| {
        pg_rows
            .iter()
            .find(|row| row.run.run_id == run && row.result.key.name == name)
            .map(|row| row.result.outcome)
    };
    assert_eq!(of("r1", "t4"), Some(Outcome::Flaky), "failed, then passed");
    assert_eq!(of("r2", "t4"), Some(Outcome::Flaky));
    assert_eq!(of("r1", "t10"), Some(Outcome::Flaky), "passed, then failed");
    assert_eq!(of("r2", "t10"), Some(Outcome::Flaky));
    assert_eq!(
        of("r1", "t15"),
        Some(Outcome::Flaky),
        "the second file's rerun"
    );
    assert_eq!(of("r2", "t15"), Some(Outcome::Passed));
    assert_eq!(shown(&pg_rows), shown(&crate::support::exported(&sqlite)));
    assert_eq!(pg.row_count("tests").unwrap(), 62);
    assert_eq!(pg.row_count("classes").unwrap(), 12);
}

fn feed_chunked_runs(
    store: &mut impl HistoryStore,
    first: &[hourglass_model::TestResult],
    second: &[hourglass_model::TestResult],
) {
    feed_run(store, "r1", first, second);
    ingest(
        store,
        &crate::support::run("r2", "2026-03-02T10:00:00Z"),
        &file("first.xml"),
        first,
    )
    .unwrap();
}

/// A file of several chunks failing in a later chunk leaves nothing: not
/// the tests, classes and texts its first chunks added, nor their results.
#[test]
fn a_file_of_several_chunks_failing_late_stores_nothing() {
    let Some(database) =
        TestDatabase::create("pg::a_file_of_several_chunks_failing_late_stores_nothing")
    else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    store.set_chunk_results(4);
    let outcome = store.ingest_file(
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("truncated.xml"),
        &mut |sink| {
            for n in 0..30 {
                let mut one = result(
                    &format!("c{}", n / 3),
                    &format!("t{n}"),
                    Outcome::Failed,
                    0.1,
                );
                one.message = Some(format!("message {n}"));
                sink(&one)?;
            }
            Err("truncated".into())
        },
    );
    assert!(
        matches!(outcome, Err(StoreError::Produce { .. })),
        "{outcome:?}"
    );
    for table in [
        "runs", "files", "classes", "tests", "results", "passes", "blobs",
    ] {
        assert_eq!(store.row_count(table).unwrap(), 0, "rows left in {table}");
    }
}

/// Writers whose files are of several chunks and add the same new tests,
/// classes and texts in opposite orders (each chunk adds its own keys in
/// key order, but a later chunk's keys sort before an earlier one's) do
/// not deadlock: one waits for the other, and each test is stored once.
#[test]
fn writers_adding_the_same_tests_over_several_chunks_in_other_orders_both_store() {
    let Some(database) = TestDatabase::create(
        "pg::writers_adding_the_same_tests_over_several_chunks_in_other_orders_both_store",
    ) else {
        return;
    };
    let forward: Vec<_> = (0..200)
        .map(|n| {
            let mut one = result(
                &format!("c{:03}", n / 10),
                &format!("t{n:03}"),
                Outcome::Failed,
                0.1,
            );
            one.message = Some(format!("message {}", n % 50));
            one
        })
        .collect();
    let backward: Vec<_> = forward.iter().rev().cloned().collect();
    for round in 0..3 {
        std::thread::scope(|scope| {
            for (writer, results) in [&forward, &backward].into_iter().enumerate() {
                let url = database.url().to_owned();
                scope.spawn(move || {
                    let mut store = PgStore::open(&url).unwrap();
                    store.set_chunk_results(16);
                    let run = run(
                        &format!("round{round}-writer{writer}"),
                        "2026-03-01T10:00:00Z",
                    );
                    assert_eq!(
                        ingest(&mut store, &run, &file("a.xml"), results).unwrap(),
                        IngestOutcome::Stored { results: 200 }
                    );
                });
            }
        });
    }
    let store = PgStore::open(database.url()).unwrap();
    assert_eq!(store.row_count("tests").unwrap(), 200);
    assert_eq!(store.row_count("classes").unwrap(), 20);
    assert_eq!(store.row_count("blobs").unwrap(), 50);
    assert_eq!(store.row_count("results").unwrap(), 6 * 200);
}

/// A file of several chunks reserves its new tests' ids a block per chunk
/// (it alone adds keys meanwhile): each chunk's tests take consecutive
/// ids in key order, and the sequence moves past them, so that the next
/// writer, which draws its ids one by one, takes the ids after them.
#[test]
fn a_file_of_several_chunks_reserves_its_new_tests_ids_in_blocks() {
    let Some(database) =
        TestDatabase::create("pg::a_file_of_several_chunks_reserves_its_new_tests_ids_in_blocks")
    else {
        return;
    };
    // Chunks of 10: c1's ten tests, then c0's ten (a chunk's keys sort
    // before the one before's).
    let several: Vec<_> = ["c1", "c0"]
        .iter()
        .flat_map(|class| {
            (0..10)
                .rev()
                .map(move |n| result(class, &format!("t{n}"), Outcome::Passed, 0.1))
        })
        .collect();
    let mut store = PgStore::open(database.url()).unwrap();
    store.set_chunk_results(10);
    ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("a.xml"),
        &several,
    )
    .unwrap();
    let mut one = PgStore::open(database.url()).unwrap();
    ingest(
        &mut one,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("b.xml"),
        &[
            result("c0", "t0", Outcome::Passed, 0.1),
            result("c0", "u1", Outcome::Passed, 0.1),
            result("c0", "u0", Outcome::Passed, 0.1),
        ],
    )
    .unwrap();
    let ids: Vec<(String, i64)> = store
        .client()
        .query(
            "SELECT c.classname || '.' || t.name, t.id FROM tests t \
             JOIN classes c ON c.id = t.class ORDER BY t.id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected: Vec<(String, i64)> = ["c1", "c0"]
        .iter()
        .flat_map(|class| (0..10).map(move |n| format!("{class}.t{n}")))
        .chain(["c0.u0".to_owned(), "c0.u1".to_owned()])
        .zip(1..)
        .collect();
    assert_eq!(ids, expected);
}

/// A file's tests of stored classes are found by reading their classes'
/// tests when those are not many more than the file's, else one by one;
/// either way a stored test is not taken for a new one (which would draw
/// an id for it, and the next new test would come after a gap).
#[test]
fn stored_tests_are_found_whether_their_classes_are_read_whole_or_not() {
    let Some(database) = TestDatabase::create(
        "pg::stored_tests_are_found_whether_their_classes_are_read_whole_or_not",
    ) else {
        return;
    };
    let mut store = PgStore::open(database.url()).unwrap();
    let mut first: Vec<_> = (0..1100)
        .map(|n| result("big", &format!("t{n}"), Outcome::Passed, 0.1))
        .collect();
    first.extend((0..3).map(|n| result("small", &format!("s{n}"), Outcome::Passed, 0.1)));
    ingest(
        &mut store,
        &run("r1", "2026-03-01T10:00:00Z"),
        &file("a.xml"),
        &first,
    )
    .unwrap();
    let id_of = |store: &PgStore, class: &str, name: &str| -> i64 {
        store
            .client()
            .query_one(
                "SELECT t.id FROM tests t JOIN classes c ON c.id = t.class \
                 WHERE c.classname = $1 AND t.name = $2",
                &[&class, &name],
            )
            .unwrap()
            .get(0)
    };
    // `small` holds 3 tests: read whole.
    ingest(
        &mut store,
        &run("r2", "2026-03-02T10:00:00Z"),
        &file("b.xml"),
        &[
            result("small", "s0", Outcome::Failed, 0.1),
            result("small", "s3", Outcome::Passed, 0.1),
        ],
    )
    .unwrap();
    assert_eq!(id_of(&store, "small", "s3"), 1104);
    // `big` holds 1,100 tests against a file of 2: looked up by key.
    ingest(
        &mut store,
        &run("r3", "2026-03-03T10:00:00Z"),
        &file("c.xml"),
        &[
            result("big", "t5", Outcome::Failed, 0.1),
            result("big", "new", Outcome::Passed, 0.1),
        ],
    )
    .unwrap();
    assert_eq!(id_of(&store, "big", "new"), 1105);
    assert_eq!(store.row_count("tests").unwrap(), 1105);
    let failed: Vec<(String, String)> = crate::support::exported(&store)
        .iter()
        .filter(|row| row.result.outcome == Outcome::Failed)
        .map(|row| (row.run.run_id.clone(), row.result.key.name.clone()))
        .collect();
    assert_eq!(
        failed,
        [
            ("r2".to_owned(), "s0".to_owned()),
            ("r3".to_owned(), "t5".to_owned())
        ]
    );
}

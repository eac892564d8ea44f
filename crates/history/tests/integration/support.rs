//! Helpers shared by the store tests.

use hourglass_history::testing::TestDatabase;
use hourglass_history::{
    FileIngest, HistoryStore, IngestOutcome, PgStore, SqliteStore, StoreError,
};
use hourglass_model::{Attempt, AttemptOutcome, Outcome, RunMeta, TestKey, TestResult};

pub fn key(classname: &str, name: &str) -> TestKey {
    TestKey {
        suite: "suite".into(),
        classname: classname.into(),
        name: name.into(),
    }
}

/// A result with one attempt matching its outcome and a duration.
pub fn result(classname: &str, name: &str, outcome: Outcome, duration_s: f64) -> TestResult {
    let mut result = TestResult::new(key(classname, name), outcome);
    result.duration_s = Some(duration_s);
    let attempt = match outcome {
        Outcome::Passed | Outcome::Flaky => AttemptOutcome::Passed,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Error => AttemptOutcome::Error,
        Outcome::Skipped => AttemptOutcome::Skipped,
    };
    result.attempts.push(Attempt {
        outcome: Some(attempt),
        duration_s: Some(duration_s),
        message: None,
        failure_type: None,
    });
    result
}

pub fn run(run_id: &str, timestamp: &str) -> RunMeta {
    RunMeta {
        run_id: Some(run_id.into()),
        commit: Some(format!("commit-of-{run_id}")),
        branch: Some("main".into()),
        timestamp: Some(timestamp.into()),
        job: None,
    }
}

pub fn file(name: &str) -> FileIngest {
    FileIngest {
        path: name.into(),
        content_hash: *blake3::hash(name.as_bytes()).as_bytes(),
    }
}

/// Ingests `results` as one file.
pub fn ingest(
    store: &mut impl HistoryStore,
    run: &RunMeta,
    file: &FileIngest,
    results: &[TestResult],
) -> Result<IngestOutcome, StoreError> {
    store.ingest_file(run, file, &mut |sink| {
        for result in results {
            sink(result)?;
        }
        Ok(())
    })
}

/// A backend the store suite runs against: each test is written once,
/// generic over this, and instantiated for every backend by
/// [`store_suite!`](crate::store_suite).
pub trait Backend {
    type Store: HistoryStore;
    /// A fresh, empty store, or `None` when the backend cannot run here
    /// (PostgreSQL without `HOURGLASS_TEST_PG`, outside CI).
    fn fresh(test: &str) -> Option<Fresh<Self::Store>>;
    /// Another connection to the same store.
    fn reopen(location: &str) -> Self::Store;
    /// Rows in a table (`results`: every stored result).
    fn count(store: &Self::Store, table: &str) -> i64;
    /// Rows referring to a run, file, test or class that is not stored.
    fn dangling(store: &Self::Store) -> i64;
    /// Stores CI job records with the store's own `ingest_ci_jobs`.
    fn ingest_ci_jobs(store: &mut Self::Store, jobs: &[hourglass_model::CiJob]);
}

/// A store under test, with what keeps it alive.
pub struct Fresh<S> {
    pub store: S,
    pub location: String,
    _keep: Box<dyn std::any::Any>,
}

pub struct Sqlite;

impl Backend for Sqlite {
    type Store = SqliteStore;

    fn fresh(_test: &str) -> Option<Fresh<SqliteStore>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("nested/dir/history.db");
        let store = SqliteStore::open(&path).expect("open store");
        Some(Fresh {
            store,
            location: path.display().to_string(),
            _keep: Box::new(dir),
        })
    }

    fn reopen(location: &str) -> SqliteStore {
        SqliteStore::open(std::path::Path::new(location)).expect("reopen store")
    }

    fn count(store: &SqliteStore, table: &str) -> i64 {
        if table == "results" {
            // Rows and packed passes.
            return store.result_count().expect("count results") as i64;
        }
        store
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count rows")
    }

    fn dangling(store: &SqliteStore) -> i64 {
        Self::count(store, "pragma_foreign_key_check")
    }

    fn ingest_ci_jobs(store: &mut SqliteStore, jobs: &[hourglass_model::CiJob]) {
        store.ingest_ci_jobs(jobs).expect("store CI jobs");
    }
}

pub struct Postgres;

impl Backend for Postgres {
    type Store = PgStore;

    fn fresh(test: &str) -> Option<Fresh<PgStore>> {
        let database = TestDatabase::create(test)?;
        let store = PgStore::open(database.url()).expect("open store");
        Some(Fresh {
            store,
            location: database.url().to_owned(),
            _keep: Box::new(database),
        })
    }

    fn reopen(location: &str) -> PgStore {
        PgStore::open(location).expect("reopen store")
    }

    fn count(store: &PgStore, table: &str) -> i64 {
        if table == "results" {
            // Rows and packed passes.
            return store.result_count().expect("count results") as i64;
        }
        store.row_count(table).expect("count rows")
    }

    fn dangling(store: &PgStore) -> i64 {
        store
            .row_count(
                "(SELECT 1 FROM results r WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = r.run) \
                 OR NOT EXISTS (SELECT 1 FROM tests WHERE id = r.test) \
                 UNION ALL SELECT 1 FROM tests t WHERE NOT EXISTS (SELECT 1 FROM classes WHERE id = t.class) \
                 UNION ALL SELECT 1 FROM files f WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = f.run) \
                 UNION ALL SELECT 1 FROM passes p WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = p.run)) dangling",
            )
            .expect("count dangling rows")
    }

    fn ingest_ci_jobs(store: &mut PgStore, jobs: &[hourglass_model::CiJob]) {
        store.ingest_ci_jobs(jobs).expect("store CI jobs");
    }
}

/// Every stored result, through export.
pub fn exported(store: &impl HistoryStore) -> Vec<hourglass_history::ExportRow> {
    let mut rows = Vec::new();
    store
        .for_each_export(&mut |row| {
            rows.push(row);
            Ok(())
        })
        .expect("export");
    rows
}

/// Instantiates generic store tests once per backend:
/// `store_suite! { module: [test, ...], ... }` makes
/// `sqlite::module::test` and `postgres::module::test`.
#[macro_export]
macro_rules! store_suite {
    ($($module:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        mod sqlite {
            $(mod $module {
                $(#[test]
                fn $test() {
                    $crate::$module::$test::<$crate::support::Sqlite>(concat!(stringify!($module), "::", stringify!($test)));
                })*
            })*
        }
        mod postgres {
            $(mod $module {
                $(#[test]
                fn $test() {
                    $crate::$module::$test::<$crate::support::Postgres>(concat!(stringify!($module), "::", stringify!($test)));
                })*
            })*
        }
    };
}

/// Rows in a table of a SQLite store.
pub fn count(store: &SqliteStore, table: &str) -> i64 {
    Sqlite::count(store, table)
}

/// A fresh SQLite store in a temporary directory.
pub fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("nested/dir/history.db")).expect("open store");
    (dir, store)
}

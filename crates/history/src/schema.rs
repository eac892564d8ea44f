//! The SQLite schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Opening a
//! store applies the missing ones, in order, in one `BEGIN IMMEDIATE`
//! transaction (so two processes opening a new file at once do not both
//! migrate). Migrations are only ever appended; an applied one never
//! changes.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// The migrations, in order: `MIGRATIONS[k]` takes a database from version
/// `k` to `k + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    r#"
    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL UNIQUE,
        "commit"    TEXT,
        branch      TEXT,
        timestamp   TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        job         TEXT,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE files (
        id            INTEGER PRIMARY KEY,
        run           INTEGER NOT NULL REFERENCES runs (id),
        content_hash  BLOB NOT NULL,
        path          TEXT NOT NULL,
        testcases     INTEGER NOT NULL,
        ingested_at   TEXT NOT NULL,
        UNIQUE (run, content_hash)
    );
    CREATE TABLE tests (
        id         INTEGER PRIMARY KEY,
        suite      TEXT NOT NULL,
        classname  TEXT NOT NULL,
        name       TEXT NOT NULL,
        UNIQUE (suite, classname, name)
    );
    CREATE TABLE results (
        run                   INTEGER NOT NULL REFERENCES runs (id),
        test                  INTEGER NOT NULL REFERENCES tests (id),
        status                TEXT NOT NULL,
        duration_s            REAL,
        message               TEXT,
        failure_type          TEXT,
        file                  TEXT,
        line                  INTEGER,
        output                TEXT,
        output_dropped_bytes  INTEGER NOT NULL DEFAULT 0,
        attempt_count         INTEGER NOT NULL DEFAULT 0,
        attempts              TEXT,
        properties            TEXT,
        UNIQUE (run, test)
    );
    "#,
    // 2: the run's time on each result, and the indexes the analyses read by.
    r#"
    ALTER TABLE results ADD COLUMN run_ts INTEGER NOT NULL DEFAULT 0;
    UPDATE results SET run_ts = (SELECT ts FROM runs WHERE runs.id = results.run);
    CREATE INDEX results_by_test_time ON results (test, run_ts, run);
    CREATE INDEX runs_by_commit ON runs ("commit");
    CREATE INDEX runs_by_time ON runs (ts, run_id);
    "#,
    // 3: smaller, faster to write. Tests are keyed by their class, so that
    // suite and classname are stored once per class instead of twice per
    // test (in the table and in its unique index); test ids are kept.
    // A result's rowid is `run << 32 | test`, so results are stored in
    // (run, test) order and that rowid is their unique key, with no index
    // of its own to maintain.
    r"
    CREATE TABLE classes (
        id         INTEGER PRIMARY KEY,
        suite      TEXT NOT NULL,
        classname  TEXT NOT NULL,
        UNIQUE (suite, classname)
    );
    INSERT INTO classes (suite, classname)
        SELECT DISTINCT suite, classname FROM tests ORDER BY suite, classname;
    CREATE TABLE tests_by_class (
        id     INTEGER PRIMARY KEY,
        class  INTEGER NOT NULL REFERENCES classes (id),
        name   TEXT NOT NULL,
        UNIQUE (class, name)
    );
    INSERT INTO tests_by_class (id, class, name)
        SELECT t.id, c.id, t.name FROM tests t
        JOIN classes c ON c.suite = t.suite AND c.classname = t.classname
        ORDER BY t.id;
    CREATE TABLE results_by_key (
        id                    INTEGER PRIMARY KEY,
        run                   INTEGER NOT NULL REFERENCES runs (id),
        test                  INTEGER NOT NULL REFERENCES tests_by_class (id),
        status                TEXT NOT NULL,
        duration_s            REAL,
        message               TEXT,
        failure_type          TEXT,
        file                  TEXT,
        line                  INTEGER,
        output                TEXT,
        output_dropped_bytes  INTEGER NOT NULL DEFAULT 0,
        attempt_count         INTEGER NOT NULL DEFAULT 0,
        attempts              TEXT,
        properties            TEXT,
        run_ts                INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO results_by_key
        SELECT (run << 32) | test, run, test, status, duration_s, message, failure_type, file, line, output,
               output_dropped_bytes, attempt_count, attempts, properties, run_ts
        FROM results ORDER BY run, test;
    DROP TABLE results;
    DROP TABLE tests;
    ALTER TABLE tests_by_class RENAME TO tests;
    ALTER TABLE results_by_key RENAME TO results;
    CREATE INDEX results_by_test_time ON results (test, run_ts, run);
    ",
    // 4: CI job records (GitHub Actions, GitLab): when each job was
    // created, started and finished, and on which runner. Times are kept as
    // given and as milliseconds since the epoch for ordering and arithmetic.
    r#"
    CREATE TABLE ci_jobs (
        id           INTEGER PRIMARY KEY,
        provider     TEXT NOT NULL,
        job_id       TEXT NOT NULL,
        pipeline_id  TEXT,
        "commit"     TEXT,
        name         TEXT NOT NULL,
        runner       TEXT,
        status       TEXT NOT NULL,
        conclusion   TEXT,
        created_at   TEXT NOT NULL,
        created_ts   INTEGER NOT NULL,
        started_at   TEXT,
        started_ts   INTEGER,
        finished_at  TEXT,
        finished_ts  INTEGER,
        queued_s     REAL,
        UNIQUE (provider, job_id)
    );
    CREATE INDEX ci_jobs_by_created ON ci_jobs (created_ts);
    "#,
    // 5: messages and outputs stored once by content hash, compressed
    // (see `blobs`): `hash` is the first 16 bytes of the text's blake3,
    // `codec` 0 = the UTF-8 text as it is, 1 = a zstd frame of it. Results
    // refer to them; the inline `message` and `output` columns stay NULL.
    // The data step (`blobs::move_inline_texts`) moves the texts of earlier
    // versions over.
    r"
    CREATE TABLE blobs (
        id     INTEGER PRIMARY KEY,
        hash   BLOB NOT NULL UNIQUE,
        codec  INTEGER NOT NULL,
        data   BLOB NOT NULL
    );
    ALTER TABLE results ADD COLUMN message_blob INTEGER REFERENCES blobs (id);
    ALTER TABLE results ADD COLUMN output_blob INTEGER REFERENCES blobs (id);
    ",
    // 6: when each file's suites ran (`FileWallTime`), for the run's wall
    // time: the earliest suite start and the latest suite end (Unix ms),
    // and the file's own wall time (ms). NULL = not said.
    r"
    ALTER TABLE files ADD COLUMN wall_start_ts INTEGER;
    ALTER TABLE files ADD COLUMN wall_end_ts INTEGER;
    ALTER TABLE files ADD COLUMN wall_ms INTEGER;
    ",
    // 7: plain passes packed (see `sqlite::passes`): one blob per run and
    // block of 1,024 test ids, keyed `run << 32 | block`. Results stored
    // as rows before stay rows; readers take both.
    r"
    CREATE TABLE passes (
        id    INTEGER PRIMARY KEY,
        data  BLOB NOT NULL
    );
    ",
];

/// The step in Rust that follows a migration's SQL, for data SQL alone
/// cannot move (hashing, compressing).
fn after_migration(connection: &Connection, version: i64) -> Result<(), StoreError> {
    match version {
        5 => crate::blobs::move_inline_texts(connection),
        _ => Ok(()),
    }
}

/// The version from which plain passes are packed (`passes`).
pub const PASSES_VERSION: i64 = 7;

/// The schema version this code writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version of an open database.
pub fn version(connection: &Connection) -> Result<i64, StoreError> {
    Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Applies the migrations the database lacks, up to `target` (normally
/// [`latest_version`]; tests stop earlier to build old databases).
pub fn migrate_to(connection: &mut Connection, target: i64) -> Result<(), StoreError> {
    if version(connection)? >= target {
        return check_known(connection);
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the write lock: another process may have migrated.
    let current: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > latest_version() {
        return Err(StoreError::TooNew {
            found: current,
            known: latest_version(),
        });
    }
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        transaction.execute_batch(step)?;
        after_migration(&transaction, version)?;
        transaction.pragma_update(None, "user_version", version)?;
    }
    transaction.commit()?;
    Ok(())
}

fn check_known(connection: &Connection) -> Result<(), StoreError> {
    let found = version(connection)?;
    if found > latest_version() {
        return Err(StoreError::TooNew {
            found,
            known: latest_version(),
        });
    }
    Ok(())
}

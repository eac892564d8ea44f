//! The PostgreSQL schema, its migrations and the monthly partitions of
//! `results`.
//!
//! `hourglass_migrations` holds one row per migration applied. A store
//! that finds it behind takes `pg_advisory_xact_lock(MIGRATION_LOCK)`,
//! re-reads the version under the lock (another runner may have migrated
//! meanwhile) and applies the missing migrations in that one transaction,
//! so runners starting at once migrate once. The SQL is in
//! `crates/history/migrations/postgres/`, one file per version; a new one is
//! appended to [`MIGRATIONS`] and never changes once released.

use postgres::Client;

use crate::StoreError;

/// The migrations, in order: `MIGRATIONS[k]` takes a database from version
/// `k` to `k + 1`. Version 1 is the SQLite schema at its version 3, 2 its
/// version 4 (`ci_jobs`), 3 its version 5 (`blobs`), 4 its version 6 (the
/// files' wall times); 5 has no SQLite counterpart (no foreign key from
/// `tests` to `classes`, and the texts of test keys compared byte by byte);
/// 6 its version 7 (plain passes packed into `passes`).
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_baseline.sql"),
    include_str!("../../migrations/postgres/0002_ci_jobs.sql"),
    include_str!("../../migrations/postgres/0003_blobs.sql"),
    include_str!("../../migrations/postgres/0004_file_wall_time.sql"),
    include_str!("../../migrations/postgres/0005_bytewise_keys.sql"),
    include_str!("../../migrations/postgres/0006_packed_passes.sql"),
];

/// The advisory lock that migrations take.
const MIGRATION_LOCK: i64 = 0x686f_7572_676c_0001;
/// The advisory lock under which partitions are created.
const PARTITION_LOCK: i64 = 0x686f_7572_676c_0002;

/// The schema version this code writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The version of the database, 0 when it has no hourglass tables.
pub fn version(client: &mut Client) -> Result<i64, StoreError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('hourglass_migrations') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0)::int8 FROM hourglass_migrations",
            &[],
        )?
        .get(0))
}

/// Applies the migrations the database lacks, up to `target`.
pub fn migrate_to(client: &mut Client, target: i64) -> Result<(), StoreError> {
    let found = version(client)?;
    if found > latest_version() {
        return Err(StoreError::TooNew {
            found,
            known: latest_version(),
        });
    }
    if found >= target {
        return Ok(());
    }
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    transaction.batch_execute(
        "CREATE TABLE IF NOT EXISTS hourglass_migrations (
             version     integer PRIMARY KEY,
             applied_at  timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let current: i64 = transaction
        .query_one(
            "SELECT coalesce(max(version), 0)::int8 FROM hourglass_migrations",
            &[],
        )?
        .get(0);
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
        transaction.batch_execute(step)?;
        transaction.execute(
            "INSERT INTO hourglass_migrations (version) VALUES ($1::int8::int4)",
            &[&version],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// The month partition of `results` that holds `ts`: its name and range
/// (milliseconds, end exclusive).
pub fn partition_of(ts: i64) -> (String, i64, i64) {
    let utc = jiff::tz::TimeZone::UTC;
    let at = jiff::Timestamp::from_millisecond(ts)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(utc.clone());
    let first = jiff::civil::date(at.year(), at.month(), 1);
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let millis = |date: jiff::civil::Date| {
        date.to_zoned(utc.clone())
            .map_or(0, |zoned| zoned.timestamp().as_millisecond())
    };
    let name = format!("results_{:04}_{:02}", at.year(), at.month());
    (name, millis(first), millis(next))
}

/// Creates the partition holding `ts` unless it exists, in its own short
/// transaction under an advisory lock of its own (so that writers never
/// wait for each other's partition inside their ingest transactions).
pub fn ensure_partition(client: &mut Client, ts: i64) -> Result<String, StoreError> {
    let (name, from, to) = partition_of(ts);
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])?
        .get(0);
    if exists {
        return Ok(name);
    }
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])?;
    transaction.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF results FOR VALUES FROM ({from}) TO ({to})"
    ))?;
    transaction.commit()?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_calendar_months_in_utc() {
        let ts = crate::timestamp_millis("2026-03-31T23:59:59Z").unwrap();
        let (name, from, to) = partition_of(ts);
        assert_eq!(name, "results_2026_03");
        assert_eq!(Some(from), crate::timestamp_millis("2026-03-01T00:00:00Z"));
        assert_eq!(Some(to), crate::timestamp_millis("2026-04-01T00:00:00Z"));
        let (december, _, to) =
            partition_of(crate::timestamp_millis("2025-12-05T00:00:00Z").unwrap());
        assert_eq!(december, "results_2025_12");
        assert_eq!(Some(to), crate::timestamp_millis("2026-01-01T00:00:00Z"));
    }
}

//! Run counts: the window's result rows grouped by run in the database
//! (one row per run), and its packed passes counted as their blobs are
//! decoded.

use std::collections::HashMap;

use super::{PgStore, passes, run_info, since_millis};
use crate::{ResultFilter, RunSummary, StoreError};

impl PgStore {
    /// [`crate::HistoryStore::runs`]: the window's rows are counted by run
    /// (a hash aggregate of a few columns), then joined to the runs; the
    /// passes of the runs' blobs are added.
    pub(super) fn run_summaries(
        &self,
        filter: &ResultFilter,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let since = since_millis(filter)?;
        let limit = filter.last_runs.map(|n| n as i64);
        let rows = self.client.borrow_mut().query(
            r#"WITH selected AS (
                   SELECT * FROM runs
                   WHERE ($1::int8 IS NULL OR ts >= $1) AND ($2::text IS NULL OR branch = $2)
                   ORDER BY ts DESC, run_id COLLATE "C" DESC LIMIT $3::int8),
               counts AS (
                   SELECT r.run,
                          count(*) AS tests,
                          count(*) FILTER (WHERE r.status = 'passed') AS passed,
                          count(*) FILTER (WHERE r.status = 'failed') AS failed,
                          count(*) FILTER (WHERE r.status = 'error') AS error,
                          count(*) FILTER (WHERE r.status = 'skipped') AS skipped,
                          count(*) FILTER (WHERE r.status = 'flaky') AS flaky,
                          sum(CASE WHEN abs(r.duration_s) < 9.2e9
                                   THEN floor(r.duration_s * 1e9 + 0.5)::int8 END) AS nanos
                   FROM results r JOIN selected s ON r.run = s.id AND r.run_ts = s.ts
                   GROUP BY r.run)
               SELECT s.run_id, s."commit", s.branch, s.timestamp, s.job,
                      (SELECT count(*) FROM files f WHERE f.run = s.id),
                      coalesce(c.tests, 0), coalesce(c.passed, 0), coalesce(c.failed, 0),
                      coalesce(c.error, 0), coalesce(c.skipped, 0), coalesce(c.flaky, 0),
                      coalesce(c.nanos, 0)::text, s.id
               FROM selected s LEFT JOIN counts c ON c.run = s.id
               ORDER BY s.ts, s.run_id COLLATE "C""#,
            &[&since, &filter.branch, &limit],
        )?;
        // Passes by run: their count and whole nanoseconds.
        let ids: Vec<i64> = rows.iter().map(|row| row.get(13)).collect();
        let mut packed: HashMap<i64, (u64, i128)> = HashMap::new();
        if self.packed {
            passes::for_each(
                &mut *self.client.borrow_mut(),
                "SELECT run, block, data FROM passes WHERE run = ANY($1)",
                &[&ids],
                |run, pass| {
                    let counts = packed.entry(run).or_default();
                    counts.0 += 1;
                    if let Some(n) = pass.duration_s.and_then(crate::nanos) {
                        counts.1 += i128::from(n);
                    }
                    Ok(())
                },
            )?;
        }
        rows.iter()
            .enumerate()
            .map(|(index, row)| {
                let count = |i| row.get::<_, i64>(i) as u64;
                let (passes, pass_nanos) = packed.get(&row.get(13)).copied().unwrap_or_default();
                let nanos: i128 =
                    row.get::<_, &str>(12)
                        .parse()
                        .map_err(|_| StoreError::Corrupt {
                            what: "run duration",
                            detail: row.get::<_, String>(12),
                        })?;
                Ok(RunSummary {
                    index: index as u64,
                    info: run_info(row, 0),
                    files: count(5),
                    tests: count(6) + passes,
                    passed: count(7) + passes,
                    failed: count(8),
                    error: count(9),
                    skipped: count(10),
                    flaky: count(11),
                    // Whole nanoseconds, summed exactly: the same total in any
                    // order, and the same as SQLite's (`crate::nanos`).
                    duration_s: (nanos + pass_nanos) as f64 / 1e9,
                })
            })
            .collect()
    }
}

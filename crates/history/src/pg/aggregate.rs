//! Run counts and test outlines grouped in the database.
//!
//! Run counts: the window's result rows grouped by run (one row per run),
//! and its packed passes counted as their blobs are decoded.
//!
//! Outlines of a window without packed passes (runs stored before schema
//! version 6, or whose results are all rows): one statement groups the
//! window's results by test (`count`, `min`, `max`, `bool_or`, and with
//! durations `percentile_cont` and a sum in run order) and joins the test's
//! key; a lateral subquery, gated on the test's own aggregates, adds the
//! series of the tests that failed, errored or passed on a retry outside the
//! set-aside runs, or whose durations spread as the request's rule says. The
//! client receives one row per test, in key order (the `"C"` collation, as
//! everywhere else), never the results of a test that only passed. A window
//! with packed passes is outlined from the block-by-block scan instead
//! (their blobs are decoded by the client).

use std::collections::HashMap;

use hourglass_model::TestKey;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use super::{PgStore, passes, run_info, since_millis};
use crate::codec::parse_outcome;
use crate::outline::{DurationSummary, OutlinePoint, OutlineRequest, TestOutline};
use crate::{ResultFilter, RunSummary, StoreError, VisitError};

/// The window's runs: id, index, set aside.
const SELECTED: &str = "sel (run, idx, aside) AS (
        SELECT * FROM unnest($2::int8[], $3::int8[], $4::bool[]))";

/// A duration a summary counts (`NaN >= 0` holds in PostgreSQL, `NaN <
/// 'Infinity'` does not).
const USABLE: &str = "NOT s.aside AND r.status <> 'skipped' \
     AND r.duration_s >= 0 AND r.duration_s < 'Infinity'::float8";

fn statement(durations: bool) -> String {
    let (duration_columns, spread, duration_select) = if durations {
        (
            format!(
                ", count(*) FILTER (WHERE {USABLE}) AS samples,
                 min(r.duration_s) FILTER (WHERE {USABLE}) AS min_s,
                 max(r.duration_s) FILTER (WHERE {USABLE}) AS max_s,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_s)
                     FILTER (WHERE {USABLE}) AS p50_s,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_s)
                     FILTER (WHERE {USABLE}) AS p95_s,
                 sum(r.duration_s ORDER BY s.idx) FILTER (WHERE {USABLE}) AS total_s"
            ),
            "OR (a.samples >= $5 AND a.max_s - a.min_s >= $6 AND a.max_s >= $7 * a.min_s)",
            "a.samples, a.p50_s, a.p95_s, a.min_s, a.max_s, a.total_s",
        )
    } else {
        (
            String::new(),
            "",
            "0::int8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8",
        )
    };
    format!(
        r#"WITH {SELECTED},
           agg AS (
               SELECT r.test,
                      count(*) FILTER (WHERE s.aside) AS aside,
                      count(*) FILTER (WHERE NOT s.aside AND r.status = 'passed') AS passed,
                      bool_or(NOT s.aside AND r.status NOT IN ('passed', 'skipped')) AS troubled,
                      min(r.file COLLATE "C") AS file_min, max(r.file COLLATE "C") AS file_max
                      {duration_columns}
               FROM results r JOIN sel s ON s.run = r.run
               WHERE r.run_ts >= $1
               GROUP BY r.test)
           SELECT c.suite, c.classname, t.name, a.aside, a.passed,
                  CASE WHEN a.file_min IS NULL OR a.file_min = a.file_max THEN a.file_min
                  ELSE (SELECT f.file FROM results f JOIN sel fs ON fs.run = f.run
                        WHERE f.test = a.test AND f.run_ts >= $1 AND f.file IS NOT NULL
                        ORDER BY f.run_ts, f.run LIMIT 1) END,
                  {duration_select},
                  series.idx, series.status, series.duration_s
           FROM agg a JOIN tests t ON t.id = a.test JOIN classes c ON c.id = t.class
           LEFT JOIN LATERAL (
               SELECT array_agg(p.idx ORDER BY p.idx) AS idx,
                      array_agg(p.status ORDER BY p.idx) AS status,
                      array_agg(p.duration_s ORDER BY p.idx) AS duration_s
               FROM (SELECT array_position($2, r.run)::int8 - 1 AS idx, r.status, r.duration_s
                     FROM results r
                     WHERE r.test = a.test AND r.run_ts >= $1 AND r.run = ANY($2)
                       AND (a.troubled {spread})) p) series ON true
           ORDER BY c.suite COLLATE "C", c.classname COLLATE "C", t.name COLLATE "C""#
    )
}

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

    /// [`crate::HistoryStore::for_each_test_outline`] for a window without
    /// packed passes, grouped in the database.
    pub(super) fn outlines(
        &self,
        request: &OutlineRequest,
        visit: &mut dyn FnMut(TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let selected = self.selected_runs(&request.filter)?;
        let Some(earliest_ts) = selected.first().map(|(_, ts, _)| *ts) else {
            return Ok(());
        };
        let ids: Vec<i64> = selected.iter().map(|(id, _, _)| *id).collect();
        // Run ids are unique: a run's index is its position in `ids`.
        let indexes: Vec<i64> = (0..ids.len() as i64).collect();
        let aside: Vec<bool> = (0..ids.len() as u64)
            .map(|index| request.set_aside.contains(&index))
            .collect();
        let rule = request.durations;
        let min_samples = rule.map_or(0, |rule| i64::from(rule.min_samples));
        let min_increase = rule.map_or(0.0, |rule| rule.min_increase_s);
        let min_ratio = rule.map_or(0.0, |rule| rule.min_ratio);
        let sql = statement(rule.is_some());
        let mut client = self.client.borrow_mut();
        let mut transaction = client.build_transaction().read_only(true).start()?;
        // The grouping of durations sorts each test's results; let it do
        // so in memory.
        transaction.batch_execute("SET LOCAL work_mem = '64MB'")?;
        let with_rule: [&(dyn ToSql + Sync); 7] = [
            &earliest_ts,
            &ids,
            &indexes,
            &aside,
            &min_samples,
            &min_increase,
            &min_ratio,
        ];
        let params: &[&(dyn ToSql + Sync)] = if rule.is_some() {
            &with_rule
        } else {
            &with_rule[..4]
        };
        let mut rows = transaction.query_raw(&sql, params.iter().copied())?;
        while let Some(row) = rows.next()? {
            let count = |at: usize| -> u32 { row.get::<_, i64>(at).try_into().unwrap_or(u32::MAX) };
            let samples = count(6);
            let durations = (rule.is_some() && samples > 0).then(|| DurationSummary {
                samples,
                p50_s: row.get(7),
                p95_s: row.get(8),
                min_s: row.get(9),
                max_s: row.get(10),
                total_s: row.get(11),
            });
            let indexes: Option<Vec<i64>> = row.get(12);
            let series = match indexes {
                None => None,
                Some(indexes) => {
                    let statuses: Vec<String> = row.get(13);
                    let durations: Vec<Option<f64>> = row.get(14);
                    let mut points = Vec::with_capacity(indexes.len());
                    for ((index, status), duration_s) in
                        indexes.into_iter().zip(statuses).zip(durations)
                    {
                        points.push(OutlinePoint {
                            run_index: index as u64,
                            outcome: parse_outcome(&status)?,
                            duration_s,
                        });
                    }
                    Some(points)
                }
            };
            visit(TestOutline {
                key: TestKey {
                    suite: row.get(0),
                    classname: row.get(1),
                    name: row.get(2),
                },
                file: row.get(5),
                set_aside: count(3),
                passed: count(4),
                durations,
                series,
            })
            .map_err(StoreError::Visit)?;
        }
        drop(rows);
        transaction.commit()?;
        Ok(())
    }
}

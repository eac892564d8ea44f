//! Test outlines grouped in SQLite, for the analyses that ask no durations
//! (`flaky`): one grouped scan of the window's results in storage order
//! (their keys are `run << 32 | test`, so the window is one key range),
//! sorted by test in SQLite's sorter (which spills to disk, so memory does
//! not grow with the number of tests), then one row per test in key order.
//! The series of the few tests that need one are read off the `(test,
//! run_ts, run)` index. An outline asking for durations is built from the
//! ordered scan ([`crate::outline::over_results`]): SQLite has no
//! percentile aggregate.

use std::collections::HashMap;
use std::fmt::Write as _;

use hourglass_model::TestKey;
use rusqlite::params;

use super::{SqliteStore, run_keys};
use crate::codec::parse_outcome;
use crate::outline::{OutlinePoint, OutlineRequest, TestOutline};
use crate::{StoreError, VisitError};

/// `a, b, c` for an SQL `IN` list of run ids (`-1`, which no run has,
/// when empty).
fn in_list(ids: impl Iterator<Item = i64>) -> String {
    let mut list = String::new();
    for id in ids {
        if !list.is_empty() {
            list.push_str(", ");
        }
        let _ = write!(list, "{id}");
    }
    if list.is_empty() {
        list.push_str("-1");
    }
    list
}

impl SqliteStore {
    /// [`crate::HistoryStore::for_each_test_outline`] without durations,
    /// grouped in SQLite.
    pub(super) fn grouped_outlines(
        &self,
        request: &OutlineRequest,
        visit: &mut dyn FnMut(TestOutline) -> Result<(), VisitError>,
    ) -> Result<(), StoreError> {
        let selected = self.selected_runs(&request.filter)?;
        let (Some(first), Some(last)) = (
            selected.iter().map(|(id, _)| *id).min(),
            selected.iter().map(|(id, _)| *id).max(),
        ) else {
            return Ok(());
        };
        let index_of: HashMap<i64, u64> = selected
            .iter()
            .enumerate()
            .map(|(index, (id, _))| (*id, index as u64))
            .collect();
        let runs = in_list(selected.iter().map(|(id, _)| *id));
        let aside = in_list(
            request
                .set_aside
                .iter()
                .filter_map(|&index| selected.get(usize::try_from(index).ok()?))
                .map(|(id, _)| *id),
        );
        let (low, _) = run_keys(first);
        let (_, high) = run_keys(last);
        // Integers only are written into the statement.
        let sql = format!(
            "WITH agg AS (
                 SELECT r.test AS test,
                        sum(r.run IN ({aside})) AS aside,
                        sum(r.status = 'passed' AND r.run NOT IN ({aside})) AS passed,
                        max(r.status NOT IN ('passed', 'skipped') AND r.run NOT IN ({aside}))
                            AS troubled,
                        min(r.file) AS file_min, max(r.file) AS file_max
                 FROM results r NOT INDEXED
                 WHERE r.id BETWEEN ?1 AND ?2 AND r.run IN ({runs})
                 GROUP BY r.test)
             SELECT c.suite, c.classname, t.name, a.test, a.aside, a.passed, a.troubled,
                    a.file_min, a.file_max
             FROM agg a CROSS JOIN tests t ON t.id = a.test CROSS JOIN classes c ON c.id = t.class
             ORDER BY c.suite, c.classname, t.name"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut series_of = self.connection.prepare(
            "SELECT run, status, duration_s, file FROM results \
             WHERE test = ?1 ORDER BY run_ts, run",
        )?;
        let mut rows = statement.query(params![low, high])?;
        while let Some(row) = rows.next()? {
            let test: i64 = row.get(3)?;
            let troubled: bool = row.get::<_, i64>(6)? != 0;
            let file_min: Option<String> = row.get(7)?;
            let file_max: Option<String> = row.get(8)?;
            let mut file = if file_min == file_max { file_min } else { None };
            let needs_file = file.is_none() && file_max.is_some();
            let mut series = None;
            if troubled || needs_file {
                let mut points = Vec::new();
                let mut scan = series_of.query(params![test])?;
                while let Some(result) = scan.next()? {
                    let Some(&run_index) = index_of.get(&result.get::<_, i64>(0)?) else {
                        continue;
                    };
                    if file.is_none() {
                        file = result.get(3)?;
                    }
                    if troubled {
                        let status: String = result.get(1)?;
                        points.push(OutlinePoint {
                            run_index,
                            outcome: parse_outcome(&status)?,
                            duration_s: result.get(2)?,
                        });
                    }
                }
                points.sort_by_key(|point| point.run_index);
                series = troubled.then_some(points);
            }
            let count = |at: usize| -> Result<u32, StoreError> {
                Ok(u32::try_from(row.get::<_, i64>(at)?).unwrap_or(u32::MAX))
            };
            visit(TestOutline {
                key: TestKey {
                    suite: row.get(0)?,
                    classname: row.get(1)?,
                    name: row.get(2)?,
                },
                file,
                set_aside: count(4)?,
                passed: count(5)?,
                durations: None,
                series,
            })
            .map_err(StoreError::Visit)?;
        }
        Ok(())
    }
}

//! Demand: the change volume arriving at CI, from the git history.

use serde::{Deserialize, Serialize};

use crate::stats::{median, quantile_sorted};
use crate::trend::{Forecast, ForecastSettings, Trend, forecast, theil_sen};
use crate::week::IsoWeek;

/// One merged change on the default branch: a first-parent commit and what
/// it brought in. The caller (the git crate) makes these; everything here is
/// computed from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedChange {
    /// The first-parent commit's id.
    pub commit: String,
    /// Its committer time, Unix seconds (UTC).
    pub time_s: i64,
    /// Commits the change brought in: 1 for a direct or squashed commit,
    /// the commits reachable from the second parent and not from the first
    /// for a merge.
    pub commits: u32,
    /// Distinct author e-mails of those commits.
    pub authors: Vec<String>,
    /// Files the change touched (diff against the first parent).
    pub files: u32,
    pub lines_added: u64,
    pub lines_deleted: u64,
    /// First commit of the merged branch → the merge, seconds; `None` for a
    /// change that is not a merge.
    pub lead_time_s: Option<i64>,
    /// The change reverts or fixes up an earlier one (`Revert "..."`,
    /// `This reverts commit <sha>`).
    pub is_revert: bool,
}

impl MergedChange {
    /// Lines added plus deleted: the change's batch size.
    pub fn lines(&self) -> u64 {
        self.lines_added + self.lines_deleted
    }
}

/// A release: a tag matching the configured pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub tag: String,
    /// Time of the tagged commit (or of the tag, when annotated), Unix seconds.
    pub time_s: i64,
}

/// One ISO week of demand. Weeks without changes are present with zeros.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandWeek {
    /// `YYYY-Www`, in UTC.
    pub week: IsoWeek,
    /// Merged changes (first-parent commits).
    pub changes: u32,
    /// Commits the merged changes brought in.
    pub commits: u32,
    /// Lines added plus deleted.
    pub lines: u64,
    pub lines_added: u64,
    pub lines_deleted: u64,
    /// Files touched, summed over changes.
    pub files: u64,
    /// Distinct authors.
    pub authors: u32,
    /// Median lines per change, 0 without changes.
    pub batch_p50: f64,
    /// Changes that revert or fix up an earlier one.
    pub reverts: u32,
    /// Releases (tags matching the pattern).
    pub releases: u32,
    /// Median lead time of the week's merges, seconds.
    pub lead_time_p50_s: Option<f64>,
}

/// The distribution of lines per change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BatchSize {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: u64,
    /// Changes per size class: upper bounds 10, 100, 1000, 10000 lines and
    /// above (`[≤10, ≤100, ≤1000, ≤10000, >10000]`).
    pub histogram: [u64; 5],
}

/// Delivery measures (the DORA four, as far as git shows them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Delivery {
    /// Median lead time for changes (first commit of a merged branch → its
    /// merge), seconds; `None` without merges.
    pub lead_time_p50_s: Option<f64>,
    pub lead_time_p90_s: Option<f64>,
    /// Merges the lead time was measured on.
    pub lead_time_samples: u64,
    /// Reverting changes per merged change.
    pub change_failure_rate: f64,
    pub reverts: u64,
    /// Releases per week over the weeks shown.
    pub releases_per_week: f64,
    pub releases: u64,
}

/// Demand over the weeks shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// Oldest first, every week from the first to the last, empty weeks included.
    pub weeks: Vec<DemandWeek>,
    /// Merged changes per hour of the week (UTC; 0 = Monday 00:00), 168 entries,
    /// summed over the weeks shown.
    pub hour_of_week: Vec<u32>,
    pub batch: BatchSize,
    pub delivery: Delivery,
    /// Theil–Sen trend of changes per week.
    pub trend: Trend,
    /// Changes per week ahead, with an interval.
    pub forecast: Forecast,
    /// Whether all branches were read (else the default branch's first
    /// parents only).
    pub all_branches: bool,
}

/// Demand over `weeks` (every week from the first to the last, given by the
/// caller so that demand and supply share one calendar).
pub fn summarise(
    changes: &[MergedChange],
    releases: &[Release],
    weeks: &[IsoWeek],
    all_branches: bool,
    forecast_settings: &ForecastSettings,
) -> Demand {
    use std::collections::{BTreeMap, BTreeSet};

    struct Acc<'a> {
        row: DemandWeek,
        authors: BTreeSet<&'a str>,
        batches: Vec<f64>,
        leads: Vec<f64>,
    }
    let mut by_week: BTreeMap<IsoWeek, Acc<'_>> = weeks
        .iter()
        .map(|&week| {
            (
                week,
                Acc {
                    row: DemandWeek {
                        week,
                        changes: 0,
                        commits: 0,
                        lines: 0,
                        lines_added: 0,
                        lines_deleted: 0,
                        files: 0,
                        authors: 0,
                        batch_p50: 0.0,
                        reverts: 0,
                        releases: 0,
                        lead_time_p50_s: None,
                    },
                    authors: BTreeSet::new(),
                    batches: Vec::new(),
                    leads: Vec::new(),
                },
            )
        })
        .collect();
    let mut hour_of_week = vec![0u32; 168];
    let mut batches = Vec::new();
    let mut leads = Vec::new();
    let mut reverts = 0u64;
    for change in changes {
        let Some(acc) = by_week.get_mut(&IsoWeek::of_unix(change.time_s)) else {
            continue;
        };
        let row = &mut acc.row;
        row.changes += 1;
        row.commits += change.commits;
        row.lines_added += change.lines_added;
        row.lines_deleted += change.lines_deleted;
        row.lines += change.lines();
        row.files += u64::from(change.files);
        row.reverts += u32::from(change.is_revert);
        reverts += u64::from(change.is_revert);
        acc.authors
            .extend(change.authors.iter().map(String::as_str));
        acc.batches.push(change.lines() as f64);
        batches.push(change.lines());
        if let Some(lead) = change.lead_time_s {
            let lead = lead.max(0) as f64;
            acc.leads.push(lead);
            leads.push(lead);
        }
        hour_of_week[hour_of_week_index(change.time_s)] += 1;
    }
    let mut release_count = 0u64;
    for release in releases {
        if let Some(acc) = by_week.get_mut(&IsoWeek::of_unix(release.time_s)) {
            acc.row.releases += 1;
            release_count += 1;
        }
    }
    let rows: Vec<DemandWeek> = by_week
        .into_values()
        .map(|mut acc| {
            acc.row.authors = acc.authors.len() as u32;
            acc.row.batch_p50 = median(&mut acc.batches);
            if !acc.leads.is_empty() {
                acc.row.lead_time_p50_s = Some(median(&mut acc.leads));
            }
            acc.row
        })
        .collect();
    let total_changes: u64 = rows.iter().map(|r| u64::from(r.changes)).sum();
    let series: Vec<f64> = rows.iter().map(|r| f64::from(r.changes)).collect();
    let trend = theil_sen(&series);
    let forecast = rows.last().map_or_else(Forecast::default, |last| {
        forecast(&series, last.week, forecast_settings)
    });
    leads.sort_by(f64::total_cmp);
    let delivery = Delivery {
        lead_time_p50_s: (!leads.is_empty()).then(|| quantile_sorted(&leads, 0.5)),
        lead_time_p90_s: (!leads.is_empty()).then(|| quantile_sorted(&leads, 0.9)),
        lead_time_samples: leads.len() as u64,
        change_failure_rate: if total_changes > 0 {
            reverts as f64 / total_changes as f64
        } else {
            0.0
        },
        reverts,
        releases_per_week: if rows.is_empty() {
            0.0
        } else {
            release_count as f64 / rows.len() as f64
        },
        releases: release_count,
    };
    Demand {
        weeks: rows,
        hour_of_week,
        batch: batch_size(&mut batches),
        delivery,
        trend,
        forecast,
        all_branches,
    }
}

fn hour_of_week_index(seconds: i64) -> usize {
    crate::week::hour_of_week(seconds).min(167)
}

fn batch_size(batches: &mut [u64]) -> BatchSize {
    if batches.is_empty() {
        return BatchSize::default();
    }
    batches.sort_unstable();
    let sorted: Vec<f64> = batches.iter().map(|&b| b as f64).collect();
    let mut histogram = [0u64; 5];
    for &b in batches.iter() {
        let class = match b {
            0..=10 => 0,
            11..=100 => 1,
            101..=1000 => 2,
            1001..=10_000 => 3,
            _ => 4,
        };
        histogram[class] += 1;
    }
    BatchSize {
        mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        p50: quantile_sorted(&sorted, 0.5),
        p90: quantile_sorted(&sorted, 0.9),
        p99: quantile_sorted(&sorted, 0.99),
        max: *batches.last().unwrap_or(&0),
        histogram,
    }
}

/// Mean changes per hour over the `busy_hours` busiest hours of the week
/// (UTC), each hour's count averaged over `weeks` weeks.
pub fn busy_hour_rate(hour_of_week: &[u32], weeks: usize, busy_hours: u32) -> f64 {
    if weeks == 0 || hour_of_week.is_empty() {
        return 0.0;
    }
    let mut counts: Vec<u32> = hour_of_week.to_vec();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let n = (busy_hours as usize).clamp(1, counts.len());
    let total: u64 = counts[..n].iter().map(|&c| u64::from(c)).sum();
    total as f64 / n as f64 / weeks as f64
}

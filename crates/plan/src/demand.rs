//! Demand: the change volume arriving at CI, from the git history.

use serde::{Deserialize, Serialize};

use crate::trend::{Forecast, Trend};
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

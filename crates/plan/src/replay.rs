//! Replayed test selection: what `hourglass select` would have run for past
//! merged changes.

use serde::{Deserialize, Serialize};

/// One replayed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayedChange {
    pub commit: String,
    /// The selection ran everything (a manifest, a build script, an unknown
    /// file changed).
    pub run_all: bool,
    pub selected_tests: u32,
    pub total_tests: u32,
    /// History durations (mean per test id) of the selected tests, seconds.
    pub selected_time_s: f64,
    pub total_time_s: f64,
}

/// The replay over the last N merged changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// Changes asked for.
    pub requested: u32,
    pub changes: Vec<ReplayedChange>,
    /// Changes that could not be replayed (no parent, the graph failed).
    pub skipped: u32,
    /// Selected tests / all tests, summed over the replayed changes.
    pub test_share: f64,
    /// Selected test time / all test time (history durations by test id).
    pub test_time_share: f64,
    /// Changes whose selection ran everything.
    pub run_all: u32,
}

impl Replay {
    /// Sums the replayed changes into shares.
    pub fn from_changes(requested: u32, changes: Vec<ReplayedChange>, skipped: u32) -> Replay {
        let (mut sel, mut tot, mut sel_t, mut tot_t) = (0u64, 0u64, 0.0, 0.0);
        for c in &changes {
            sel += u64::from(c.selected_tests);
            tot += u64::from(c.total_tests);
            sel_t += c.selected_time_s;
            tot_t += c.total_time_s;
        }
        let run_all = changes.iter().filter(|c| c.run_all).count() as u32;
        Replay {
            requested,
            skipped,
            test_share: if tot > 0 {
                sel as f64 / tot as f64
            } else {
                1.0
            },
            test_time_share: if tot_t > 0.0 { sel_t / tot_t } else { 1.0 },
            run_all,
            changes,
        }
    }
}

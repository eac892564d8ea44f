//! CI and triage capacity, as `hourglass.toml` `[capacity]` states it.

use serde::{Deserialize, Serialize};

/// The capacity the plan is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Runner slots (concurrent jobs CI can run).
    pub runner_slots: u32,
    /// Hours a week the team merges in (the comparison rate's denominator).
    pub working_hours_per_week: f64,
    /// Shards a run is split into; each holds one slot.
    pub shards_per_run: u32,
    /// Set-up time of each shard (checkout, build, cache restore), seconds.
    pub setup_overhead_per_shard_s: f64,
    /// Utilisation above which a scenario is at risk.
    pub target_utilisation: f64,
    /// Mean queue wait above which a scenario is at risk, seconds.
    pub target_queue_wait_s: f64,
    /// Hours a week people spend triaging red runs, broken and flaky tests.
    pub triage_hours_per_week: f64,
    /// Minutes one triage item takes.
    pub triage_minutes_per_item: f64,
    /// The arrival rate is the mean over this many busiest hours of the week.
    pub busy_hours: u32,
    /// Change volume factors of the scenarios.
    pub volume_factors: Vec<f64>,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            runner_slots: 8,
            working_hours_per_week: 40.0,
            shards_per_run: 1,
            setup_overhead_per_shard_s: 120.0,
            target_utilisation: 0.7,
            target_queue_wait_s: 300.0,
            triage_hours_per_week: 4.0,
            triage_minutes_per_item: 30.0,
            busy_hours: 10,
            volume_factors: vec![1.25, 1.5, 2.0],
        }
    }
}

impl Capacity {
    /// Servers of the queue model: groups of `shards_per_run` slots.
    pub fn servers(&self) -> u32 {
        self.runner_slots / self.shards_per_run.max(1)
    }
}

//! Capacity planning: can QA absorb more change volume?
//!
//! Pure: takes values (merged changes from git, run summaries from the
//! result history, the capacity from `hourglass.toml`, an optional replay of
//! test selection) and returns a [`CapacityPlan`]. No I/O, no clock.
//!
//! # What it does
//!
//! - [`demand`]: merged changes per ISO week (UTC) and per hour of the week,
//!   commits, authors, files and lines, batch sizes, lead time, reverts and
//!   releases; a Theil–Sen [`trend`] and a block-bootstrap [`forecast`].
//! - [`supply`]: CI runs per week, test time per run (mean, coefficient of
//!   variation), wall time, pass rate, time lost to flaky tests, suite growth.
//! - [`queue`]: CI as a G/G/c queue. Erlang C with the Allen–Cunneen
//!   correction gives the mean wait for a runner; the largest arrival rate
//!   that keeps the wait under target gives the headroom.
//! - [`triage`]: red runs, newly broken and newly flaky tests against the
//!   hours people have for them.
//! - [`scenario`]: change volume ×1.25, ×1.5, ×2, alone and with levers
//!   (selection, flaky quarantine, runners, shards, triage hours), each
//!   judged `absorbs`, `at_risk` or `saturates`.
//!
//! # How it works
//!
//! See [`queue`] for the model and [`plan()`] for how the inputs meet.
//!
//! # Limitations
//!
//! See the README's "Model assumptions and limits".

pub mod capacity;
pub mod demand;
pub mod queue;
pub mod replay;
mod rng;
pub mod scenario;
mod stats;
pub mod supply;
pub mod triage;
pub mod trend;
pub mod week;

pub use capacity::Capacity;
pub use demand::{BatchSize, Delivery, Demand, DemandWeek, MergedChange, Release};
pub use queue::{QueueInputs, QueueModel, QueueOutcome, erlang_c, evaluate, max_arrival_rate};
pub use replay::{Replay, ReplayedChange};
pub use rng::SplitMix64;
pub use scenario::{Lever, Scenario, Verdict};
pub use supply::{Moments, RunRecord, Supply, SupplyWeek};
pub use trend::{Forecast, ForecastPoint, ForecastSettings, Trend, forecast, theil_sen};
pub use triage::{Constraint, TriageLoad, TriageWeek};
pub use week::{IsoWeek, hour_of_week};

use serde::{Deserialize, Serialize};

/// Everything the plan is made from.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    /// Merged changes, any order.
    pub changes: Vec<MergedChange>,
    /// Releases, any order.
    pub releases: Vec<Release>,
    /// Whether `changes` were read from all branches.
    pub all_branches: bool,
    /// CI runs, any order.
    pub runs: Vec<RunRecord>,
    pub capacity: Capacity,
    /// Weeks to show, ending at the newest week of either history; 0 = all.
    pub weeks: u32,
    pub replay: Option<Replay>,
    pub forecast: ForecastSettings,
}

/// The capacity plan: demand, supply, the queue model, triage and scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPlan {
    pub demand: Demand,
    pub supply: Supply,
    pub model: QueueModel,
    pub triage: TriageLoad,
    pub scenarios: Vec<Scenario>,
    pub replay: Option<Replay>,
    pub capacity: Capacity,
    /// What is missing or assumed, in sentences (no git history, no runs,
    /// a default used).
    pub notes: Vec<String>,
}

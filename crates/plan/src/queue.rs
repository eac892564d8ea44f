//! The queue model: CI as a G/G/c queue of runs waiting for runners.
//!
//! A run is split into `shards` jobs that run side by side, so a run holds
//! `shards` runner slots at once: the model's servers are groups of slots,
//! `c = floor(runner_slots / shards)`, and a run's service time is
//! `S = test_time / shards + setup_per_shard`.
//!
//! The wait in the queue is Erlang C's M/M/c wait multiplied by the
//! Allen–Cunneen factor `(ca² + cs²) / 2`, where `ca²` and `cs²` are the
//! squared coefficients of variation of the inter-arrival and service times
//! (1 and 1 for Poisson arrivals and exponential service, where the formula
//! is exact).

use serde::{Deserialize, Serialize};

/// What the model is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueInputs {
    /// Runs arriving per hour in the busy hours.
    pub arrival_rate_per_hour: f64,
    /// Mean time a run holds its servers, seconds.
    pub service_time_s: f64,
    /// Squared coefficient of variation of inter-arrival times.
    pub ca2: f64,
    /// Squared coefficient of variation of service times.
    pub cs2: f64,
    /// Servers (groups of runner slots that take one run each).
    pub servers: u32,
}

/// What the model says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueOutcome {
    /// `ρ = λ·S / c`.
    pub utilisation: f64,
    /// Erlang C: the probability that a run waits at all (1 when ρ ≥ 1).
    pub wait_probability: f64,
    /// M/M/c mean wait in the queue, seconds; `None` when ρ ≥ 1 (unbounded).
    pub mmc_wait_s: Option<f64>,
    /// Allen–Cunneen mean wait, seconds; `None` when ρ ≥ 1 (unbounded).
    pub wait_s: Option<f64>,
}

/// Erlang C: probability of waiting in an M/M/c queue with offered load
/// `a = λ·S` (in servers). Computed through the Erlang B recursion, stable
/// for thousands of servers.
pub fn erlang_c(servers: u32, offered_load: f64) -> f64 {
    if servers == 0 {
        return 1.0;
    }
    let c = f64::from(servers);
    if offered_load >= c {
        return 1.0;
    }
    if offered_load <= 0.0 {
        return 0.0;
    }
    let mut b = 1.0;
    for k in 1..=servers {
        b = offered_load * b / (f64::from(k) + offered_load * b);
    }
    let rho = offered_load / c;
    b / (1.0 - rho * (1.0 - b))
}

/// Evaluates the model.
pub fn evaluate(inputs: &QueueInputs) -> QueueOutcome {
    let lambda = inputs.arrival_rate_per_hour.max(0.0) / 3600.0;
    let service = inputs.service_time_s.max(0.0);
    let c = f64::from(inputs.servers);
    let load = lambda * service;
    if inputs.servers == 0 {
        return QueueOutcome {
            utilisation: if load > 0.0 { f64::INFINITY } else { 0.0 },
            wait_probability: 1.0,
            mmc_wait_s: None,
            wait_s: if load > 0.0 { None } else { Some(0.0) },
        };
    }
    let rho = load / c;
    if rho >= 1.0 {
        return QueueOutcome {
            utilisation: rho,
            wait_probability: 1.0,
            mmc_wait_s: None,
            wait_s: None,
        };
    }
    let pw = erlang_c(inputs.servers, load);
    let mmc = if service > 0.0 {
        pw * service / (c - load)
    } else {
        0.0
    };
    let factor = f64::midpoint(inputs.ca2.max(0.0), inputs.cs2.max(0.0));
    QueueOutcome {
        utilisation: rho,
        wait_probability: pw,
        mmc_wait_s: Some(mmc),
        wait_s: Some(mmc * factor),
    }
}

/// The largest arrival rate (runs per hour) whose Allen–Cunneen wait stays
/// at or under `target_wait_s` and whose utilisation stays under
/// `max_utilisation`, found by bisection (the wait grows with the rate).
pub fn max_arrival_rate(inputs: &QueueInputs, target_wait_s: f64, max_utilisation: f64) -> f64 {
    if inputs.servers == 0 || inputs.service_time_s <= 0.0 {
        return if inputs.servers == 0 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let ceiling = f64::from(inputs.servers) * 3600.0 / inputs.service_time_s;
    let ceiling = ceiling * max_utilisation.clamp(0.0, 1.0);
    let fits = |rate: f64| {
        let outcome = evaluate(&QueueInputs {
            arrival_rate_per_hour: rate,
            ..*inputs
        });
        outcome.wait_s.is_some_and(|w| w <= target_wait_s)
    };
    if fits(ceiling) {
        return ceiling;
    }
    let (mut lo, mut hi) = (0.0, ceiling);
    for _ in 0..100 {
        let mid = f64::midpoint(lo, hi);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-9 * ceiling {
            break;
        }
    }
    lo
}

/// What the model's service time is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceBasis {
    /// The sum of test durations per run, divided among the shards.
    #[default]
    TestTime,
    /// The measured wall time per run.
    WallTime,
}

/// The model's summary as the JSON contract has it: inputs, outcome, the
/// largest rate that keeps the wait under target, and the headroom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueModel {
    pub arrival_rate_per_hour: f64,
    /// How the arrival rate was measured, in words.
    pub arrival_basis: String,
    /// Busiest hours of the week the rate is the mean of.
    pub busy_hours: u32,
    /// Mean arrival rate over the working hours, for comparison.
    pub working_hours_rate_per_hour: f64,
    pub service_time_s: f64,
    /// What the service time is made of: `wall_time` (the measured wall
    /// time per run, over the runs whose JUnit or CI job records say it) or
    /// `test_time` (the sum of test durations per run).
    #[serde(default)]
    pub service_basis: ServiceBasis,
    pub ca2: f64,
    pub cs2: f64,
    pub servers: u32,
    pub runner_slots: u32,
    pub shards_per_run: u32,
    pub utilisation: f64,
    pub wait_probability: f64,
    /// Erlang C (M/M/c) wait, seconds; null when saturated.
    pub mmc_wait_s: Option<f64>,
    /// Allen–Cunneen wait of these inputs, seconds; null when saturated
    /// (ρ ≥ 1: the queue grows through the busy hours).
    pub wait_s: Option<f64>,
    pub target_wait_s: f64,
    pub target_utilisation: f64,
    /// The largest runs-per-hour rate with the wait at or under target and ρ
    /// at or under the target utilisation.
    pub max_arrival_rate_per_hour: f64,
    /// `max_arrival_rate / arrival_rate − 1`: the share of extra volume that
    /// still fits (negative: over target already); null without arrivals.
    pub headroom: Option<f64>,
}

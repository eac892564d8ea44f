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
//! - Arrivals are taken as stationary within the busy hours; a queue that
//!   builds in one busy hour and drains overnight is only caught as ρ ≥ 1.
//! - Allen–Cunneen is exact for M/M/c, within about 10% for M/G/c, and
//!   conservative (over-estimates the wait) for smooth arrivals at moderate
//!   load; the crate's simulation tests state the bounds checked.
//! - A run's shards start together (gang scheduling). Service time is the
//!   measured wall time per run when at least half of the runs say it
//!   (CI job records, else the span of their JUnit suites), else test time
//!   (the sum of durations), which over-states it for tests that run in
//!   parallel inside a shard and leaves out the time between tests.
//! - Triage items scale linearly with volume.

pub mod capacity;
pub mod demand;
pub mod queue;
pub mod replay;
mod rng;
pub mod scenario;
mod stats;
pub mod supply;
pub mod trend;
pub mod triage;
pub mod week;

pub use capacity::Capacity;
pub use demand::{BatchSize, Delivery, Demand, DemandWeek, MergedChange, Release};
pub use queue::{
    QueueInputs, QueueModel, QueueOutcome, ServiceBasis, erlang_c, evaluate, max_arrival_rate,
};
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

/// Makes the plan.
///
/// 1. The calendar: every ISO week (UTC) from the oldest to the newest
///    change or run, or the last `weeks` of them.
/// 2. [`demand::summarise`] and [`supply::summarise`] over that calendar;
///    runs per change = runs / changes over the weeks that have both.
/// 3. Arrivals: the mean changes per hour over the `busy_hours` busiest
///    hours of the week (see [`demand::busy_hour_rate`]) × runs per change.
///    `ca²` is the index of dispersion (variance / mean) of the per-week
///    counts in those busiest hours, averaged over them: 1 for Poisson
///    arrivals, the limit of `ca²` for a renewal process.
/// 4. Service: test time per run / shards + set-up per shard; `cs²` from
///    the test time's coefficient of variation. When at least half of the
///    runs of the weeks shown say their wall time, the measured wall time
///    per run (less the set-up when it comes from CI job records) stands
///    for the shard time at today's shards instead
///    ([`ServiceBasis::WallTime`]): it is what a run holds its runner
///    slots for, tests run in parallel inside a shard and the time
///    between them included.
/// 5. [`queue::evaluate`], [`queue::max_arrival_rate`], the headroom.
/// 6. Triage: items per week (red runs, new broken, new flaky tests) ×
///    minutes per item against the triage hours.
/// 7. Scenarios: for each volume factor, alone and with each lever.
pub fn plan(inputs: &PlanInputs) -> CapacityPlan {
    let capacity = &inputs.capacity;
    let mut notes = Vec::new();
    let weeks = calendar(inputs);
    let demand = demand::summarise(
        &inputs.changes,
        &inputs.releases,
        &weeks,
        inputs.all_branches,
        &inputs.forecast,
    );
    let mut supply = supply::summarise(&inputs.runs, &weeks);
    let (mut both_runs, mut both_changes) = (0u64, 0u64);
    for (d, s) in demand.weeks.iter().zip(&supply.weeks) {
        if d.changes > 0 && s.runs > 0 {
            both_runs += u64::from(s.runs);
            both_changes += u64::from(d.changes);
        }
    }
    if both_changes > 0 {
        supply.runs_per_change = both_runs as f64 / both_changes as f64;
    } else if !inputs.runs.is_empty() && !inputs.changes.is_empty() {
        notes.push(
            "the git history and the result history share no week: one CI run per merged change assumed"
                .to_owned(),
        );
    }
    if inputs.changes.is_empty() {
        notes.push("no merged changes in the git history shown: no demand to model".to_owned());
    }
    if inputs.runs.is_empty() {
        notes.push(
            "no CI runs in the result history: ingest JUnit results (`hourglass ingest PATH...`) after each CI run to measure test time".to_owned(),
        );
    }

    let n_weeks = demand.weeks.len();
    let change_rate = demand::busy_hour_rate(&demand.hour_of_week, n_weeks, capacity.busy_hours);
    let busy_slots = busiest_slots(&demand.hour_of_week, capacity.busy_hours);
    let ca2 = arrival_dispersion(&inputs.changes, &weeks, &busy_slots);
    let total_changes: u64 = demand.weeks.iter().map(|w| u64::from(w.changes)).sum();
    let base = Baseline {
        change_rate_per_hour: change_rate,
        runs_per_change: supply.runs_per_change,
        test_time_s: supply.test_time_per_run.mean,
        test_time_cv: supply.test_time_per_run.cv,
        ca2,
        flaky_time_share: supply.flaky_time_share,
        shards_now: capacity.shards_per_run.max(1),
        wall: measured_shard_time(&inputs.runs, &weeks, capacity),
    };
    let shards = capacity.shards_per_run.max(1);
    let inputs_now = base.queue_inputs(capacity, 1.0, 1.0, capacity.runner_slots, shards);
    let outcome = queue::evaluate(&inputs_now);
    let max_rate = queue::max_arrival_rate(&inputs_now, capacity.target_queue_wait_s, 1.0);
    let headroom = (inputs_now.arrival_rate_per_hour > 0.0)
        .then(|| max_rate / inputs_now.arrival_rate_per_hour - 1.0)
        .filter(|h| h.is_finite());
    let model = QueueModel {
        arrival_rate_per_hour: inputs_now.arrival_rate_per_hour,
        arrival_basis: format!(
            "CI runs per hour: mean merged changes per hour over the {} busiest hours of the week (UTC) × {:.2} runs per change",
            capacity.busy_hours.clamp(1, 168),
            supply.runs_per_change
        ),
        busy_hours: capacity.busy_hours.clamp(1, 168),
        working_hours_rate_per_hour: if n_weeks > 0 && capacity.working_hours_per_week > 0.0 {
            total_changes as f64 / n_weeks as f64 / capacity.working_hours_per_week
                * supply.runs_per_change
        } else {
            0.0
        },
        service_time_s: inputs_now.service_time_s,
        service_basis: if base.wall.is_some() {
            ServiceBasis::WallTime
        } else {
            ServiceBasis::TestTime
        },
        ca2: inputs_now.ca2,
        cs2: inputs_now.cs2,
        servers: inputs_now.servers,
        runner_slots: capacity.runner_slots,
        shards_per_run: shards,
        utilisation: outcome.utilisation,
        wait_probability: outcome.wait_probability,
        mmc_wait_s: outcome.mmc_wait_s,
        wait_s: outcome.wait_s,
        target_wait_s: capacity.target_queue_wait_s,
        target_utilisation: capacity.target_utilisation,
        max_arrival_rate_per_hour: if max_rate.is_finite() { max_rate } else { 0.0 },
        headroom,
    };
    if capacity.servers() == 0 {
        notes.push(format!(
            "{} runner slots cannot hold a run of {} shards",
            capacity.runner_slots, shards
        ));
    }

    let triage = triage_load(&inputs.runs, &weeks, capacity);
    let base_verdict = Verdict::judge(
        model.utilisation,
        model.wait_s,
        capacity.target_utilisation,
        capacity.target_queue_wait_s,
    );
    let mut triage = triage;
    triage.constraint = match (
        base_verdict != Verdict::Absorbs,
        triage.hours_needed_per_week > triage.hours_available_per_week,
    ) {
        (false, false) => Constraint::None,
        (true, false) => Constraint::Runners,
        (false, true) => Constraint::Headcount,
        (true, true) => Constraint::Both,
    };
    let flaky_items_share = flaky_triage_share(&inputs.runs, &weeks);
    let scenarios = scenarios(
        &base,
        capacity,
        &triage,
        flaky_items_share,
        inputs.replay.as_ref(),
        &mut notes,
    );
    CapacityPlan {
        demand,
        supply,
        model,
        triage,
        scenarios,
        replay: inputs.replay.clone(),
        capacity: capacity.clone(),
        notes,
    }
}

/// Every week from the oldest to the newest change or run (the last
/// `weeks` of them when `weeks > 0`).
fn calendar(inputs: &PlanInputs) -> Vec<IsoWeek> {
    let times = inputs
        .changes
        .iter()
        .map(|c| c.time_s)
        .chain(inputs.runs.iter().map(|r| r.time_s));
    let (mut first, mut last) = (None::<i64>, None::<i64>);
    for t in times {
        first = Some(first.map_or(t, |f| f.min(t)));
        last = Some(last.map_or(t, |l| l.max(t)));
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut weeks = IsoWeek::range(IsoWeek::of_unix(first), IsoWeek::of_unix(last));
    if inputs.weeks > 0 && weeks.len() > inputs.weeks as usize {
        weeks.drain(..weeks.len() - inputs.weeks as usize);
    }
    weeks
}

/// The `busy_hours` busiest hours of the week, busiest first (ties: earlier
/// hour first).
fn busiest_slots(hour_of_week: &[u32], busy_hours: u32) -> Vec<usize> {
    let mut slots: Vec<usize> = (0..hour_of_week.len()).collect();
    slots.sort_by(|&a, &b| hour_of_week[b].cmp(&hour_of_week[a]).then(a.cmp(&b)));
    slots.truncate((busy_hours as usize).clamp(1, hour_of_week.len().max(1)));
    slots
}

/// `ca²` estimated as the index of dispersion of counts: for each busy hour
/// of the week, the variance / mean of its count over the weeks; averaged
/// over the busy hours with a positive mean. 1 when there is too little data
/// (fewer than 2 weeks).
fn arrival_dispersion(changes: &[MergedChange], weeks: &[IsoWeek], slots: &[usize]) -> f64 {
    if weeks.len() < 2 || slots.is_empty() {
        return 1.0;
    }
    let index: std::collections::HashMap<IsoWeek, usize> =
        weeks.iter().enumerate().map(|(i, &w)| (w, i)).collect();
    let mut counts = vec![[0u32; 168]; weeks.len()];
    for change in changes {
        if let Some(&i) = index.get(&IsoWeek::of_unix(change.time_s)) {
            counts[i][hour_of_week(change.time_s).min(167)] += 1;
        }
    }
    let mut sum = 0.0;
    let mut used = 0u32;
    for &slot in slots {
        let (_, mean, var) = stats::mean_var(counts.iter().map(|w| f64::from(w[slot])));
        if mean > 0.0 {
            sum += var / mean;
            used += 1;
        }
    }
    if used == 0 {
        1.0
    } else {
        sum / f64::from(used)
    }
}

/// The measured shard time at today's shards and its coefficient of
/// variation: the wall time per run (less the set-up per shard when the
/// wall time includes it), when at least half of the runs of `weeks` say
/// their wall time.
fn measured_shard_time(
    runs: &[RunRecord],
    weeks: &[IsoWeek],
    capacity: &Capacity,
) -> Option<(f64, f64)> {
    let (first, last) = (weeks.first()?, weeks.last()?);
    let shown: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| {
            let week = IsoWeek::of_unix(r.time_s);
            week >= *first && week <= *last
        })
        .collect();
    let setup = capacity.setup_overhead_per_shard_s.max(0.0);
    let walls: Vec<f64> = shown
        .iter()
        .filter_map(|r| {
            let wall = r.wall_time_s?;
            Some(if r.wall_time_includes_setup {
                (wall - setup).max(0.0)
            } else {
                wall
            })
        })
        .collect();
    if walls.is_empty() || walls.len() * 2 < shown.len() {
        return None;
    }
    let m = supply::moments(walls);
    (m.mean > 0.0).then_some((m.mean, m.cv))
}

/// What the scenarios scale.
struct Baseline {
    change_rate_per_hour: f64,
    runs_per_change: f64,
    test_time_s: f64,
    test_time_cv: f64,
    ca2: f64,
    flaky_time_share: f64,
    /// Today's shards per run.
    shards_now: u32,
    /// The measured shard time at today's shards and its cv, when known.
    wall: Option<(f64, f64)>,
}

impl Baseline {
    /// The queue at `volume` × today's changes, with test time × `time_factor`.
    fn queue_inputs(
        &self,
        capacity: &Capacity,
        volume: f64,
        time_factor: f64,
        runner_slots: u32,
        shards: u32,
    ) -> QueueInputs {
        let shards = shards.max(1);
        // The work of a run: its test time, or the measured shard time
        // times today's shards; more shards divide it.
        let (work, cv) = match self.wall {
            Some((shard_time, cv)) => (shard_time * f64::from(self.shards_now), cv),
            None => (self.test_time_s, self.test_time_cv),
        };
        let shard_time = work * time_factor / f64::from(shards);
        let service = shard_time + capacity.setup_overhead_per_shard_s.max(0.0);
        let sd = shard_time * cv;
        QueueInputs {
            arrival_rate_per_hour: self.change_rate_per_hour * self.runs_per_change * volume,
            service_time_s: service,
            ca2: self.ca2,
            cs2: if service > 0.0 {
                (sd / service).powi(2)
            } else {
                0.0
            },
            servers: runner_slots / shards,
        }
    }
}

fn triage_load(runs: &[RunRecord], weeks: &[IsoWeek], capacity: &Capacity) -> TriageLoad {
    let mut rows: std::collections::BTreeMap<IsoWeek, TriageWeek> = weeks
        .iter()
        .map(|&week| {
            (
                week,
                TriageWeek {
                    week,
                    red_runs: 0,
                    new_broken: 0,
                    new_flaky: 0,
                    items: 0,
                    hours_needed: 0.0,
                },
            )
        })
        .collect();
    for run in runs {
        if let Some(row) = rows.get_mut(&IsoWeek::of_unix(run.time_s)) {
            row.red_runs += u32::from(run.is_red());
            row.new_broken += run.new_broken;
            row.new_flaky += run.new_flaky;
        }
    }
    let per_item_h = capacity.triage_minutes_per_item.max(0.0) / 60.0;
    let weeks: Vec<TriageWeek> = rows
        .into_values()
        .map(|mut row| {
            row.items = row.red_runs + row.new_broken + row.new_flaky;
            row.hours_needed = f64::from(row.items) * per_item_h;
            row
        })
        .collect();
    let n = weeks.len().max(1) as f64;
    let items_per_week = weeks.iter().map(|w| f64::from(w.items)).sum::<f64>() / n;
    let hours_needed_per_week = items_per_week * per_item_h;
    let available = capacity.triage_hours_per_week.max(0.0);
    TriageLoad {
        weeks,
        items_per_week,
        hours_needed_per_week,
        hours_available_per_week: available,
        load: (available > 0.0).then(|| hours_needed_per_week / available),
        constraint: Constraint::None,
    }
}

/// Share of triage items that quarantining flaky tests removes: runs red only
/// through flaky tests, and newly flaky tests.
fn flaky_triage_share(runs: &[RunRecord], weeks: &[IsoWeek]) -> f64 {
    let (Some(first), Some(last)) = (weeks.first(), weeks.last()) else {
        return 0.0;
    };
    let (mut flaky, mut all) = (0u64, 0u64);
    for run in runs {
        let week = IsoWeek::of_unix(run.time_s);
        if week < *first || week > *last {
            continue;
        }
        let red = u64::from(run.is_red());
        all += red + u64::from(run.new_broken) + u64::from(run.new_flaky);
        flaky += u64::from(run.failed_only_flaky) * red + u64::from(run.new_flaky);
    }
    if all == 0 {
        0.0
    } else {
        flaky as f64 / all as f64
    }
}

/// Fewest runner slots (a multiple of `shards`) that absorb the load: ρ at
/// or under the target utilisation and the wait at or under the target.
fn runners_needed(template: &QueueInputs, capacity: &Capacity, shards: u32) -> Option<u32> {
    const MAX_SLOTS: u32 = 100_000;
    let shards = shards.max(1);
    let load = template.arrival_rate_per_hour / 3600.0 * template.service_time_s;
    if load <= 0.0 {
        return Some(0);
    }
    let target = capacity.target_utilisation.clamp(0.01, 1.0);
    let mut servers = ((load / target).ceil() as u32).max(1);
    while servers * shards <= MAX_SLOTS {
        let outcome = queue::evaluate(&QueueInputs {
            servers,
            ..*template
        });
        let verdict = Verdict::judge(
            outcome.utilisation,
            outcome.wait_s,
            capacity.target_utilisation,
            capacity.target_queue_wait_s,
        );
        if verdict == Verdict::Absorbs {
            return Some(servers * shards);
        }
        servers += 1;
    }
    None
}

fn scenarios(
    base: &Baseline,
    capacity: &Capacity,
    triage: &TriageLoad,
    flaky_items_share: f64,
    replay: Option<&Replay>,
    notes: &mut Vec<String>,
) -> Vec<Scenario> {
    let shards = capacity.shards_per_run.max(1);
    let mut lever_sets: Vec<Vec<Lever>> = vec![Vec::new()];
    let selection = replay
        .filter(|r| !r.changes.is_empty())
        .map(|r| Lever::Selection {
            test_time_share: r.test_time_share,
        });
    if selection.is_none() {
        notes.push(
            "no selection replay: run `hourglass plan --replay N` for the selection lever"
                .to_owned(),
        );
    }
    let quarantine = Lever::QuarantineFlaky {
        test_time_saved_share: base.flaky_time_share,
    };
    if let Some(selection) = selection {
        lever_sets.push(vec![selection]);
    }
    lever_sets.push(vec![quarantine]);
    lever_sets.push(vec![Lever::Runners {
        runner_slots: capacity.runner_slots.max(1) * 2,
    }]);
    lever_sets.push(vec![Lever::Shards {
        shards_per_run: shards * 2,
    }]);
    lever_sets.push(vec![Lever::TriageHours {
        hours_per_week: (capacity.triage_hours_per_week * 2.0).max(1.0),
    }]);
    if let Some(selection) = selection {
        lever_sets.push(vec![selection, quarantine]);
    }

    let mut out = vec![scenario(
        base,
        capacity,
        triage,
        flaky_items_share,
        1.0,
        &[],
    )];
    for &factor in &capacity.volume_factors {
        for levers in &lever_sets {
            out.push(scenario(
                base,
                capacity,
                triage,
                flaky_items_share,
                factor,
                levers,
            ));
        }
    }
    out
}

fn scenario(
    base: &Baseline,
    capacity: &Capacity,
    triage: &TriageLoad,
    flaky_items_share: f64,
    volume: f64,
    levers: &[Lever],
) -> Scenario {
    let mut time_factor = 1.0;
    let mut slots = capacity.runner_slots;
    let mut shards = capacity.shards_per_run.max(1);
    let mut triage_hours = capacity.triage_hours_per_week.max(0.0);
    let mut triage_factor = 1.0;
    for lever in levers {
        match *lever {
            Lever::Selection { test_time_share } => time_factor *= test_time_share.clamp(0.0, 1.0),
            Lever::QuarantineFlaky {
                test_time_saved_share,
            } => {
                time_factor *= 1.0 - test_time_saved_share.clamp(0.0, 1.0);
                triage_factor *= 1.0 - flaky_items_share.clamp(0.0, 1.0);
            }
            Lever::Runners { runner_slots } => slots = runner_slots,
            Lever::Shards { shards_per_run } => shards = shards_per_run.max(1),
            Lever::TriageHours { hours_per_week } => triage_hours = hours_per_week,
        }
    }
    let inputs = base.queue_inputs(capacity, volume, time_factor, slots, shards);
    let outcome = queue::evaluate(&inputs);
    let verdict = Verdict::judge(
        outcome.utilisation,
        outcome.wait_s,
        capacity.target_utilisation,
        capacity.target_queue_wait_s,
    );
    let mut name = if levers.is_empty() && (volume - 1.0).abs() < f64::EPSILON {
        "baseline".to_owned()
    } else {
        format!("x{volume}")
    };
    for lever in levers {
        name.push_str(" + ");
        name.push_str(match lever {
            Lever::Selection { .. } => "selection",
            Lever::QuarantineFlaky { .. } => "quarantine",
            Lever::Runners { .. } => "runners",
            Lever::Shards { .. } => "shards",
            Lever::TriageHours { .. } => "triage",
        });
    }
    let triage_hours_needed = triage.hours_needed_per_week * volume * triage_factor;
    let why = fewer_runs_at_once(base, capacity, volume, time_factor, slots, shards, verdict);
    Scenario {
        name,
        volume_factor: volume,
        levers: levers.to_vec(),
        arrival_rate_per_hour: inputs.arrival_rate_per_hour,
        service_time_s: inputs.service_time_s,
        servers: inputs.servers,
        runner_slots: slots,
        utilisation: outcome.utilisation,
        wait_s: outcome.wait_s,
        verdict,
        runners_needed: runners_needed(&inputs, capacity, shards),
        triage_hours_needed,
        triage_hours_available: triage_hours,
        triage_over: triage_hours_needed > triage_hours,
        why,
    }
}

/// One sentence when a scenario with more shards per run does not absorb
/// and fewer runs fit on the runner slots at once than at today's shards:
/// with fixed runner slots, more shards per run mean fewer runs side by
/// side, each paying a set-up per shard.
fn fewer_runs_at_once(
    base: &Baseline,
    capacity: &Capacity,
    volume: f64,
    time_factor: f64,
    slots: u32,
    shards: u32,
    verdict: Verdict,
) -> Option<String> {
    let today = capacity.shards_per_run.max(1);
    if shards <= today || verdict == Verdict::Absorbs {
        return None;
    }
    let now = base.queue_inputs(capacity, volume, time_factor, slots, today);
    let then = base.queue_inputs(capacity, volume, time_factor, slots, shards);
    if then.servers >= now.servers {
        return None;
    }
    let minutes = |s: f64| format!("{:.1} min", s / 60.0);
    let runs = |n: u32| {
        if n == 1 {
            "1 run".to_owned()
        } else {
            format!("{n} runs")
        }
    };
    if then.servers == 0 {
        return Some(format!(
            "{slots} runner {} cannot hold one run of {shards} shards at once: with fixed runner slots, more shards per run need more slots",
            if slots == 1 { "slot" } else { "slots" }
        ));
    }
    Some(format!(
        "{slots} runner slots hold {} of {shards} shards at once instead of {} of {today}: each run is shorter ({} instead of {}) but fewer run side by side, and each pays {shards} set-ups of {:.0} s",
        runs(then.servers),
        runs(now.servers),
        minutes(then.service_time_s),
        minutes(now.service_time_s),
        capacity.setup_overhead_per_shard_s.max(0.0)
    ))
}

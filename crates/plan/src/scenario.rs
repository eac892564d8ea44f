//! What-if scenarios: more change volume, alone and with levers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether a scenario fits the capacity.
///
/// - `absorbs`: utilisation at or under the target utilisation and the
///   Allen–Cunneen wait at or under the target wait.
/// - `at_risk`: over one of the targets, but ρ < 1 and the wait at most
///   [`SATURATION_WAIT_FACTOR`] × the target wait.
/// - `saturates`: ρ ≥ 1 (the queue grows through the busy hours) or the wait
///   over [`SATURATION_WAIT_FACTOR`] × the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Absorbs,
    AtRisk,
    Saturates,
}

/// A wait over this many times the target wait saturates.
pub const SATURATION_WAIT_FACTOR: f64 = 4.0;

impl Verdict {
    /// Judges a utilisation and a wait (`None` = unbounded) against targets.
    pub fn judge(
        utilisation: f64,
        wait_s: Option<f64>,
        target_utilisation: f64,
        target_wait_s: f64,
    ) -> Verdict {
        match wait_s {
            None => Verdict::Saturates,
            Some(_) if utilisation >= 1.0 => Verdict::Saturates,
            Some(w) if w > SATURATION_WAIT_FACTOR * target_wait_s => Verdict::Saturates,
            Some(w) if utilisation > target_utilisation || w > target_wait_s => Verdict::AtRisk,
            Some(_) => Verdict::Absorbs,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Absorbs => "absorbs",
            Verdict::AtRisk => "at_risk",
            Verdict::Saturates => "saturates",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lever pulled in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "lever", rename_all = "snake_case")]
pub enum Lever {
    /// Run only the selected tests: test time per run × `test_time_share`
    /// (the share `plan --replay` measured).
    Selection { test_time_share: f64 },
    /// Quarantine flaky tests: their reruns and the runs that failed only
    /// through them no longer cost test time or triage.
    QuarantineFlaky { test_time_saved_share: f64 },
    /// More runner slots.
    Runners { runner_slots: u32 },
    /// More shards per run.
    Shards { shards_per_run: u32 },
    /// More triage hours per week.
    TriageHours { hours_per_week: f64 },
}

impl fmt::Display for Lever {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lever::Selection { test_time_share } => {
                write!(
                    f,
                    "selection ({:.0}% of test time)",
                    test_time_share * 100.0
                )
            }
            Lever::QuarantineFlaky {
                test_time_saved_share,
            } => write!(
                f,
                "quarantine flaky (−{:.1}% test time)",
                test_time_saved_share * 100.0
            ),
            Lever::Runners { runner_slots } => write!(f, "{runner_slots} runner slots"),
            Lever::Shards { shards_per_run } => write!(f, "{shards_per_run} shards"),
            Lever::TriageHours { hours_per_week } => {
                write!(f, "{hours_per_week:.0} triage h/week")
            }
        }
    }
}

/// One scenario and what the model says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// `baseline`, `x1.5`, `x1.5 + selection`, ...
    pub name: String,
    /// Change volume relative to now.
    pub volume_factor: f64,
    pub levers: Vec<Lever>,
    pub arrival_rate_per_hour: f64,
    pub service_time_s: f64,
    pub servers: u32,
    pub runner_slots: u32,
    pub utilisation: f64,
    /// Allen–Cunneen wait, seconds; null when saturated.
    pub wait_s: Option<f64>,
    pub verdict: Verdict,
    /// Fewest runner slots (a multiple of the shards) that absorb this
    /// scenario; null when no slot count up to 100,000 does.
    pub runners_needed: Option<u32>,
    /// Triage hours a week this volume needs.
    pub triage_hours_needed: f64,
    pub triage_hours_available: f64,
    /// Triage needs more hours than there are: headcount, not runners, is
    /// (also) the constraint.
    pub triage_over: bool,
    /// Why the scenario is judged as it is, when the verdict is not what
    /// the lever suggests (more shards that saturate because fewer runs fit
    /// on the runner slots at once); one sentence.
    #[serde(default)]
    pub why: Option<String>,
}

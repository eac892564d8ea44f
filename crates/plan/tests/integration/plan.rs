//! The plan from inputs to verdicts, and the JSON contract.

use hourglass_plan::{
    Capacity, Constraint, MergedChange, PlanInputs, Replay, ReplayedChange, RunRecord, Verdict,
    plan,
};

/// 2026-03-02 is a Monday, 00:00 UTC.
const MONDAY: i64 = 1_772_409_600;
const HOUR: i64 = 3600;
const WEEK: i64 = 7 * 24 * HOUR;

fn change(time_s: i64, lines: u64) -> MergedChange {
    MergedChange {
        commit: format!("{time_s:x}"),
        time_s,
        commits: 2,
        authors: vec![format!("dev{}@example.com", time_s % 3)],
        files: 3,
        lines_added: lines,
        lines_deleted: lines / 2,
        lead_time_s: Some(2 * HOUR),
        is_revert: false,
    }
}

fn run(time_s: i64, test_time_s: f64, red: bool) -> RunRecord {
    RunRecord {
        time_s,
        test_time_s,
        wall_time_s: None,
        wall_time_includes_setup: false,
        tests: 500,
        failed_tests: u32::from(red),
        failed_only_flaky: red,
        flaky_rerun_time_s: 10.0,
        new_broken: 0,
        new_flaky: 0,
    }
}

/// `per_hour` changes in each of 10 busy hours (Mon–Fri 10:00 and 14:00)
/// for `weeks` weeks, one run per change of `test_time` seconds.
fn steady(weeks: i64, per_hour: i64, test_time: f64) -> PlanInputs {
    let mut inputs = PlanInputs::default();
    for w in 0..weeks {
        for day in 0..5 {
            for hour in [10, 14] {
                for k in 0..per_hour {
                    let t = MONDAY + w * WEEK + day * 24 * HOUR + hour * HOUR + k * 60;
                    inputs.changes.push(change(t, 40));
                    inputs.runs.push(run(t + 30, test_time, k == 0 && day == 0));
                }
            }
        }
    }
    inputs
}

#[test]
fn busy_hour_rate_is_the_mean_over_the_busiest_hours() {
    let p = plan(&steady(4, 3, 600.0));
    assert_eq!(p.demand.weeks.len(), 4);
    assert_eq!(p.demand.weeks[0].changes, 30);
    assert_eq!(p.demand.weeks[0].week.to_string(), "2026-W10");
    // 10 busy hours, 3 changes each, 1 run per change.
    assert!((p.model.arrival_rate_per_hour - 3.0).abs() < 1e-9);
    assert!((p.supply.runs_per_change - 1.0).abs() < 1e-9);
    // Every busy hour has exactly 3 changes every week: no dispersion.
    assert!(p.model.ca2.abs() < 1e-12);
    // 600 s of tests, one shard, 120 s set-up.
    assert!((p.model.service_time_s - 720.0).abs() < 1e-9);
}

#[test]
fn utilisation_and_verdicts_follow_the_load() {
    let mut inputs = steady(4, 3, 600.0);
    inputs.capacity = Capacity {
        runner_slots: 2,
        ..Capacity::default()
    };
    let p = plan(&inputs);
    // λ = 3/h, S = 720 s → a = 0.6 servers over 2: ρ = 0.3.
    assert!((p.model.utilisation - 0.3).abs() < 1e-9);
    let baseline = &p.scenarios[0];
    assert_eq!(baseline.name, "baseline");
    assert_eq!(baseline.verdict, Verdict::Absorbs);
    let x2 = p.scenarios.iter().find(|s| s.name == "x2").unwrap();
    assert!((x2.utilisation - 0.6).abs() < 1e-9);
    // Four times the volume on two slots: ρ = 1.2.
    inputs.capacity.volume_factors = vec![4.0];
    let p = plan(&inputs);
    let x4 = p.scenarios.iter().find(|s| s.name == "x4").unwrap();
    assert_eq!(x4.verdict, Verdict::Saturates);
    assert_eq!(x4.wait_s, None);
    let more = p
        .scenarios
        .iter()
        .find(|s| s.name == "x4 + runners")
        .unwrap();
    assert_eq!(more.runner_slots, 4);
    assert!(more.utilisation < x4.utilisation);
    // Runners needed: enough slots for ρ ≤ 0.7 and the wait ≤ 300 s.
    let needed = x4.runners_needed.unwrap();
    assert!(needed >= 4, "{needed}");
}

#[test]
fn headroom_is_the_extra_volume_under_the_target_wait() {
    let mut inputs = steady(4, 3, 600.0);
    // Test times of 300 and 900 s: cs² > 0, so the wait grows with the rate.
    for (i, r) in inputs.runs.iter_mut().enumerate() {
        r.test_time_s = if i % 2 == 0 { 300.0 } else { 900.0 };
    }
    inputs.capacity.runner_slots = 2;
    let p = plan(&inputs);
    assert!(p.model.cs2 > 0.0);
    let headroom = p.model.headroom.unwrap();
    assert!(headroom > 0.0);
    let at_max = hourglass_plan::evaluate(&hourglass_plan::QueueInputs {
        arrival_rate_per_hour: p.model.max_arrival_rate_per_hour,
        service_time_s: p.model.service_time_s,
        ca2: p.model.ca2,
        cs2: p.model.cs2,
        servers: p.model.servers,
    });
    let wait = at_max.wait_s.unwrap();
    assert!((wait - 300.0).abs() < 1.0, "{wait}");
}

#[test]
fn selection_lever_uses_the_replayed_share() {
    let mut inputs = steady(3, 2, 1200.0);
    inputs.replay = Some(Replay::from_changes(
        2,
        vec![
            ReplayedChange {
                commit: "a".into(),
                run_all: false,
                selected_tests: 10,
                total_tests: 100,
                selected_time_s: 100.0,
                total_time_s: 1000.0,
            },
            ReplayedChange {
                commit: "b".into(),
                run_all: true,
                selected_tests: 100,
                total_tests: 100,
                selected_time_s: 1000.0,
                total_time_s: 1000.0,
            },
        ],
        0,
    ));
    let p = plan(&inputs);
    let replay = p.replay.as_ref().unwrap();
    assert!((replay.test_time_share - 0.55).abs() < 1e-12);
    let sel = p
        .scenarios
        .iter()
        .find(|s| s.name == "x1.5 + selection")
        .unwrap();
    // 1200 s × 0.55 + 120 s set-up.
    assert!((sel.service_time_s - 780.0).abs() < 1e-9);
    assert!(
        p.scenarios
            .iter()
            .any(|s| s.name == "x2 + selection + quarantine")
    );
}

#[test]
fn triage_over_hours_makes_headcount_the_constraint() {
    let mut inputs = steady(4, 1, 60.0);
    for r in &mut inputs.runs {
        r.failed_tests = 1;
        r.failed_only_flaky = false;
    }
    inputs.capacity.triage_hours_per_week = 1.0;
    let p = plan(&inputs);
    // 10 red runs a week × 30 min = 5 h against 1 h.
    assert!((p.triage.hours_needed_per_week - 5.0).abs() < 1e-9);
    assert_eq!(p.triage.constraint, Constraint::Headcount);
    let triage = p
        .scenarios
        .iter()
        .find(|s| s.name == "x2 + triage")
        .unwrap();
    assert!(triage.triage_over);
    assert_eq!(triage.verdict, Verdict::Absorbs);
}

#[test]
fn empty_inputs_give_an_empty_plan_with_notes() {
    let p = plan(&PlanInputs::default());
    assert!(p.demand.weeks.is_empty());
    assert!(p.supply.weeks.is_empty());
    assert!(p.model.arrival_rate_per_hour.abs() < f64::EPSILON);
    assert!(p.notes.iter().any(|n| n.contains("hourglass ingest")));
    let json = serde_json::to_value(&p).unwrap();
    assert!(json["model"]["headroom"].is_null());
}

#[test]
fn json_has_the_contract_fields() {
    let p = plan(&steady(2, 1, 300.0));
    let json = serde_json::to_value(&p).unwrap();
    for key in ["week", "changes", "commits", "lines"] {
        assert!(
            json["demand"]["weeks"][0].get(key).is_some(),
            "demand {key}"
        );
    }
    assert_eq!(json["demand"]["weeks"][0]["week"], "2026-W10");
    for key in ["week", "runs", "test_time_s"] {
        assert!(
            json["supply"]["weeks"][0].get(key).is_some(),
            "supply {key}"
        );
    }
    for key in [
        "arrival_rate_per_hour",
        "service_time_s",
        "ca2",
        "cs2",
        "servers",
        "utilisation",
        "wait_s",
        "max_arrival_rate_per_hour",
        "headroom",
    ] {
        assert!(json["model"].get(key).is_some(), "model {key}");
    }
    for key in [
        "name",
        "volume_factor",
        "levers",
        "utilisation",
        "wait_s",
        "verdict",
    ] {
        assert!(json["scenarios"][1].get(key).is_some(), "scenario {key}");
    }
    assert!(
        ["absorbs", "at_risk", "saturates"]
            .contains(&json["scenarios"][1]["verdict"].as_str().unwrap())
    );
    let back: hourglass_plan::CapacityPlan = serde_json::from_value(json).unwrap();
    assert_eq!(back.demand, p.demand);
}

#[test]
fn weeks_limit_keeps_the_newest_weeks() {
    let mut inputs = steady(6, 1, 60.0);
    inputs.weeks = 2;
    let p = plan(&inputs);
    let weeks: Vec<String> = p.demand.weeks.iter().map(|w| w.week.to_string()).collect();
    assert_eq!(weeks, ["2026-W14", "2026-W15"]);
    assert_eq!(p.supply.weeks.len(), 2);
}

#[test]
fn the_measured_wall_time_is_the_service_time_when_most_runs_say_it() {
    // 600 s of test time that ran in 200 s of wall time (tests in parallel).
    let mut inputs = steady(4, 3, 600.0);
    for r in &mut inputs.runs {
        r.wall_time_s = Some(200.0);
    }
    let p = plan(&inputs);
    assert_eq!(
        p.model.service_basis,
        hourglass_plan::ServiceBasis::WallTime
    );
    // 200 s of wall time + 120 s set-up.
    assert!((p.model.service_time_s - 320.0).abs() < 1e-9);
    assert!(
        p.supply
            .weeks
            .iter()
            .all(|w| w.wall_time_per_run_s == Some(200.0))
    );
    // Wall time from CI job records includes the set-up: not added twice.
    for r in &mut inputs.runs {
        r.wall_time_s = Some(320.0);
        r.wall_time_includes_setup = true;
    }
    assert!((plan(&inputs).model.service_time_s - 320.0).abs() < 1e-9);
    // Fewer than half of the runs say it: test time.
    for (i, r) in inputs.runs.iter_mut().enumerate() {
        if i % 3 != 0 {
            r.wall_time_s = None;
        }
    }
    let p = plan(&inputs);
    assert_eq!(
        p.model.service_basis,
        hourglass_plan::ServiceBasis::TestTime
    );
    assert!((p.model.service_time_s - 720.0).abs() < 1e-9);
}

#[test]
fn more_shards_that_fit_fewer_runs_at_once_say_why() {
    // 3 runs/h of 1800 s of tests on 3 slots: at x1.5, 2 shards per run
    // leave room for one run at a time, 1020 s each: 1.3 erlangs.
    let mut inputs = steady(4, 3, 1800.0);
    inputs.capacity = Capacity {
        runner_slots: 3,
        ..Capacity::default()
    };
    let p = plan(&inputs);
    let shards = p
        .scenarios
        .iter()
        .find(|s| s.name == "x1.5 + shards")
        .unwrap();
    assert_eq!(shards.servers, 1);
    assert_eq!(shards.verdict, Verdict::Saturates);
    let why = shards.why.as_deref().unwrap();
    assert!(
        why.starts_with("3 runner slots hold 1 run of 2 shards at once instead of 3 runs of 1"),
        "{why}"
    );
    // Levers that do not take slots away say nothing.
    assert!(
        p.scenarios
            .iter()
            .filter(|s| !s.name.contains("shards"))
            .all(|s| s.why.is_none())
    );
}

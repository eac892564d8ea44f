//! The table a lead reads in a minute.

use std::io::{self, Write};

use hourglass_plan::{CapacityPlan, Constraint, Scenario, Verdict};

/// Seconds as `42 s`, `12.5 min`, `3.1 h`, `2.0 d`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "∞".to_owned();
    }
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 2.0 * 3600.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 2.0 * 86_400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

fn wait(wait_s: Option<f64>) -> String {
    wait_s.map_or_else(|| "unbounded".to_owned(), duration)
}

fn percent(share: f64) -> String {
    if share.is_finite() {
        format!("{:.0}%", share * 100.0)
    } else {
        "∞".to_owned()
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Absorbs => "absorbs",
        Verdict::AtRisk => "AT RISK",
        Verdict::Saturates => "SATURATES",
    }
}

/// The table; `measured` is the newest week of CI job records with a
/// measured queue wait, shown beside the model's.
pub fn table(
    out: &mut impl Write,
    plan: &CapacityPlan,
    measured: Option<&hourglass_insight::outcomes::CiWeek>,
) -> io::Result<()> {
    let demand = &plan.demand;
    let supply = &plan.supply;
    let model = &plan.model;
    let weeks = demand.weeks.len();
    let (Some(first), Some(last)) = (demand.weeks.first(), demand.weeks.last()) else {
        writeln!(out, "hourglass plan: no history to plan from yet")?;
        for note in &plan.notes {
            writeln!(out, "  - {note}")?;
        }
        return Ok(());
    };
    writeln!(
        out,
        "hourglass plan: {weeks} weeks, {} to {} (UTC)",
        first.week, last.week
    )?;
    let n = weeks.max(1) as f64;
    let sum = |f: &dyn Fn(&hourglass_plan::DemandWeek) -> f64| {
        demand.weeks.iter().map(f).sum::<f64>() / n
    };

    writeln!(out)?;
    writeln!(
        out,
        "Demand ({})",
        if demand.all_branches {
            "every commit on every branch"
        } else {
            "merged changes: first parents of the default branch"
        }
    )?;
    let trend = &demand.trend;
    write!(
        out,
        "  {:.1} changes/week, trend {:+.2}/week ({:+.1}%/week)",
        sum(&|w| f64::from(w.changes)),
        trend.slope_per_week,
        trend.growth_rate_per_week * 100.0
    )?;
    if let Some(last) = demand.forecast.points.last() {
        write!(
            out,
            "; {}: {:.0} ({:.0}-{:.0}, {:.0}% interval)",
            last.week,
            last.value,
            last.lower,
            last.upper,
            demand.forecast.confidence * 100.0
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:.1} commits/week, {:.1} authors/week; lines per change p50 {:.0}, p90 {:.0}, max {}",
        sum(&|w| f64::from(w.commits)),
        sum(&|w| f64::from(w.authors)),
        demand.batch.p50,
        demand.batch.p90,
        demand.batch.max
    )?;
    let d = &demand.delivery;
    writeln!(
        out,
        "  lead time p50 {}, p90 {} ({} merges); change failure rate {} ({} reverts); {:.2} releases/week",
        d.lead_time_p50_s.map_or("n/a".to_owned(), duration),
        d.lead_time_p90_s.map_or("n/a".to_owned(), duration),
        d.lead_time_samples,
        percent(d.change_failure_rate),
        d.reverts,
        d.releases_per_week
    )?;

    writeln!(out)?;
    let runs: u32 = supply.weeks.iter().map(|w| w.runs).sum();
    writeln!(out, "Supply (result history: {runs} runs)")?;
    if runs > 0 {
        writeln!(
            out,
            "  {:.1} runs/week, {:.2} runs per change; test time per run {} (cv {:.2}); pass rate {}",
            f64::from(runs) / n,
            supply.runs_per_change,
            duration(supply.test_time_per_run.mean),
            supply.test_time_per_run.cv,
            percent(supply.pass_rate)
        )?;
        if let Some(wall) = supply.wall_time_per_run {
            writeln!(
                out,
                "  wall time per run {} (cv {:.2}) over the {} runs that say it",
                duration(wall.mean),
                wall.cv,
                wall.count
            )?;
        }
        let rerun: f64 = supply.weeks.iter().map(|w| w.flaky_rerun_time_s).sum();
        let only: f64 = supply
            .weeks
            .iter()
            .map(|w| w.flaky_only_failure_time_s)
            .sum();
        let only_runs: u32 = supply.weeks.iter().map(|w| w.flaky_only_failures).sum();
        writeln!(
            out,
            "  flaky reruns {}/week, runs red only through flaky tests {}/week ({} runs): {} of test time; suite growth {:+.1} tests/week",
            duration(rerun / n),
            duration(only / n),
            only_runs,
            percent(supply.flaky_time_share),
            supply.suite_growth_per_week
        )?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "Queue model (Erlang C x Allen-Cunneen; arrivals: mean of the {} busiest hours of the week)",
        model.busy_hours
    )?;
    writeln!(
        out,
        "  arrivals {:.2} runs/h (working-hours mean {:.2}); service {} per run ({}); ca2 {:.2}, cs2 {:.2}",
        model.arrival_rate_per_hour,
        model.working_hours_rate_per_hour,
        duration(model.service_time_s),
        match model.service_basis {
            hourglass_plan::ServiceBasis::WallTime => "measured wall time",
            hourglass_plan::ServiceBasis::TestTime => "sum of test durations",
        },
        model.ca2,
        model.cs2
    )?;
    writeln!(
        out,
        "  {} servers ({} slots / {} shards): utilisation {}, wait {} (target {} at <= {})",
        model.servers,
        model.runner_slots,
        model.shards_per_run,
        percent(model.utilisation),
        wait(model.wait_s),
        duration(model.target_wait_s),
        percent(model.target_utilisation)
    )?;
    if let Some(week) = measured {
        writeln!(
            out,
            "  measured in {} ({} CI jobs): queue wait p50 {}, p95 {}; runner occupancy {}",
            week.week,
            week.jobs,
            week.wait_p50_s.map_or("n/a".to_owned(), duration),
            week.wait_p95_s.map_or("n/a".to_owned(), duration),
            week.occupancy.map_or("n/a".to_owned(), percent)
        )?;
    }
    writeln!(
        out,
        "  the wait stays under target up to {:.2} runs/h: headroom {}",
        model.max_arrival_rate_per_hour,
        model
            .headroom
            .map_or("n/a".to_owned(), |h| format!("{:+.0}%", h * 100.0))
    )?;

    let t = &plan.triage;
    writeln!(out)?;
    writeln!(
        out,
        "Triage: {:.1} items/week need {:.1} h of {:.1} h/week; constraint: {}",
        t.items_per_week,
        t.hours_needed_per_week,
        t.hours_available_per_week,
        match t.constraint {
            Constraint::None => "none",
            Constraint::Runners => "runners",
            Constraint::Headcount => "headcount (triage), not runners",
            Constraint::Both => "runners and headcount",
        }
    )?;

    if let Some(replay) = &plan.replay {
        writeln!(out)?;
        writeln!(
            out,
            "Selection replay: {} changes ({} skipped, {} ran everything): {} of tests, {} of test time",
            replay.changes.len(),
            replay.skipped,
            replay.run_all,
            percent(replay.test_share),
            percent(replay.test_time_share)
        )?;
    }

    writeln!(out)?;
    scenarios(out, &plan.scenarios)?;

    writeln!(out)?;
    writeln!(
        out,
        "{:<9} {:>8} {:>8} {:>9} {:>6} {:>10} {:>10}",
        "week", "changes", "commits", "lines", "runs", "test time", "wall/run"
    )?;
    let shown = demand.weeks.len().min(8);
    for (dw, sw) in demand.weeks.iter().zip(&supply.weeks).skip(weeks - shown) {
        writeln!(
            out,
            "{:<9} {:>8} {:>8} {:>9} {:>6} {:>10} {:>10}",
            dw.week.to_string(),
            dw.changes,
            dw.commits,
            dw.lines,
            sw.runs,
            duration(sw.test_time_s),
            sw.wall_time_per_run_s.map_or("-".to_owned(), duration)
        )?;
    }
    if !plan.notes.is_empty() {
        writeln!(out)?;
        for note in &plan.notes {
            writeln!(out, "note: {note}")?;
        }
    }
    Ok(())
}

fn scenarios(out: &mut impl Write, scenarios: &[Scenario]) -> io::Result<()> {
    writeln!(
        out,
        "{:<30} {:>6} {:>11} {:<10} {:>8} {:>13}",
        "scenario", "util", "wait", "verdict", "runners", "triage h/wk"
    )?;
    for s in scenarios {
        writeln!(
            out,
            "{:<30} {:>6} {:>11} {:<10} {:>8} {:>13}",
            s.name,
            percent(s.utilisation),
            wait(s.wait_s),
            verdict(s.verdict),
            s.runners_needed.map_or("-".to_owned(), |n| n.to_string()),
            format!(
                "{:.1}/{:.0}{}",
                s.triage_hours_needed,
                s.triage_hours_available,
                if s.triage_over { "!" } else { "" }
            )
        )?;
        if let Some(why) = &s.why {
            writeln!(out, "  why: {why}")?;
        }
    }
    writeln!(
        out,
        "runners: fewest slots that absorb the scenario; '!' marks triage over its hours"
    )
}

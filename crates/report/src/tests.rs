use hourglass_plan::{Capacity, MergedChange, PlanInputs, RunRecord, plan};

use super::*;

/// Twelve weeks from Monday 2026-01-05: `per_week` changes and runs a week,
/// each run taking `test_time_s`.
fn inputs(per_week: i64, test_time_s: f64, slots: u32) -> ReportInputs {
    let start = 1_767_571_200; // 2026-01-05T00:00:00Z, a Monday
    let mut changes = Vec::new();
    let mut runs = Vec::new();
    for week in 0..12 {
        for i in 0..per_week {
            let time_s = start + week * 7 * 86_400 + (i % 5) * 86_400 + 9 * 3600 + (i / 5) * 1800;
            changes.push(MergedChange {
                commit: format!("{week}-{i}"),
                time_s,
                commits: 2,
                authors: vec!["a@example.com".into()],
                files: 3,
                lines_added: 40,
                lines_deleted: 10,
                lead_time_s: Some(3600 * (4 + week)),
                is_revert: i == 0,
            });
            runs.push(RunRecord {
                time_s: time_s + 60,
                test_time_s,
                wall_time_s: None,
                wall_time_includes_setup: false,
                tests: 100,
                failed_tests: 0,
                failed_only_flaky: false,
                flaky_rerun_time_s: 0.0,
                new_broken: 0,
                new_flaky: 0,
            });
        }
    }
    let plan = plan(&PlanInputs {
        changes,
        runs,
        capacity: Capacity {
            runner_slots: slots,
            ..Capacity::default()
        },
        ..PlanInputs::default()
    });
    ReportInputs {
        week: None,
        plan,
        ci_weeks: Vec::new(),
        green_weeks: Vec::new(),
        flaky: vec![TestRow {
            test: "shop::cart <adds> & removes".into(),
            owners: vec!["@team-cart".into()],
            score: 0.42,
            detail: "failed and passed on one commit".into(),
        }],
        broken: Vec::new(),
        slow: Vec::new(),
        totals: Totals {
            runs: 12 * per_week as usize,
            tests: 100,
            changes: 12 * per_week as usize,
            ci_jobs: 0,
        },
        notes: Vec::new(),
    }
}

#[test]
fn a_light_load_absorbs_fifty_percent_more() {
    let report = build(inputs(10, 60.0, 8));
    assert_eq!(report.answer, Answer::Yes, "{}", report.headline);
    assert!(
        report.headline.starts_with("Yes: testing can absorb +50%"),
        "{}",
        report.headline
    );
    assert_eq!(report.weeks.len(), 12);
    assert_eq!(report.week.as_deref(), Some("2026-W13"));
    assert_eq!(report.weeks[0].change_failure_rate, Some(0.1));
    assert!(report.capacity_changes_per_week.unwrap() > 10.0);
}

#[test]
fn a_saturated_ci_says_no_and_what_to_do() {
    let report = build(inputs(40, 3.0 * 3600.0, 2));
    assert_ne!(report.answer, Answer::Yes, "{}", report.headline);
    assert!(
        report.headline.contains("to absorb it") || report.headline.contains("combine"),
        "{}",
        report.headline
    );
    assert_eq!(
        report.headline.matches(". ").count(),
        0,
        "one sentence: {}",
        report.headline
    );
}

#[test]
fn an_empty_history_says_what_to_ingest() {
    let mut empty = inputs(0, 60.0, 8);
    empty.totals = Totals::default();
    let report = build(empty);
    assert_eq!(report.answer, Answer::Unknown);
    assert!(
        report.headline.contains("hourglass ingest"),
        "{}",
        report.headline
    );
    let page = html(&report);
    assert!(page.contains("no merged changes yet"));
    assert!(
        !page.contains(r#"class="mark""#),
        "an empty history draws no data marks"
    );
    assert!(markdown(&report).contains("hourglass ingest"));
}

#[test]
fn html_is_self_contained_and_every_chart_has_marks() {
    let report = build(inputs(10, 600.0, 4));
    let page = html(&report);
    assert!(!page.contains("<script"));
    assert!(
        !page.contains("http://")
            || page.matches("http://").count()
                == page.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(!page.contains("https://"));
    for chart in ["volume", "scenarios", "heatmap", "lead-time"] {
        let start = page
            .find(&format!(r#"data-chart="{chart}""#))
            .unwrap_or_else(|| panic!("{chart}"));
        let end = start + page[start..].find("</svg>").unwrap();
        assert!(
            page[start..end].contains(r#"class="mark""#),
            "{chart} drew nothing"
        );
    }
    // Text is escaped.
    assert!(page.contains("shop::cart &lt;adds&gt; &amp; removes"));
}

#[test]
fn json_round_trips_and_has_the_contract_fields() {
    let report = build(inputs(10, 600.0, 4));
    let value = serde_json::to_value(&report).unwrap();
    for field in [
        "week",
        "headline",
        "answer",
        "weeks",
        "model",
        "scenarios",
        "hour_of_week",
        "flaky",
        "broken",
        "slow",
        "notes",
    ] {
        assert!(value.get(field).is_some(), "{field}");
    }
    let back: WeeklyReport = serde_json::from_value(value).unwrap();
    assert_eq!(back, report);
}

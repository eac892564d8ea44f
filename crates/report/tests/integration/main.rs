//! The HTML report as a browser draws it: headless Chromium screenshots
//! each chart with and without its data marks; a chart whose marks draw
//! nothing visible fails.

mod render;

use hourglass_plan::{Capacity, MergedChange, PlanInputs, RunRecord, plan};
use hourglass_report::{ReportInputs, TestRow, Totals, WeeklyReport, build};

/// Twelve weeks of growing change volume against three runner slots.
pub fn sample_report() -> WeeklyReport {
    let start = 1_788_134_400; // 2026-08-31T00:00:00Z, a Monday
    let mut changes = Vec::new();
    let mut runs = Vec::new();
    for week in 0..12_i64 {
        for i in 0..(6 + 2 * week) {
            let time_s = start + week * 7 * 86_400 + (i % 5) * 86_400 + (10 + (i / 5) % 7) * 3600;
            changes.push(MergedChange {
                commit: format!("{week}-{i}"),
                time_s,
                commits: 2,
                authors: vec!["dev@example.com".into()],
                files: 2,
                lines_added: 20,
                lines_deleted: 5,
                lead_time_s: Some(3 * 3600 + week * 2400 + i * 300),
                is_revert: i == 0 && week % 3 == 2,
            });
            runs.push(RunRecord {
                time_s: time_s + 120,
                test_time_s: 1400.0 + 25.0 * week as f64,
                wall_time_s: None,
                wall_time_includes_setup: false,
                tests: 12,
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
            runner_slots: 3,
            ..Capacity::default()
        },
        ..PlanInputs::default()
    });
    let row = |test: &str, owner: &str, score: f64, detail: &str| TestRow {
        test: test.into(),
        owners: vec![owner.into()],
        score,
        detail: detail.into(),
    };
    build(ReportInputs {
        week: None,
        plan,
        ci_weeks: Vec::new(),
        green_weeks: Vec::new(),
        flaky: vec![row(
            "tests.checkout_test test_applies_voucher",
            "@shop/checkout",
            0.31,
            "failed and passed on one commit",
        )],
        broken: vec![row(
            "tests.search_test test_ranks_by_stock",
            "@shop/search",
            1.0,
            "since 2dc6aa325a (run 141)",
        )],
        slow: vec![row(
            "tests.orders_test test_places_order",
            "@shop/orders",
            0.14,
            "p50 465.00s, p95 515.00s",
        )],
        totals: Totals {
            runs: 204,
            tests: 12,
            changes: 204,
            ci_jobs: 0,
        },
        notes: Vec::new(),
    })
}

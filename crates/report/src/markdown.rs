//! The report in Markdown (GitHub's job summary, a pull request comment).

use std::fmt::Write as _;

use crate::{TestRow, WeeklyReport, duration, opt, percent};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report as Markdown.
pub fn markdown(report: &WeeklyReport) -> String {
    let mut out = String::new();
    let week = report.week.as_deref().unwrap_or("no data yet");
    let _ = writeln!(out, "# QA capacity report · {week}\n");
    let _ = writeln!(out, "**{}**\n", report.headline);
    let t = &report.totals;
    let _ = writeln!(
        out,
        "From {} CI runs, {} tests, {} merged changes and {} CI jobs.\n",
        t.runs, t.tests, t.changes, t.ci_jobs
    );
    if !report.scenarios.is_empty() {
        let _ = writeln!(out, "## Scenarios\n");
        let _ = writeln!(out, "| Scenario | Utilisation | Mean wait | Verdict |");
        let _ = writeln!(out, "|---|---:|---:|---|");
        for s in &report.scenarios {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&s.name),
                percent(s.utilisation),
                opt(s.wait_s, duration),
                match &s.why {
                    Some(why) => format!("{}: {}", s.verdict, cell(why)),
                    None => s.verdict.to_string(),
                }
            );
        }
        let _ = writeln!(out);
    }
    if !report.weeks.is_empty() {
        let _ = writeln!(out, "## Weekly trends\n");
        let _ = writeln!(
            out,
            "| Week | Changes | Runs | Test time / change | Wall time / run | Flaky time | Lead time p50 | Releases | Change failure rate | Time to green p50 | Queue wait p50 | Runner occupancy |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for cells in crate::week_rows(report) {
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        let _ = writeln!(out);
    }
    table(&mut out, "Broken tests", "Since", &report.broken);
    table(&mut out, "Flaky tests", "Evidence", &report.flaky);
    table(&mut out, "Slowest tests", "Timing", &report.slow);
    if !report.notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {}", cell(note));
        }
    }
    out
}

fn table(out: &mut String, title: &str, detail: &str, rows: &[TestRow]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(out, "| Test | Owners | {detail} |");
    let _ = writeln!(out, "|---|---|---|");
    for row in rows {
        let owners = if row.owners.is_empty() {
            "(unowned)".to_owned()
        } else {
            row.owners.join(" ")
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            cell(&row.test),
            cell(&owners),
            cell(&row.detail)
        );
    }
    let _ = writeln!(out);
}

//! `hourglass slow`.

use std::io::Write;

use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_insight::{SlowReport, TestTiming};
use serde::Serialize;

use hourglass_review::text::{short, test_label};

use super::flaky::{WindowArgs, analyze, md, write_table};
use super::{CliResult, Context, Status, stdout, write_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SlowFormat {
    /// The slowest tests, the suite totals and the regressions, as tables.
    Table,
    /// One JSON document: a list of tests, slowest first.
    Json,
    /// The tables in Markdown.
    Markdown,
}

#[derive(Debug, Args)]
pub struct SlowArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// How many of the slowest tests to list [default: `top` of hourglass.toml,
    /// 20; json lists every test unless given].
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    #[arg(long, value_enum, default_value_t = SlowFormat::Table)]
    pub format: SlowFormat,
}

#[derive(Serialize)]
pub struct RegressionRecord<'a> {
    pub since_commit: Option<&'a str>,
    pub since_run: &'a str,
    pub since_timestamp: Option<&'a str>,
    pub factor: f64,
    pub before_s: f64,
    pub after_s: f64,
    pub p_value: f64,
}

#[derive(Serialize)]
pub struct TimingRecord<'a> {
    pub suite: &'a str,
    pub classname: &'a str,
    pub name: &'a str,
    pub samples: u32,
    pub p50_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    pub total_s: f64,
    pub share: f64,
    pub regression: Option<RegressionRecord<'a>>,
}

/// Durations rounded to the microsecond.
fn us(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

pub fn timing_record(timing: &TestTiming) -> TimingRecord<'_> {
    TimingRecord {
        suite: &timing.key.suite,
        classname: &timing.key.classname,
        name: &timing.key.name,
        samples: timing.samples,
        p50_s: us(timing.p50_s),
        p95_s: us(timing.p95_s),
        max_s: us(timing.max_s),
        total_s: us(timing.total_s),
        share: (timing.share * 1e6).round() / 1e6,
        regression: timing.regression.as_ref().map(|r| RegressionRecord {
            since_commit: r.since.commit.as_deref(),
            since_run: &r.since.run_id,
            since_timestamp: r.since.timestamp.as_deref(),
            factor: (r.factor * 1000.0).round() / 1000.0,
            before_s: us(r.before_s),
            after_s: us(r.after_s),
            p_value: r.p_value,
        }),
    }
}

/// `×2.4 since 1a2b3c4d5e (run r12)`.
pub fn regression_text(timing: &TestTiming) -> String {
    timing.regression.as_ref().map_or_else(String::new, |r| {
        format!(
            "×{:.1} since {} (run {}; {:.3}s → {:.3}s, p={:.1e})",
            r.factor,
            short(r.since.commit.as_deref()),
            r.since.run_id,
            r.before_s,
            r.after_s,
            r.p_value
        )
    })
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

pub fn run(args: SlowArgs, context: &Context) -> CliResult {
    let SlowArgs {
        window,
        top,
        format,
    } = args;
    let root = context.repo_root();
    let settings = Settings::load(&root)?;
    // Only the listed tests' timings are kept (JSON without --top lists all).
    let listed = match format {
        SlowFormat::Json => top,
        _ => Some(top.unwrap_or(settings.slow.top)),
    };
    let retain = hourglass_review::Retain {
        healthy: false,
        slowest: listed,
        timings: true,
    };
    let analysis = analyze(&window, context, &settings, retain)?;
    let report: &SlowReport = &analysis.slow;
    let mut out = stdout();
    match format {
        SlowFormat::Json => {
            let take = top.unwrap_or(usize::MAX);
            let records: Vec<TimingRecord<'_>> =
                report.tests.iter().take(take).map(timing_record).collect();
            write_json(&mut out, &records)?;
        }
        SlowFormat::Table => {
            let top = top.unwrap_or(settings.slow.top);
            let rows: Vec<Vec<String>> = report
                .tests
                .iter()
                .take(top)
                .map(|t| {
                    vec![
                        format!("{:.3}", t.p50_s),
                        format!("{:.3}", t.p95_s),
                        format!("{:.3}", t.max_s),
                        percent(t.share),
                        test_label(&t.key),
                        regression_text(t),
                    ]
                })
                .collect();
            writeln!(
                out,
                "Slowest tests ({} runs, {:.1}s of test time in total)",
                analysis.runs.len(),
                report.total_s
            )?;
            write_table(
                &mut out,
                &["P50_S", "P95_S", "MAX_S", "SHARE", "TEST", "REGRESSION"],
                &rows,
            )?;
            writeln!(out)?;
            writeln!(out, "Suites")?;
            let suites: Vec<Vec<String>> = report
                .suites
                .iter()
                .map(|s| {
                    vec![
                        format!("{:.3}", s.total_s),
                        percent(s.share),
                        s.tests.to_string(),
                        s.suite.clone(),
                    ]
                })
                .collect();
            write_table(&mut out, &["TOTAL_S", "SHARE", "TESTS", "SUITE"], &suites)?;
            let regressions = report.regressions();
            if !regressions.is_empty() {
                writeln!(out)?;
                writeln!(out, "Regressions")?;
                let rows: Vec<Vec<String>> = regressions
                    .iter()
                    .map(|t| vec![test_label(&t.key), regression_text(t)])
                    .collect();
                write_table(&mut out, &["TEST", "REGRESSION"], &rows)?;
            }
        }
        SlowFormat::Markdown => {
            let top = top.unwrap_or(settings.slow.top);
            writeln!(out, "## Slowest tests\n")?;
            writeln!(
                out,
                "{} runs, {:.1}s of test time in total.\n",
                analysis.runs.len(),
                report.total_s
            )?;
            writeln!(
                out,
                "| Test | p50 (s) | p95 (s) | max (s) | Share | Regression |"
            )?;
            writeln!(out, "|---|---:|---:|---:|---:|---|")?;
            for t in report.tests.iter().take(top) {
                writeln!(
                    out,
                    "| `{}` | {:.3} | {:.3} | {:.3} | {} | {} |",
                    md(&test_label(&t.key)),
                    t.p50_s,
                    t.p95_s,
                    t.max_s,
                    percent(t.share),
                    md(&regression_text(t))
                )?;
            }
            writeln!(out, "\n## Suites\n")?;
            writeln!(out, "| Suite | Tests | Total (s) | Share |")?;
            writeln!(out, "|---|---:|---:|---:|")?;
            for s in &report.suites {
                writeln!(
                    out,
                    "| `{}` | {} | {:.3} | {} |",
                    md(&s.suite),
                    s.tests,
                    s.total_s,
                    percent(s.share)
                )?;
            }
            let regressions = report.regressions();
            if !regressions.is_empty() {
                writeln!(out, "\n## Regressions\n")?;
                for t in regressions {
                    writeln!(
                        out,
                        "- `{}`: {}",
                        md(&test_label(&t.key)),
                        regression_text(t)
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(Status::Done)
}

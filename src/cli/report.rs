//! `hourglass report`: the weekly QA capacity report.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_insight::{TestVerdict, Verdict};
use hourglass_model::TestKey;
use hourglass_plan::IsoWeek;
use hourglass_report::{ReportInputs, TestRow, Totals};
use hourglass_review::text::{detail, test_label};
use hourglass_review::weekly;

use super::flaky::{load_routing, review_failure};
use super::{CliResult, Context, Failure, Status, stdout};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown: a CI job summary or a pull request comment.
    Markdown,
    /// One self-contained HTML page with SVG charts (no scripts, no external files).
    Html,
    /// One JSON document (see the README's "Report JSON").
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hourglass report                                  this week, Markdown on stdout
  hourglass report --format html -o report.html     the page, written atomically
  hourglass report --week 2026-W10 --format json    one past week, for scripts

The report opens with one sentence: can testing absorb +50% change volume,
and what to do if not. It reads merged changes from git (the repository the
command runs in), CI runs from the result history (`hourglass ingest`), CI
job records when stored (`hourglass ingest --ci-jobs`), and capacity from
hourglass.toml [capacity].")]
pub struct ReportArgs {
    /// The history store [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The week to report on, as an ISO week (2026-W10) [default: the newest
    /// week with a run or a change]. Nothing after it is read.
    #[arg(long, value_name = "YYYY-Www")]
    pub week: Option<String>,
    /// How many weeks the trends show.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub weeks: u32,
    /// How many tests each table lists.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write the report to FILE (a temporary file renamed into place)
    /// instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[allow(clippy::needless_pass_by_value)] // every command takes its arguments by value
pub fn run(args: ReportArgs, context: &Context) -> CliResult {
    let week = match args.week.as_deref() {
        Some(text) => Some(text.trim().parse::<IsoWeek>().map_err(|_| {
            Failure::input(anyhow::anyhow!(
                "--week {text:?}: expected an ISO week like 2026-W10"
            ))
        })?),
        None => None,
    };
    let root = context.repo_root();
    let settings = Settings::load(&root)?;
    let db = context.store_location(args.db.as_deref())?;
    let inputs = if db.exists() {
        let store = super::export::open(&db)?;
        let gathered =
            weekly::gather(&root, &*store, &settings, week, args.weeks).map_err(review_failure)?;
        let plan = hourglass_plan::plan(&gathered.plan_inputs);
        let analysis = &gathered.analysis;
        let mut shown: Vec<&TestVerdict> = analysis
            .verdicts
            .iter()
            .filter(|v| matches!(v.verdict, Verdict::Flaky | Verdict::Broken))
            .collect();
        shown.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
        let slow: Vec<_> = analysis.slow.tests.iter().take(args.top).collect();
        let keys: Vec<&TestKey> = shown
            .iter()
            .map(|v| &v.key)
            .chain(slow.iter().map(|t| &t.key))
            .collect();
        let routing = load_routing(&root, &settings, &keys);
        let locator = routing.locator();
        let owners = |key: &TestKey| -> Vec<String> {
            let file = analysis
                .position(key)
                .and_then(|i| analysis.files[i].as_deref());
            routing.route(&locator, key, file).1.owners
        };
        let row = |v: &TestVerdict| TestRow {
            test: test_label(&v.key),
            owners: owners(&v.key),
            score: (v.score * 1e4).round() / 1e4,
            detail: detail(v),
        };
        let pick = |verdict: Verdict| -> Vec<TestRow> {
            shown
                .iter()
                .filter(|v| v.verdict == verdict)
                .take(args.top)
                .map(|v| row(v))
                .collect()
        };
        ReportInputs {
            week,
            flaky: pick(Verdict::Flaky),
            broken: pick(Verdict::Broken),
            slow: slow
                .iter()
                .map(|t| TestRow {
                    test: test_label(&t.key),
                    owners: owners(&t.key),
                    score: (t.share * 1e4).round() / 1e4,
                    detail: format!("p50 {:.2}s, p95 {:.2}s", t.p50_s, t.p95_s),
                })
                .collect(),
            totals: Totals {
                runs: gathered.total_runs,
                tests: gathered.total_tests,
                changes: gathered.plan_inputs.changes.len(),
                ci_jobs: gathered.ci_jobs,
            },
            plan,
            ci_weeks: gathered.ci_weeks,
            green_weeks: gathered.green_weeks,
            notes: gathered.notes,
        }
    } else {
        let mut inputs = hourglass_plan::PlanInputs {
            capacity: hourglass_review::planning::capacity(&settings),
            ..hourglass_plan::PlanInputs::default()
        };
        inputs.weeks = args.weeks;
        ReportInputs {
            week,
            plan: hourglass_plan::plan(&inputs),
            ci_weeks: Vec::new(),
            green_weeks: Vec::new(),
            flaky: Vec::new(),
            broken: Vec::new(),
            slow: Vec::new(),
            totals: Totals::default(),
            notes: vec![format!(
                "{}: no result history here; store CI results with `hourglass ingest` first",
                db.display()
            )],
        }
    };
    let report = hourglass_report::build(inputs);
    let text = match args.format {
        ReportFormat::Markdown => hourglass_report::markdown(&report),
        ReportFormat::Html => hourglass_report::html(&report),
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)?;
            text.push('\n');
            text
        }
    };
    if let Some(path) = &args.output {
        let path = if path.is_absolute() {
            path.clone()
        } else {
            context.cwd.join(path)
        };
        write_atomically(&path, text.as_bytes())?;
    } else {
        let mut out = stdout();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(Status::Done)
}

/// Writes a sibling temporary file, then renames it over `path`: a reader
/// sees the old report or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::input(anyhow::anyhow!("-o {}: not a file name", path.display())))?;
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    if let Err(error) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(Failure::input(
            anyhow::Error::new(error).context(format!("replacing {}", path.display())),
        ));
    }
    Ok(())
}

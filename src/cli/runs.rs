//! `hourglass runs`: the runs in the history with their counts.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hourglass_history::{ResultFilter, RunSummary};

use super::export::{open_existing, store_failure};
use super::{CliResult, Context, Status, stdout, write_json};

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The history: a SQLite file, or a postgres:// URL [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RunsFormat::Table)]
    pub format: RunsFormat,
    /// Only the last N runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only the runs of this branch.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunsFormat {
    Table,
    Json,
    Jsonl,
}

pub fn run(args: RunsArgs, context: &Context) -> CliResult {
    let db = context.store_location(args.db.as_deref())?;
    let store = open_existing(&db)?;
    let filter = ResultFilter {
        last_runs: args.limit,
        branch: args.branch,
        ..ResultFilter::default()
    };
    let runs = store.runs(&filter).map_err(store_failure)?;
    let mut out = stdout();
    match args.format {
        RunsFormat::Json => write_json(&mut out, &runs)?,
        RunsFormat::Jsonl => {
            for run in &runs {
                serde_json::to_writer(&mut out, run).map_err(std::io::Error::from)?;
                writeln!(out)?;
            }
        }
        RunsFormat::Table => write_table(&mut out, &runs)?,
    }
    out.flush()?;
    Ok(Status::Done)
}

fn write_table(out: &mut impl Write, runs: &[RunSummary]) -> std::io::Result<()> {
    let header = [
        "RUN",
        "COMMIT",
        "BRANCH",
        "TIMESTAMP",
        "TESTS",
        "PASSED",
        "FAILED",
        "ERROR",
        "SKIPPED",
        "FLAKY",
        "DURATION",
    ];
    let rows: Vec<[String; 11]> = runs
        .iter()
        .map(|run| {
            let commit = run.info.commit.as_deref().unwrap_or("-");
            [
                run.info.run_id.clone(),
                commit.chars().take(10).collect(),
                run.info.branch.clone().unwrap_or_else(|| "-".into()),
                run.info.timestamp.clone(),
                run.tests.to_string(),
                run.passed.to_string(),
                run.failed.to_string(),
                run.error.to_string(),
                run.skipped.to_string(),
                run.flaky.to_string(),
                format!("{:.1}s", run.duration_s),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Text left-aligned, counts right-aligned.
            let _ = if i < 4 {
                write!(text, "{cell:<width$}")
            } else {
                write!(text, "{cell:>width$}")
            };
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for row in &rows {
        line(out, &row.each_ref().map(String::as_str))?;
    }
    Ok(())
}

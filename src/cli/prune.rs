//! `hourglass prune`: drop old runs from the history and give the space back.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use hourglass_history::{
    PgStore, PruneReport, SqliteStore, StoreLocation, Vacuum, timestamp_millis,
};

use super::export::store_failure;
use super::{CliResult, Context, Failure, Status, stdout, write_json};

/// Drops every run older than a date, with its results, and the messages,
/// outputs and tests no remaining run refers to; then gives the freed space
/// back to the file system (incremental vacuum; a store made before
/// hourglass used it gets one full VACUUM).
///
/// Without --before, the `[history] retention-days` setting of
/// hourglass.toml decides: runs older than that many days are dropped.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  hourglass prune --before 2026-01-01 --dry-run
  hourglass prune                      # [history] retention-days = 365 in hourglass.toml
  hourglass prune --before 2026-06-01T00:00:00Z --format json")]
pub struct PruneArgs {
    /// The history database [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Drop the runs strictly before this date (YYYY-MM-DD, midnight UTC) or
    /// instant (RFC 3339) [default: now minus `retention-days`].
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// Count what would be dropped; drop nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = PruneFormat::Human)]
    pub format: PruneFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PruneFormat {
    Human,
    Json,
}

/// `YYYY-MM-DD` as midnight UTC; anything else must be RFC 3339.
fn cutoff(text: &str) -> Option<String> {
    if let Ok(date) = text.trim().parse::<jiff::civil::Date>()
        && text.trim().len() == 10
    {
        return Some(format!("{date}T00:00:00Z"));
    }
    timestamp_millis(text).map(|_| text.trim().to_owned())
}

#[allow(clippy::needless_pass_by_value)] // every command takes its arguments by value
#[allow(clippy::single_match_else)]
pub fn run(args: PruneArgs, context: &Context) -> CliResult {
    let before = match &args.before {
        Some(text) => cutoff(text).ok_or_else(|| {
            Failure::input(anyhow!(
                "--before {text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"
            ))
        })?,
        None => {
            let settings = hourglass_config::Settings::load(&context.repo_root())?;
            let Some(days) = settings.retention_days else {
                return Err(Failure::input(anyhow!(
                    "nothing to prune by: pass --before DATE, or set `retention-days` in the \
                     [history] table of hourglass.toml"
                )));
            };
            let now = jiff::Timestamp::now();
            let since = now
                .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
                .map_err(|error| Failure::input(anyhow!("retention-days = {days}: {error}")))?;
            jiff::Timestamp::from_second(since.as_second())
                .unwrap_or(since)
                .to_string()
        }
    };
    let db = context.store_location(args.db.as_deref())?;
    if !db.exists() {
        return Err(Failure::input(anyhow!(
            "no history at {}: run `hourglass ingest` first, or pass --db",
            db.display()
        )));
    }
    let cannot_open = |error: hourglass_history::StoreError| {
        Failure::input(anyhow::Error::new(error).context(format!("cannot open {}", db.display())))
    };
    let report = match &db {
        StoreLocation::Sqlite(path) => SqliteStore::open(path)
            .map_err(cannot_open)?
            .prune(&before, args.dry_run),
        StoreLocation::Postgres(url) => PgStore::open(url)
            .map_err(cannot_open)?
            .prune(&before, args.dry_run),
    }
    .map_err(store_failure)?;
    let mut out = stdout();
    match args.format {
        PruneFormat::Json => write_json(&mut out, &report)?,
        PruneFormat::Human => write_human(&mut out, &report)?,
    }
    out.flush()?;
    Ok(Status::Done)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn write_human(out: &mut impl Write, report: &PruneReport) -> std::io::Result<()> {
    let verb = if report.dry_run {
        "would drop"
    } else {
        "dropped"
    };
    writeln!(
        out,
        "{verb} {} runs before {}: {} files, {} results, {} messages and outputs, {} tests, {} classes",
        report.runs,
        report.before,
        report.files,
        report.results,
        report.blobs,
        report.tests,
        report.classes
    )?;
    match report.vacuum {
        Vacuum::None if report.dry_run => writeln!(
            out,
            "store: {} (dry run: nothing changed)",
            megabytes(report.bytes_before)
        ),
        Vacuum::None => writeln!(out, "store: {}", megabytes(report.bytes_before)),
        Vacuum::Incremental | Vacuum::Full => writeln!(
            out,
            "store: {} -> {} ({})",
            megabytes(report.bytes_before),
            megabytes(report.bytes_after),
            if report.vacuum == Vacuum::Full {
                "full VACUUM, once: the store predates incremental vacuum"
            } else {
                "incremental vacuum"
            }
        ),
    }
}

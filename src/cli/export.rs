//! `hourglass export`: every stored result, one per line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use hourglass_history::{ExportRow, HistoryStore, StoreError, StoreLocation};
use hourglass_model::{Attempt, Property};
use serde::Serialize;

use super::{CliResult, Context, Failure, Status, stdout};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The history: a SQLite file, or a postgres:// URL [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// `jsonl`: one object a line with every field; `csv`: a header and one
    /// row a result (attempts as a count, without output and properties).
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// One exported result (`jsonl`).
#[derive(Debug, Serialize)]
struct ExportLine<'a> {
    run_id: &'a str,
    commit: Option<&'a str>,
    branch: Option<&'a str>,
    timestamp: &'a str,
    job: Option<&'a str>,
    suite: &'a str,
    classname: &'a str,
    name: &'a str,
    status: &'static str,
    duration_s: Option<f64>,
    message: Option<&'a str>,
    failure_type: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<u32>,
    attempts: &'a [Attempt],
    properties: &'a [Property],
    output: Option<&'a str>,
    output_dropped_bytes: u64,
}

impl<'a> ExportLine<'a> {
    fn new(row: &'a ExportRow) -> Self {
        let result = &row.result;
        Self {
            run_id: &row.run.run_id,
            commit: row.run.commit.as_deref(),
            branch: row.run.branch.as_deref(),
            timestamp: &row.run.timestamp,
            job: row.run.job.as_deref(),
            suite: &result.key.suite,
            classname: &result.key.classname,
            name: &result.key.name,
            status: result.outcome.as_str(),
            duration_s: result.duration_s,
            message: result.message.as_deref(),
            failure_type: result.failure_type.as_deref(),
            file: result.file.as_deref(),
            line: result.line,
            attempts: &result.attempts,
            properties: &result.properties,
            output: result.output.as_deref(),
            output_dropped_bytes: result.output_dropped_bytes,
        }
    }
}

const CSV_HEADER: [&str; 16] = [
    "run_id",
    "commit",
    "branch",
    "timestamp",
    "job",
    "suite",
    "classname",
    "name",
    "status",
    "duration_s",
    "message",
    "failure_type",
    "file",
    "line",
    "attempts",
    "output_dropped_bytes",
];

/// Opens an existing store; a missing one is a usage error, not an empty
/// history silently created.
pub(crate) fn open_existing(db: &StoreLocation) -> Result<Box<dyn HistoryStore + Send>, Failure> {
    if !db.exists() {
        return Err(Failure::input(anyhow!(
            "no history at {}: run `hourglass ingest` first, or pass --db",
            db.display()
        )));
    }
    open(db)
}

/// Opens (creating or migrating) the store at `db`.
pub(crate) fn open(db: &StoreLocation) -> Result<Box<dyn HistoryStore + Send>, Failure> {
    hourglass_history::open_store(db).map_err(|error| {
        Failure::input(anyhow::Error::new(error).context(format!("cannot open {}", db.display())))
    })
}

/// A store error, with a visitor's own error (a closed pipe) brought back
/// to the top so the plumbing recognises it.
pub(crate) fn store_failure(error: StoreError) -> Failure {
    match error {
        StoreError::Visit(source) => match source.downcast::<std::io::Error>() {
            Ok(io) => Failure::input(*io),
            Err(other) => Failure::input(anyhow!(other)),
        },
        other => Failure::input(other),
    }
}

pub fn run(args: ExportArgs, context: &Context) -> CliResult {
    let ExportArgs { db, format } = args;
    let db = context.store_location(db.as_deref())?;
    let store = open_existing(&db)?;
    let mut out = stdout();
    match format {
        ExportFormat::Jsonl => {
            store
                .for_each_export(&mut |row| {
                    serde_json::to_writer(&mut out, &ExportLine::new(&row))
                        .map_err(std::io::Error::from)?;
                    out.write_all(b"\n")?;
                    Ok(())
                })
                .map_err(store_failure)?;
        }
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(CSV_HEADER)?;
            store
                .for_each_export(&mut |row| {
                    let result = &row.result;
                    let optional = |value: Option<&str>| value.unwrap_or_default().to_owned();
                    writer
                        .write_record([
                            row.run.run_id.clone(),
                            optional(row.run.commit.as_deref()),
                            optional(row.run.branch.as_deref()),
                            row.run.timestamp.clone(),
                            optional(row.run.job.as_deref()),
                            result.key.suite.clone(),
                            result.key.classname.clone(),
                            result.key.name.clone(),
                            result.outcome.as_str().to_owned(),
                            result.duration_s.map(|d| d.to_string()).unwrap_or_default(),
                            optional(result.message.as_deref()),
                            optional(result.failure_type.as_deref()),
                            optional(result.file.as_deref()),
                            result.line.map(|l| l.to_string()).unwrap_or_default(),
                            result.attempts.len().to_string(),
                            result.output_dropped_bytes.to_string(),
                        ])
                        .map_err(csv_io)?;
                    Ok(())
                })
                .map_err(store_failure)?;
            writer.flush()?;
        }
    }
    out.flush()?;
    Ok(Status::Done)
}

/// A csv error as the io::Error it wraps, when it wraps one (a closed pipe).
fn csv_io(error: csv::Error) -> Box<dyn std::error::Error + Send + Sync> {
    if error.is_io_error()
        && let csv::ErrorKind::Io(io) = error.into_kind()
    {
        return Box::new(io);
    }
    Box::new(std::io::Error::other("cannot write CSV"))
}

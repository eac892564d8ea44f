//! `hourglass ingest --ci-jobs FILE...`: CI job records into the history.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use hourglass_history::{CiJobsOutcome, PgStore, SqliteStore, StoreError, StoreLocation, ci_jobs};
use hourglass_model::CiJob;
use serde::Serialize;

use super::ingest::IngestFormat;
use super::{CliResult, Context, Failure, Status, stdout, write_json};

#[derive(Serialize)]
struct JobsFileReport {
    path: String,
    /// `stored` or `failed`.
    outcome: &'static str,
    jobs: u64,
    stored: u64,
    updated: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JobsReport {
    db: String,
    files: Vec<JobsFileReport>,
}

/// Reads each file whole, then stores its jobs in one transaction; a bad
/// file is reported and stores nothing, the others are still stored.
pub fn run(
    db: &StoreLocation,
    files: &[PathBuf],
    format: IngestFormat,
    context: &Context,
) -> CliResult {
    let cannot_open = |error: StoreError| {
        Failure::input(anyhow::Error::new(error).context(format!("cannot open {}", db.display())))
    };
    let mut store = match db {
        StoreLocation::Sqlite(path) => {
            JobStore::Sqlite(SqliteStore::open(path).map_err(cannot_open)?)
        }
        StoreLocation::Postgres(url) => {
            JobStore::Postgres(Box::new(PgStore::open(url).map_err(cannot_open)?))
        }
    };
    let mut reports = Vec::new();
    for file in files {
        let path = if file.is_absolute() {
            file.clone()
        } else {
            context.cwd.join(file)
        };
        let shown = file.display().to_string();
        let result = ci_jobs::read_file(&path)
            .map_err(|error| relative_error(&error.to_string(), &path, &shown))
            .and_then(|jobs| {
                store
                    .ingest_ci_jobs(&jobs)
                    .map(|outcome| (jobs.len() as u64, outcome))
                    .map_err(|error| format!("{shown}: stored nothing: {error}"))
            });
        match result {
            Ok((jobs, CiJobsOutcome { stored, updated })) => reports.push(JobsFileReport {
                path: shown,
                outcome: "stored",
                jobs,
                stored,
                updated,
                error: None,
            }),
            Err(error) => {
                eprintln!("error: {error}");
                reports.push(JobsFileReport {
                    path: shown,
                    outcome: "failed",
                    jobs: 0,
                    stored: 0,
                    updated: 0,
                    error: Some(error),
                });
            }
        }
    }
    let failed = reports.iter().filter(|r| r.outcome == "failed").count();
    let report = JobsReport {
        db: db.display(),
        files: reports,
    };
    let mut out = stdout();
    match format {
        IngestFormat::Json => write_json(&mut out, &report)?,
        IngestFormat::Human => {
            for file in &report.files {
                if file.outcome == "stored" {
                    writeln!(
                        out,
                        "stored          {} ({} CI job{}: {} new, {} updated)",
                        file.path,
                        file.jobs,
                        if file.jobs == 1 { "" } else { "s" },
                        file.stored,
                        file.updated
                    )?;
                } else {
                    writeln!(out, "failed          {}", file.path)?;
                }
            }
            out.flush()?;
        }
    }
    if failed > 0 {
        return Err(Failure::input(anyhow!(
            "{failed} of {} CI job files could not be ingested",
            report.files.len()
        )));
    }
    Ok(Status::Done)
}

/// The stores CI jobs go to.
enum JobStore {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

impl JobStore {
    fn ingest_ci_jobs(&mut self, jobs: &[CiJob]) -> Result<CiJobsOutcome, StoreError> {
        match self {
            Self::Sqlite(store) => store.ingest_ci_jobs(jobs),
            Self::Postgres(store) => store.ingest_ci_jobs(jobs),
        }
    }
}

/// Errors name the file as the user gave it.
fn relative_error(message: &str, path: &Path, shown: &str) -> String {
    message.replacen(&path.display().to_string(), shown, 1)
}

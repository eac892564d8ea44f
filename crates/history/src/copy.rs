//! Copying a history into another store, run by run.

use serde::Serialize;

use crate::{HistoryStore, ImportOutcome, ResultFilter, RunInfo, StoreError};

/// What [`copy_runs`] reports after each run.
#[derive(Debug, Clone)]
pub struct CopyProgress<'a> {
    /// 1-based position of the run among the source's runs.
    pub position: usize,
    pub total: usize,
    pub run: &'a RunInfo,
    pub outcome: ImportOutcome,
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    pub runs: u64,
    pub copied: u64,
    pub already_there: u64,
    pub results: u64,
}

/// Copies every run of `from` that `to` lacks, oldest first, each run in
/// one transaction of `to` with its results and file records. A run
/// already in `to` (same run id) is skipped, so a copy that stopped midway
/// resumes where it stopped, and a second copy writes nothing.
pub fn copy_runs(
    from: &dyn HistoryStore,
    to: &mut dyn HistoryStore,
    progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<CopyReport, StoreError> {
    let runs = from.runs(&ResultFilter::default())?;
    let total = runs.len();
    let mut report = CopyReport::default();
    for (index, summary) in runs.iter().enumerate() {
        let files = from.run_files(&summary.info.run_id)?;
        let mut read_failure = None;
        let outcome = to.import_run(&summary.info, &files, &mut |sink| {
            let read = from.for_each_run_export(&summary.info.run_id, &mut |row| sink(&row.result));
            match read {
                Ok(()) => Ok(()),
                Err(StoreError::Visit(source)) => Err(source),
                Err(other) => {
                    let message = other.to_string();
                    read_failure = Some(other);
                    Err(message.into())
                }
            }
        });
        if let Some(error) = read_failure {
            return Err(error);
        }
        let outcome = outcome?;
        report.runs += 1;
        match outcome {
            ImportOutcome::Copied { results } => {
                report.copied += 1;
                report.results += results;
            }
            ImportOutcome::AlreadyThere => report.already_there += 1,
        }
        progress(CopyProgress {
            position: index + 1,
            total,
            run: &summary.info,
            outcome,
        });
    }
    Ok(report)
}

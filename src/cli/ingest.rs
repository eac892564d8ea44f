//! `hourglass ingest`: JUnit XML files into the result history.
//!
//! The pipeline (parallel readers, bounded channels, one writer) is
//! `hourglass_ingest`; this file parses the arguments and renders.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use hourglass_history::{KeepOutput, timestamp_millis};
use hourglass_ingest::{
    FileReport, RunFlags, expand_paths, failed_report, ingest_all, prepare_all, run_meta,
};
use hourglass_junit::ReadOptions;
use hourglass_model::RunMeta;
use serde::Serialize;

use super::{CliResult, Context, Failure, Status, stdout, write_json};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The history: a SQLite file, or a postgres:// URL [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// The commit the results are for [default: from CI variables, else HEAD].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The branch [default: from CI variables, else the checked-out branch].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// A stable id of the CI run [default: from CI variables, else derived
    /// from commit, job and timestamp].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// When the run happened [default: the earliest testsuite timestamp of
    /// the files, else now].
    #[arg(long, value_name = "RFC3339")]
    pub timestamp: Option<String>,
    /// The CI job name [default: from CI variables].
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// Keep at most this many bytes of output (system-out, system-err,
    /// failure bodies) per test [default: `max-output-bytes` of hourglass.toml,
    /// 8192].
    #[arg(long, value_name = "N")]
    pub max_output_bytes: Option<usize>,
    /// Whose output to store: every result that did not pass (failures),
    /// all, or none; messages are always kept [default: `keep-output` of
    /// hourglass.toml, failures].
    #[arg(long, value_enum, value_name = "WHOSE")]
    pub keep_output: Option<KeepOutputArg>,
    #[arg(long, value_enum, default_value_t = IngestFormat::Human)]
    pub format: IngestFormat,
    /// CI job records to store instead of JUnit files: GitHub Actions' jobs
    /// API JSON (`gh api repos/O/R/actions/runs/ID/jobs`, `--paginate`
    /// pages too) or GitLab's (`GET /projects/:id/jobs`). Repeatable. They
    /// give the measured queue wait and runner occupancy of `hourglass report`.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub ci_jobs: Vec<PathBuf>,
    /// JUnit XML files, directories (searched for *.xml) or glob patterns.
    #[arg(required_unless_present = "ci_jobs", value_name = "PATH")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeepOutputArg {
    Failures,
    All,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IngestFormat {
    Human,
    Json,
}

#[derive(Debug, Serialize)]
struct IngestReport {
    db: String,
    run: RunMeta,
    stored: u64,
    already_stored: u64,
    failed: u64,
    files: Vec<FileReport>,
}

#[allow(clippy::needless_pass_by_value)] // every command takes its arguments by value
pub fn run(args: IngestArgs, context: &Context) -> CliResult {
    let db = context.store_location(args.db.as_deref())?;
    if !args.ci_jobs.is_empty() {
        return super::ci_jobs::run(&db, &args.ci_jobs, args.format, context);
    }
    if let Some(text) = &args.timestamp
        && timestamp_millis(text).is_none()
    {
        return Err(Failure::input(anyhow!(
            "--timestamp {text:?} is not an RFC 3339 timestamp"
        )));
    }
    let (paths, missing) = expand_paths(&args.paths, &context.cwd);
    let mut reports: Vec<FileReport> = missing
        .into_iter()
        .map(|(path, error)| failed_report(path, None, error))
        .collect();
    for report in &reports {
        eprintln!("error: {}", report.error.as_deref().unwrap_or_default());
    }

    let prepared = prepare_all(&paths, &context.cwd);
    let flags = RunFlags {
        run_id: args.run_id.clone(),
        commit: args.commit.clone(),
        branch: args.branch.clone(),
        timestamp: args.timestamp.clone(),
        job: args.job.clone(),
    };
    let meta = run_meta(&flags, &context.cwd, &prepared);
    let mut store = super::export::open(&db)?;

    let settings = hourglass_config::Settings::load(&context.repo_root())?;
    let max_output_bytes = args.max_output_bytes.unwrap_or(settings.max_output_bytes);
    store.set_keep_output(match args.keep_output {
        Some(KeepOutputArg::Failures) => KeepOutput::Failures,
        Some(KeepOutputArg::All) => KeepOutput::All,
        Some(KeepOutputArg::None) => KeepOutput::None,
        None => match settings.keep_output {
            hourglass_config::KeepOutput::Failures => KeepOutput::Failures,
            hourglass_config::KeepOutput::All => KeepOutput::All,
            hourglass_config::KeepOutput::None => KeepOutput::None,
        },
    });
    let options = ReadOptions::with_max_output_bytes(max_output_bytes);
    let total_bytes: u64 = prepared.iter().map(|file| file.bytes).sum();
    let progress = progress_bar(prepared.len(), total_bytes);
    let report_line = |line: String| match &progress {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    };
    ingest_all(store.as_mut(), &meta, &prepared, &options, &mut |report| {
        if let Some(error) = &report.error {
            report_line(format!("error: {error}"));
        }
        if let Some(warning) = &report.warning {
            report_line(format!("warning: {warning}"));
        }
        if let Some(bar) = &progress {
            bar.inc(report.bytes);
        }
        reports.push(report.file);
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }

    let count = |outcome: &str| reports.iter().filter(|r| r.outcome == outcome).count() as u64;
    let report = IngestReport {
        db: db.display(),
        run: meta,
        stored: count("stored"),
        already_stored: count("already_stored"),
        failed: count("failed"),
        files: reports,
    };
    let mut out = stdout();
    match args.format {
        IngestFormat::Json => write_json(&mut out, &report)?,
        IngestFormat::Human => write_human(&mut out, &report)?,
    }
    if report.failed > 0 {
        return Err(Failure::input(anyhow!(
            "{} of {} files could not be ingested",
            report.failed,
            report.files.len()
        )));
    }
    Ok(Status::Done)
}

fn write_human(out: &mut impl Write, report: &IngestReport) -> anyhow::Result<()> {
    for file in &report.files {
        match file.outcome {
            "stored" => writeln!(
                out,
                "stored          {} ({} result{})",
                file.path,
                file.results,
                if file.results == 1 { "" } else { "s" }
            )?,
            "already_stored" => writeln!(out, "already stored  {}", file.path)?,
            _ => writeln!(out, "failed          {}", file.path)?,
        }
    }
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let mut run_ids: Vec<&str> = report
        .files
        .iter()
        .filter_map(|file| file.run_id.as_deref())
        .collect();
    run_ids.dedup();
    let into = match run_ids.as_slice() {
        [one] => format!(" into run {one}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{} file{} stored, {} already stored, {} failed{into} ({})",
        report.stored,
        plural(report.stored),
        report.already_stored,
        report.failed,
        report.db
    )?;
    out.flush()?;
    Ok(())
}

fn progress_bar(files: usize, bytes: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || (files < 20 && bytes < 32 * 1024 * 1024) {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(bytes),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

//! `hourglass migrate`: copy a history into another store, run by run.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hourglass_history::{CopyReport, copy_runs};
use serde::Serialize;

use super::export::{open, open_existing, store_failure};
use super::{CliResult, Context, Status, stdout, write_json};

/// Copies every run of one history into another (typically a local SQLite
/// history into a shared PostgreSQL one). Each run is copied in one
/// transaction with its results and file records; a run already in the
/// target is skipped, so a copy that stopped midway resumes where it
/// stopped and a second copy writes nothing.
///
/// Example: hourglass migrate --from .hourglass/history.db --to postgres://ci@db/hourglass
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The history to copy from: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL")]
    pub from: PathBuf,
    /// The history to copy into (created or migrated when needed).
    #[arg(long, value_name = "PATH|URL")]
    pub to: PathBuf,
    #[arg(long, value_enum, default_value_t = MigrateFormat::Human)]
    pub format: MigrateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateFormat {
    Human,
    Json,
}

#[derive(Debug, Serialize)]
struct MigrateReport {
    from: String,
    to: String,
    #[serde(flatten)]
    copy: CopyReport,
}

#[allow(clippy::needless_pass_by_value)] // every command takes its arguments by value
pub fn run(args: MigrateArgs, context: &Context) -> CliResult {
    let from = context.store_location(Some(&args.from))?;
    let to = context.store_location(Some(&args.to))?;
    let source = open_existing(&from)?;
    let mut target = open(&to)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {msg} eta {eta}")
        {
            bar.set_style(style);
        }
        bar
    });
    let copy = copy_runs(source.as_ref(), target.as_mut(), &mut |progress| {
        if let Some(bar) = &bar {
            bar.set_length(progress.total as u64);
            bar.set_position(progress.position as u64);
            bar.set_message(progress.run.run_id.clone());
        }
    })
    .map_err(store_failure)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = MigrateReport {
        from: from.display(),
        to: to.display(),
        copy,
    };
    let mut out = stdout();
    match args.format {
        MigrateFormat::Json => write_json(&mut out, &report)?,
        MigrateFormat::Human => {
            let plural = |n: u64| if n == 1 { "" } else { "s" };
            writeln!(
                out,
                "{} run{} copied ({} result{}), {} already there, from {} to {}",
                report.copy.copied,
                plural(report.copy.copied),
                report.copy.results,
                plural(report.copy.results),
                report.copy.already_there,
                report.from,
                report.to
            )?;
            out.flush()?;
        }
    }
    Ok(Status::Done)
}

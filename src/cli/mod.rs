//! Argument parsing, dispatch, exit codes and output plumbing.
//!
//! Exit codes: 0 done; 1 the command ran and found what it was asked to fail
//! on; 2 bad input or usage. A closed stdout (`hourglass flaky | head`) ends
//! the command quietly with 0.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hourglass_history::StoreLocation;

mod ci_jobs;
mod coverage;
mod export;
mod flaky;
mod graph;
mod ingest;
mod migrate;
mod owners;
mod plan;
mod prune;
mod report;
mod runs;
mod select;
mod slow;
mod why;

/// QA capacity planning and test impact: which tests a change needs, which
/// tests cannot be trusted, and which ones eat the time.
#[derive(Debug, Parser)]
#[command(name = "hourglass", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "\
Test impact:     hourglass select --base origin/main --format nextest
Result history:  hourglass ingest target/nextest/ci/junit.xml && hourglass flaky
Owners:          hourglass owners --owner @team-storage
Weekly report:   hourglass report --format html -o report.html

Exit codes: 0 done, 1 findings the command was asked to fail on, 2 bad input or usage.")]
pub struct Cli {
    /// Work in this repository instead of the one containing the current directory.
    #[arg(long, short = 'C', global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Select the tests a change can affect.
    Select(select::SelectArgs),
    /// Record which functions each test runs (an instrumented nextest run), for `select --coverage`.
    Coverage(coverage::CoverageArgs),
    /// Explain why a test was (or was not) selected.
    Why(why::WhyArgs),
    /// Build the workspace's test graph and show its size, or dump it.
    Graph(graph::GraphArgs),
    /// Read JUnit XML files into the result history.
    Ingest(ingest::IngestArgs),
    /// Write every stored test result, one per line.
    Export(export::ExportArgs),
    /// Copy a history into another store (a local one into PostgreSQL), run by run.
    Migrate(migrate::MigrateArgs),
    /// List the runs in the result history with their counts.
    Runs(runs::RunsArgs),
    /// Drop runs older than a date and give their space back.
    Prune(prune::PruneArgs),
    /// Find flaky, broken and fixed tests in the history.
    Flaky(flaky::FlakyArgs),
    /// Find the tests that take the time, and the ones that slowed down.
    Slow(slow::SlowArgs),
    /// A digest of flaky, broken and slow tests per owner (CODEOWNERS).
    Owners(owners::OwnersArgs),
    /// Can CI and triage absorb more change volume? Demand, supply, a queue model, scenarios.
    Plan(plan::PlanArgs),
    /// The weekly QA capacity report: can testing absorb more change volume?
    Report(report::ReportArgs),
}

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Done,
    /// Exit 1: the command ran and found what it was asked to fail on.
    Findings,
}

/// A command's failure, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad input or usage: exit 2.
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::input(error)
    }
}

pub type CliResult = Result<Status, Failure>;

/// What every command gets besides its own arguments.
#[derive(Debug)]
pub struct Context {
    /// The directory the command was pointed at (`-C`) or the current one.
    pub cwd: PathBuf,
}

impl Context {
    /// The root of the git repository (or, outside one, the directory itself).
    pub fn repo_root(&self) -> PathBuf {
        let mut dir: &Path = &self.cwd;
        loop {
            if dir.join(".git").exists() {
                return dir.to_path_buf();
            }
            match dir.parent() {
                Some(parent) => dir = parent,
                None => return self.cwd.clone(),
            }
        }
    }

    /// The history store: `--db`, else `HOURGLASS_DB` (clap reads it), else
    /// `.hourglass/history.db` at the repository root. A `postgres://` or
    /// `postgresql://` URL is a PostgreSQL store; any other URL is an error.
    pub fn store_location(&self, db: Option<&Path>) -> Result<StoreLocation, Failure> {
        match db {
            Some(given) => {
                let text = given.to_string_lossy();
                StoreLocation::parse(&text, &self.cwd).map_err(Failure::input)
            }
            None => Ok(StoreLocation::Sqlite(
                self.repo_root().join(".hourglass").join("history.db"),
            )),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let cwd = match &cli.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let context = Context { cwd };
    let result = match cli.command {
        Command::Select(args) => select::run(args, &context),
        Command::Coverage(args) => coverage::run(args, &context),
        Command::Why(args) => why::run(args, &context),
        Command::Graph(args) => graph::run(args, &context),
        Command::Ingest(args) => ingest::run(args, &context),
        Command::Export(args) => export::run(args, &context),
        Command::Migrate(args) => migrate::run(args, &context),
        Command::Runs(args) => runs::run(args, &context),
        Command::Prune(args) => prune::run(args, &context),
        Command::Flaky(args) => flaky::run(args, &context),
        Command::Slow(args) => slow::run(args, &context),
        Command::Owners(args) => owners::run(args, &context),
        Command::Plan(args) => plan::run(args, &context),
        Command::Report(args) => report::run(args, &context),
    };
    match result {
        Ok(Status::Done) => ExitCode::SUCCESS,
        Ok(Status::Findings) => ExitCode::from(1),
        Err(failure) if is_broken_pipe(&failure.error) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut stderr = io::stderr().lock();
            let _ = write!(stderr, "error: {}", failure.error);
            for cause in failure.error.chain().skip(1) {
                let _ = write!(stderr, "\n  caused by: {cause}");
            }
            let _ = writeln!(stderr);
            ExitCode::from(failure.code)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// A buffered, locked stdout. Write errors (a closed pipe) propagate as
/// `io::Error` and end the command quietly.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Writes `value` as one pretty JSON document and a newline.
pub fn write_json<T: serde::Serialize>(out: &mut impl Write, value: &T) -> anyhow::Result<()> {
    // A serde_json error hides the io error behind it; unwrap it so that a
    // closed pipe is recognised and ends the command quietly.
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

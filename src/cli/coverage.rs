//! `hourglass coverage`: run the workspace's tests once with coverage
//! instrumentation and keep which functions each test ran, for
//! `hourglass select --coverage`.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use hourglass_coverage::collect::{self, Work};

use super::{CliResult, Context, Failure, Status, stdout, write_json};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = "\
Builds the workspace's tests with `-C instrument-coverage` (its own crates only; build scripts
and proc macros are left alone) into their own target directory, runs them with cargo-nextest
(one process per test, each writing its own profile), and keeps, for the commit checked out,
which functions each test ran. `hourglass select --coverage FILE` then leaves out the tests that
did not run any function whose body changed; everything else is selected as without it.

Exit status: 0 when every test passed, 1 when some failed (the map is written; a test that
failed is kept as not covered, and select never leaves it out), 2 on bad input.

The tree must be clean: the map speaks for a commit. Run it where the tests run (it takes about
as long as a debug build and one run of the suite), for instance nightly on the main branch, and
hand the file to the selection jobs.

Examples:
  hourglass coverage --out target/coverage.map
  hourglass coverage --out cov.map -- --package my-crate     (arguments after -- go to nextest)
  hourglass select --base origin/main --coverage target/coverage.map --format nextest"
)]
pub struct CoverageArgs {
    #[command(subcommand)]
    pub action: Option<CoverageAction>,
    /// Where to write the map.
    #[arg(long, value_name = "FILE", default_value = ".hourglass/coverage.map")]
    pub out: PathBuf,
    /// The instrumented build's target directory [default: target/hourglass-coverage
    /// under the workspace].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Run even with uncommitted changes (the map then claims a commit whose
    /// code it did not run: select may leave out a test it should not).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = CoverageFormat::Text)]
    pub format: CoverageFormat,
    /// Arguments for `cargo nextest run`.
    #[arg(last = true, value_name = "NEXTEST_ARGS")]
    pub nextest_args: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum CoverageAction {
    /// The cargo target runner of a coverage run (internal).
    #[command(hide = true)]
    Exec {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<OsString>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct Summary {
    commit: String,
    map: String,
    bytes: u64,
    tests: usize,
    uncovered_tests: usize,
    binaries: usize,
    function_keys: usize,
    nextest_exit_code: Option<i32>,
}

pub fn run(args: CoverageArgs, context: &Context) -> CliResult {
    if let Some(CoverageAction::Exec { command }) = args.action {
        let work = std::env::var_os(collect::WORK_ENV).ok_or_else(|| {
            Failure::input(anyhow::anyhow!(
                "`hourglass coverage exec` is the target runner of `hourglass coverage`; {} is not set",
                collect::WORK_ENV
            ))
        })?;
        let (program, rest) = command.split_first().expect("clap requires a command");
        let code = collect::exec(Path::new(&work), program, rest)?;
        std::process::exit(code);
    }
    let repo_root = hourglass_git::discover_root(&context.cwd)
        .map_err(|error| Failure::input(anyhow::anyhow!("{}: {error}", context.cwd.display())))?;
    let commit = hourglass_git::head(&repo_root)?
        .ok_or_else(|| {
            Failure::input(anyhow::anyhow!(
                "{}: the repository has no commit yet",
                repo_root.display()
            ))
        })?
        .commit;
    // hourglass's own folder (the map, the store, the cache) is not code.
    let dirty = hourglass_git::dirty_paths(&repo_root)?
        .into_iter()
        .find(|path| !path.starts_with(".hourglass/"));
    if !args.allow_dirty
        && let Some(path) = dirty
    {
        return Err(Failure::input(anyhow::anyhow!(
            "{}: `{path}` has uncommitted changes; a coverage map speaks for a commit (commit or stash them, or pass --allow-dirty)",
            repo_root.display()
        )));
    }
    let workspace = context.cwd.clone();
    let target_dir = args.target_dir.clone().map_or_else(
        || repo_root.join("target").join("hourglass-coverage"),
        |dir| context.cwd.join(dir),
    );
    let work_root = target_dir
        .join("hourglass")
        .join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work_root);
    let hourglass = std::env::current_exe().context("finding the hourglass executable")?;
    let (work, wrapper, runner) = Work::prepare(&work_root, &target_dir, &hourglass)?;
    let host = host_triple()?;
    eprintln!(
        "hourglass coverage: building instrumented tests in {} and running them (commit {})",
        target_dir.display(),
        &commit[..commit.len().min(12)]
    );
    let status = Command::new("cargo")
        .args([
            "nextest",
            "run",
            "--workspace",
            "--no-fail-fast",
            "--target-dir",
        ])
        .arg(&target_dir)
        .args(&args.nextest_args)
        .envs(work.environment(&wrapper, &runner, &host))
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(&workspace)
        .stdin(Stdio::null())
        .status()
        .context("running `cargo nextest run` (is cargo-nextest installed?)")?;
    eprintln!("hourglass coverage: reducing the profiles");
    let (map, stats) = collect::reduce(&work.root, &commit)?;
    if stats.tests == 0 {
        return Err(Failure::input(anyhow::anyhow!(
            "no test wrote a profile (cargo nextest run ended with {status}); nothing was written to {}",
            args.out.display()
        )));
    }
    let out = context.cwd.join(&args.out);
    // The default map goes into hourglass's own folder, which git must not
    // see as a change of the next selection.
    super::select::keep_out_of_git(&repo_root.join(".hourglass"));
    let bytes = map.write(&out)?;
    let _ = std::fs::remove_dir_all(&work_root);
    let summary = Summary {
        commit,
        map: out.display().to_string(),
        bytes,
        tests: stats.tests,
        uncovered_tests: stats.uncovered,
        binaries: stats.binaries,
        function_keys: stats.keys,
        nextest_exit_code: status.code(),
    };
    let mut stdout = stdout();
    match args.format {
        CoverageFormat::Json => write_json(&mut stdout, &summary)?,
        CoverageFormat::Text => {
            writeln!(
                stdout,
                "{}: coverage of commit {} for {} tests ({} without: failed or no profile), {} binaries, {} function keys, {} bytes",
                summary.map,
                &summary.commit[..summary.commit.len().min(12)],
                summary.tests,
                summary.uncovered_tests,
                summary.binaries,
                summary.function_keys,
                summary.bytes
            )?;
            stdout.flush()?;
        }
    }
    if status.success() {
        Ok(Status::Done)
    } else {
        eprintln!(
            "hourglass coverage: cargo nextest run ended with {status}; the map was written, and the tests that failed are kept in it as not covered (select never leaves them out)"
        );
        Ok(Status::Findings)
    }
}

fn host_triple() -> Result<String, Failure> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running `rustc -vV`")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| Failure::input(anyhow::anyhow!("`rustc -vV` printed no host triple")))
}

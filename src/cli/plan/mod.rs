//! `hourglass plan`: can QA absorb more change volume?

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_plan::{CapacityPlan, ForecastSettings, PlanInputs, Release};

use super::{CliResult, Context, Failure, Status, stdout, write_json};

pub mod gather;
mod render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A summary a lead reads in a minute; progress and cache figures on stderr.
    Table,
    /// One JSON document (the stable contract: demand, supply, model, scenarios).
    Json,
}

/// Compares the change volume in git with the test throughput in the result
/// history and the CI capacity, and says what more volume would do.
#[derive(Debug, Args)]
#[command(after_help = "\
Demand is read from the first-parent history of HEAD (one entry per merged
change), supply from the result history (`hourglass ingest`), capacity from
[capacity] in hourglass.toml (flags override). The queue model is Erlang C
with the Allen-Cunneen correction for the measured variability of arrivals
(ca2) and test times (cs2); the arrival rate is the mean over the busiest
hours of the week, not the weekly average.

Verdicts: absorbs (utilisation <= target and wait <= target), at_risk (over a
target), saturates (utilisation >= 1 or wait over 4x the target).

Examples:
  hourglass plan
  hourglass plan --replay 20 --runner-slots 16
  hourglass plan --weeks 0 --format json > plan.json")]
pub struct PlanArgs {
    /// The history store [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Replay `hourglass select` over the last N merged changes for the
    /// selection lever (builds the test graph of each; see the README for the cost).
    #[arg(long, value_name = "N")]
    pub replay: Option<u32>,
    /// Weeks shown, ending at the newest change or run; 0 = the whole history.
    #[arg(long, default_value_t = 26, value_name = "N")]
    pub weeks: u32,
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// The tip of the default branch.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    pub rev: String,
    /// Count every non-merge commit on every branch instead of the merged changes.
    #[arg(long)]
    pub all_branches: bool,
    /// Do not read or write .hourglass/cache/plan.
    #[arg(long)]
    pub no_cache: bool,
    /// Runner slots [default: [capacity] runner-slots].
    #[arg(long, value_name = "N")]
    pub runner_slots: Option<u32>,
    /// Shards per run [default: [capacity] shards-per-run].
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Set-up seconds per shard [default: [capacity] setup-seconds-per-shard].
    #[arg(long, value_name = "SECONDS")]
    pub setup_seconds: Option<f64>,
    /// Target mean queue wait, seconds [default: [capacity] target-queue-wait-seconds].
    #[arg(long, value_name = "SECONDS")]
    pub target_wait: Option<f64>,
    /// Target utilisation, 0..1 [default: [capacity] target-utilisation].
    #[arg(long, value_name = "SHARE")]
    pub target_utilisation: Option<f64>,
    /// Triage hours per week [default: [capacity] triage-hours-per-week].
    #[arg(long, value_name = "HOURS")]
    pub triage_hours: Option<f64>,
    /// Busiest hours of the week the arrival rate is the mean of [default: [capacity] busy-hours].
    #[arg(long, value_name = "N")]
    pub busy_hours: Option<u32>,
    /// Seed of the forecast's bootstrap.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// A plan and how making it went.
pub struct Built {
    pub plan: CapacityPlan,
    pub cache: Option<hourglass_git::CacheStats>,
    pub git_seconds: f64,
    pub replay_seconds: f64,
}

#[allow(clippy::needless_pass_by_value)] // every command's `run` takes its arguments
pub fn run(args: PlanArgs, context: &Context) -> CliResult {
    let built = build(&args, context)?;
    let plan = &built.plan;
    let mut out = stdout();
    match args.format {
        PlanFormat::Json => write_json(&mut out, plan)?,
        PlanFormat::Table => {
            render::table(&mut out, plan)?;
            out.flush()?;
            let mut err = std::io::stderr().lock();
            if let Some(cache) = built.cache {
                let _ = writeln!(
                    err,
                    "git history: {} changes ({} cached, {} read) in {:.2} s",
                    cache.hits + cache.misses,
                    cache.hits,
                    cache.misses,
                    built.git_seconds
                );
            }
            if plan.replay.is_some() {
                let _ = writeln!(err, "replay: {:.1} s", built.replay_seconds);
            }
        }
    }
    Ok(Status::Done)
}

/// Reads git, the result history and the configuration, and makes the plan
/// (what `plan` shows and `report` renders).
pub fn build(args: &PlanArgs, context: &Context) -> Result<Built, Failure> {
    let started = Instant::now();
    let root = context.repo_root();
    let settings = Settings::load(&root).map_err(Failure::input)?;
    let mut capacity = hourglass_review::weekly::capacity(&settings);
    if let Some(n) = args.runner_slots {
        capacity.runner_slots = n;
    }
    if let Some(n) = args.shards {
        if n == 0 {
            return Err(Failure::input(anyhow::anyhow!(
                "--shards must be at least 1"
            )));
        }
        capacity.shards_per_run = n;
    }
    if let Some(s) = args.setup_seconds {
        capacity.setup_overhead_per_shard_s = s;
    }
    if let Some(w) = args.target_wait {
        capacity.target_queue_wait_s = w;
    }
    if let Some(u) = args.target_utilisation {
        if !(0.0..=1.0).contains(&u) {
            return Err(Failure::input(anyhow::anyhow!(
                "--target-utilisation {u}: expected a share between 0 and 1"
            )));
        }
        capacity.target_utilisation = u;
    }
    if let Some(h) = args.triage_hours {
        capacity.triage_hours_per_week = h;
    }
    if let Some(h) = args.busy_hours {
        capacity.busy_hours = h;
    }
    if capacity.servers() == 0 {
        return Err(Failure::input(anyhow::anyhow!(
            "{} runner slots cannot hold a run of {} shards: set [capacity] runner-slots or --runner-slots to at least the shards per run",
            capacity.runner_slots,
            capacity.shards_per_run
        )));
    }
    let options = gather::GatherOptions {
        db: context.db_path(args.db.as_deref(), "plan")?,
        rev: args.rev.clone(),
        all_branches: args.all_branches,
        weeks: args.weeks,
        use_cache: !args.no_cache,
    };

    let (activity, mut notes) = gather::demand(context, &options, &settings)?;
    let git_time = started.elapsed();
    let cache = activity.as_ref().map(|a| a.cache);
    let (changes, parents, releases) = match &activity {
        Some(a) => (
            a.changes.iter().map(gather::merged_change).collect(),
            a.changes
                .iter()
                .map(|c| (c.commit.clone(), c.parent.clone()))
                .collect::<Vec<_>>(),
            a.releases
                .iter()
                .map(|r| Release {
                    tag: r.name.clone(),
                    time_s: r.time_s,
                })
                .collect(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    drop(activity);

    let store = gather::open_store(&options.db)?;
    let mut durations = HashMap::new();
    let runs = match &store {
        Some(store) => {
            let since = supply_since(store, &changes, args.weeks)?;
            gather::supply(
                store,
                since,
                &settings,
                args.replay.is_some().then_some(&mut durations),
            )?
        }
        None => Vec::new(),
    };
    let replay_started = Instant::now();
    let replay = match args.replay {
        Some(n) if n > 0 => Some(gather::replay(context, &parents, n, &durations)?),
        _ => None,
    };
    let replay_time = replay_started.elapsed();

    let inputs = PlanInputs {
        changes,
        releases,
        all_branches: args.all_branches,
        runs,
        capacity,
        weeks: args.weeks,
        replay,
        forecast: ForecastSettings {
            seed: args.seed.unwrap_or(ForecastSettings::default().seed),
            ..ForecastSettings::default()
        },
    };
    let mut plan = hourglass_plan::plan(&inputs);
    if store.is_none() {
        plan.notes.retain(|n| !n.contains("hourglass ingest"));
        plan.notes.push(format!(
            "{}: no result history; after each CI run, `hourglass ingest --commit $SHA target/nextest/ci/junit.xml` stores the test results the supply side is measured from",
            options.db.display()
        ));
    }
    notes.append(&mut plan.notes);
    plan.notes = notes;
    Ok(Built {
        plan,
        cache,
        git_seconds: git_time.as_secs_f64(),
        replay_seconds: replay_time.as_secs_f64(),
    })
}

/// The first instant of the weeks shown, for the result history: `weeks`
/// weeks (and one more, for the partial first week) before the newer of the
/// newest change and the newest run.
fn supply_since(
    store: &hourglass_history::SqliteStore,
    changes: &[hourglass_plan::MergedChange],
    weeks: u32,
) -> Result<Option<String>, Failure> {
    use hourglass_history::{HistoryStore, ResultFilter};
    if weeks == 0 {
        return Ok(None);
    }
    let runs = store.runs(&ResultFilter::default())?;
    let newest_run = runs
        .iter()
        .filter_map(|r| hourglass_history::timestamp_millis(&r.info.timestamp))
        .max()
        .map(|ms| ms / 1000);
    let newest_change = changes.iter().map(|c| c.time_s).max();
    let Some(end) = newest_run.max(newest_change) else {
        return Ok(None);
    };
    let start = end - (i64::from(weeks) + 1) * 7 * 86_400;
    Ok(jiff::Timestamp::from_second(start)
        .ok()
        .map(|t| t.to_string()))
}

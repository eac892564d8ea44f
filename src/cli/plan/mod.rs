//! `hourglass plan`: can QA absorb more change volume?

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_history::HistoryStore;
use hourglass_plan::{CapacityPlan, ForecastSettings, PlanInputs};
use hourglass_review::planning::PlanningOptions;

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
// `[capacity]` in the options' help is a section of hourglass.toml.
#[allow(rustdoc::broken_intra_doc_links)]
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
    /// Queue wait and runner occupancy measured from CI job records, per week.
    pub ci_weeks: Vec<hourglass_insight::outcomes::CiWeek>,
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
            let measured = built.ci_weeks.iter().rev().find(|w| w.waits > 0);
            render::table(&mut out, plan, measured)?;
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
    let mut capacity = hourglass_review::planning::capacity(&settings);
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
    let db = context.store_location(args.db.as_deref())?;
    let store = gather::open_store(&db)?;
    if !args.no_cache {
        super::select::keep_out_of_git(&root.join(".hourglass"));
    }
    let options = PlanningOptions {
        rev: args.rev.clone(),
        all_branches: args.all_branches,
        weeks: args.weeks,
        until: None,
        cache_dir: (!args.no_cache).then(|| root.join(".hourglass").join("cache").join("plan")),
        durations: args.replay.is_some(),
        time_to_green: false,
    };
    // A bar on a terminal while the changes the cache lacks are read (a long
    // history's first run); nothing otherwise.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::hidden();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "reading changes {bar:40} {pos}/{len} {per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            if bar.is_hidden() && total >= 200 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let gathered = hourglass_review::planning::gather_with_progress(
        &context.cwd,
        store.as_deref().map(|s| s as &dyn HistoryStore),
        &settings,
        &options,
        &progress,
    )
    .map_err(super::flaky::review_failure)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let git_time = started.elapsed();
    let cache = gathered.cache;
    let mut notes = gathered.notes;
    let durations = gathered.durations;
    let parents = gathered.parents;
    let ci_weeks = gathered.ci_weeks;
    let replay_started = Instant::now();
    let replay = match args.replay {
        Some(n) if n > 0 => Some(gather::replay(context, &parents, n, &durations)?),
        _ => None,
    };
    let replay_time = replay_started.elapsed();

    let inputs = PlanInputs {
        capacity,
        replay,
        forecast: ForecastSettings {
            seed: args.seed.unwrap_or(ForecastSettings::default().seed),
            ..ForecastSettings::default()
        },
        ..gathered.plan_inputs
    };
    let mut plan = hourglass_plan::plan(&inputs);
    if store.is_none() {
        plan.notes.retain(|n| !n.contains("hourglass ingest"));
        plan.notes.push(format!(
            "{}: no result history; after each CI run, `hourglass ingest --commit $SHA target/nextest/ci/junit.xml` stores the test results the supply side is measured from",
            db.display()
        ));
    }
    notes.append(&mut plan.notes);
    plan.notes = notes;
    Ok(Built {
        plan,
        ci_weeks,
        cache,
        git_seconds: git_time.as_secs_f64(),
        replay_seconds: replay_time.as_secs_f64(),
    })
}

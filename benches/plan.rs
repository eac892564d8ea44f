//! The capacity planner on generated data.
//!
//! - `plan/model`: Erlang C + Allen–Cunneen wait and the bisection for the
//!   largest arrival rate under the target wait, for 1 to 512 servers.
//! - `plan/forecast`: Theil–Sen and the block-bootstrap forecast (200
//!   resamples, 8 weeks ahead) of a 7-year weekly series (364 weeks).
//! - `plan/plan`: the whole plan (demand, supply, model, triage, 16
//!   scenarios) from 13,000 merged changes and 20,000 runs over 7 years,
//!   the size of rust-analyzer's history.
//! - `plan/activity_cold` and `plan/activity_warm`: the git side of `plan`
//!   and `report` (`hourglass_git::activity`: per-change files and lines
//!   against the first parent, the commits merges bring in) over a
//!   generated repository of 200 merged changes, without and with the
//!   per-commit cache.
//!
//! Inputs are generated with a fixed seed. Run with `cargo bench --bench plan`;
//! throughput is in queue evaluations, weeks and changes per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hourglass_plan::{
    Capacity, ForecastSettings, IsoWeek, MergedChange, PlanInputs, QueueInputs, RunRecord,
    SplitMix64, evaluate, forecast, max_arrival_rate, plan,
};

const START: i64 = 1_577_059_200; // 2019-12-23, a Monday

fn weekly_series(weeks: usize, rng: &mut SplitMix64) -> Vec<f64> {
    (0..weeks)
        .map(|i| (40.0 + 0.1 * i as f64 + 15.0 * rng.normal()).max(0.0))
        .collect()
}

fn inputs(changes: usize, runs: usize) -> PlanInputs {
    let mut rng = SplitMix64::new(7);
    let span: f64 = 364.0 * 7.0 * 86_400.0;
    let mut inputs = PlanInputs::default();
    for i in 0..changes {
        let t = START + (rng.next_f64() * span) as i64;
        let lines = rng.exponential(200.0) as u64;
        inputs.changes.push(MergedChange {
            commit: format!("{i:040x}"),
            time_s: t,
            commits: 1 + rng.below(4) as u32,
            authors: vec![format!("dev{}@example.com", rng.below(200))],
            files: 1 + rng.below(20) as u32,
            lines_added: lines,
            lines_deleted: lines / 3,
            lead_time_s: Some(rng.exponential(86_400.0) as i64),
            is_revert: rng.below(50) == 0,
        });
    }
    for _ in 0..runs {
        let red = rng.below(10) == 0;
        inputs.runs.push(RunRecord {
            time_s: START + (rng.next_f64() * span) as i64,
            test_time_s: 600.0 * (0.5 + rng.next_f64()),
            wall_time_s: None,
            wall_time_includes_setup: false,
            tests: 4000,
            failed_tests: u32::from(red),
            failed_only_flaky: red && rng.below(2) == 0,
            flaky_rerun_time_s: 5.0,
            new_broken: u32::from(rng.below(100) == 0),
            new_flaky: u32::from(rng.below(200) == 0),
        });
    }
    inputs.capacity = Capacity::default();
    inputs.weeks = 0;
    inputs
}

fn model(c: &mut Criterion) {
    let servers = [1u32, 2, 4, 8, 16, 32, 64, 128, 256, 512];
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Elements(servers.len() as u64));
    group.bench_function("model", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for &c in &servers {
                let q = QueueInputs {
                    arrival_rate_per_hour: f64::from(c) * 4.0,
                    service_time_s: 600.0,
                    ca2: 1.3,
                    cs2: 0.4,
                    servers: c,
                };
                total += evaluate(black_box(&q)).wait_s.unwrap_or(0.0);
                total += max_arrival_rate(black_box(&q), 300.0, 1.0);
            }
            total
        });
    });
    group.finish();
}

fn forecasts(c: &mut Criterion) {
    let series = weekly_series(364, &mut SplitMix64::new(1));
    let last: IsoWeek = "2026-W49".parse().unwrap();
    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    group.throughput(Throughput::Elements(series.len() as u64));
    group.bench_function("forecast", |b| {
        b.iter(|| forecast(black_box(&series), last, &ForecastSettings::default()));
    });
    group.finish();
}

fn whole(c: &mut Criterion) {
    let inputs = inputs(13_000, 20_000);
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(inputs.changes.len() as u64));
    group.bench_function("plan", |b| b.iter(|| plan(black_box(&inputs))));
    group.finish();
}

/// A repository of `changes` first-parent commits, each a merge of a branch
/// that edits two files of twenty, made with the git CLI.
fn history(changes: usize) -> tempfile::TempDir {
    use std::fmt::Write as _;
    use std::process::Command;
    let dir = tempfile::tempdir().expect("temporary directory");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Bench")
            .env("GIT_AUTHOR_EMAIL", "bench@example.com")
            .env("GIT_COMMITTER_NAME", "Bench")
            .env("GIT_COMMITTER_EMAIL", "bench@example.com")
            .output()
            .expect("run git");
        assert!(status.status.success(), "git {args:?}");
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    let mut rng = SplitMix64::new(3);
    let mut files: Vec<String> = (0..20)
        .map(|f| {
            (0..400).fold(String::new(), |mut text, l| {
                let _ = writeln!(text, "file {f} line {l}");
                text
            })
        })
        .collect();
    let write = |files: &[String]| {
        for (i, text) in files.iter().enumerate() {
            std::fs::write(dir.path().join(format!("f{i}.txt")), text).expect("write");
        }
    };
    write(&files);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "-m", "root"]);
    for change in 0..changes {
        git(&["checkout", "--quiet", "-b", "topic"]);
        for _ in 0..2 {
            let file = rng.below(files.len());
            let mut lines: Vec<String> = files[file].lines().map(str::to_owned).collect();
            let at = rng.below(lines.len());
            lines[at] = format!("changed by {change}");
            lines.insert(at, format!("added by {change}"));
            files[file] = lines.join("\n") + "\n";
        }
        write(&files);
        git(&["commit", "--quiet", "--all", "-m", "edit"]);
        git(&["checkout", "--quiet", "main"]);
        git(&["merge", "--quiet", "--no-ff", "-m", "merge", "topic"]);
        git(&["branch", "--quiet", "-D", "topic"]);
    }
    dir
}

fn activity(c: &mut Criterion) {
    let repo = history(200);
    let cache = tempfile::tempdir().expect("temporary directory");
    let options = |cache_dir: Option<std::path::PathBuf>| hourglass_git::ActivityOptions {
        cache_dir,
        ..hourglass_git::ActivityOptions::default()
    };
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(201));
    group.bench_function("activity_cold", |b| {
        b.iter(|| hourglass_git::activity(repo.path(), &options(None)).expect("activity"));
    });
    let warm = options(Some(cache.path().join("plan")));
    hourglass_git::activity(repo.path(), &warm).expect("activity");
    group.bench_function("activity_warm", |b| {
        b.iter(|| hourglass_git::activity(repo.path(), &warm).expect("activity"));
    });
    group.finish();
}

criterion_group!(benches, model, forecasts, whole, activity);
criterion_main!(benches);

//! Flaky verdicts and duration analysis.
//!
//! - `insight/pure`: verdicts + slow analysis of 1,000,000 results
//!   (10,000 tests × 100 runs) drawn by the seeded simulator, in memory.
//! - `insight/store`: the same analyses end to end through a SQLite history
//!   read (`for_each_result`), on 100,000 results (1,000 tests × 100 runs)
//!   ingested once before measuring.
//!
//! Run with `cargo bench --bench insight`; throughput is in results/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hourglass_history::{FileIngest, HistoryStore, ResultFilter, SqliteStore};
use hourglass_insight::simulate::{Simulation, SimulationConfig, simulate};
use hourglass_insight::{
    FlakyAnalyzer, FlakySettings, Observation, Run, SeriesGrouper, SlowAnalyzer, SlowReport,
    SlowSettings, Verdict,
};
use hourglass_model::{RunMeta, TestResult};

fn simulation(tests: usize, runs: usize) -> Simulation {
    simulate(&SimulationConfig {
        seed: 2026,
        tests,
        runs,
        ..SimulationConfig::default()
    })
}

/// Verdicts and timings of every test; returns (non-healthy, regressions).
fn analyze_memory(sim: &Simulation) -> (usize, usize) {
    let flaky = FlakyAnalyzer::new(FlakySettings::default(), &sim.runs);
    let slow = SlowAnalyzer::new(SlowSettings::default(), &sim.runs)
        .excluding(flaky.infrastructure_failures());
    let mut findings = 0;
    let mut timings = Vec::with_capacity(sim.tests.len());
    for test in &sim.tests {
        let verdict = flaky.analyze(&test.key, &test.observations);
        findings += usize::from(verdict.verdict != Verdict::Healthy);
        timings.extend(slow.analyze(&test.key, &test.observations));
    }
    let report = SlowReport::new(timings);
    (findings, report.regressions().len())
}

fn pure(c: &mut Criterion) {
    let sim = simulation(10_000, 100);
    let results = sim.results() as u64;
    let mut group = c.benchmark_group("insight");
    group.sample_size(10);
    group.throughput(Throughput::Elements(results));
    group.bench_function("pure", |b| {
        b.iter(|| black_box(analyze_memory(black_box(&sim))));
    });
    group.finish();
}

fn store(c: &mut Criterion) {
    let sim = simulation(1_000, 100);
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = SqliteStore::open(&dir.path().join("history.db")).expect("open store");
    for (index, run) in sim.runs.iter().enumerate() {
        let meta = RunMeta {
            run_id: Some(run.run_id.clone()),
            commit: run.commit.clone(),
            branch: run.branch.clone(),
            timestamp: run.timestamp.clone(),
            job: None,
        };
        let file = FileIngest {
            path: format!("run-{index}.xml"),
            content_hash: content_hash(index),
        };
        store
            .ingest_file(&meta, &file, &mut |sink| {
                for test in &sim.tests {
                    let observation = test.observations[index];
                    let mut result = TestResult::new(test.key.clone(), observation.outcome);
                    result.duration_s = observation.duration_s;
                    sink(&result)?;
                }
                Ok(())
            })
            .expect("ingest");
    }
    let results = sim.results() as u64;
    let mut group = c.benchmark_group("insight");
    group.sample_size(10);
    group.throughput(Throughput::Elements(results));
    group.bench_function("store", |b| {
        b.iter(|| {
            let filter = ResultFilter::default();
            let runs: Vec<Run> = store
                .runs(&filter)
                .expect("runs")
                .into_iter()
                .map(|summary| Run {
                    run_id: summary.info.run_id,
                    commit: summary.info.commit,
                    branch: summary.info.branch,
                    timestamp: Some(summary.info.timestamp),
                    tests: (summary.tests - summary.skipped) as u32,
                    failures: (summary.failed + summary.error) as u32,
                })
                .collect();
            let flaky = FlakyAnalyzer::new(FlakySettings::default(), &runs);
            let slow = SlowAnalyzer::new(SlowSettings::default(), &runs)
                .excluding(flaky.infrastructure_failures());
            let mut grouper = SeriesGrouper::new();
            let mut findings = 0usize;
            let mut timings = Vec::new();
            let mut consume = |series: hourglass_insight::TestSeries| {
                let verdict = flaky.analyze(&series.key, &series.observations);
                findings += usize::from(verdict.verdict != Verdict::Healthy);
                timings.extend(slow.analyze(&series.key, &series.observations));
            };
            store
                .for_each_result(&filter, &mut |row| {
                    let observation =
                        Observation::new(row.run_index as usize, row.outcome, row.duration_s);
                    if let Some(done) = grouper.push(row.key, observation, row.file) {
                        consume(done);
                    }
                    Ok(())
                })
                .expect("read");
            if let Some(last) = grouper.finish() {
                consume(last);
            }
            black_box((findings, SlowReport::new(timings).regressions().len()))
        });
    });
    group.finish();
}

/// A distinct content hash per run (the bytes need not be a real file's).
fn content_hash(index: usize) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
    bytes
}

criterion_group!(benches, pure, store);
criterion_main!(benches);

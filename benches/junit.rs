//! Throughput of the JUnit reader against a bare quick-xml event loop, on a
//! deterministic 100 MB Surefire-style file generated in memory
//! (`hourglass_junit::synthetic`, seed 42).
//!
//! ```text
//! cargo bench --bench junit
//! HOURGLASS_JUNIT_BENCH_MB=20 cargo bench --bench junit   # a smaller input
//! ```
//!
//! Criterion reports both with `Throughput::Bytes`; a closing line prints
//! the median MB/s of each over a few plain runs, and their ratio. The
//! Python baseline (`benches/junitparser_baseline.py`) reads the same file:
//! write it with `cargo run --release -p hourglass-junit --example junit_dump
//! -- --write FILE 104857600`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use hourglass_junit::{ReadOptions, read, synthetic};
use quick_xml::Reader;
use quick_xml::events::Event;

fn input() -> Vec<u8> {
    let megabytes: u64 = std::env::var("HOURGLASS_JUNIT_BENCH_MB")
        .ok()
        .and_then(|mb| mb.parse().ok())
        .unwrap_or(100);
    let mut data = Vec::with_capacity((megabytes as usize + 1) << 20);
    synthetic::write_surefire(&mut data, 42, megabytes << 20).expect("generating into memory");
    data
}

/// quick-xml alone: every event read into one reused buffer, nothing done
/// with it. The floor any reader on quick-xml stands on.
fn bare_loop(data: &[u8]) -> u64 {
    let mut reader = Reader::from_reader(data);
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut events = 0u64;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => return events,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
            Err(error) => panic!("synthetic input is well-formed: {error}"),
        }
    }
}

fn reader(data: &[u8]) -> u64 {
    let mut results = 0u64;
    read(
        data,
        Path::new("synthetic.xml"),
        &ReadOptions::default(),
        &mut |result| {
            black_box(&result);
            results += 1;
            Ok(())
        },
    )
    .expect("synthetic input reads");
    results
}

/// CPU time of this thread in seconds (Linux: `/proc/thread-self/schedstat`),
/// a steadier measure than wall time on a shared machine.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

/// Median MB/s over `runs` runs, by wall time and (when known) by CPU time.
fn median_mb_per_s(data: &[u8], runs: usize, f: fn(&[u8]) -> u64) -> (f64, Option<f64>) {
    let megabytes = data.len() as f64 / 1e6;
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let cpu_before = thread_cpu_seconds();
        let started = Instant::now();
        black_box(f(data));
        wall.push(megabytes / started.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu_seconds()) {
            cpu.push(megabytes / (after - before));
        }
    }
    let median = |mut rates: Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let cpu = (cpu.len() == runs).then(|| median(cpu));
    (median(wall), cpu)
}

fn main() {
    let data = input();
    let testcases = data.windows(10).filter(|w| w == b"<testcase ").count();
    println!(
        "junit bench input: {:.1} MB, {testcases} testcases (synthetic Surefire, seed 42)",
        data.len() as f64 / 1e6
    );

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("junit");
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function("bare_quick_xml_loop", |b| b.iter(|| bare_loop(&data)));
        group.bench_function("hourglass_reader", |b| b.iter(|| reader(&data)));
        group.finish();
    }
    criterion.final_summary();

    let (bare, bare_cpu) = median_mb_per_s(&data, 5, bare_loop);
    let (ours, ours_cpu) = median_mb_per_s(&data, 5, reader);
    println!(
        "junit summary (median of 5, wall time): bare quick-xml loop {bare:.0} MB/s, hourglass reader {ours:.0} MB/s, reader/bare {:.2}",
        ours / bare
    );
    if let (Some(bare_cpu), Some(ours_cpu)) = (bare_cpu, ours_cpu) {
        println!(
            "junit summary (median of 5, thread CPU time): bare quick-xml loop {bare_cpu:.0} MB/s, hourglass reader {ours_cpu:.0} MB/s, reader/bare {:.2}",
            ours_cpu / bare_cpu
        );
    }
}

//! Speed of the test graph on a deterministic generated workspace
//! (`hourglass_graph::synthetic`, seed 7): 20 crates × 60 modules × 20 functions (≈400k lines)
//! with calls across modules and crates, a trait implemented in every module, and tests.
//!
//! ```text
//! cargo bench --bench graph
//! ```
//!
//! Measures, with `Throughput::Elements(files)`: the floor (`syn::parse_file` of every file in
//! parallel, no graph), a cold build (no cache), a warm build (cache full), and a one-file change
//! followed by a warm build and `affected_tests` for the changed lines (what `hourglass select`
//! does after an edit). A closing line prints the medians of plain runs in files/s and lines/s,
//! and the cold/floor ratio.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hourglass_graph::{BuildOptions, Graph, LineRange};

/// The allocator of the `hourglass` binary, so that these figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rust_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The median of `runs` timings of `f`.
fn median_time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(f());
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

const CHANGED: &str = "c10/src/m30.rs";

/// Appends a comment to the changed file, builds the graph on the warm cache and asks which
/// tests the file's first functions reach.
fn change_and_select(root: &Path, warm: &BuildOptions, flip: &mut u64) -> usize {
    *flip += 1;
    let path = root.join(CHANGED);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let _ = writeln!(text, "// edit {flip}");
    std::fs::write(&path, text).unwrap();
    let graph = Graph::build(root, warm).unwrap();
    let items = graph.items_at(CHANGED, LineRange::new(20, 40));
    graph.affected_tests(&items).len()
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("ws");
    let (files, lines) = hourglass_graph::synthetic::write_workspace(&root, 7).expect("generate");
    let paths = rust_files(&root);
    let cache = dir.path().join("cache");
    let cold = BuildOptions::default();
    let warm = BuildOptions {
        cache_dir: Some(cache.clone()),
        source: None,
    };
    Graph::build(&root, &warm).expect("fill the cache");

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group("graph");
    group.throughput(Throughput::Elements(files as u64));
    group.bench_function("floor_syn_parse", |b| {
        b.iter(|| hourglass_graph::parse_files_only(&paths));
    });
    group.bench_function("cold_build", |b| {
        b.iter(|| Graph::build(&root, &cold).unwrap());
    });
    group.bench_function("warm_build", |b| {
        b.iter(|| Graph::build(&root, &warm).unwrap());
    });
    let mut flip = 0u64;
    group.bench_function("one_file_change_and_affected_tests", |b| {
        b.iter(|| change_and_select(&root, &warm, &mut flip));
    });
    group.finish();

    let runs = 5;
    let floor = median_time(runs, || hourglass_graph::parse_files_only(&paths));
    let cold_time = median_time(runs, || Graph::build(&root, &cold).unwrap());
    let warm_time = median_time(runs, || Graph::build(&root, &warm).unwrap());
    let change_time = median_time(runs, || change_and_select(&root, &warm, &mut flip));
    let graph = Graph::build(&root, &warm).unwrap();
    let stats = graph.stats();
    let per_s = |d: Duration, n: f64| n / d.as_secs_f64();
    println!(
        "graph: {files} files, {lines} lines, {} items, {} edges, {} tests; medians of {runs}: \
         floor {floor:.2?} ({:.0} files/s, {:.0} lines/s); cold {cold_time:.2?} ({:.0} files/s, \
         {:.0} lines/s, {:.2}x floor); warm {warm_time:.2?}; one-file change + affected tests \
         {change_time:.2?}",
        stats.items,
        stats.edges,
        stats.tests,
        per_s(floor, files as f64),
        per_s(floor, lines as f64),
        per_s(cold_time, files as f64),
        per_s(cold_time, lines as f64),
        cold_time.as_secs_f64() / floor.as_secs_f64(),
    );
}

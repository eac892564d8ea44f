//! Prints the size of the graph of a workspace, and how long a cold and a warm build take
//! against the floor of parsing the same files with syn alone:
//!
//! ```text
//! cargo run --release -p hourglass-graph --example graph_stats -- DIR [RUNS]
//! ```
//!
//! Each figure is the median of RUNS (default 5) runs in this one process: the floor
//! (`syn::parse_file` of every file of the module trees, in parallel), a cold build (no cache),
//! and a warm build (cache full, in a temporary directory).
//!
//! `graph_stats --write-synthetic DIR` writes the generated workspace of `benches/graph.rs`
//! (`hourglass_graph::synthetic`, seed 7) to DIR instead, to time the `hourglass` commands on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hourglass_graph::{BuildOptions, Graph};

/// The allocator of the `hourglass` binary, so that these figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn timed(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_else(|| ".".to_owned());
    if first == "--write-synthetic" {
        let dir = PathBuf::from(args.next().expect("--write-synthetic DIR"));
        let (files, lines) =
            hourglass_graph::synthetic::write_workspace(&dir, 7).expect("writing the workspace");
        println!("wrote {files} files, {lines} lines under {}", dir.display());
        return;
    }
    let root = PathBuf::from(first);
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5).max(1);
    let cold = BuildOptions::default();
    let graph = match Graph::build(&root, &cold) {
        Ok(graph) => graph,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let stats = graph.stats();
    println!("{stats:#?}");
    for error in graph.parse_errors() {
        println!("parse error: {error:?}");
    }
    let files: Vec<PathBuf> = graph
        .source_files()
        .map(|path| root.join(Path::new(path)))
        .collect();
    let cache = std::env::temp_dir().join(format!("hourglass-graph-stats-{}", std::process::id()));
    let warm = BuildOptions {
        cache_dir: Some(cache.clone()),
        source: None,
    };
    Graph::build(&root, &warm).expect("filling the cache");
    let floor = timed(runs, || {
        hourglass_graph::parse_files_only(&files);
    });
    let cold_time = timed(runs, || {
        Graph::build(&root, &cold).expect("cold build");
    });
    let warm_time = timed(runs, || {
        Graph::build(&root, &warm).expect("warm build");
    });
    let _ = std::fs::remove_dir_all(&cache);
    let lines = stats.lines as f64;
    println!(
        "{} files, {} lines; medians of {runs}: floor {floor:.2?} ({:.0} lines/s); cold {cold_time:.2?} \
         ({:.0} lines/s, {:.2}x floor); warm {warm_time:.2?} ({:.2}x floor)",
        files.len(),
        stats.lines,
        lines / floor.as_secs_f64(),
        lines / cold_time.as_secs_f64(),
        cold_time.as_secs_f64() / floor.as_secs_f64(),
        warm_time.as_secs_f64() / floor.as_secs_f64(),
    );
}

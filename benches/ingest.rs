//! Throughput of a whole ingest: a deterministic Surefire-style JUnit file
//! (`hourglass_junit::synthetic`, seed 7, 100 MB by default) read by the
//! JUnit reader and stored, in one transaction, into a fresh SQLite file.
//!
//! ```text
//! cargo bench --bench ingest
//! HOURGLASS_INGEST_BENCH_MB=20 cargo bench --bench ingest   # a smaller input
//! ```
//!
//! Criterion reports MB/s (`Throughput::Bytes`); a closing line prints the
//! testcases, the stored results, and the median whole-file ingest time
//! over the runs with its MB/s and testcases/s. Ten samples of the 100 MB
//! input take about half a minute.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use hourglass_history::{FileIngest, HistoryStore, IngestOutcome, SqliteStore};
use hourglass_junit::{ReadOptions, read_file, synthetic};
use hourglass_model::RunMeta;

/// Reads `input` and stores it into a new store at `db`; returns the
/// results stored and the testcases read.
fn ingest(input: &Path, db: &Path, content_hash: [u8; 32]) -> (u64, u64) {
    let mut store = SqliteStore::open(db).expect("open a fresh store");
    let run = RunMeta {
        run_id: Some("bench".into()),
        commit: Some("0123456789abcdef".into()),
        branch: Some("main".into()),
        timestamp: Some("2026-03-01T10:00:00Z".into()),
        job: None,
    };
    let file = FileIngest {
        path: "synthetic.xml".into(),
        content_hash,
    };
    let mut testcases = 0;
    let outcome = store
        .ingest_file(&run, &file, &mut |sink| {
            let summary = read_file(input, &ReadOptions::default(), &mut |result| sink(&result))?;
            testcases = summary.testcases;
            Ok(())
        })
        .expect("ingest the synthetic file");
    match outcome {
        IngestOutcome::Stored { results } => (results, testcases),
        IngestOutcome::AlreadyStored => panic!("a fresh store holds nothing"),
    }
}

fn main() {
    let megabytes: u64 = std::env::var("HOURGLASS_INGEST_BENCH_MB")
        .ok()
        .and_then(|mb| mb.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("temporary directory");
    let input = dir.path().join("synthetic.xml");
    let testcases_written;
    {
        let mut out = BufWriter::new(File::create(&input).expect("create the input"));
        testcases_written =
            synthetic::write_surefire(&mut out, 7, megabytes << 20).expect("write the input");
        out.flush().expect("write the input");
    }
    let bytes = std::fs::metadata(&input).expect("input size").len();
    let content_hash = *blake3::hash(&std::fs::read(&input).expect("read the input")).as_bytes();

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group("ingest");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(bytes));
    let mut run = 0u32;
    let mut measured: Vec<Duration> = Vec::new();
    let mut stored_per_run = (0, 0);
    group.bench_function(format!("surefire_{megabytes}mb_into_fresh_sqlite"), |b| {
        b.iter_batched(
            || {
                run += 1;
                let db = dir.path().join(format!("run-{run}.db"));
                let _ = std::fs::remove_file(&db);
                db
            },
            |db| {
                let started = Instant::now();
                let stored = ingest(&input, &db, content_hash);
                measured.push(started.elapsed());
                stored_per_run = stored;
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                stored
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    criterion.final_summary();
    if !measured.is_empty() {
        measured.sort();
        let seconds = measured[measured.len() / 2].as_secs_f64();
        let runs = measured.len();
        let (results, testcases) = stored_per_run;
        eprintln!(
            "ingest: {:.1} MB, {testcases} testcases ({testcases_written} written, {results} \
             results stored) in {seconds:.2} s, the median of {runs} runs: {:.1} MB/s, \
             {:.0} testcases/s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds,
            testcases as f64 / seconds,
        );
    }
}

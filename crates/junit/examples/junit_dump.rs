//! Reads JUnit files and prints one line per result, then a summary.
//!
//! ```text
//! cargo run -p hourglass-junit --example junit_dump -- FILE...
//! cargo run --release -p hourglass-junit --example junit_dump -- --synthetic BYTES
//! cargo run --release -p hourglass-junit --example junit_dump -- --write FILE BYTES [--failures N] [--output N]
//! cargo run --release -p hourglass-junit --example junit_dump -- --quiet FILE...
//! cargo run --release -p hourglass-junit --example junit_dump -- --bare FILE...
//! ```
//!
//! `--write` writes the synthetic Surefire file (seed 42) that the benchmarks
//! read; `--failures N` and `--output N` set how many testcases per thousand
//! fail and carry `<system-out>` (default 20 and 67; the store's figures use
//! 30 and 150); `--quiet` prints only each file's summary; `--bare` runs a bare
//! quick-xml event loop over the files, for comparison.
//!
//! `--synthetic BYTES` streams a generated Surefire file of that size through
//! the reader without writing it anywhere and prints only the summary: run it
//! under `/usr/bin/time -v` to see that peak memory does not follow the size.

use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::mpsc;

use hourglass_junit::{ReadOptions, read, read_file, synthetic};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = ReadOptions::default();
    if args.first().map(String::as_str) == Some("--synthetic") {
        let bytes: u64 = args.get(1).and_then(|b| b.parse().ok()).unwrap_or(1 << 30);
        let mut count = 0u64;
        let input = BufReader::with_capacity(64 * 1024, Generated::new(bytes));
        let summary = read(input, Path::new("<synthetic>"), &options, &mut |_| {
            count += 1;
            Ok(())
        })
        .unwrap_or_else(|error| panic!("{error}"));
        println!(
            "synthetic: {} bytes, {} suites, {} testcases, {} results",
            summary.bytes, summary.suites, summary.testcases, count
        );
        return;
    }
    if args.first().map(String::as_str) == Some("--write") {
        let path = args.get(1).expect("--write FILE BYTES");
        let bytes: u64 = args
            .get(2)
            .and_then(|b| b.parse().ok())
            .unwrap_or(100 << 20);
        let file = std::fs::File::create(path).unwrap_or_else(|error| panic!("{path}: {error}"));
        let mut out = io::BufWriter::new(file);
        let mut shape = synthetic::Shape::default();
        for pair in args[3.min(args.len())..].chunks(2) {
            let value = pair.get(1).and_then(|v| v.parse().ok());
            match (pair[0].as_str(), value) {
                ("--failures", Some(n)) => shape.failures = n,
                ("--output", Some(n)) => shape.output = n,
                _ => panic!("--write FILE BYTES [--failures N] [--output N]"),
            }
        }
        let testcases =
            synthetic::write_surefire_shaped(&mut out, 42, bytes, shape).expect("writing");
        println!("{path}: {testcases} testcases");
        return;
    }
    if args.first().map(String::as_str) == Some("--bare") {
        // quick-xml alone over the same file, for comparison.
        for file in &args[1..] {
            let input =
                BufReader::with_capacity(64 * 1024, std::fs::File::open(file).expect("open"));
            let mut reader = quick_xml::Reader::from_reader(input);
            let mut buf = Vec::with_capacity(16 * 1024);
            let mut events = 0u64;
            loop {
                buf.clear();
                match reader.read_event_into(&mut buf) {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(event) => {
                        std::hint::black_box(&event);
                        events += 1;
                    }
                    Err(error) => panic!("{file}: {error}"),
                }
            }
            println!("{file}: {events} events");
        }
        return;
    }
    let quiet = args.first().map(String::as_str) == Some("--quiet");
    let mut failed = false;
    for file in args.iter().skip(usize::from(quiet)) {
        let result = read_file(Path::new(file), &options, &mut |result| {
            if quiet {
                return Ok(());
            }
            println!(
                "{:<8} {:?} | {} | {} | {:?}s attempts={} msg={:?} file={:?}:{:?} out={}B+{}",
                result.outcome.as_str(),
                result.key.suite,
                result.key.classname,
                result.key.name,
                result.duration_s,
                result.attempts.len(),
                result
                    .message
                    .as_deref()
                    .map(|m| m.chars().take(60).collect::<String>()),
                result.file,
                result.line,
                result.output.as_ref().map_or(0, String::len),
                result.output_dropped_bytes,
            );
            Ok(())
        });
        match result {
            Ok(summary) => println!("== {file}: {summary:?}"),
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(2);
    }
}

/// A `Read` that produces the synthetic file on the fly, from a generator
/// thread, in bounded chunks.
struct Generated {
    chunks: mpsc::Receiver<Vec<u8>>,
    current: io::Cursor<Vec<u8>>,
}

impl Generated {
    fn new(bytes: u64) -> Self {
        let (sender, chunks) = mpsc::sync_channel(4);
        std::thread::spawn(move || {
            let mut writer = ChunkWriter {
                sender,
                chunk: Vec::with_capacity(1 << 16),
            };
            let _ = synthetic::write_surefire(&mut writer, 42, bytes);
        });
        Self {
            chunks,
            current: io::Cursor::new(Vec::new()),
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.chunks.recv() {
                Ok(chunk) => self.current = io::Cursor::new(chunk),
                Err(_) => return Ok(0),
            }
        }
    }
}

struct ChunkWriter {
    sender: mpsc::SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
}

impl io::Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.chunk.extend_from_slice(buf);
        if self.chunk.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.chunk.is_empty() {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(1 << 16));
            self.sender
                .send(chunk)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))?;
        }
        Ok(())
    }
}

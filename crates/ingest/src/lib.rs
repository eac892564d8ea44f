//! The ingest pipeline: JUnit XML files into a result history, whichever
//! store holds it.
//!
//! # How it works
//!
//! Files are prepared in parallel ([`prepare_all`]: blake3 of the content,
//! and the first `timestamp` attribute from the head of the file), then
//! parsed by worker threads that stream their results through bounded
//! channels to the single writer, which stores each file in one
//! transaction of the [`HistoryStore`], in the order the files were given
//! ([`ingest_all`]). Parsing the next files overlaps with writing the
//! current one; a window bounds how many files are in flight, so memory
//! does not grow with the size of a file. The run's metadata comes from
//! the caller's flags, else the usual CI variables, else the repository's
//! HEAD ([`run_meta`]). After a file is stored, when its suites ran (the
//! span of their `timestamp` and `time`) is recorded with
//! [`HistoryStore::set_file_wall_time`], for the run's wall time.
//!
//! # Limitations
//!
//! - One writer: the store sees one file at a time from one process (many
//!   processes may write into one store at once).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Condvar, Mutex};

use hourglass_history::{
    FileIngest, FileWallTime, HistoryStore, IngestOutcome, StoreError, ci_env, derive_run_id,
    timestamp_millis,
};
use hourglass_junit::{FileSummary, ReadError, ReadOptions};
use hourglass_model::{RunMeta, TestResult};
use rayon::prelude::*;
use serde::Serialize;

/// The run metadata a caller gives explicitly (command-line flags).
#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    pub run_id: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub timestamp: Option<String>,
    pub job: Option<String>,
}

/// How one file ended, as reported.
#[derive(Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    /// `stored`, `already_stored` or `failed`.
    pub outcome: &'static str,
    pub run_id: Option<String>,
    pub results: u64,
    pub testcases: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A file ready to be parsed: its hash and first timestamp.
pub struct Prepared {
    pub path: PathBuf,
    pub display: String,
    pub bytes: u64,
    pub hash: Result<[u8; 32], String>,
    pub timestamp: Option<String>,
}

/// The report of a file that could not be ingested.
pub fn failed_report(path: String, run_id: Option<String>, error: String) -> FileReport {
    FileReport {
        path,
        outcome: "failed",
        run_id,
        results: 0,
        testcases: 0,
        error: Some(error),
        warning: None,
    }
}

/// Files named by `inputs`: files as given, directories searched
/// recursively for `*.xml`, globs expanded; sorted within each input,
/// duplicates dropped. Inputs that match nothing come back as errors.
pub fn expand_paths(inputs: &[String], cwd: &Path) -> (Vec<PathBuf>, Vec<(String, String)>) {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for input in inputs {
        let path = cwd.join(input);
        let before = files.len();
        let is_dir = path.is_dir();
        if path.is_file() {
            files.push(path);
        } else if is_dir {
            push_xml_files(&path, &mut files);
        } else if input.contains(['*', '?', '[']) {
            let pattern = path.to_string_lossy().into_owned();
            match glob::glob(&pattern) {
                Ok(matches) => {
                    let mut found: Vec<PathBuf> = matches.filter_map(Result::ok).collect();
                    found.sort();
                    for found in found {
                        if found.is_dir() {
                            push_xml_files(&found, &mut files);
                        } else if found.is_file() {
                            files.push(found);
                        }
                    }
                }
                Err(error) => {
                    missing.push((input.clone(), format!("{input}: bad glob pattern: {error}")));
                    continue;
                }
            }
        } else {
            missing.push((input.clone(), format!("{input}: no such file or directory")));
            continue;
        }
        if files.len() == before && !is_dir {
            missing.push((input.clone(), format!("{input}: no file matches")));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    (files, missing)
}

fn push_xml_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"))
        })
        .collect();
    found.sort();
    files.extend(found);
}

/// The path as shown to the user: relative to the working directory when
/// below it.
fn display_path(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

/// Hashes the file and reads the first `timestamp` attribute of its head.
fn prepare(path: &Path, cwd: &Path) -> Prepared {
    let display = display_path(path, cwd);
    let mut prepared = Prepared {
        path: path.to_path_buf(),
        display: display.clone(),
        bytes: 0,
        hash: Err(String::new()),
        timestamp: None,
    };
    let result = (|| -> std::io::Result<()> {
        let mut file = File::open(path)?;
        let mut hasher = blake3::Hasher::new();
        let mut buffer = vec![0; 256 * 1024];
        let mut first = true;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            if first {
                prepared.timestamp = first_timestamp(&buffer[..n.min(64 * 1024)]);
                first = false;
            }
            hasher.update(&buffer[..n]);
            prepared.bytes += n as u64;
        }
        prepared.hash = Ok(*hasher.finalize().as_bytes());
        Ok(())
    })();
    if let Err(error) = result {
        prepared.hash = Err(format!("{display}: {error}"));
    }
    prepared
}

/// The value of the first `timestamp="…"` attribute in `head`, normalised;
/// `None` when there is none or it is not a readable time.
fn first_timestamp(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("timestamp") {
        rest = &rest[at + "timestamp".len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let value = &after[1..];
        let end = value.find(quote)?;
        let normalised = hourglass_junit::normalise_timestamp(&value[..end])?;
        return timestamp_millis(&normalised).map(|_| normalised);
    }
    None
}

/// The run's metadata: flags, else CI variables, else the repository's
/// HEAD; the timestamp from the flag, else the earliest of the files.
pub fn run_meta(args: &RunFlags, cwd: &Path, files: &[Prepared]) -> RunMeta {
    let ci = ci_env::run_meta(&|name| std::env::var(name).ok()).unwrap_or_default();
    let mut meta = RunMeta {
        run_id: args.run_id.clone().or(ci.run_id),
        commit: args.commit.clone().or(ci.commit),
        branch: args.branch.clone().or(ci.branch),
        timestamp: args.timestamp.clone(),
        job: args.job.clone().or(ci.job),
    };
    // HEAD's branch only goes with HEAD's commit.
    if meta.commit.is_none()
        && let Ok(Some(head)) = hourglass_git::head(cwd)
    {
        meta.commit = Some(head.commit);
        if meta.branch.is_none() {
            meta.branch = head.branch;
        }
    }
    if meta.timestamp.is_none() {
        meta.timestamp = files
            .iter()
            .filter_map(|file| file.timestamp.as_deref())
            .filter_map(|text| Some((timestamp_millis(text)?, text)))
            .min()
            .map(|(_, text)| text.to_owned());
    }
    meta
}

/// Prepares every file, in parallel: content hash, size, first timestamp.
pub fn prepare_all(paths: &[PathBuf], cwd: &Path) -> Vec<Prepared> {
    paths.par_iter().map(|path| prepare(path, cwd)).collect()
}

/// What the writer reports for each file, in order.
pub struct Finished {
    pub file: FileReport,
    pub warning: Option<String>,
    pub error: Option<String>,
    pub bytes: u64,
}

enum Message {
    /// Results in file order, sent in batches to keep channel traffic low.
    Results(Vec<TestResult>),
    Done(Result<FileSummary, ReadError>),
}

/// A file being parsed: its index, the channel its results come on, and the
/// one that takes the emptied batches back to the parser, so that results
/// are freed, and their memory reused, by the thread that made them.
struct InFlight {
    index: usize,
    results: Receiver<Message>,
    spent: Sender<Vec<TestResult>>,
}

/// A counting semaphore bounding the files in flight.
struct Window {
    free: Mutex<usize>,
    changed: Condvar,
}

impl Window {
    fn acquire(&self) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self
                .changed
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
    }

    fn release(&self) {
        *self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.changed.notify_one();
    }
}

/// Results per message, and messages a channel holds: at most
/// `BATCH * BATCHES_IN_FLIGHT` results wait per file in flight.
const BATCH: usize = 128;
const BATCHES_IN_FLIGHT: usize = 2;

/// Parses `files` in parallel and stores each, in order, into `store`,
/// one transaction a file; `report` hears how each file ended, in order.
pub fn ingest_all(
    store: &mut dyn HistoryStore,
    meta: &RunMeta,
    files: &[Prepared],
    options: &ReadOptions,
    report: &mut dyn FnMut(Finished),
) {
    if files.is_empty() {
        return;
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(files.len());
    let next = AtomicUsize::new(0);
    let window = Window {
        free: Mutex::new(workers * 2),
        changed: Condvar::new(),
    };
    let (announce, announced) = sync_channel::<InFlight>(files.len().min(workers * 4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let announce = announce.clone();
            let (next, window) = (&next, &window);
            scope.spawn(move || parse_worker(files, options, next, window, &announce));
        }
        drop(announce);
        let mut waiting: BTreeMap<usize, InFlight> = BTreeMap::new();
        for (index, file) in files.iter().enumerate() {
            let results = loop {
                if let Some(results) = waiting.remove(&index) {
                    break Some(results);
                }
                match announced.recv() {
                    Ok(in_flight) => {
                        waiting.insert(in_flight.index, in_flight);
                    }
                    Err(_) => break None,
                }
            };
            let finished = match results {
                Some(in_flight) => store_one(store, meta, file, &in_flight),
                None => Finished {
                    file: failed_report(file.display.clone(), None, "not read".into()),
                    warning: None,
                    error: Some(format!("{}: not read", file.display)),
                    bytes: file.bytes,
                },
            };
            window.release();
            report(finished);
        }
    });
}

fn parse_worker(
    files: &[Prepared],
    options: &ReadOptions,
    next: &AtomicUsize,
    window: &Window,
    announce: &SyncSender<InFlight>,
) {
    loop {
        window.acquire();
        let index = next.fetch_add(1, Ordering::SeqCst);
        let Some(file) = files.get(index) else {
            window.release();
            return;
        };
        let (send, results) = sync_channel(BATCHES_IN_FLIGHT);
        let (spent, returned) = channel::<Vec<TestResult>>();
        let in_flight = InFlight {
            index,
            results,
            spent,
        };
        if announce.send(in_flight).is_err() {
            return;
        }
        if file.hash.is_err() {
            continue;
        }
        let mut batch = Vec::with_capacity(BATCH);
        let outcome = hourglass_junit::read_file(&file.path, options, &mut |result| {
            batch.push(result);
            if batch.len() == BATCH {
                let mut next = returned
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                next.clear();
                let full = std::mem::replace(&mut batch, next);
                send.send(Message::Results(full))
                    .map_err(|_| "the writer stopped reading")?;
            }
            Ok(())
        });
        if !batch.is_empty() && send.send(Message::Results(batch)).is_err() {
            continue;
        }
        let _ = send.send(Message::Done(outcome));
    }
}

fn store_one(
    store: &mut dyn HistoryStore,
    meta: &RunMeta,
    file: &Prepared,
    in_flight: &InFlight,
) -> Finished {
    let content_hash = match &file.hash {
        Ok(hash) => *hash,
        Err(error) => {
            return Finished {
                file: failed_report(file.display.clone(), None, error.clone()),
                warning: None,
                error: Some(error.clone()),
                bytes: file.bytes,
            };
        }
    };
    let run_id = derive_run_id(meta, &content_hash);
    let ingest = FileIngest {
        path: file.display.clone(),
        content_hash,
    };
    let mut summary: Option<FileSummary> = None;
    let outcome = store.ingest_file(meta, &ingest, &mut |sink| {
        for message in &in_flight.results {
            match message {
                Message::Results(batch) => {
                    for result in &batch {
                        sink(result)?;
                    }
                    // The parser may have finished the file: then the batch is freed here.
                    let _ = in_flight.spent.send(batch);
                }
                Message::Done(Ok(done)) => {
                    summary = Some(done);
                    return Ok(());
                }
                Message::Done(Err(error)) => return Err(Box::new(error)),
            }
        }
        Err("the reader stopped".into())
    });
    let mut report = FileReport {
        path: file.display.clone(),
        outcome: "stored",
        run_id: Some(run_id),
        results: 0,
        testcases: summary.as_ref().map_or(0, |s| s.testcases),
        error: None,
        warning: None,
    };
    let mut warning = None;
    let mut error = None;
    match outcome {
        Ok(IngestOutcome::Stored { results }) => {
            report.results = results;
            let wall = summary.as_ref().map(|s| FileWallTime {
                start_ms: s.wall.start_ms,
                end_ms: s.wall.end_ms,
                time_ms: s.wall.time_ms,
            });
            if let Some(wall) = wall.filter(|w| !w.is_unknown())
                && let Err(failure) = store.set_file_wall_time(
                    report.run_id.as_deref().unwrap_or_default(),
                    &content_hash,
                    &wall,
                )
            {
                warning = Some(format!(
                    "{}: stored, but its wall time was not recorded: {failure}",
                    file.display
                ));
            }
            if report.testcases == 0 {
                warning = Some(format!("{}: no testcases", file.display));
            }
        }
        Ok(IngestOutcome::AlreadyStored) => report.outcome = "already_stored",
        Err(StoreError::Produce { source, .. }) => {
            report.outcome = "failed";
            // The reader names the file by the path it opened; show the
            // path as the user gave it.
            let message = source.to_string();
            let opened = file.path.display().to_string();
            error = Some(match message.strip_prefix(&opened) {
                Some(rest) => format!("{}{rest}", file.display),
                None => message,
            });
        }
        Err(other) => {
            report.outcome = "failed";
            error = Some(format!("{}: {other}", file.display));
        }
    }
    report.error.clone_from(&error);
    report.warning.clone_from(&warning);
    Finished {
        file: report,
        warning,
        error,
        bytes: file.bytes,
    }
}

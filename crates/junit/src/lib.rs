//! Streaming JUnit XML reader for every common dialect.
//!
//! [`read`] turns a JUnit XML stream into [`TestResult`]s, handing each one
//! to a sink as its `<testcase>` closes, so memory does not grow with the
//! file. [`read_file`] opens a path; [`read_all`] collects a small file and
//! merges reruns.
//!
//! # How it works
//!
//! A single quick-xml event loop (`read_event_into` with one reused buffer;
//! no DOM, no serde) walks the document with a small stack of element
//! kinds. `<testsuite>` names form the suite path of [`TestKey::suite`]
//! (outermost first, joined with `/`; the root `<testsuites>` is not part of
//! it; suites nest to any depth, as PHPUnit writes them). A `<testcase>`
//! collects its attributes and children and becomes one [`TestResult`]:
//!
//! - `<error>` wins over `<failure>` (pytest can write both for one test: a
//!   failing call and an erroring teardown); the single attempt keeps both
//!   messages, joined by a newline, in document order. Then `<failure>` →
//!   `Failed`, `<skipped>` (or Ant junitlauncher's `<aborted>`, a failed
//!   JUnit 5 assumption; or gtest's and CTest's `status="notrun"`, CTest's
//!   `status="disabled"`, gtest's `result="skipped"`) → `Skipped`, else
//!   `Passed`.
//! - Surefire, Failsafe and cargo-nextest retries: each `flakyFailure` /
//!   `flakyError` is a failed attempt of a test that then passed
//!   (`Flaky`, with a final passing attempt); `rerunFailure` / `rerunError`
//!   are further failed attempts after the first `<failure>`/`<error>`.
//! - go-junit-report and gotestsum write each rerun as another testcase of
//!   the same name: [`read`] emits each; [`read_all`] (and the history store)
//!   merge them with [`TestResult::absorb_rerun`].
//! - `message` is the `message` attribute, else the first non-empty line of
//!   the element's body (jest-junit writes bodies only). `type` becomes
//!   `failure_type`.
//! - The bodies of `<failure>`, `<error>`, `<skipped>`, retry elements and
//!   their `<stackTrace>`, and `<system-out>` / `<system-err>` of the
//!   testcase are joined into `output`, kept up to
//!   [`ReadOptions::max_output_bytes`]; the rest is counted in
//!   `output_dropped_bytes`. Suite-level output is not attached to tests.
//! - `<properties>` inside a testcase become `properties` (a property
//!   without `value` takes its text, as Playwright writes annotations).
//! - `file` and `line` attributes (pytest xunit1, jest-junit, PHPUnit) set
//!   `file`/`line`; a testcase without `file` takes its suite's `file`.
//! - Missing `classname` is `""` (Bazel); PHPUnit's `class` is used when
//!   `classname` is absent.
//! - Times: see [`parse_duration`]; an unreadable time is `None`, never 0.
//!   The summary timestamp is normalised by [`normalise_timestamp`]. The
//!   `timestamp` and `time` of every suite (and of the root) make the
//!   file's [`WallSpan`]: earliest start to latest end.
//!
//! Text comes as quick-xml events: character and predefined entity
//! references are resolved, CDATA is kept verbatim, and text split across
//! buffer refills is joined. A `<!DOCTYPE>` is skipped and never expanded:
//! a reference to any entity other than the five predefined ones is
//! [`ReadError::Entity`], so "billion laughs" files fail fast in bounded
//! memory.
//!
//! # Encodings
//!
//! UTF-8 is the default, with or without a byte-order mark. A UTF-16 file
//! (byte-order mark or `<?` in UTF-16) and any legacy encoding named in the
//! XML declaration that encoding_rs knows (ISO-8859-1, windows-1252,
//! Shift_JIS, ...) are transcoded to UTF-8 on the fly; an encoding it does
//! not know is refused by name ([`ReadError::Encoding`]). Invalid UTF-8 in a
//! UTF-8 file is [`ReadError::Malformed`] at its position: nothing is
//! replaced silently. (Transcoded legacy input follows encoding_rs and turns
//! unmappable bytes into U+FFFD.)
//!
//! # Errors and positions
//!
//! Positions are 1-based lines and columns, the column counted in bytes of
//! the UTF-8 text. They come from the byte offset of the fault and a
//! window of the most recent newline offsets, so tracking them costs no
//! rescan; [`read_file`] rescans the file in the rare case the fault lies
//! before that window (an element spanning more than 16 384 lines). For
//! transcoded input, lines are exact and columns count UTF-8 bytes.
//!
//! # Limitations
//!
//! - Memory is bounded by the largest single piece of markup or text node
//!   (quick-xml buffers one event), not by the file: a 1 GB `<system-out>`
//!   is buffered while it is read, though only `max_output_bytes` of it
//!   are kept.
//! - Elements outside the dialects above are skipped with their content.
//! - Several root elements in one file (concatenated reports) are read in
//!   turn; only the first decides whether the file is JUnit at all.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use hourglass_model::{TestKey, TestResult};

mod read;
mod source;
pub mod synthetic;
mod time;

pub use time::{normalise_timestamp, parse_duration};

/// How a file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The most bytes of output (system-out, system-err, failure bodies)
    /// kept per test; the rest is counted in `output_dropped_bytes`.
    pub max_output_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            max_output_bytes: 8 * 1024,
        }
    }
}

impl ReadOptions {
    /// Options that keep at most `max_output_bytes` of output per test.
    pub fn with_max_output_bytes(max_output_bytes: usize) -> Self {
        Self { max_output_bytes }
    }
}

/// What a file held, besides its results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// `<testsuite>` elements, nested ones included.
    pub suites: u64,
    /// `<testcase>` elements.
    pub testcases: u64,
    /// Results handed to the sink ([`read_all`]: after merging reruns).
    pub results: u64,
    /// The first testsuite `timestamp` (else the root's), normalised by
    /// [`normalise_timestamp`].
    pub timestamp: Option<String>,
    /// The first testsuite `hostname`.
    pub hostname: Option<String>,
    /// Bytes of UTF-8 XML read (the file's size, unless it was transcoded).
    pub bytes: u64,
    /// When the file's suites ran, as far as their `timestamp` and `time`
    /// attributes say.
    pub wall: WallSpan,
}

/// When the suites of a file ran: the span from the earliest suite start to
/// the latest suite end (`timestamp`, and `timestamp` + `time`, of every
/// `<testsuite>` and of the root `<testsuites>`), and the file's own wall
/// time (`time` on `<testsuites>`, else the sum of the top-level suites'
/// `time`, which ran one after another in the one process that wrote the
/// file). A zoneless timestamp is read as UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallSpan {
    /// The earliest suite start, Unix milliseconds.
    pub start_ms: Option<i64>,
    /// The latest suite end (start + `time`), Unix milliseconds.
    pub end_ms: Option<i64>,
    /// The file's wall time, milliseconds.
    pub time_ms: Option<i64>,
}

impl WallSpan {
    /// The file's wall time in seconds: `end - start` when both are known,
    /// else `time_ms`.
    pub fn wall_time_s(&self) -> Option<f64> {
        match (self.start_ms, self.end_ms) {
            (Some(start), Some(end)) if end >= start => Some((end - start) as f64 / 1000.0),
            _ => self.time_ms.map(|ms| ms as f64 / 1000.0),
        }
    }

    /// Seconds as whole milliseconds; `None` for a negative or unreadable time.
    pub(crate) fn millis(seconds: Option<f64>) -> Option<i64> {
        seconds
            .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e12)
            .map(|t| (t * 1000.0).round() as i64)
    }

    /// Widens the span with a suite that started at `start_ms` and took `time_s`.
    pub(crate) fn add_suite(&mut self, start_ms: Option<i64>, time_s: Option<f64>) {
        let Some(start) = start_ms else {
            return;
        };
        self.start_ms = Some(self.start_ms.map_or(start, |s| s.min(start)));
        if let Some(time) = Self::millis(time_s) {
            let end = start.saturating_add(time);
            self.end_ms = Some(self.end_ms.map_or(end, |e| e.max(end)));
        }
    }
}

/// Unix milliseconds of a timestamp as [`normalise_timestamp`] leaves it
/// (a zoneless one read as UTC); `None` when unreadable.
pub fn timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// What one read held in memory, for tests and benchmarks of bounded
/// memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStats {
    /// Capacity of the reused event buffer at the end: the largest single
    /// piece of markup or text node read.
    pub event_buffer_capacity: usize,
    /// The deepest element nesting seen.
    pub deepest_nesting: usize,
    /// The most results held back at once (pytest reruns wait for the next
    /// testcase; 0 for other runners).
    pub held_results_peak: usize,
}

/// The error a sink returns to stop reading.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Why a file could not be read. Positions are 1-based; columns count bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: empty file: no root element", path.display())]
    Empty { path: PathBuf },
    #[error("{}:{line}:{column}: unexpected end of file inside <{open_element}>", path.display())]
    Truncated {
        path: PathBuf,
        line: u64,
        column: u64,
        open_element: String,
    },
    #[error("{}: not JUnit XML: the root element is <{root_element}>, not <testsuites> or <testsuite>", path.display())]
    NotJunit { path: PathBuf, root_element: String },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}: unsupported encoding {encoding:?}", path.display())]
    Encoding { path: PathBuf, encoding: String },
    #[error("{}:{line}:{column}: undefined entity &{name}; (DOCTYPE entities are never expanded)", path.display())]
    Entity {
        path: PathBuf,
        line: u64,
        column: u64,
        name: String,
    },
    #[error("{}: {source}", path.display())]
    Sink {
        path: PathBuf,
        #[source]
        source: SinkError,
    },
}

impl ReadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::Empty { path }
            | ReadError::Truncated { path, .. }
            | ReadError::NotJunit { path, .. }
            | ReadError::Malformed { path, .. }
            | ReadError::Encoding { path, .. }
            | ReadError::Entity { path, .. }
            | ReadError::Sink { path, .. } => path,
        }
    }

    /// The 1-based line and column of the fault, when it has a position.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            ReadError::Truncated { line, column, .. }
            | ReadError::Malformed { line, column, .. }
            | ReadError::Entity { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// Reads JUnit XML from `input`, handing each testcase's result to `sink`
/// as the testcase closes. `path` names the input in errors.
///
/// Memory does not grow with the input (see the crate's limitations). A
/// sink error stops the read and comes back as [`ReadError::Sink`].
pub fn read<R: BufRead>(
    input: R,
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
) -> Result<FileSummary, ReadError> {
    read::read_stream(input, path, options, sink, None).map(|(summary, _)| summary)
}

/// [`read`], also returning what the read held in memory.
pub fn read_with_stats<R: BufRead>(
    input: R,
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
) -> Result<(FileSummary, ReadStats), ReadError> {
    read::read_stream(input, path, options, sink, None)
}

/// [`read`] on a file. Its buffer is 64 KiB.
pub fn read_file(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
) -> Result<FileSummary, ReadError> {
    let input = open(path)?;
    read::read_stream(input, path, options, sink, Some(&|| open(path))).map(|(summary, _)| summary)
}

fn open(path: &Path) -> Result<BufReader<File>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(BufReader::with_capacity(64 * 1024, file))
}

/// Reads a whole file into memory, for small files and tests: same-key
/// testcases of the file (reruns) are merged with
/// [`TestResult::absorb_rerun`], in first-seen order.
pub fn read_all(
    path: &Path,
    options: &ReadOptions,
) -> Result<(Vec<TestResult>, FileSummary), ReadError> {
    let mut results: Vec<TestResult> = Vec::new();
    let mut index: HashMap<TestKey, usize> = HashMap::new();
    let mut summary = read_file(path, options, &mut |result| {
        merge(&mut results, &mut index, result);
        Ok(())
    })?;
    summary.results = results.len() as u64;
    Ok((results, summary))
}

/// Merges reruns like [`read_all`], for results read with [`read`].
pub fn merge_reruns(results: impl IntoIterator<Item = TestResult>) -> Vec<TestResult> {
    let mut merged = Vec::new();
    let mut index = HashMap::new();
    for result in results {
        merge(&mut merged, &mut index, result);
    }
    merged
}

fn merge(results: &mut Vec<TestResult>, index: &mut HashMap<TestKey, usize>, result: TestResult) {
    if let Some(&at) = index.get(&result.key) {
        results[at].absorb_rerun(result);
    } else {
        index.insert(result.key.clone(), results.len());
        results.push(result);
    }
}

//! The event loop: quick-xml events → [`TestResult`]s.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use hourglass_model::{Attempt, AttemptOutcome, Outcome, Property, TestKey, TestResult};
use quick_xml::Reader;
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};

use crate::source::{Detected, Position, Scanner, Transcoder, Utf8Source, rescan_position, sniff};
use crate::time::{normalise_timestamp, parse_duration, parse_duration_bytes};
use crate::{FileSummary, ReadError, ReadOptions, ReadStats, SinkError};

/// Opens the file again, for a rescan of positions.
pub(crate) type Reopen<'a> = &'a dyn Fn() -> Result<BufReader<File>, ReadError>;

/// The most same-key pytest results held back at once.
const MAX_HELD: usize = 32;

/// The longest message taken from the first line of an element's body.
const MAX_BODY_MESSAGE: usize = 1024;

pub(crate) fn read_stream<R: BufRead>(
    input: R,
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    reopen: Option<Reopen<'_>>,
) -> Result<(FileSummary, ReadStats), ReadError> {
    let source = utf8_source(input, path)?;
    let mut reader = Reader::from_reader(Scanner::new(source));
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    let mut state = State::new(options);
    let mut buf = Vec::with_capacity(16 * 1024);
    match state.run(&mut reader, &mut buf, sink) {
        Ok(()) => {
            state.summary.bytes = reader.buffer_position();
            state.summary.wall.time_ms =
                crate::WallSpan::millis(state.root_time.or(state.top_suites_time));
            let stats = ReadStats {
                event_buffer_capacity: buf.capacity(),
                deepest_nesting: state.deepest,
                held_results_peak: state.held_peak,
            };
            Ok((state.summary, stats))
        }
        Err(fault) => Err(fault.into_error(path, reader.get_ref(), reopen)),
    }
}

fn utf8_source<R: BufRead>(mut input: R, path: &Path) -> Result<Utf8Source<R>, ReadError> {
    let (prefix, detected) = sniff(&mut input).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let rejoined = Cursor::new(prefix).chain(input);
    match detected {
        Detected::Utf8 => Ok(Utf8Source::Plain(rejoined)),
        Detected::Other(encoding) => Ok(Utf8Source::Decoded(Transcoder::new(rejoined, encoding))),
        Detected::Unsupported(encoding) => Err(ReadError::Encoding {
            path: path.to_owned(),
            encoding,
        }),
    }
}

/// What went wrong, with the byte offset of the fault; turned into a
/// [`ReadError`] with a line and column once, at the end.
enum Fault {
    Io(std::io::Error),
    Empty,
    NotJunit(String),
    Truncated { offset: u64, open_element: String },
    Malformed { offset: u64, message: String },
    Entity { offset: u64, name: String },
    Sink(SinkError),
}

impl Fault {
    fn into_error<R: BufRead>(
        self,
        path: &Path,
        tracker: &Scanner<R>,
        reopen: Option<Reopen<'_>>,
    ) -> ReadError {
        let path = path.to_owned();
        let locate = |offset: u64| -> Position {
            let tracked = tracker.position(offset);
            if tracked.exact {
                return tracked;
            }
            reopen
                .and_then(|reopen| {
                    let input = utf8_source(reopen().ok()?, &path).ok()?;
                    rescan_position(input, offset).ok()
                })
                .unwrap_or(tracked)
        };
        match self {
            Fault::Io(source) => ReadError::Io { path, source },
            Fault::Empty => ReadError::Empty { path },
            Fault::NotJunit(root_element) => ReadError::NotJunit { path, root_element },
            Fault::Truncated {
                offset,
                open_element,
            } => {
                let Position { line, column, .. } = locate(offset);
                ReadError::Truncated {
                    path,
                    line,
                    column,
                    open_element,
                }
            }
            Fault::Malformed { offset, message } => {
                let Position { line, column, .. } = locate(offset);
                ReadError::Malformed {
                    path,
                    line,
                    column,
                    message,
                }
            }
            Fault::Entity { offset, name } => {
                let Position { line, column, .. } = locate(offset);
                ReadError::Entity {
                    path,
                    line,
                    column,
                    name,
                }
            }
            Fault::Sink(source) => ReadError::Sink { path, source },
        }
    }
}

/// The kinds of element the reader tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `<testsuites>`.
    Root,
    /// `<testsuite>`.
    Suite,
    /// `<testcase>`.
    Case,
    /// `<properties>` inside a testcase.
    CaseProperties,
    /// `<property>` inside a testcase.
    CaseProperty,
    /// `<failure>` or `<error>` of a testcase.
    Primary,
    /// `<skipped>` (or junitlauncher's `<aborted>`) of a testcase.
    Skipped,
    /// `flakyFailure`, `flakyError`, `rerunFailure`, `rerunError`.
    Retry,
    /// `<stackTrace>` inside a retry element.
    Stack,
    /// `<system-out>` or `<system-err>` of a testcase or a retry.
    Stream,
    /// Anything else: skipped with its content.
    Other,
}

impl Kind {
    fn holds_output(self) -> bool {
        matches!(
            self,
            Kind::Primary | Kind::Skipped | Kind::Retry | Kind::Stack | Kind::Stream
        )
    }
}

struct Frame {
    kind: Kind,
    /// End of this element's name in `State::names`.
    name_end: usize,
}

/// A `<failure>`, `<error>`, `<skipped>` or retry element.
struct Mark {
    outcome: AttemptOutcome,
    message: Option<String>,
    failure_type: Option<String>,
    duration_s: Option<f64>,
}

/// Which mark an element body's first line may name.
#[derive(Clone, Copy)]
enum MarkSlot {
    Primary(usize),
    Skipped,
    Retry(usize),
}

#[derive(Default)]
struct Case {
    name: String,
    classname: String,
    file: Option<String>,
    line: Option<u32>,
    time: Option<f64>,
    not_run: bool,
    primaries: Vec<Mark>,
    skipped: Option<Mark>,
    retries: Vec<Mark>,
    properties: Vec<Property>,
    /// The open `<property>` without `value` collects text.
    property_text: bool,
    output: String,
    dropped: u64,
    /// Output has reached the limit: the rest is only counted.
    output_full: bool,
}

struct State {
    max_output: usize,
    summary: FileSummary,
    root_seen: bool,
    root_timestamp: Option<String>,
    /// The root's `time`.
    root_time: Option<f64>,
    /// Sum of the top-level suites' `time`.
    top_suites_time: Option<f64>,
    stack: Vec<Frame>,
    names: Vec<u8>,
    /// Outermost-first testsuite names joined with `/`.
    suite_path: String,
    /// For each open testsuite: the length of `suite_path` before it, and its `file`.
    suites: Vec<(usize, Option<String>)>,
    case: Option<Case>,
    /// A body whose first line becomes the message of this mark.
    capture: Option<MarkSlot>,
    capture_text: String,
    /// The next output text starts a new piece (joined with a newline).
    piece_fresh: bool,
    /// The file was written by pytest (see [`State::emit`]).
    pytest: bool,
    /// With pytest, the latest results of one key wait for the next key.
    held: Vec<TestResult>,
    held_peak: usize,
    deepest: usize,
}

impl State {
    fn new(options: &ReadOptions) -> Self {
        Self {
            max_output: options.max_output_bytes,
            summary: FileSummary::default(),
            root_seen: false,
            root_timestamp: None,
            root_time: None,
            top_suites_time: None,
            stack: Vec::with_capacity(16),
            names: Vec::with_capacity(256),
            suite_path: String::new(),
            suites: Vec::new(),
            case: None,
            capture: None,
            capture_text: String::new(),
            piece_fresh: false,
            pytest: false,
            held: Vec::new(),
            held_peak: 0,
            deepest: 0,
        }
    }

    /// Hands a result to the sink.
    ///
    /// pytest-rerunfailures writes each rerun attempt as an empty testcase
    /// of the same name right before the next attempt, so it reads as a pass;
    /// but a rerun only follows a failure. In a pytest file, a passed result
    /// followed at once by one of the same key is therefore a failed (or,
    /// before an error, erroring) attempt. Other runners rerun tests
    /// elsewhere in the file (gotestsum) or on purpose (`go test -count`), so
    /// the rule is limited to pytest.
    fn emit(
        &mut self,
        result: TestResult,
        sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    ) -> Result<(), Fault> {
        self.summary.results += 1;
        if !self.pytest {
            return sink(result).map_err(Fault::Sink);
        }
        // A longer run than any rerun count is not reruns: hand it on as is.
        if self.held.len() >= MAX_HELD
            || self.held.last().is_some_and(|last| last.key != result.key)
        {
            self.flush(sink)?;
        }
        self.held.push(result);
        self.held_peak = self.held_peak.max(self.held.len());
        Ok(())
    }

    /// Hands on a run of same-key pytest results, the earlier passes marked
    /// as failed attempts (erroring ones when the last attempt errored).
    fn flush(
        &mut self,
        sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    ) -> Result<(), Fault> {
        let last_outcome = self.held.last().map(|last| last.outcome);
        let (outcome, attempt) = if last_outcome == Some(Outcome::Error) {
            (Outcome::Error, AttemptOutcome::Error)
        } else {
            (Outcome::Failed, AttemptOutcome::Failed)
        };
        let count = self.held.len();
        for (index, mut result) in self.held.drain(..).enumerate() {
            if index + 1 < count && result.outcome == Outcome::Passed {
                result.outcome = outcome;
                for each in &mut result.attempts {
                    each.outcome = Some(attempt);
                }
            }
            sink(result).map_err(Fault::Sink)?;
        }
        Ok(())
    }

    fn run<R: BufRead>(
        &mut self,
        reader: &mut Reader<Scanner<R>>,
        buf: &mut Vec<u8>,
        sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    ) -> Result<(), Fault> {
        loop {
            buf.clear();
            let start = reader.buffer_position();
            let event = match reader.read_event_into(buf) {
                Ok(event) => event,
                Err(error) => return Err(self.xml_fault(error, reader.error_position())),
            };
            let at_end = matches!(event, Event::Eof);
            if let Some(offset) = reader.get_ref().invalid_utf8(at_end)
                && (at_end || offset < reader.buffer_position())
            {
                return Err(Fault::Malformed {
                    offset,
                    message: "invalid UTF-8".to_owned(),
                });
            }
            match event {
                Event::Start(e) => self.open(&e, start, false, sink)?,
                Event::Empty(e) => self.open(&e, start, true, sink)?,
                Event::End(_) => self.close(sink)?,
                Event::Text(e) => self.text(&e),
                Event::CData(e) => self.text(&e),
                Event::GeneralRef(e) => {
                    let resolved = resolve_reference(&e).map_err(|fault| fault.at(start))?;
                    let mut utf8 = [0; 4];
                    self.text(resolved.encode_utf8(&mut utf8).as_bytes());
                }
                Event::Eof => {
                    return match self.stack.last() {
                        Some(_) => Err(Fault::Truncated {
                            offset: reader.buffer_position(),
                            open_element: self.innermost_name(),
                        }),
                        None if !self.root_seen => Err(Fault::Empty),
                        None => self.flush(sink),
                    };
                }
                Event::Comment(_) | Event::DocType(_) | Event::Decl(_) | Event::PI(_) => {}
            }
        }
    }

    fn innermost_name(&self) -> String {
        let end = self.stack.last().map_or(0, |frame| frame.name_end);
        let begin = self
            .stack
            .len()
            .checked_sub(2)
            .map_or(0, |below| self.stack[below].name_end);
        String::from_utf8_lossy(&self.names[begin..end]).into_owned()
    }

    fn xml_fault(&self, error: XmlError, offset: u64) -> Fault {
        match error {
            XmlError::Io(error) => {
                Fault::Io(std::sync::Arc::try_unwrap(error).unwrap_or_else(|shared| {
                    std::io::Error::new(shared.kind(), shared.to_string())
                }))
            }
            XmlError::Syntax(
                SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPIOrXmlDecl,
            ) if self.root_seen || !self.stack.is_empty() => Fault::Truncated {
                offset,
                open_element: self.innermost_name(),
            },
            XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                Fault::Malformed {
                    offset,
                    message: format!("expected </{expected}>, found </{found}>"),
                }
            }
            error => Fault::Malformed {
                offset,
                message: error.to_string(),
            },
        }
    }

    fn open(
        &mut self,
        e: &BytesStart<'_>,
        at: u64,
        empty: bool,
        sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    ) -> Result<(), Fault> {
        let local = e.local_name();
        let name = local.as_ref();
        let parent = self.stack.last().map(|frame| frame.kind);
        let kind = match (parent, name) {
            (None | Some(Kind::Root), b"testsuites") => Kind::Root,
            (None | Some(Kind::Root | Kind::Suite), b"testsuite") => Kind::Suite,
            (None, _) if !self.root_seen => {
                return Err(Fault::NotJunit(
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                ));
            }
            (None | Some(Kind::Root | Kind::Suite), b"testcase") => Kind::Case,
            (Some(Kind::Case), b"failure" | b"error") => Kind::Primary,
            // Ant's junitlauncher writes a failed JUnit 5 assumption as `<aborted>`.
            (Some(Kind::Case), b"skipped" | b"aborted") => Kind::Skipped,
            (
                Some(Kind::Case),
                b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError",
            ) => Kind::Retry,
            (Some(Kind::Case | Kind::Retry), b"system-out" | b"system-err") => Kind::Stream,
            (Some(Kind::Retry), b"stackTrace") => Kind::Stack,
            (Some(Kind::Case), b"properties") => Kind::CaseProperties,
            (Some(Kind::Case | Kind::CaseProperties), b"property") => Kind::CaseProperty,
            _ => Kind::Other,
        };
        self.root_seen = true;
        match kind {
            Kind::Root => self.open_root(e, at)?,
            Kind::Suite => self.open_suite(e, at)?,
            Kind::Case => self.open_case(e, at)?,
            Kind::Primary | Kind::Skipped | Kind::Retry => self.open_mark(kind, name, e, at)?,
            Kind::CaseProperty => self.open_property(e, at)?,
            Kind::Stack | Kind::Stream => self.piece_fresh = true,
            Kind::CaseProperties | Kind::Other => {}
        }
        self.names.extend_from_slice(e.name().as_ref());
        self.stack.push(Frame {
            kind,
            name_end: self.names.len(),
        });
        self.deepest = self.deepest.max(self.stack.len());
        if empty {
            self.close(sink)?;
        }
        Ok(())
    }

    fn open_root(&mut self, e: &BytesStart<'_>, at: u64) -> Result<(), Fault> {
        let mut started = None;
        for attribute in attributes(e) {
            let (key, value) = attribute.map_err(|fault| fault.at(at))?;
            let text = || value.text().map_err(|fault| fault.at(at));
            match key {
                b"timestamp" if self.root_timestamp.is_none() => {
                    self.root_timestamp = normalise_timestamp(&text()?);
                    started = self
                        .root_timestamp
                        .as_deref()
                        .and_then(crate::timestamp_millis);
                }
                b"time" if self.root_time.is_none() => {
                    self.root_time = parse_duration(&text()?).filter(|t| *t >= 0.0);
                }
                b"name" if text()? == "pytest tests" => self.pytest = true,
                _ => {}
            }
        }
        self.summary.wall.add_suite(started, self.root_time);
        Ok(())
    }

    fn open_suite(&mut self, e: &BytesStart<'_>, at: u64) -> Result<(), Fault> {
        self.summary.suites += 1;
        let before = self.suite_path.len();
        let mut file = None;
        let mut named = false;
        let (mut started, mut took) = (None, None);
        for attribute in attributes(e) {
            let (key, raw) = attribute.map_err(|fault| fault.at(at))?;
            if !matches!(
                key,
                b"name" | b"file" | b"filepath" | b"timestamp" | b"hostname" | b"time"
            ) {
                continue;
            }
            let value = raw.text().map_err(|fault| fault.at(at))?;
            match key {
                b"name" => {
                    self.pytest |= value == "pytest";
                    if !self.suite_path.is_empty() {
                        self.suite_path.push('/');
                    }
                    self.suite_path.push_str(&value);
                    named = true;
                }
                b"file" | b"filepath" => file = Some(value.into_owned()),
                b"timestamp" => {
                    let normalised = normalise_timestamp(&value);
                    started = normalised.as_deref().and_then(crate::timestamp_millis);
                    if self.summary.timestamp.is_none() {
                        self.summary.timestamp = normalised;
                    }
                }
                b"time" => took = parse_duration(&value).filter(|t| *t >= 0.0),
                b"hostname" if self.summary.hostname.is_none() && !value.trim().is_empty() => {
                    self.summary.hostname = Some(value.trim().to_owned());
                }
                _ => {}
            }
        }
        if !named && !self.suite_path.is_empty() {
            // An unnamed nested suite adds an empty component so that paths stay aligned.
            self.suite_path.push('/');
        }
        self.summary.wall.add_suite(started, took);
        if self.suites.is_empty()
            && let Some(took) = took
        {
            *self.top_suites_time.get_or_insert(0.0) += took;
        }
        let file = file.or_else(|| self.suites.last().and_then(|(_, file)| file.clone()));
        self.suites.push((before, file));
        Ok(())
    }

    fn open_case(&mut self, e: &BytesStart<'_>, at: u64) -> Result<(), Fault> {
        self.summary.testcases += 1;
        let mut case = Case::default();
        let mut class = None;
        for attribute in attributes(e) {
            let (key, value) = attribute.map_err(|fault| fault.at(at))?;
            let text = || value.text().map_err(|fault| fault.at(at));
            match key {
                b"name" => case.name = text()?.into_owned(),
                b"classname" => case.classname = text()?.into_owned(),
                b"class" => class = Some(text()?.into_owned()),
                b"time" => case.time = value.duration().map_err(|fault| fault.at(at))?,
                b"file" | b"filepath" => case.file = Some(text()?.into_owned()),
                b"line" | b"lineno" => case.line = text()?.trim().parse().ok(),
                // gtest and CTest: `notrun`; CTest: `disabled`.
                b"status" => {
                    let status = text()?;
                    case.not_run |= status.eq_ignore_ascii_case("notrun")
                        || status.eq_ignore_ascii_case("disabled");
                }
                b"result" => {
                    let result = text()?;
                    case.not_run |= result.eq_ignore_ascii_case("skipped")
                        || result.eq_ignore_ascii_case("suppressed");
                }
                _ => {}
            }
        }
        if case.classname.is_empty()
            && let Some(class) = class
        {
            case.classname = class;
        }
        if case.file.is_none() {
            case.file = self.suites.last().and_then(|(_, file)| file.clone());
        }
        self.case = Some(case);
        Ok(())
    }

    fn open_mark(
        &mut self,
        kind: Kind,
        name: &[u8],
        e: &BytesStart<'_>,
        at: u64,
    ) -> Result<(), Fault> {
        let outcome = match name {
            b"failure" | b"flakyFailure" | b"rerunFailure" => AttemptOutcome::Failed,
            b"skipped" | b"aborted" => AttemptOutcome::Skipped,
            _ => AttemptOutcome::Error,
        };
        let mut mark = Mark {
            outcome,
            message: None,
            failure_type: None,
            duration_s: None,
        };
        for attribute in attributes(e) {
            let (key, value) = attribute.map_err(|fault| fault.at(at))?;
            let text = || value.text().map_err(|fault| fault.at(at));
            match key {
                b"message" => {
                    mark.message = Some(text()?.into_owned()).filter(|m| !m.trim().is_empty());
                }
                b"type" => {
                    mark.failure_type = Some(text()?.into_owned()).filter(|t| !t.trim().is_empty());
                }
                b"time" => mark.duration_s = value.duration().map_err(|fault| fault.at(at))?,
                _ => {}
            }
        }
        let Some(case) = self.case.as_mut() else {
            return Ok(());
        };
        let wants_message = mark.message.is_none();
        let slot = match kind {
            Kind::Primary => {
                case.primaries.push(mark);
                MarkSlot::Primary(case.primaries.len() - 1)
            }
            Kind::Skipped => {
                case.skipped = Some(mark);
                MarkSlot::Skipped
            }
            _ => {
                case.retries.push(mark);
                MarkSlot::Retry(case.retries.len() - 1)
            }
        };
        self.capture = wants_message.then_some(slot);
        self.capture_text.clear();
        self.piece_fresh = true;
        Ok(())
    }

    fn open_property(&mut self, e: &BytesStart<'_>, at: u64) -> Result<(), Fault> {
        let mut name = String::new();
        let mut value = None;
        for attribute in attributes(e) {
            let (key, raw) = attribute.map_err(|fault| fault.at(at))?;
            let text = || raw.text().map_err(|fault| fault.at(at));
            match key {
                b"name" => name = text()?.into_owned(),
                b"value" => value = Some(text()?.into_owned()),
                _ => {}
            }
        }
        if let Some(case) = self.case.as_mut() {
            case.property_text = value.is_none();
            case.properties.push(Property {
                name,
                value: value.unwrap_or_default(),
            });
        }
        Ok(())
    }

    fn text(&mut self, bytes: &[u8]) {
        let Some(kind) = self.stack.last().map(|frame| frame.kind) else {
            return;
        };
        if !kind.holds_output() && kind != Kind::CaseProperty {
            return;
        }
        let Some(case) = self.case.as_mut() else {
            return;
        };
        let text = as_str(bytes);
        if kind == Kind::CaseProperty {
            if case.property_text
                && let Some(property) = case.properties.last_mut()
            {
                let mut ignored = 0;
                push_bounded(&mut property.value, &mut ignored, self.max_output, text);
            }
            return;
        }
        if self.piece_fresh {
            if text.bytes().all(|b| b.is_ascii_whitespace()) {
                return;
            }
            self.piece_fresh = false;
            if !case.output.is_empty() {
                if case.output.len() + 1 < self.max_output {
                    case.output.push('\n');
                } else {
                    // No room for a separator and anything after it.
                    case.output_full = true;
                    case.dropped += 1;
                }
            }
        }
        if case.output_full {
            case.dropped += text.len() as u64;
        } else {
            push_bounded(&mut case.output, &mut case.dropped, self.max_output, text);
        }
        if self.capture.is_some()
            && matches!(
                kind,
                Kind::Primary | Kind::Skipped | Kind::Retry | Kind::Stack
            )
        {
            let mut ignored = 0;
            push_bounded(&mut self.capture_text, &mut ignored, MAX_BODY_MESSAGE, text);
        }
    }

    fn close(
        &mut self,
        sink: &mut dyn FnMut(TestResult) -> Result<(), SinkError>,
    ) -> Result<(), Fault> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let begin = self.stack.last().map_or(0, |below| below.name_end);
        self.names.truncate(begin);
        match frame.kind {
            Kind::Suite => {
                self.flush(sink)?;
                if let Some((before, _)) = self.suites.pop() {
                    self.suite_path.truncate(before);
                }
            }
            Kind::Case => {
                if let Some(case) = self.case.take() {
                    let result = finish(case, &self.suite_path);
                    self.emit(result, sink)?;
                }
            }
            Kind::Primary | Kind::Skipped | Kind::Retry => self.close_mark(),
            Kind::CaseProperty => {
                if let Some(case) = self.case.as_mut() {
                    case.property_text = false;
                }
            }
            _ => {}
        }
        if frame.kind.holds_output() {
            self.piece_fresh = true;
        }
        if frame.kind == Kind::Root && self.summary.timestamp.is_none() {
            self.summary.timestamp.clone_from(&self.root_timestamp);
        }
        Ok(())
    }

    fn close_mark(&mut self) {
        let Some(slot) = self.capture.take() else {
            return;
        };
        let Some(case) = self.case.as_mut() else {
            return;
        };
        let message = self
            .capture_text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(ToOwned::to_owned);
        let mark = match slot {
            MarkSlot::Primary(index) => case.primaries.get_mut(index),
            MarkSlot::Skipped => case.skipped.as_mut(),
            MarkSlot::Retry(index) => case.retries.get_mut(index),
        };
        if let Some(mark) = mark {
            mark.message = message;
        }
        self.capture_text.clear();
    }
}

/// Turns a closed testcase into its result.
fn finish(case: Case, suite_path: &str) -> TestResult {
    let key = TestKey {
        suite: suite_path.to_owned(),
        classname: case.classname,
        name: case.name,
    };
    let has_error = case
        .primaries
        .iter()
        .any(|mark| mark.outcome == AttemptOutcome::Error);
    let outcome = if has_error {
        Outcome::Error
    } else if !case.primaries.is_empty() {
        Outcome::Failed
    } else if case.skipped.is_some() || case.not_run {
        Outcome::Skipped
    } else if !case.retries.is_empty() {
        Outcome::Flaky
    } else {
        Outcome::Passed
    };
    let mut result = TestResult::new(key, outcome);
    result.duration_s = case.time;
    result.file = case.file;
    result.line = case.line;
    result.properties = case.properties;
    result.output_dropped_bytes = case.dropped;
    result.output = (!case.output.is_empty()).then_some(case.output);

    let mut attempts = Vec::with_capacity(1 + case.retries.len());
    match outcome {
        Outcome::Error | Outcome::Failed => {
            // The deciding mark: the first error when there is one, else the first failure.
            let wanted = if has_error {
                AttemptOutcome::Error
            } else {
                AttemptOutcome::Failed
            };
            let decisive = case
                .primaries
                .iter()
                .find(|mark| mark.outcome == wanted)
                .expect("a primary mark of the deciding kind");
            result.message.clone_from(&decisive.message);
            result.failure_type.clone_from(&decisive.failure_type);
            let messages: Vec<&str> = case
                .primaries
                .iter()
                .filter_map(|mark| mark.message.as_deref())
                .collect();
            attempts.push(Attempt {
                outcome: Some(wanted),
                duration_s: case.time,
                message: (!messages.is_empty()).then(|| messages.join("\n")),
                failure_type: decisive.failure_type.clone(),
            });
            attempts.extend(case.retries.into_iter().map(attempt));
        }
        Outcome::Flaky => {
            if let Some(first) = case.retries.first() {
                result.message.clone_from(&first.message);
                result.failure_type.clone_from(&first.failure_type);
            }
            attempts.extend(case.retries.into_iter().map(attempt));
            attempts.push(Attempt {
                outcome: Some(AttemptOutcome::Passed),
                duration_s: case.time,
                message: None,
                failure_type: None,
            });
        }
        Outcome::Skipped => {
            let (message, failure_type) = case
                .skipped
                .map(|mark| (mark.message, mark.failure_type))
                .unwrap_or_default();
            // Playwright gives the reason of a skip as a `skip` annotation property.
            let message = message.or_else(|| {
                result
                    .properties
                    .iter()
                    .find(|property| property.name == "skip" && !property.value.trim().is_empty())
                    .map(|property| property.value.clone())
            });
            result.message.clone_from(&message);
            attempts.push(Attempt {
                outcome: Some(AttemptOutcome::Skipped),
                duration_s: case.time,
                message,
                failure_type,
            });
        }
        Outcome::Passed => attempts.push(Attempt {
            outcome: Some(AttemptOutcome::Passed),
            duration_s: case.time,
            message: None,
            failure_type: None,
        }),
    }
    result.attempts = attempts;
    result
}

fn attempt(mark: Mark) -> Attempt {
    Attempt {
        outcome: Some(mark.outcome),
        duration_s: mark.duration_s,
        message: mark.message,
        failure_type: mark.failure_type,
    }
}

/// Appends `text` to `out` while `out` stays within `limit` bytes (cut at a
/// character boundary); counts the bytes left out in `dropped`.
fn push_bounded(out: &mut String, dropped: &mut u64, limit: usize, text: &str) {
    let room = limit.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return;
    }
    let mut cut = room;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str(&text[..cut]);
    *dropped += (text.len() - cut) as u64;
}

/// Event bytes already checked to be UTF-8.
fn as_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A fault found inside an event, before its offset is known.
enum LocalFault {
    Entity(String),
    Malformed(String),
}

impl LocalFault {
    /// Places the fault at the event that starts at byte `at`.
    fn at(self, at: u64) -> Fault {
        match self {
            LocalFault::Entity(name) => Fault::Entity { offset: at, name },
            LocalFault::Malformed(message) => Fault::Malformed {
                offset: at,
                message,
            },
        }
    }
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, LocalFault> {
    let name = as_str(reference);
    if name.starts_with('#') {
        return match reference.resolve_char_ref() {
            Ok(Some(ch)) => Ok(ch),
            _ => Err(LocalFault::Malformed(format!(
                "invalid character reference &{name};"
            ))),
        };
    }
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(LocalFault::Entity(name.to_owned())),
    }
}

/// The attributes of a start tag as `(name, unescaped value)`.
///
/// A small scanner over the raw attribute bytes (name, `=`, quoted value),
/// lighter than quick-xml's general iterator; duplicates are not checked.
fn attributes<'e>(e: &'e BytesStart<'_>) -> Attributes<'e> {
    // One UTF-8 check for the whole tag; values are then slices of it.
    Attributes {
        rest: as_str(e.attributes_raw()),
    }
}

struct Attributes<'e> {
    rest: &'e str,
}

impl<'e> Attributes<'e> {
    fn fail(&mut self, message: &str) -> Result<(&'e [u8], Value<'e>), LocalFault> {
        self.rest = "";
        Err(LocalFault::Malformed(message.to_owned()))
    }
}

/// An attribute value, decoded only when it is used.
#[derive(Clone, Copy)]
struct Value<'e> {
    raw: &'e str,
    has_reference: bool,
}

impl<'e> Value<'e> {
    /// The value with references resolved.
    fn text(self) -> Result<Cow<'e, str>, LocalFault> {
        if !self.has_reference {
            return Ok(Cow::Borrowed(self.raw));
        }
        quick_xml::escape::unescape(self.raw)
            .map(|text| Cow::Owned(text.into_owned()))
            .map_err(|error| match error {
                EscapeError::UnrecognizedEntity(_, name) => LocalFault::Entity(name),
                error => LocalFault::Malformed(error.to_string()),
            })
    }

    fn duration(self) -> Result<Option<f64>, LocalFault> {
        if self.has_reference {
            return Ok(parse_duration(&self.text()?));
        }
        Ok(parse_duration_bytes(self.raw.as_bytes()))
    }
}

impl<'e> Iterator for Attributes<'e> {
    type Item = Result<(&'e [u8], Value<'e>), LocalFault>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.trim_ascii_start();
        if rest.is_empty() {
            return None;
        }
        let bytes = rest.as_bytes();
        let name_end = bytes
            .iter()
            .position(|&b| b == b'=' || b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        let key = &bytes[..name_end];
        let mut after = &rest[name_end..];
        if !after.starts_with('=') {
            after = after.trim_ascii_start();
        }
        let Some(after) = after.strip_prefix('=') else {
            return Some(self.fail("an attribute without a value"));
        };
        let after = if after.starts_with(['"', '\'']) {
            after
        } else {
            after.trim_ascii_start()
        };
        let quote = match after.as_bytes().first() {
            Some(&quote @ (b'"' | b'\'')) => quote,
            Some(_) => return Some(self.fail("an attribute value without quotes")),
            None => return Some(self.fail("an attribute without a value")),
        };
        let value = &after[1..];
        let value_bytes = value.as_bytes();
        let mut has_reference = false;
        let mut from = 0;
        let close = loop {
            match memchr::memchr2(quote, b'&', &value_bytes[from..]) {
                Some(index) if value_bytes[from + index] == quote => break from + index,
                Some(index) => {
                    has_reference = true;
                    from += index + 1;
                }
                None => return Some(self.fail("an unclosed attribute value")),
            }
        };
        // Both ends are ASCII quotes, so these are character boundaries.
        let raw = &value[..close];
        self.rest = &value[close + 1..];
        if key.is_empty() {
            return Some(self.fail("an attribute without a name"));
        }
        Some(Ok((key, Value { raw, has_reference })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_push_cuts_at_char_boundaries_and_counts_the_rest() {
        let mut out = String::new();
        let mut dropped = 0;
        push_bounded(&mut out, &mut dropped, 5, "abc");
        push_bounded(&mut out, &mut dropped, 5, "dé€");
        assert_eq!(out, "abcd");
        assert_eq!(dropped, "é€".len() as u64);
    }
}

//! `hourglass flaky`, and the reading of the history and the routing to
//! owners that `slow` and `owners` share with it.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_history::ResultFilter;
use hourglass_insight::codeowners::{self, Codeowners};
use hourglass_insight::quarantine::{self, Quarantine};
use hourglass_insight::{
    FileIndex, FlakyAnalyzer, FlakySettings, Located, Observation, Ownership, Run, SeriesGrouper,
    SlowAnalyzer, SlowReport, SlowSettings, TestLocator, TestSeries, TestVerdict, Verdict,
};
use hourglass_model::TestKey;
use serde::Serialize;

use super::{CliResult, Context, Failure, Status, stdout, write_json};

/// Which runs to analyze: shared by `flaky`, `slow` and `owners`.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// The history: a SQLite file, or a postgres:// URL [default: .hourglass/history.db at the repository root].
    #[arg(long, env = "HOURGLASS_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Only runs at or after this date (YYYY-MM-DD) or time (RFC 3339)
    /// [default: the last `window-days` days of hourglass.toml, 30].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only the last N runs (counted after --since and --branch).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Only runs of this branch.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlakyFormat {
    /// An aligned table; a summary on stderr.
    Table,
    /// One JSON document: a list of tests.
    Json,
    /// One JSON object per test and line.
    Jsonl,
    /// A Markdown table.
    Markdown,
    /// A filterset for `cargo nextest run -E` that leaves the flaky Rust tests out.
    Nextest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Flaky,
    Broken,
}

#[derive(Debug, Args)]
pub struct FlakyArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// List healthy tests too.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = FlakyFormat::Table)]
    pub format: FlakyFormat,
    /// Rewrite .hourglass/quarantine.toml: add new flaky tests (expiring
    /// after `window-days` days), remove expired entries and fixed automatic ones.
    #[arg(long)]
    pub update_quarantine: bool,
    /// Exit with 1 when tests with this verdict exist (repeatable, or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub fail_on: Vec<FailOn>,
}

/// Every test of the window, judged and timed.
pub struct Analysis {
    pub runs: Vec<Run>,
    /// One per test, ordered by test key.
    pub verdicts: Vec<TestVerdict>,
    /// The source file the history names for each test, parallel to `verdicts`.
    pub files: Vec<Option<String>>,
    pub slow: SlowReport,
}

impl Analysis {
    /// Index of a test in `verdicts` and `files`.
    pub fn position(&self, key: &TestKey) -> Option<usize> {
        self.verdicts.binary_search_by(|v| v.key.cmp(key)).ok()
    }
}

pub fn flaky_settings(settings: &Settings) -> FlakySettings {
    FlakySettings {
        min_runs: settings.flaky.min_runs,
        fixed_after: settings.flaky.fixed_after,
        infra_failure_share: settings.flaky.infra_failure_share,
        infra_failure_min_tests: settings.flaky.infra_failure_min_tests,
        flaky_score: settings.flaky.flaky_score,
        ..FlakySettings::default()
    }
}

pub fn slow_settings(settings: &Settings) -> SlowSettings {
    SlowSettings {
        regression_factor: settings.slow.regression_factor,
        min_segment: settings.slow.min_segment,
        ..SlowSettings::default()
    }
}

/// `YYYY-MM-DD` → midnight UTC; anything else is passed on as a time.
fn since_filter(since: Option<&str>, window_days: u32) -> Result<Option<String>, Failure> {
    let Some(text) = since else {
        let start = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * i64::from(window_days),
            ))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        return Ok(Some(start.to_string()));
    };
    let text = text.trim();
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(Some(format!("{date}T00:00:00Z")));
    }
    if hourglass_history::timestamp_millis(text).is_none() {
        return Err(Failure::input(anyhow::anyhow!(
            "--since {text:?}: expected a date (YYYY-MM-DD) or an RFC 3339 time"
        )));
    }
    Ok(Some(text.to_owned()))
}

/// Reads the window from the store and analyzes every test, one at a time.
pub fn analyze(
    window: &WindowArgs,
    context: &Context,
    settings: &Settings,
) -> Result<Analysis, Failure> {
    let db = context.store_location(window.db.as_deref())?;
    if !db.exists() {
        return Err(Failure::input(anyhow::anyhow!(
            "{}: no result history here; store results with `hourglass ingest` first",
            db.display()
        )));
    }
    let store = super::export::open(&db)?;
    let since = if window.since.is_none() && window.runs.is_some() {
        None
    } else {
        since_filter(window.since.as_deref(), settings.flaky.window_days)?
    };
    let filter = ResultFilter {
        since,
        last_runs: window.runs,
        branch: window.branch.clone(),
    };
    let runs: Vec<Run> = store
        .runs(&filter)?
        .into_iter()
        .map(|summary| Run {
            run_id: summary.info.run_id,
            commit: summary.info.commit,
            branch: summary.info.branch,
            timestamp: Some(summary.info.timestamp),
            tests: summary.tests.saturating_sub(summary.skipped) as u32,
            failures: (summary.failed + summary.error) as u32,
        })
        .collect();
    let flaky = FlakyAnalyzer::new(flaky_settings(settings), &runs);
    let slow = SlowAnalyzer::new(slow_settings(settings), &runs)
        .excluding(flaky.infrastructure_failures());
    let mut verdicts = Vec::new();
    let mut files = Vec::new();
    let mut timings = Vec::new();
    let mut consume = |series: TestSeries| {
        verdicts.push(flaky.analyze(&series.key, &series.observations));
        timings.extend(slow.analyze(&series.key, &series.observations));
        files.push(series.file);
    };
    let mut grouper = SeriesGrouper::new();
    store.for_each_result(&filter, &mut |row| {
        let observation = Observation::new(row.run_index as usize, row.outcome, row.duration_s);
        if let Some(done) = grouper.push(row.key, observation, row.file) {
            consume(done);
        }
        Ok(())
    })?;
    if let Some(last) = grouper.finish() {
        consume(last);
    }
    // The store orders by key; sort anyway so that lookups by key hold.
    let mut order: Vec<usize> = (0..verdicts.len()).collect();
    order.sort_by(|&a, &b| verdicts[a].key.cmp(&verdicts[b].key));
    let sorted = order.windows(2).all(|w| w[0] < w[1]);
    if !sorted {
        let mut paired: Vec<(TestVerdict, Option<String>)> =
            verdicts.into_iter().zip(files).collect();
        paired.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        (verdicts, files) = paired.into_iter().unzip();
    }
    Ok(Analysis {
        runs,
        verdicts,
        files,
        slow: SlowReport::new(timings),
    })
}

/// CODEOWNERS, `hourglass.toml` overrides, the repository's files and the
/// Rust test map: everything needed to route a test to its owners.
pub struct Routing {
    codeowners: Codeowners,
    files: FileIndex,
    rust: Vec<((String, String), String)>,
    /// Where CODEOWNERS was read from, if anywhere.
    pub source: Option<&'static str>,
}

impl Routing {
    /// Reads what routing needs from the repository at `root`. Problems in
    /// CODEOWNERS are reported on stderr and do not stop the command.
    pub fn load(root: &Path, settings: &Settings, keys: &[&TestKey]) -> Routing {
        let source = codeowners::locate(|path| root.join(path).is_file());
        let text = source
            .and_then(|path| std::fs::read_to_string(root.join(path)).ok())
            .unwrap_or_default();
        let (parsed, errors) = Codeowners::parse(&text);
        let (codeowners, override_errors) = parsed.with_overrides(&settings.owners);
        let mut stderr = std::io::stderr().lock();
        for error in &errors {
            let _ = writeln!(
                stderr,
                "warning: {}:{error}",
                source.unwrap_or("CODEOWNERS")
            );
        }
        for error in &override_errors {
            let _ = writeln!(stderr, "warning: hourglass.toml [owners]: {error}");
        }
        let files = FileIndex::new(repository_files(root));
        let rust = if root.join("Cargo.toml").is_file()
            && keys.iter().any(|key| looks_like_nextest(key))
        {
            rust_test_files(root)
        } else {
            Vec::new()
        };
        Routing {
            codeowners,
            files,
            rust,
            source,
        }
    }

    pub fn locator(&self) -> TestLocator<'_> {
        TestLocator::new(&self.files, &self.rust)
    }

    /// The file of a test and its owners (unowned when the file is unknown).
    pub fn route(
        &self,
        locator: &TestLocator<'_>,
        key: &TestKey,
        file: Option<&str>,
    ) -> (Located, Ownership) {
        let located = locator.locate(key, file);
        let ownership = located
            .path()
            .map(|path| self.codeowners.owners_of(path))
            .unwrap_or_default();
        (located, ownership)
    }
}

/// `git ls-files`, else a walk that skips `.git`, `target` and `node_modules`.
fn repository_files(root: &Path) -> Vec<String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    if let Ok(output) = output
        && output.status.success()
    {
        return output
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if matches!(name.to_str(), Some(".git" | "target" | "node_modules")) {
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(path),
                Ok(kind) if kind.is_file() => {
                    if let Ok(relative) = path.strip_prefix(root) {
                        files.push(relative.to_string_lossy().replace('\\', "/"));
                    }
                }
                _ => {}
            }
        }
    }
    files
}

/// `(binary id, test name)` → source file, from the test graph.
fn rust_test_files(root: &Path) -> Vec<((String, String), String)> {
    let options = hourglass_graph::BuildOptions {
        cache_dir: Some(root.join(".hourglass").join("cache").join("graph")),
    };
    match hourglass_graph::Graph::build(root, &options) {
        Ok(graph) => graph
            .tests()
            .iter()
            .map(|test| {
                (
                    (test.id.binary_id.clone(), test.id.name.clone()),
                    test.file.clone(),
                )
            })
            .collect(),
        Err(error) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: the test graph could not be built, Rust tests are routed by name only: {error}"
            );
            Vec::new()
        }
    }
}

/// A Rust test as nextest's JUnit names it: the classname is a binary id
/// (`pkg`, `pkg::target`, `pkg::bin/name`), which never holds a dot.
pub fn looks_like_nextest(key: &TestKey) -> bool {
    let binary = key.classname.as_str();
    let package = binary.split("::").next().unwrap_or("");
    !binary.is_empty()
        && !binary.contains('.')
        && !binary.contains(char::is_whitespace)
        && !package.is_empty()
        && package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.name.is_empty()
}

/// Short form of a commit id for tables.
pub fn short(commit: Option<&str>) -> String {
    commit.map_or_else(|| "?".to_owned(), |c| c.chars().take(10).collect())
}

/// `classname name`, or `suite name` when the classname is empty.
pub fn test_label(key: &TestKey) -> String {
    if key.classname.is_empty() {
        format!("{} {}", key.suite, key.name)
    } else {
        format!("{} {}", key.classname, key.name)
    }
}

/// A one-line explanation of a verdict.
pub fn detail(verdict: &TestVerdict) -> String {
    match (&verdict.breakage, verdict.verdict) {
        (Some(breakage), Verdict::Broken) => {
            let mut text = format!(
                "since {} (run {})",
                short(breakage.first_failing.commit.as_deref()),
                breakage.first_failing.run_id
            );
            match &breakage.last_passing {
                Some(pass) => {
                    let _ = write!(
                        text,
                        "; last pass {} (run {})",
                        short(pass.commit.as_deref()),
                        pass.run_id
                    );
                }
                None => text.push_str(", since before the window"),
            }
            text
        }
        _ => verdict
            .evidence
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[derive(Serialize)]
struct FlakyRecord<'a> {
    suite: &'a str,
    classname: &'a str,
    name: &'a str,
    verdict: Verdict,
    score: f64,
    confidence: f64,
    runs: u32,
    failures: u32,
    retried: u32,
    evidence: Vec<serde_json::Value>,
    owners: &'a [String],
    file: Option<&'a str>,
    since_commit: Option<&'a str>,
    since_run: Option<&'a str>,
    since_before_window: bool,
    last_passing_commit: Option<&'a str>,
    last_passing_run: Option<&'a str>,
    first_flaky_run: Option<&'a str>,
    first_flaky_timestamp: Option<&'a str>,
    last_failure_run: Option<&'a str>,
}

/// Four decimals are plenty for scores.
pub fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

pub fn evidence_json(verdict: &TestVerdict) -> Vec<serde_json::Value> {
    verdict
        .evidence
        .iter()
        .map(|evidence| {
            let mut value = serde_json::to_value(evidence).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(map) = &mut value {
                map.insert(
                    "text".into(),
                    serde_json::Value::String(evidence.to_string()),
                );
            }
            value
        })
        .collect()
}

fn record<'a>(
    verdict: &'a TestVerdict,
    owners: &'a [String],
    file: Option<&'a str>,
) -> FlakyRecord<'a> {
    let breakage = verdict.breakage.as_ref();
    let last_passing = breakage.and_then(|b| b.last_passing.as_ref());
    FlakyRecord {
        suite: &verdict.key.suite,
        classname: &verdict.key.classname,
        name: &verdict.key.name,
        verdict: verdict.verdict,
        score: round4(verdict.score),
        confidence: round4(verdict.confidence),
        runs: verdict.runs,
        failures: verdict.failures,
        retried: verdict.retried,
        evidence: evidence_json(verdict),
        owners,
        file,
        since_commit: verdict.since_commit(),
        since_run: breakage.map(|b| b.first_failing.run_id.as_str()),
        since_before_window: breakage.is_some_and(hourglass_insight::Breakage::since_before_window),
        last_passing_commit: verdict.last_passing_commit(),
        last_passing_run: last_passing.map(|r| r.run_id.as_str()),
        first_flaky_run: verdict.first_flaky.as_ref().map(|r| r.run_id.as_str()),
        first_flaky_timestamp: verdict
            .first_flaky
            .as_ref()
            .and_then(|r| r.timestamp.as_deref()),
        last_failure_run: verdict.last_failure.as_ref().map(|r| r.run_id.as_str()),
    }
}

/// `not (binary_id(=a) & test(=x) | ...)`, or `all()` when nothing is flaky.
fn nextest_filter(verdicts: &[&TestVerdict]) -> String {
    let terms: Vec<String> = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Flaky && looks_like_nextest(&v.key))
        .map(|v| {
            format!(
                "binary_id(={}) & test(={})",
                escape_filter(&v.key.classname),
                escape_filter(&v.key.name)
            )
        })
        .collect();
    if terms.is_empty() {
        "all()".to_owned()
    } else {
        format!("not ({})", terms.join(" | "))
    }
}

/// Escapes the characters that end a matcher in a nextest filterset.
fn escape_filter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '(' | ')' | ',' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes `rows` as an aligned table under `header`.
pub fn write_table(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut header.iter().copied()))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

/// A Markdown table cell: pipes escaped, newlines flattened.
pub fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn run(args: FlakyArgs, context: &Context) -> CliResult {
    let FlakyArgs {
        window,
        all,
        format,
        update_quarantine,
        fail_on,
    } = args;
    let root = context.repo_root();
    let settings = Settings::load(&root)?;
    let analysis = analyze(&window, context, &settings)?;
    let mut shown: Vec<&TestVerdict> = analysis
        .verdicts
        .iter()
        .filter(|v| all || v.verdict != Verdict::Healthy)
        .collect();
    shown.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.key.cmp(&b.key))
    });

    let needs_owners = update_quarantine || format != FlakyFormat::Nextest;
    let routing = needs_owners.then(|| {
        let keys: Vec<&TestKey> = shown.iter().map(|v| &v.key).collect();
        Routing::load(&root, &settings, &keys)
    });
    let locator = routing.as_ref().map(Routing::locator);
    let owners_of = |verdict: &TestVerdict| -> (Vec<String>, Option<String>) {
        let (Some(routing), Some(locator)) = (&routing, &locator) else {
            return (Vec::new(), None);
        };
        let file = analysis
            .position(&verdict.key)
            .and_then(|i| analysis.files[i].as_deref());
        let (located, ownership) = routing.route(locator, &verdict.key, file);
        (ownership.owners, located.path().map(str::to_owned))
    };
    let routed: Vec<(Vec<String>, Option<String>)> = if needs_owners {
        shown.iter().map(|v| owners_of(v)).collect()
    } else {
        vec![(Vec::new(), None); shown.len()]
    };

    if update_quarantine {
        let path = root.join(quarantine::PATH);
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => {
                Quarantine::parse(&text).with_context(|| format!("reading {}", path.display()))?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Quarantine::default(),
            Err(error) => {
                return Err(Failure::input(
                    anyhow::Error::new(error).context(format!("reading {}", path.display())),
                ));
            }
        };
        let today = jiff::Zoned::now().date();
        let (merged, changes) = existing.merge(
            &analysis.verdicts,
            |key| {
                let verdict = &analysis.verdicts[analysis.position(key)?];
                owners_of(verdict).0.into_iter().next()
            },
            today,
            settings.flaky.window_days,
        );
        write_atomically(&path, merged.to_toml().as_bytes())?;
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}: {} added, {} removed, {} listed",
            quarantine::PATH,
            changes.added.len(),
            changes.removed.len(),
            merged.entries.len()
        );
    }

    let mut out = stdout();
    match format {
        FlakyFormat::Json => {
            let records: Vec<FlakyRecord<'_>> = shown
                .iter()
                .zip(&routed)
                .map(|(v, (owners, file))| record(v, owners, file.as_deref()))
                .collect();
            write_json(&mut out, &records)?;
        }
        FlakyFormat::Jsonl => {
            for (v, (owners, file)) in shown.iter().zip(&routed) {
                serde_json::to_writer(&mut out, &record(v, owners, file.as_deref()))?;
                writeln!(out)?;
            }
        }
        FlakyFormat::Nextest => writeln!(out, "{}", nextest_filter(&shown))?,
        FlakyFormat::Table => {
            let rows: Vec<Vec<String>> = shown
                .iter()
                .zip(&routed)
                .map(|(v, (owners, _))| {
                    vec![
                        v.verdict.to_string(),
                        format!("{:.2}", v.score),
                        format!("{:.2}", v.confidence),
                        v.runs.to_string(),
                        test_label(&v.key),
                        if owners.is_empty() {
                            "(unowned)".to_owned()
                        } else {
                            owners.join(" ")
                        },
                        detail(v),
                    ]
                })
                .collect();
            if rows.is_empty() {
                writeln!(out, "no flaky, broken or fixed tests")?;
            } else {
                write_table(
                    &mut out,
                    &[
                        "VERDICT", "SCORE", "CONF", "RUNS", "TEST", "OWNERS", "DETAIL",
                    ],
                    &rows,
                )?;
            }
        }
        FlakyFormat::Markdown => {
            writeln!(
                out,
                "| Verdict | Score | Confidence | Runs | Test | Owners | Detail |"
            )?;
            writeln!(out, "|---|---:|---:|---:|---|---|---|")?;
            for (v, (owners, _)) in shown.iter().zip(&routed) {
                writeln!(
                    out,
                    "| {} | {:.2} | {:.2} | {} | `{}` | {} | {} |",
                    v.verdict,
                    v.score,
                    v.confidence,
                    v.runs,
                    md(&test_label(&v.key)),
                    if owners.is_empty() {
                        "(unowned)".to_owned()
                    } else {
                        md(&owners.join(" "))
                    },
                    md(&detail(v))
                )?;
            }
        }
    }
    out.flush()?;
    drop(out);

    let count = |verdict: Verdict| {
        analysis
            .verdicts
            .iter()
            .filter(|v| v.verdict == verdict)
            .count()
    };
    if format == FlakyFormat::Table {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} runs, {} tests: {} flaky, {} broken, {} fixed",
            analysis.runs.len(),
            analysis.verdicts.len(),
            count(Verdict::Flaky),
            count(Verdict::Broken),
            count(Verdict::Fixed)
        );
    }
    let failing = fail_on.iter().any(|fail_on| match fail_on {
        FailOn::Flaky => count(Verdict::Flaky) > 0,
        FailOn::Broken => count(Verdict::Broken) > 0,
    });
    Ok(if failing {
        Status::Findings
    } else {
        Status::Done
    })
}

/// Writes a sibling temporary file, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("quarantine.toml");
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    if let Err(error) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(Failure::input(
            anyhow::Error::new(error).context(format!("replacing {}", path.display())),
        ));
    }
    Ok(())
}

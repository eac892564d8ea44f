//! `hourglass flaky`, and the window flags and warnings that `slow`,
//! `owners` and `report` share with it. The analysis itself is
//! `hourglass-review`'s.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_insight::quarantine::{self, Quarantine};
use hourglass_insight::{TestVerdict, Verdict};
use hourglass_model::TestKey;
use hourglass_review::text::{detail, round4, test_label};
use hourglass_review::{
    self as review, Analysis, ReviewError, Routing, Window, looks_like_nextest,
};
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

impl WindowArgs {
    /// The window these flags select.
    pub fn window(&self) -> Window {
        Window {
            since: self.since.clone(),
            runs: self.runs,
            branch: self.branch.clone(),
        }
    }
}

/// Opens the store and analyzes the window the flags select.
pub fn analyze(
    window: &WindowArgs,
    context: &Context,
    settings: &Settings,
    retain: review::Retain,
) -> Result<Analysis, Failure> {
    let db = context.store_location(window.db.as_deref())?;
    let store = super::export::open_existing(&db)?;
    let filter = window
        .window()
        .filter(settings.flaky.window_days, jiff::Timestamp::now())
        .map_err(review_failure)?;
    review::analyze_with(&*store, &filter, settings, retain).map_err(review_failure)
}

/// Every analysis error is bad input; `--since` is named as the flag.
pub fn review_failure(error: ReviewError) -> Failure {
    match error {
        ReviewError::Since { text } => Failure::input(anyhow::anyhow!(
            "--since {text:?}: expected a date (YYYY-MM-DD) or an RFC 3339 time"
        )),
        other => Failure::input(other),
    }
}

/// Loads the routing of the repository at `root`; what it could not read
/// goes to stderr as warnings.
pub fn load_routing(root: &Path, settings: &Settings, keys: &[&TestKey]) -> Routing {
    let routing = Routing::load(root, settings, keys);
    let mut stderr = std::io::stderr().lock();
    for warning in &routing.warnings {
        let _ = writeln!(stderr, "warning: {warning}");
    }
    routing
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
    // Healthy verdicts are only kept when they are shown or the quarantine
    // list needs them; timings are not used here.
    let retain = review::Retain {
        healthy: all || update_quarantine,
        slowest: Some(0),
        timings: false,
    };
    let analysis = analyze(&window, context, &settings, retain)?;
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
        load_routing(&root, &settings, &keys)
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
            analysis.tests,
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

//! `hourglass owners`.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, ValueEnum};
use hourglass_config::Settings;
use hourglass_insight::{TestTiming, TestVerdict, Verdict};
use hourglass_model::TestKey;
use serde::Serialize;

use hourglass_review::text::{detail, round4, short, test_label};

use super::flaky::{WindowArgs, analyze, evidence_json, load_routing, md};
use super::slow::{TimingRecord, regression_text, timing_record};
use super::{CliResult, Context, Status, stdout, write_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OwnersFormat {
    /// A digest ready to paste into an issue or a chat.
    Markdown,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
pub struct OwnersArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only this owner's digest (`@team` or `team`).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    #[arg(long, value_enum, default_value_t = OwnersFormat::Markdown)]
    pub format: OwnersFormat,
    /// Slowest tests listed per owner.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub top: usize,
}

#[derive(Serialize)]
struct FlakyItem<'a> {
    suite: &'a str,
    classname: &'a str,
    name: &'a str,
    file: Option<String>,
    score: f64,
    confidence: f64,
    evidence: Vec<serde_json::Value>,
    since_run: Option<&'a str>,
    since_timestamp: Option<&'a str>,
    #[serde(skip)]
    verdict: &'a TestVerdict,
}

#[derive(Serialize)]
struct BrokenItem<'a> {
    suite: &'a str,
    classname: &'a str,
    name: &'a str,
    file: Option<String>,
    since_commit: Option<&'a str>,
    since_run: Option<&'a str>,
    since_timestamp: Option<&'a str>,
    since_before_window: bool,
    last_passing_commit: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Digest<'a> {
    /// `None` for the unowned tests.
    owner: Option<String>,
    flaky: Vec<FlakyItem<'a>>,
    broken: Vec<BrokenItem<'a>>,
    slowest: Vec<TimingRecord<'a>>,
    regressions: Vec<TimingRecord<'a>>,
    /// Seconds of test time of the owner's tests in the window.
    total_s: f64,
    #[serde(skip)]
    timings: Vec<&'a TestTiming>,
}

#[derive(Serialize)]
struct OwnersDocument<'a> {
    runs: usize,
    codeowners: Option<&'static str>,
    owners: Vec<Digest<'a>>,
    unowned: Option<Digest<'a>>,
}

/// The digests a test with `owners` goes into: each owner's, or the unowned one.
fn digests_for<'m, 'a>(
    digests: &'m mut BTreeMap<String, Digest<'a>>,
    unowned: &'m mut Digest<'a>,
    owners: &[String],
) -> Vec<&'m mut Digest<'a>> {
    if owners.is_empty() {
        return vec![unowned];
    }
    for owner in owners {
        digests.entry(owner.clone()).or_insert_with(|| Digest {
            owner: Some(owner.clone()),
            ..Digest::default()
        });
    }
    digests
        .iter_mut()
        .filter(|(owner, _)| owners.contains(owner))
        .map(|(_, digest)| digest)
        .collect()
}

fn same_owner(a: &str, b: &str) -> bool {
    a.trim_start_matches('@')
        .eq_ignore_ascii_case(b.trim_start_matches('@'))
}

pub fn run(args: OwnersArgs, context: &Context) -> CliResult {
    let OwnersArgs {
        window,
        owner: wanted,
        format,
        top,
    } = args;
    let root = context.repo_root();
    let settings = Settings::load(&root)?;
    let analysis = analyze(&window, context, &settings, hourglass_review::Retain::ALL)?;
    let keys: Vec<&TestKey> = analysis.verdicts.iter().map(|v| &v.key).collect();
    let routing = load_routing(&root, &settings, &keys);
    let locator = routing.locator();

    // Route each test once.
    let routes: Vec<(Vec<String>, Option<String>)> = analysis
        .verdicts
        .iter()
        .zip(&analysis.files)
        .map(|(verdict, file)| {
            let (located, ownership) = routing.route(&locator, &verdict.key, file.as_deref());
            (ownership.owners, located.path().map(str::to_owned))
        })
        .collect();

    let mut digests: BTreeMap<String, Digest<'_>> = BTreeMap::new();
    let mut unowned = Digest::default();
    for (index, verdict) in analysis.verdicts.iter().enumerate() {
        let (owners, file) = &routes[index];
        match verdict.verdict {
            Verdict::Flaky => {
                for digest in digests_for(&mut digests, &mut unowned, owners) {
                    digest.flaky.push(FlakyItem {
                        suite: &verdict.key.suite,
                        classname: &verdict.key.classname,
                        name: &verdict.key.name,
                        file: file.clone(),
                        score: round4(verdict.score),
                        confidence: round4(verdict.confidence),
                        evidence: evidence_json(verdict),
                        since_run: verdict.first_flaky.as_ref().map(|r| r.run_id.as_str()),
                        since_timestamp: verdict
                            .first_flaky
                            .as_ref()
                            .and_then(|r| r.timestamp.as_deref()),
                        verdict,
                    });
                }
            }
            Verdict::Broken => {
                let breakage = verdict.breakage.as_ref();
                for digest in digests_for(&mut digests, &mut unowned, owners) {
                    digest.broken.push(BrokenItem {
                        suite: &verdict.key.suite,
                        classname: &verdict.key.classname,
                        name: &verdict.key.name,
                        file: file.clone(),
                        since_commit: verdict.since_commit(),
                        since_run: breakage.map(|b| b.first_failing.run_id.as_str()),
                        since_timestamp: breakage
                            .and_then(|b| b.first_failing.timestamp.as_deref()),
                        since_before_window: breakage
                            .is_some_and(hourglass_insight::Breakage::since_before_window),
                        last_passing_commit: verdict.last_passing_commit(),
                    });
                }
            }
            Verdict::Fixed | Verdict::Healthy => {}
        }
    }
    // Timings are slowest first; each owner keeps its own slowest.
    for timing in &analysis.slow.tests {
        let Some(index) = analysis.position(&timing.key) else {
            continue;
        };
        for digest in digests_for(&mut digests, &mut unowned, &routes[index].0) {
            digest.total_s += timing.total_s;
            digest.timings.push(timing);
        }
    }
    let finish = |digest: &mut Digest<'_>| {
        digest
            .flaky
            .sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(b.name)));
        digest.slowest = digest
            .timings
            .iter()
            .take(top)
            .map(|t| timing_record(t))
            .collect();
        let mut regressions: Vec<&TestTiming> = digest
            .timings
            .iter()
            .copied()
            .filter(|t| t.regression.is_some())
            .collect();
        regressions.sort_by(|a, b| {
            let factor = |t: &TestTiming| t.regression.as_ref().map_or(0.0, |r| r.factor);
            factor(b).total_cmp(&factor(a))
        });
        digest.regressions = regressions.into_iter().map(timing_record).collect();
        digest.total_s = (digest.total_s * 1e3).round() / 1e3;
    };
    let mut owners: Vec<Digest<'_>> = digests
        .into_values()
        .filter(|d| {
            wanted
                .as_deref()
                .is_none_or(|wanted| d.owner.as_deref().is_some_and(|o| same_owner(o, wanted)))
        })
        .collect();
    for digest in &mut owners {
        finish(digest);
    }
    finish(&mut unowned);
    let document = OwnersDocument {
        runs: analysis.runs.len(),
        codeowners: routing.source,
        owners,
        unowned: wanted.is_none().then_some(unowned),
    };

    let mut out = stdout();
    match format {
        OwnersFormat::Json => write_json(&mut out, &document)?,
        OwnersFormat::Markdown => write_markdown(&mut out, &document, wanted.as_deref())?,
    }
    out.flush()?;
    Ok(Status::Done)
}

fn key_of(suite: &str, classname: &str, name: &str) -> String {
    test_label(&TestKey {
        suite: suite.to_owned(),
        classname: classname.to_owned(),
        name: name.to_owned(),
    })
}

fn write_markdown(
    out: &mut impl Write,
    document: &OwnersDocument<'_>,
    wanted: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out, "# Test digest by owner\n")?;
    let source = document.codeowners.map_or_else(
        || "no CODEOWNERS file found".to_owned(),
        |path| format!("owners from `{path}`"),
    );
    writeln!(out, "{} runs analyzed; {source}.", document.runs)?;
    if document.owners.is_empty() {
        match wanted {
            Some(owner) => writeln!(out, "\nNo tests owned by `{owner}` in this window.")?,
            None => writeln!(out, "\nNo owned tests in this window.")?,
        }
    }
    for digest in &document.owners {
        writeln!(
            out,
            "\n## {}\n",
            digest.owner.as_deref().unwrap_or("Unowned")
        )?;
        write_digest(out, digest)?;
    }
    if let Some(unowned) = &document.unowned
        && (!unowned.timings.is_empty() || !unowned.flaky.is_empty() || !unowned.broken.is_empty())
    {
        writeln!(out, "\n## Unowned\n")?;
        writeln!(
            out,
            "Tests whose file is unknown or matches no CODEOWNERS rule.\n"
        )?;
        write_digest(out, unowned)?;
    }
    Ok(())
}

fn write_digest(out: &mut impl Write, digest: &Digest<'_>) -> std::io::Result<()> {
    if digest.flaky.is_empty() && digest.broken.is_empty() {
        writeln!(out, "Nothing flaky or broken.\n")?;
    }
    if !digest.flaky.is_empty() {
        writeln!(out, "### Flaky ({})\n", digest.flaky.len())?;
        writeln!(out, "| Test | Score | Since | Evidence |")?;
        writeln!(out, "|---|---:|---|---|")?;
        for item in &digest.flaky {
            writeln!(
                out,
                "| `{}` | {:.2} | {} | {} |",
                md(&key_of(item.suite, item.classname, item.name)),
                item.score,
                md(item.since_timestamp.or(item.since_run).unwrap_or("?")),
                md(&detail(item.verdict))
            )?;
        }
        writeln!(out)?;
    }
    if !digest.broken.is_empty() {
        writeln!(out, "### Broken ({})\n", digest.broken.len())?;
        writeln!(
            out,
            "| Test | Since commit | Since run | Last passing commit |"
        )?;
        writeln!(out, "|---|---|---|---|")?;
        for item in &digest.broken {
            let since = if item.since_before_window {
                format!("{} (before the window)", short(item.since_commit))
            } else {
                short(item.since_commit)
            };
            writeln!(
                out,
                "| `{}` | `{}` | {} | {} |",
                md(&key_of(item.suite, item.classname, item.name)),
                since,
                md(item.since_run.unwrap_or("?")),
                item.last_passing_commit
                    .map_or_else(|| "—".to_owned(), |c| format!("`{}`", short(Some(c))))
            )?;
        }
        writeln!(out)?;
    }
    if !digest.timings.is_empty() {
        writeln!(out, "### Slowest ({:.1}s of test time)\n", digest.total_s)?;
        writeln!(out, "| Test | p50 (s) | p95 (s) | Share |")?;
        writeln!(out, "|---|---:|---:|---:|")?;
        for t in &digest.slowest {
            writeln!(
                out,
                "| `{}` | {:.3} | {:.3} | {:.1}% |",
                md(&key_of(t.suite, t.classname, t.name)),
                t.p50_s,
                t.p95_s,
                t.share * 100.0
            )?;
        }
        writeln!(out)?;
    }
    let regressions: Vec<&&TestTiming> = digest
        .timings
        .iter()
        .filter(|t| t.regression.is_some())
        .collect();
    if !regressions.is_empty() {
        writeln!(out, "### Slowed down ({})\n", regressions.len())?;
        for t in regressions {
            writeln!(
                out,
                "- `{}`: {}",
                md(&test_label(&t.key)),
                regression_text(t)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

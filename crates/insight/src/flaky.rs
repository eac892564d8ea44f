//! Flaky, broken, fixed and healthy verdicts, one test at a time.
//!
//! # How it works
//!
//! [`FlakyAnalyzer::new`] looks at the runs of the window once: it interns
//! their commits and marks *infrastructure failures* (a run of at least
//! [`FlakySettings::infra_failure_min_tests`] tests of which at least
//! [`FlakySettings::infra_failure_share`] failed). [`FlakyAnalyzer::analyze`]
//! then takes one test's observations, in run order, and returns a
//! [`TestVerdict`]. It keeps nothing between calls, so memory is bounded by
//! one test's series however many tests are scanned.
//!
//! Skipped results and every result of an infrastructure-failure run are left
//! out. What remains is a series of *pass* (passed), *fail* (failed or error)
//! and *retried* (failed, then passed on a retry in the same run: `flaky`)
//! points. Three signals of nondeterminism are read from it, each reported
//! as [`Evidence`]:
//!
//! 1. **Same commit**: a commit on which the test both failed and passed,
//!    across runs (CI re-runs) — code did not change, the result did.
//! 2. **Passed on retry**: a run in which the test failed and then passed.
//! 3. **Unexplained flips**: changes between pass and fail that no code
//!    change explains. A flip is *explained* when it starts a streak of at
//!    least two runs at a commit boundary (a breakage or a fix); it is
//!    *unexplained* when either side of it is a one-run blip inside the
//!    window, or when the commit did not change. The rate of unexplained
//!    flips per transition is exponentially decayed (each older transition
//!    weighs [`FlakySettings::decay`] times the next one), after the flip-rate
//!    ranking of "Modeling and ranking flaky tests at Apple" (ICSE-SEIP 2020).
//!
//! The **score** in \[0, 1\] combines them: `1 − (1 − s_flip)(1 − s_direct)`
//! with `s_flip = min(1, 2 × decayed flip rate)` (a test failing
//! independently with probability `p` has a flip rate near `2p(1−p)²`) and
//! `s_direct = 1 − 0.5^(conflicting commits + retried runs)`.
//!
//! The verdict, first match wins:
//!
//! - **broken**: the series ends with at least two failing runs, and that
//!   streak is unlikely under the failure rate seen before it (rate `r` of
//!   failed or retried runs before the streak, chance `r^streak` below
//!   [`FlakySettings::broken_chance`]; a test that never failed before is
//!   broken after two failing runs). The
//!   first failing run and commit and the last passing run and commit are
//!   named; with no pass in the window the test is broken *since before the
//!   window*.
//! - **fixed**: the test failed or was retried earlier in the window (with
//!   flaky evidence, or a failing streak of two runs or more), and the series
//!   ends with at least [`FlakySettings::fixed_after`] clean passes — and with
//!   enough of them that so long a clean streak would be unlikely
//!   (below [`FlakySettings::fixed_chance`]) at the earlier failure rate
//!   (failed or retried runs before the streak, the last one left out since
//!   the streak starts after it by construction). A test failing one run in
//!   ten needs about 44 clean runs to be called fixed; a broken test that
//!   failed five runs in a row, the minimum of `fixed_after`.
//! - **flaky**: the score is at least [`FlakySettings::flaky_score`], and there
//!   is direct evidence (same commit or retry) or at least
//!   [`FlakySettings::min_runs`] runs — flips alone on a short series are not
//!   enough.
//! - **healthy** otherwise.
//!
//! **Confidence** grows with the number of runs (`n / (n + min_runs)`), and
//! is raised by direct evidence; for broken and fixed verdicts it is one
//! minus the chance of the streak.
//!
//! # Window
//!
//! The window (`--since DATE`, `--runs N`, `--branch NAME`) is chosen by the
//! caller's query: the analyzer sees exactly the runs it is given.

use std::collections::HashMap;
use std::fmt;

use hourglass_model::{Outcome, TestKey};
use serde::{Deserialize, Serialize};

use crate::series::{Observation, Run, RunRef, ordered};

/// Thresholds of the verdicts. [`Default`] gives the documented defaults,
/// which match the `[flaky]` table of the embedded `hourglass.toml` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlakySettings {
    /// Runs a test needs before unexplained flips alone can call it flaky. Default 10.
    pub min_runs: u32,
    /// Fewest clean runs at the end for a flaky or broken test to be fixed. Default 10.
    pub fixed_after: u32,
    /// Share of failing tests that makes a run an infrastructure failure. Default 0.9.
    pub infra_failure_share: f64,
    /// Fewest tests in a run for the infrastructure rule to apply. Default 10.
    pub infra_failure_min_tests: u32,
    /// Score at and above which a test is flaky. Default 0.1.
    pub flaky_score: f64,
    /// Weight of a transition relative to the next newer one, in (0, 1]. Default 0.98
    /// (a half-life of about 34 runs).
    pub decay: f64,
    /// A failing streak at the end less likely than this by chance is a breakage. Default 0.005.
    pub broken_chance: f64,
    /// A clean streak at the end less likely than this by chance is a fix. Default 0.01.
    pub fixed_chance: f64,
}

impl Default for FlakySettings {
    fn default() -> Self {
        Self {
            min_runs: 10,
            fixed_after: 10,
            infra_failure_share: 0.9,
            infra_failure_min_tests: 10,
            flaky_score: 0.1,
            decay: 0.98,
            broken_chance: 0.005,
            fixed_chance: 0.01,
        }
    }
}

/// What a test is, judged on the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Flaky,
    Broken,
    Fixed,
    Healthy,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Flaky => "flaky",
            Verdict::Broken => "broken",
            Verdict::Fixed => "fixed",
            Verdict::Healthy => "healthy",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A commit on which a test both passed and failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitConflict {
    pub commit: String,
    pub passed: u32,
    pub failed: u32,
}

/// Why a verdict was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Evidence {
    /// Failed and passed on the same commit; `examples` are the newest few.
    SameCommit {
        commits: u32,
        examples: Vec<CommitConflict>,
    },
    /// Passed on a retry inside a run.
    PassedOnRetry { runs: u32, last_run: String },
    /// Flips between pass and fail that no change explains.
    Flips {
        unexplained: u32,
        flips: u32,
        transitions: u32,
        decayed_rate: f64,
    },
    /// Failing on every run at the end of the window.
    FailingStreak {
        runs: u32,
        commits: u32,
        chance: f64,
    },
    /// Passing on every run at the end of the window after earlier trouble.
    CleanStreak { runs: u32, chance: f64 },
    /// Runs left out as infrastructure failures.
    InfrastructureRuns { runs: u32 },
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::SameCommit { commits, examples } => {
                write!(f, "failed and passed on the same commit ({commits} commit")?;
                if *commits != 1 {
                    f.write_str("s")?;
                }
                if let Some(example) = examples.last() {
                    let short: String = example.commit.chars().take(10).collect();
                    write!(
                        f,
                        ", e.g. {short}: {} passed, {} failed",
                        example.passed, example.failed
                    )?;
                }
                f.write_str(")")
            }
            Evidence::PassedOnRetry { runs, last_run } => {
                write!(f, "passed on a retry in {runs} run")?;
                if *runs != 1 {
                    f.write_str("s")?;
                }
                write!(f, " (last: {last_run})")
            }
            Evidence::Flips {
                unexplained,
                flips,
                transitions,
                decayed_rate,
            } => write!(
                f,
                "{unexplained} of {flips} pass/fail flips unexplained by a change over \
                 {transitions} transitions (decayed rate {decayed_rate:.3})"
            ),
            Evidence::FailingStreak {
                runs,
                commits,
                chance,
            } => write!(
                f,
                "failing on the last {runs} runs ({commits} commit{}; chance {chance:.2e})",
                if *commits == 1 { "" } else { "s" }
            ),
            Evidence::CleanStreak { runs, chance } => {
                write!(f, "passing on the last {runs} runs (chance {chance:.2e})")
            }
            Evidence::InfrastructureRuns { runs } => {
                write!(f, "{runs} infrastructure-failure run(s) left out")
            }
        }
    }
}

/// Where a broken test started failing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakage {
    /// The first run of the failing streak.
    pub first_failing: RunRef,
    /// The last passing run before it; `None` when the test failed on every
    /// run of the window (broken since before the window).
    pub last_passing: Option<RunRef>,
    pub failing_runs: u32,
    pub failing_commits: u32,
}

impl Breakage {
    /// Broken since before the first run of the window.
    pub fn since_before_window(&self) -> bool {
        self.last_passing.is_none()
    }
}

/// The judgement on one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestVerdict {
    pub key: TestKey,
    pub verdict: Verdict,
    /// Flakiness in \[0, 1\], recent runs weighing more.
    pub score: f64,
    /// In \[0, 1\]; grows with the number of runs.
    pub confidence: f64,
    /// Runs counted (skipped and infrastructure-failure runs left out).
    pub runs: u32,
    /// Runs in which the test failed or errored.
    pub failures: u32,
    /// Runs in which it passed on a retry.
    pub retried: u32,
    pub evidence: Vec<Evidence>,
    /// For `broken`.
    pub breakage: Option<Breakage>,
    /// The first run showing flakiness (a conflict, a retry or an unexplained flip).
    pub first_flaky: Option<RunRef>,
    /// The newest run in which the test failed.
    pub last_failure: Option<RunRef>,
}

impl TestVerdict {
    /// The commit a broken test first failed on.
    pub fn since_commit(&self) -> Option<&str> {
        self.breakage.as_ref()?.first_failing.commit.as_deref()
    }

    /// The last commit a broken test passed on.
    pub fn last_passing_commit(&self) -> Option<&str> {
        self.breakage
            .as_ref()?
            .last_passing
            .as_ref()?
            .commit
            .as_deref()
    }
}

const UNKNOWN_COMMIT: u32 = u32::MAX;
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pass,
    Fail,
    Retried,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    run: usize,
    commit: u32,
    state: State,
}

impl Point {
    fn failed(self) -> bool {
        self.state == State::Fail
    }
}

/// Judges tests one at a time against the runs of a window.
#[derive(Debug, Clone)]
pub struct FlakyAnalyzer<'r> {
    settings: FlakySettings,
    runs: &'r [Run],
    commit_of_run: Vec<u32>,
    commit_names: Vec<&'r str>,
    infra: Vec<bool>,
}

impl<'r> FlakyAnalyzer<'r> {
    /// `runs` in time order, oldest first.
    pub fn new(settings: FlakySettings, runs: &'r [Run]) -> Self {
        let mut ids: HashMap<&'r str, u32> = HashMap::new();
        let mut commit_names = Vec::new();
        let commit_of_run = runs
            .iter()
            .map(|run| match run.commit.as_deref() {
                Some(commit) if !commit.is_empty() => *ids.entry(commit).or_insert_with(|| {
                    commit_names.push(commit);
                    (commit_names.len() - 1) as u32
                }),
                _ => UNKNOWN_COMMIT,
            })
            .collect();
        let infra = runs
            .iter()
            .map(|run| {
                run.tests > 0
                    && run.tests >= settings.infra_failure_min_tests
                    && f64::from(run.failures)
                        >= settings.infra_failure_share * f64::from(run.tests)
            })
            .collect();
        Self {
            settings,
            runs,
            commit_of_run,
            commit_names,
            infra,
        }
    }

    pub fn settings(&self) -> &FlakySettings {
        &self.settings
    }

    /// Whether run `index` is an infrastructure failure.
    pub fn is_infrastructure_failure(&self, index: usize) -> bool {
        self.infra.get(index).copied().unwrap_or(false)
    }

    /// Indices of the infrastructure-failure runs.
    pub fn infrastructure_failures(&self) -> impl Iterator<Item = usize> + '_ {
        self.infra
            .iter()
            .enumerate()
            .filter_map(|(index, infra)| infra.then_some(index))
    }

    fn run_ref(&self, index: usize) -> RunRef {
        RunRef::of(self.runs, index)
    }

    /// Judges one test from its observations in run order.
    pub fn analyze(&self, key: &TestKey, observations: &[Observation]) -> TestVerdict {
        let observations = ordered(observations, self.runs.len());
        let mut infra_runs = 0u32;
        let mut points = Vec::with_capacity(observations.len());
        for observation in observations.iter() {
            if self.infra[observation.run] {
                infra_runs += 1;
                continue;
            }
            let state = match observation.outcome {
                Outcome::Passed => State::Pass,
                Outcome::Failed | Outcome::Error => State::Fail,
                Outcome::Flaky => State::Retried,
                Outcome::Skipped => continue,
            };
            points.push(Point {
                run: observation.run,
                commit: self.commit_of_run[observation.run],
                state,
            });
        }
        let mut verdict = self.judge(key.clone(), &points);
        if infra_runs > 0 {
            verdict
                .evidence
                .push(Evidence::InfrastructureRuns { runs: infra_runs });
        }
        verdict
    }

    /// Judges a test that passed `passes` times outside the
    /// infrastructure-failure runs, was skipped otherwise, and had
    /// `infrastructure_results` results in those runs: exactly what
    /// [`FlakyAnalyzer::analyze`] gives for such a series, from its counts
    /// alone (a test that never failed has no commit, flip or streak to
    /// name).
    pub fn analyze_passing(
        &self,
        key: &TestKey,
        passes: u32,
        infrastructure_results: u32,
    ) -> TestVerdict {
        let points = vec![
            Point {
                run: 0,
                commit: UNKNOWN_COMMIT,
                state: State::Pass,
            };
            passes as usize
        ];
        let mut verdict = self.judge(key.clone(), &points);
        if infrastructure_results > 0 {
            verdict.evidence.push(Evidence::InfrastructureRuns {
                runs: infrastructure_results,
            });
        }
        verdict
    }

    fn judge(&self, key: TestKey, points: &[Point]) -> TestVerdict {
        let settings = &self.settings;
        let n = points.len();
        let failures = points.iter().filter(|p| p.failed()).count() as u32;
        let retried_points: Vec<&Point> = points
            .iter()
            .filter(|p| p.state == State::Retried)
            .collect();
        let retried = retried_points.len() as u32;
        let mut verdict = TestVerdict {
            key,
            verdict: Verdict::Healthy,
            score: 0.0,
            confidence: runs_confidence(n, settings.min_runs),
            runs: n as u32,
            failures,
            retried,
            evidence: Vec::new(),
            breakage: None,
            first_flaky: None,
            last_failure: points
                .iter()
                .rev()
                .find(|p| p.failed())
                .map(|p| self.run_ref(p.run)),
        };
        if n == 0 {
            return verdict;
        }
        let mut first_flaky: Option<usize> = None;
        let mut note_flaky = |run: usize| {
            first_flaky = Some(first_flaky.map_or(run, |first| first.min(run)));
        };

        // (1) Same commit, across runs.
        let mut by_commit: Vec<(u32, bool, usize)> = points
            .iter()
            .filter(|p| p.commit != UNKNOWN_COMMIT)
            .map(|p| (p.commit, p.failed(), p.run))
            .collect();
        by_commit.sort_unstable();
        let mut conflicts = 0u32;
        let mut examples: Vec<CommitConflict> = Vec::new();
        for group in by_commit.chunk_by(|a, b| a.0 == b.0) {
            let failed = group.iter().filter(|g| g.1).count() as u32;
            let passed = group.len() as u32 - failed;
            if failed > 0 && passed > 0 {
                conflicts += 1;
                note_flaky(group.iter().map(|g| g.2).min().unwrap_or(0));
                // Commit ids grow with time: the last groups are the newest.
                if examples.len() == EXAMPLES {
                    examples.remove(0);
                }
                examples.push(CommitConflict {
                    commit: self.commit_names[group[0].0 as usize].to_owned(),
                    passed,
                    failed,
                });
            }
        }
        if conflicts > 0 {
            verdict.evidence.push(Evidence::SameCommit {
                commits: conflicts,
                examples,
            });
        }

        // (2) Passed on a retry.
        if let (Some(first), Some(last)) = (retried_points.first(), retried_points.last()) {
            note_flaky(first.run);
            verdict.evidence.push(Evidence::PassedOnRetry {
                runs: retried,
                last_run: self.runs[last.run].run_id.clone(),
            });
        }

        // (3) Flips no change explains.
        let segments = segments(points);
        let mut flips = 0u32;
        let mut unexplained = 0u32;
        let mut weighted = 0.0;
        let mut weights = 0.0;
        let decay = if settings.decay > 0.0 && settings.decay <= 1.0 {
            settings.decay
        } else {
            1.0
        };
        let mut weight = 1.0;
        for i in (1..n).rev() {
            let (before, after) = (points[i - 1], points[i]);
            if before.failed() != after.failed() {
                flips += 1;
                let same_commit = before.commit != UNKNOWN_COMMIT && before.commit == after.commit;
                let blip_before = {
                    let s = segments[i - 1];
                    s.len == 1 && s.index > 0
                };
                let blip_after = {
                    let s = segments[i];
                    s.len == 1 && s.index + 1 < segments_count(&segments)
                };
                if same_commit || blip_before || blip_after {
                    unexplained += 1;
                    weighted += weight;
                    note_flaky(if blip_before { before.run } else { after.run });
                }
            }
            weights += weight;
            weight *= decay;
        }
        let decayed_rate = if weights > 0.0 {
            weighted / weights
        } else {
            0.0
        };
        if unexplained > 0 {
            verdict.evidence.push(Evidence::Flips {
                unexplained,
                flips,
                transitions: (n - 1) as u32,
                decayed_rate,
            });
        }
        let s_flip = (2.0 * decayed_rate).clamp(0.0, 1.0);
        let direct = conflicts + retried;
        let s_direct = 1.0 - 0.5f64.powi(direct.min(1024) as i32);
        verdict.score = unit(1.0 - (1.0 - s_flip) * (1.0 - s_direct));
        verdict.first_flaky = first_flaky.map(|run| self.run_ref(run));

        // Broken: a failing streak at the end that the earlier rate does not explain.
        let last = *segments.last().expect("n > 0");
        if last.failed && last.len >= 2 {
            let pre = n - last.len;
            // Retried runs failed their first attempt: they count as failures here.
            let pre_troubled = points[..pre]
                .iter()
                .filter(|p| p.state != State::Pass)
                .count();
            let rate = if pre == 0 {
                1.0
            } else {
                pre_troubled as f64 / pre as f64
            };
            let chance = rate.powi(last.len.min(1024) as i32);
            if pre == 0 || chance < settings.broken_chance {
                let streak = &points[pre..];
                let mut commits: Vec<u32> = streak.iter().map(|p| p.commit).collect();
                commits.sort_unstable();
                commits.dedup();
                let breakage = Breakage {
                    first_failing: self.run_ref(streak[0].run),
                    last_passing: pre.checked_sub(1).map(|i| self.run_ref(points[i].run)),
                    failing_runs: last.len as u32,
                    failing_commits: commits.len() as u32,
                };
                verdict.evidence.insert(
                    0,
                    Evidence::FailingStreak {
                        runs: last.len as u32,
                        commits: commits.len() as u32,
                        chance: if pre == 0 { 1.0 } else { chance },
                    },
                );
                verdict.confidence = if pre == 0 {
                    unit(1.0 - 0.5f64.powi(last.len.min(1024) as i32 - 1))
                } else {
                    unit((1.0 - chance) * runs_confidence(n, settings.min_runs.min(4)))
                };
                verdict.breakage = Some(breakage);
                verdict.verdict = Verdict::Broken;
                return verdict;
            }
        }

        // Fixed: earlier trouble, then a clean streak too long to be luck.
        let clean = points
            .iter()
            .rev()
            .take_while(|p| p.state == State::Pass)
            .count();
        let pre = n - clean;
        if clean > 0 && pre > 0 && clean >= settings.fixed_after as usize {
            let troubled = points[..pre]
                .iter()
                .filter(|p| p.state != State::Pass)
                .count();
            let was_broken = segments.iter().any(|s| s.failed && s.len >= 2);
            let pre_flip_rate = f64::from(unexplained) / pre as f64;
            let was_flaky = direct > 0
                || (n >= settings.min_runs as usize
                    && (2.0 * pre_flip_rate).min(1.0) >= settings.flaky_score);
            if troubled > 0 && (was_broken || was_flaky) {
                // The part before the streak ends, by construction, on a
                // failure or a retry: leaving that one out unbiases the rate.
                let rate = if pre > 1 {
                    (troubled - 1) as f64 / (pre - 1) as f64
                } else {
                    1.0
                };
                let chance = (1.0 - rate).powi(clean.min(1 << 20) as i32);
                if chance <= settings.fixed_chance {
                    verdict.evidence.insert(
                        0,
                        Evidence::CleanStreak {
                            runs: clean as u32,
                            chance,
                        },
                    );
                    verdict.confidence = unit(1.0 - chance);
                    verdict.verdict = Verdict::Fixed;
                    return verdict;
                }
            }
        }

        let enough = direct > 0 || n >= settings.min_runs as usize;
        if enough && verdict.score >= settings.flaky_score && verdict.score > 0.0 {
            verdict.verdict = Verdict::Flaky;
            if direct > 0 {
                verdict.confidence = verdict.confidence.max(s_direct);
            }
        }
        verdict
    }
}

/// A run of equal pass/fail states (retried counts as passed).
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Position of the segment among all segments.
    index: usize,
    len: usize,
    failed: bool,
}

/// For each point, the segment it belongs to.
fn segments(points: &[Point]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(points.len());
    let mut start = 0;
    let mut index = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].failed() != points[start].failed() {
            let segment = Segment {
                index,
                len: i - start,
                failed: points[start].failed(),
            };
            out.extend(std::iter::repeat_n(segment, i - start));
            index += 1;
            start = i;
        }
    }
    out
}

fn segments_count(segments: &[Segment]) -> usize {
    segments.last().map_or(0, |s| s.index + 1)
}

fn runs_confidence(n: usize, min_runs: u32) -> f64 {
    let n = n as f64;
    unit(n / (n + f64::from(min_runs.max(1))))
}

/// Clamps into \[0, 1\]; NaN becomes 0.
fn unit(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(commits: &[&str]) -> Vec<Run> {
        commits
            .iter()
            .enumerate()
            .map(|(i, commit)| Run {
                run_id: format!("r{i}"),
                commit: Some((*commit).to_owned()),
                tests: 20,
                failures: 1,
                ..Run::default()
            })
            .collect()
    }

    fn key() -> TestKey {
        TestKey {
            suite: "s".into(),
            classname: "c".into(),
            name: "t".into(),
        }
    }

    fn series(pattern: &str) -> Vec<Observation> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let outcome = match c {
                    'P' => Outcome::Passed,
                    'F' => Outcome::Failed,
                    'E' => Outcome::Error,
                    'R' => Outcome::Flaky,
                    _ => Outcome::Skipped,
                };
                Observation::new(i, outcome, Some(1.0))
            })
            .collect()
    }

    fn distinct(n: usize) -> Vec<Run> {
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        runs(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn judge(pattern: &str) -> TestVerdict {
        let runs = distinct(pattern.len());
        FlakyAnalyzer::new(FlakySettings::default(), &runs).analyze(&key(), &series(pattern))
    }

    #[test]
    fn a_test_that_always_passes_is_healthy() {
        let verdict = judge(&"P".repeat(30));
        assert_eq!(verdict.verdict, Verdict::Healthy);
        assert!(verdict.score.abs() < f64::EPSILON);
        assert!(verdict.evidence.is_empty());
    }

    #[test]
    fn isolated_failures_over_many_runs_are_flaky() {
        let verdict = judge("PPPFPPPPPPFPPPPPPPFPPPPFPP");
        assert_eq!(verdict.verdict, Verdict::Flaky, "{verdict:?}");
        assert!(matches!(
            verdict.evidence[0],
            Evidence::Flips { unexplained: 8, .. }
        ));
    }

    #[test]
    fn flips_alone_on_a_short_series_are_not_enough() {
        let verdict = judge("PFPFP");
        assert_eq!(verdict.verdict, Verdict::Healthy, "{verdict:?}");
        assert!(verdict.score > 0.1);
    }

    #[test]
    fn a_retry_that_passed_is_flaky_even_on_few_runs() {
        let verdict = judge("PPRP");
        assert_eq!(verdict.verdict, Verdict::Flaky);
        assert!(matches!(
            verdict.evidence[0],
            Evidence::PassedOnRetry { runs: 1, .. }
        ));
    }

    #[test]
    fn failing_and_passing_on_one_commit_is_flaky() {
        let runs = runs(&["a", "b", "b", "c"]);
        let verdict =
            FlakyAnalyzer::new(FlakySettings::default(), &runs).analyze(&key(), &series("PFPP"));
        assert_eq!(verdict.verdict, Verdict::Flaky);
        let Evidence::SameCommit { commits, examples } = &verdict.evidence[0] else {
            panic!("{verdict:?}")
        };
        assert_eq!(*commits, 1);
        assert_eq!(examples[0].commit, "b");
        assert_eq!(verdict.first_flaky.as_ref().map(|r| r.index), Some(1));
    }

    #[test]
    fn a_failing_streak_after_passes_is_broken_at_its_first_commit() {
        let verdict = judge("PPPPPPPPFFF");
        assert_eq!(verdict.verdict, Verdict::Broken);
        assert_eq!(verdict.since_commit(), Some("c8"));
        assert_eq!(verdict.last_passing_commit(), Some("c7"));
        let short = judge("PPFF");
        assert_eq!(short.verdict, Verdict::Broken);
        assert!(verdict.confidence > short.confidence);
    }

    #[test]
    fn failing_on_every_run_is_broken_since_before_the_window() {
        let verdict = judge("FFFF");
        assert_eq!(verdict.verdict, Verdict::Broken);
        let breakage = verdict.breakage.expect("breakage");
        assert!(breakage.since_before_window());
        assert_eq!(breakage.first_failing.index, 0);
    }

    #[test]
    fn one_failure_at_the_end_is_not_a_breakage() {
        assert_ne!(judge("PPPPPPPPPPPF").verdict, Verdict::Broken);
    }

    #[test]
    fn a_flaky_test_ending_on_two_failures_stays_flaky() {
        let verdict = judge("PFPFPFPPFPFPFPPFFPFPFF");
        assert_eq!(verdict.verdict, Verdict::Flaky, "{verdict:?}");
    }

    #[test]
    fn a_broken_test_fixed_long_enough_ago_is_fixed() {
        let verdict = judge(&format!("PPPFFFFF{}", "P".repeat(12)));
        assert_eq!(verdict.verdict, Verdict::Fixed, "{verdict:?}");
    }

    #[test]
    fn a_short_clean_streak_of_a_flaky_test_is_not_a_fix() {
        let verdict = judge(&format!("PPPPFPPPPPPPPFPPPPPFPPP{}", "P".repeat(10)));
        assert_eq!(verdict.verdict, Verdict::Flaky, "{verdict:?}");
    }

    #[test]
    fn infrastructure_failure_runs_are_left_out() {
        let mut runs = distinct(12);
        runs[5].failures = 20;
        let analyzer = FlakyAnalyzer::new(FlakySettings::default(), &runs);
        assert_eq!(analyzer.infrastructure_failures().collect::<Vec<_>>(), [5]);
        let verdict = analyzer.analyze(&key(), &series("PPPPPFPPPPPP"));
        assert_eq!(verdict.verdict, Verdict::Healthy);
        assert_eq!(verdict.failures, 0);
        assert!(matches!(
            verdict.evidence.last(),
            Some(Evidence::InfrastructureRuns { runs: 1 })
        ));
    }

    #[test]
    fn skipped_runs_are_ignored() {
        let verdict = judge("PPSSFFSF");
        assert_eq!(verdict.verdict, Verdict::Broken);
        assert_eq!(verdict.runs, 5);
    }

    #[test]
    fn observations_out_of_order_or_out_of_range_do_not_panic() {
        let runs = distinct(3);
        let analyzer = FlakyAnalyzer::new(FlakySettings::default(), &runs);
        let observations = [
            Observation::new(2, Outcome::Failed, None),
            Observation::new(9, Outcome::Failed, None),
            Observation::new(1, Outcome::Failed, None),
        ];
        let verdict = analyzer.analyze(&key(), &observations);
        assert_eq!(verdict.runs, 2);
        assert_eq!(verdict.verdict, Verdict::Broken);
    }
}

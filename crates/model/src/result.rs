//! Test results and runs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity of a test in a JUnit file and in the history.
///
/// `suite` is the path of enclosing `<testsuite>` names joined with `/`
/// (outermost first; the root `<testsuites>` is not part of it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TestKey {
    pub suite: String,
    pub classname: String,
    pub name: String,
}

impl fmt::Display for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.classname.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{} {}", self.classname, self.name)
        }
    }
}

/// The final status of one test in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// An assertion failed (`<failure>`), on every attempt.
    Failed,
    /// The test could not run to an assertion (`<error>`), on every attempt.
    Error,
    Skipped,
    /// Failed or errored, then passed on a retry in the same run.
    Flaky,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::Error,
        Outcome::Skipped,
        Outcome::Flaky,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
            Outcome::Flaky => "flaky",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Failed or error: the run did not pass this test.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Error)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one attempt of a test did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

/// One execution of a test. A test without retries has one attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub outcome: Option<AttemptOutcome>,
    /// Seconds; `None` when the file gave no readable time.
    pub duration_s: Option<f64>,
    pub message: Option<String>,
    /// The `type` attribute of `<failure>`/`<error>`.
    pub failure_type: Option<String>,
}

/// A `<property name=… value=…>` of a testcase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

/// One test's result in one run, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub key: TestKey,
    pub outcome: Outcome,
    /// Seconds of the final attempt (or the testcase's `time`); `None` when
    /// unknown. Never silently 0.
    pub duration_s: Option<f64>,
    /// Message of the first failure, or of the skip.
    pub message: Option<String>,
    pub failure_type: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The first bytes of system-out, system-err and failure bodies, joined.
    pub output: Option<String>,
    /// How many bytes of output were dropped past the kept prefix.
    pub output_dropped_bytes: u64,
    pub properties: Vec<Property>,
    /// Every attempt in order; the last one decides `outcome` together with
    /// the earlier ones (failed then passed = `Flaky`).
    pub attempts: Vec<Attempt>,
}

impl TestResult {
    /// A result with only its identity and outcome set.
    pub fn new(key: TestKey, outcome: Outcome) -> Self {
        Self {
            key,
            outcome,
            duration_s: None,
            message: None,
            failure_type: None,
            file: None,
            line: None,
            output: None,
            output_dropped_bytes: 0,
            properties: Vec::new(),
            attempts: Vec::new(),
        }
    }
}

impl TestResult {
    /// Folds a later execution of the same test in the same run (a rerun
    /// written as a second testcase of the same name, as gotestsum and
    /// go-junit-report do, or a second file of the same run) into this one.
    ///
    /// Attempts are appended in order. The outcome becomes `Flaky` when some
    /// attempt failed and a later one passed, a failure when every attempt
    /// failed, `Passed` when every attempt that ran passed. Duration and
    /// output follow the later execution when it has them.
    pub fn absorb_rerun(&mut self, later: TestResult) {
        let earlier_failed = self.outcome.is_failure() || self.outcome == Outcome::Flaky;
        let outcome = match (self.outcome, later.outcome) {
            (_, Outcome::Flaky) | (Outcome::Flaky, _) => Outcome::Flaky,
            (Outcome::Skipped, other) => other,
            (first, Outcome::Skipped) => first,
            (_, Outcome::Passed) if earlier_failed => Outcome::Flaky,
            (Outcome::Passed, failure) if failure.is_failure() => Outcome::Flaky,
            (_, later_outcome) => later_outcome,
        };
        self.outcome = outcome;
        if later.duration_s.is_some() {
            self.duration_s = later.duration_s;
        }
        if self.message.is_none() {
            self.message = later.message;
            self.failure_type = later.failure_type;
        }
        if self.file.is_none() {
            self.file = later.file;
            self.line = later.line;
        }
        match (&mut self.output, later.output) {
            (Some(mine), Some(theirs)) => {
                mine.push('\n');
                mine.push_str(&theirs);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.output_dropped_bytes += later.output_dropped_bytes;
        for property in later.properties {
            if !self.properties.contains(&property) {
                self.properties.push(property);
            }
        }
        self.attempts.extend(later.attempts);
    }
}

/// What is known of a CI run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    /// A stable id of the run (CI's run id, else derived).
    pub run_id: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339.
    pub timestamp: Option<String>,
    pub job: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse("passing"), None);
    }

    fn result(outcome: Outcome) -> TestResult {
        let key = TestKey {
            suite: "pkg".into(),
            classname: "pkg".into(),
            name: "TestX".into(),
        };
        TestResult::new(key, outcome)
    }

    #[test]
    fn a_failure_then_a_pass_is_flaky() {
        let mut first = result(Outcome::Failed);
        first.absorb_rerun(result(Outcome::Passed));
        assert_eq!(first.outcome, Outcome::Flaky);
    }

    #[test]
    fn failures_on_every_attempt_stay_failed() {
        let mut first = result(Outcome::Failed);
        first.absorb_rerun(result(Outcome::Failed));
        assert_eq!(first.outcome, Outcome::Failed);
    }

    #[test]
    fn a_pass_then_a_pass_stays_passed() {
        let mut first = result(Outcome::Passed);
        first.absorb_rerun(result(Outcome::Passed));
        assert_eq!(first.outcome, Outcome::Passed);
    }
}

//! The inputs of every analysis: the runs of a window and one test's
//! observations in those runs.

use hourglass_model::{Outcome, TestKey};
use serde::{Deserialize, Serialize};

/// One CI run of the window, as the history knows it.
///
/// Runs are given to the analyzers in time order (oldest first); an
/// [`Observation`] refers to its run by index into that slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339.
    pub timestamp: Option<String>,
    /// Tests that ran in this run (skipped ones not counted).
    pub tests: u32,
    /// Tests that failed or errored in this run (flaky ones not counted).
    pub failures: u32,
}

/// What one test did in one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Index of the run in the runs slice given to the analyzer.
    pub run: usize,
    pub outcome: Outcome,
    /// Seconds; `None` when unknown (never read as 0).
    pub duration_s: Option<f64>,
}

impl Observation {
    pub fn new(run: usize, outcome: Outcome, duration_s: Option<f64>) -> Self {
        Self {
            run,
            outcome,
            duration_s,
        }
    }
}

/// A run named in a verdict or a regression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    /// Index of the run in the runs slice.
    pub index: usize,
    pub run_id: String,
    pub commit: Option<String>,
    pub timestamp: Option<String>,
}

impl RunRef {
    pub(crate) fn of(runs: &[Run], index: usize) -> Self {
        let run = &runs[index];
        Self {
            index,
            run_id: run.run_id.clone(),
            commit: run.commit.clone(),
            timestamp: run.timestamp.clone(),
        }
    }
}

/// Observations in run order, without the ones that point past `runs`.
///
/// Returns the input itself when it is already clean, which is the common
/// case; otherwise a sorted copy.
pub(crate) fn ordered(
    observations: &[Observation],
    runs: usize,
) -> std::borrow::Cow<'_, [Observation]> {
    let clean = observations.iter().all(|o| o.run < runs)
        && observations.windows(2).all(|w| w[0].run <= w[1].run);
    if clean {
        std::borrow::Cow::Borrowed(observations)
    } else {
        let mut copy: Vec<Observation> = observations
            .iter()
            .copied()
            .filter(|o| o.run < runs)
            .collect();
        copy.sort_by_key(|o| o.run);
        std::borrow::Cow::Owned(copy)
    }
}

/// One test's observations, gathered from a stream of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSeries {
    pub key: TestKey,
    pub observations: Vec<Observation>,
    /// The first source file a row named for the test.
    pub file: Option<String>,
}

/// Gathers a stream of rows, ordered by test then run, into one
/// [`TestSeries`] at a time: memory holds one test's series.
#[derive(Debug, Default)]
pub struct SeriesGrouper {
    current: Option<TestSeries>,
}

impl SeriesGrouper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row; returns the previous test's series when `key` starts a new one.
    pub fn push(
        &mut self,
        key: TestKey,
        observation: Observation,
        file: Option<String>,
    ) -> Option<TestSeries> {
        if let Some(current) = &mut self.current
            && current.key == key
        {
            current.observations.push(observation);
            if current.file.is_none() {
                current.file = file;
            }
            return None;
        }
        self.current.replace(TestSeries {
            key,
            observations: vec![observation],
            file,
        })
    }

    /// The last series.
    pub fn finish(self) -> Option<TestSeries> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> TestKey {
        TestKey {
            suite: "s".into(),
            classname: "c".into(),
            name: name.into(),
        }
    }

    #[test]
    fn rows_are_gathered_test_by_test() {
        let mut grouper = SeriesGrouper::new();
        let pass = |run| Observation::new(run, Outcome::Passed, None);
        assert!(grouper.push(key("a"), pass(0), None).is_none());
        assert!(
            grouper
                .push(key("a"), pass(1), Some("a.rs".into()))
                .is_none()
        );
        let a = grouper.push(key("b"), pass(0), None).expect("a is done");
        assert_eq!(a.key, key("a"));
        assert_eq!(a.observations.len(), 2);
        assert_eq!(a.file.as_deref(), Some("a.rs"));
        let b = grouper.finish().expect("b");
        assert_eq!(b.observations, [pass(0)]);
    }

    #[test]
    fn unordered_observations_are_sorted_and_stray_ones_dropped() {
        let observations = [
            Observation::new(2, Outcome::Passed, None),
            Observation::new(7, Outcome::Passed, None),
            Observation::new(0, Outcome::Failed, None),
        ];
        let runs: Vec<usize> = ordered(&observations, 3).iter().map(|o| o.run).collect();
        assert_eq!(runs, [0, 2]);
    }
}

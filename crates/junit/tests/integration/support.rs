//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use hourglass_junit::{FileSummary, ReadError, ReadOptions, read};
use hourglass_model::{AttemptOutcome, Outcome, TestResult};

/// Reads a document from memory, keeping every result as emitted.
pub fn read_str(xml: &str) -> Result<(Vec<TestResult>, FileSummary), ReadError> {
    read_bytes(xml.as_bytes(), &ReadOptions::default())
}

pub fn read_bytes(
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<(Vec<TestResult>, FileSummary), ReadError> {
    let mut results = Vec::new();
    let summary = read(bytes, Path::new("mem.xml"), options, &mut |result| {
        results.push(result);
        Ok(())
    })?;
    Ok((results, summary))
}

/// A hand-written fixture under `fixtures/junit/handwritten/`.
pub fn handwritten(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/junit/handwritten")
        .join(name)
}

/// The result named `name`; panics with the names present when missing.
pub fn named<'a>(results: &'a [TestResult], name: &str) -> &'a TestResult {
    results
        .iter()
        .find(|result| result.key.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = results.iter().map(|r| r.key.name.as_str()).collect();
            panic!("no result named {name:?} among {names:?}")
        })
}

pub fn attempt_outcomes(result: &TestResult) -> Vec<AttemptOutcome> {
    result.attempts.iter().filter_map(|a| a.outcome).collect()
}

pub fn outcomes(results: &[TestResult]) -> Vec<Outcome> {
    results.iter().map(|r| r.outcome).collect()
}

pub fn approx(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

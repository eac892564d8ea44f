//! How a result's lists are stored: the same text in every backend.

use hourglass_model::{Attempt, AttemptOutcome, Outcome, TestResult};

use crate::StoreError;

/// The attempt a result with one plain attempt has: same outcome,
/// duration, message and failure type as the result itself.
pub(crate) fn implied_attempt(result: &TestResult) -> Option<Attempt> {
    let outcome = match result.outcome {
        Outcome::Passed => AttemptOutcome::Passed,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Error => AttemptOutcome::Error,
        Outcome::Skipped => AttemptOutcome::Skipped,
        Outcome::Flaky => return None,
    };
    Some(Attempt {
        outcome: Some(outcome),
        duration_s: result.duration_s,
        message: result.message.clone(),
        failure_type: result.failure_type.clone(),
    })
}

/// The attempts as JSON; `None` when there are none, or when the one
/// attempt is the one the result implies (most results: no JSON to write
/// or read), told apart by `attempt_count`.
pub(crate) fn attempts_json(result: &TestResult) -> Result<Option<String>, StoreError> {
    if let [only] = result.attempts.as_slice()
        && implied_attempt(result).as_ref() == Some(only)
    {
        return Ok(None);
    }
    json_list(&result.attempts)
}

/// A list as JSON, `None` when empty.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> Result<Option<String>, StoreError> {
    if items.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(items)
        .map(Some)
        .map_err(|error| StoreError::Corrupt {
            what: "list",
            detail: error.to_string(),
        })
}

pub(crate) fn parse_json_list<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: Option<String>,
) -> Result<Vec<T>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            what,
            detail: error.to_string(),
        }),
    }
}

pub(crate) fn parse_outcome(text: &str) -> Result<Outcome, StoreError> {
    Outcome::parse(text).ok_or_else(|| StoreError::Corrupt {
        what: "status",
        detail: text.to_owned(),
    })
}

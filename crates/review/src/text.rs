//! One-line text forms of tests, commits and verdicts, shared by every
//! rendering of an analysis.

use std::fmt::Write as _;

use hourglass_insight::{TestVerdict, Verdict};
use hourglass_model::TestKey;

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

/// Four decimals are plenty for scores.
pub fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fall_back_to_the_suite() {
        let key = TestKey {
            suite: "suite".into(),
            classname: String::new(),
            name: "t".into(),
        };
        assert_eq!(test_label(&key), "suite t");
        assert_eq!(short(Some("0123456789abcdef")), "0123456789");
        assert_eq!(short(None), "?");
        assert!((round4(0.123_456) - 0.1235).abs() < 1e-12);
    }
}

//! The runner's own list of tests: `cargo nextest list --message-format json`.
//!
//! The static graph cannot see every test (a macro it cannot expand, code a
//! build script writes); the runner's list is the truth about which tests
//! exist. [`TestList::from_nextest_json`] reads the list; the selection then
//! attributes every listed test the graph does not know (see
//! [`crate::selection_with_list`]).
//!
//! The format read (cargo-nextest 0.9.143; older versions write the same
//! fields): one JSON object whose `rust-suites` maps each binary id to an
//! object with `package-name`, `kind`, `status` (`listed` or `skipped`) and
//! `testcases`, a map from test name to an object (`ignored`, `filter-match`).
//! Unknown fields are ignored; a missing `rust-suites` or `testcases` of a
//! listed suite is an error.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A list read from the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestList {
    /// By binary id.
    pub binaries: BTreeMap<String, ListedBinary>,
}

/// One test binary of a [`TestList`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedBinary {
    /// The Cargo package the binary belongs to.
    pub package: String,
    /// `lib`, `bin`, `test`, `bench`, `example`, `proc-macro`.
    pub kind: String,
    /// Test names, sorted; `None` when the runner did not list the binary
    /// (`status` other than `listed`, e.g. skipped for another platform).
    pub tests: Option<Vec<String>>,
}

/// The list could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// Not JSON, or JSON of another shape.
    #[error("{origin}:{line}:{column}: {message}")]
    Malformed {
        /// Where the list came from: a path, or the command that printed it.
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Deserialize)]
struct RawList {
    #[serde(rename = "rust-suites")]
    rust_suites: BTreeMap<String, RawSuite>,
}

#[derive(Deserialize)]
struct RawSuite {
    #[serde(rename = "package-name")]
    package_name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    #[allow(clippy::zero_sized_map_values)] // a map in the JSON: only its keys are read
    testcases: Option<BTreeMap<String, serde::de::IgnoredAny>>,
}

impl TestList {
    /// Reads `cargo nextest list --message-format json` (or `json-pretty`)
    /// output; `origin` names it in errors.
    pub fn from_nextest_json(bytes: &[u8], origin: &str) -> Result<TestList, ListError> {
        let raw: RawList = serde_json::from_slice(bytes).map_err(|error| ListError::Malformed {
            origin: origin.to_owned(),
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        })?;
        let mut binaries = BTreeMap::new();
        for (binary_id, suite) in raw.rust_suites {
            let listed = suite
                .status
                .as_deref()
                .is_none_or(|status| status == "listed");
            let tests = if listed {
                let Some(cases) = suite.testcases else {
                    return Err(ListError::Malformed {
                        origin: origin.to_owned(),
                        line: 0,
                        column: 0,
                        message: format!("rust-suites.{binary_id}: no `testcases`"),
                    });
                };
                Some(cases.into_keys().collect())
            } else {
                None
            };
            binaries.insert(
                binary_id,
                ListedBinary {
                    package: suite.package_name,
                    kind: suite.kind,
                    tests,
                },
            );
        }
        Ok(TestList { binaries })
    }

    /// How many tests the list names.
    pub fn len(&self) -> usize {
        self.binaries
            .values()
            .map(|binary| binary.tests.as_ref().map_or(0, Vec::len))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// serde_json ends its messages with " at line L column C"; the error
/// carries them as fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"{
  "rust-build-meta": {"target-directory": "/t"},
  "test-count": 3,
  "rust-suites": {
    "app::run": {"package-name": "app", "binary-id": "app::run", "kind": "test",
      "status": "listed", "testcases": {"prints": {"kind": "test", "ignored": false}}},
    "shapes": {"package-name": "shapes", "binary-id": "shapes", "kind": "lib",
      "status": "listed", "testcases": {
        "tests::b": {"ignored": true, "filter-match": {"status": "mismatch", "reason": "ignored"}},
        "tests::a": {"ignored": false}}},
    "app::bench/speed": {"package-name": "app", "kind": "bench", "status": "skipped",
      "testcases": {}}
  }
}"#;

    #[test]
    fn reads_suites_and_testcases() {
        let list = TestList::from_nextest_json(LIST.as_bytes(), "list.json").unwrap();
        assert_eq!(list.len(), 3);
        let shapes = &list.binaries["shapes"];
        assert_eq!(shapes.package, "shapes");
        assert_eq!(shapes.kind, "lib");
        assert_eq!(
            shapes.tests.as_deref(),
            Some(&["tests::a".to_owned(), "tests::b".to_owned()][..])
        );
        assert_eq!(list.binaries["app::bench/speed"].tests, None);
    }

    #[test]
    fn malformed_json_names_origin_line_and_column() {
        let text = "{\n  \"rust-suites\": {\n    \"a\": {\"package-name\": \"a\",, }\n";
        let error = TestList::from_nextest_json(text.as_bytes(), "list.json").unwrap_err();
        let ListError::Malformed { line, column, .. } = &error;
        assert_eq!((*line, *column), (3, 31));
        assert!(error.to_string().starts_with("list.json:3:31: "), "{error}");
    }

    #[test]
    fn truncated_non_utf8_and_wrong_shapes_are_errors() {
        let truncated = &LIST.as_bytes()[..LIST.len() / 2];
        assert!(TestList::from_nextest_json(truncated, "x").is_err());
        assert!(TestList::from_nextest_json(b"\xff\xfe{}", "x").is_err());
        assert!(TestList::from_nextest_json(b"[]", "x").is_err());
        assert!(TestList::from_nextest_json(b"{}", "x").is_err());
        let no_cases = br#"{"rust-suites": {"a": {"package-name": "a", "status": "listed"}}}"#;
        let error = TestList::from_nextest_json(no_cases, "x").unwrap_err();
        assert!(error.to_string().contains("rust-suites.a"), "{error}");
        let deep = "[".repeat(100_000);
        assert!(TestList::from_nextest_json(deep.as_bytes(), "x").is_err());
    }

    #[test]
    fn a_huge_list_is_read() {
        let cases: Vec<String> = (0..50_000)
            .map(|i| format!("\"m{}::t{i}\": {{\"ignored\": false}}", i % 97))
            .collect();
        let text = format!(
            "{{\"rust-suites\": {{\"a\": {{\"package-name\": \"a\", \"status\": \"listed\", \"testcases\": {{{}}}}}}}}}",
            cases.join(",")
        );
        let list = TestList::from_nextest_json(text.as_bytes(), "x").unwrap();
        assert_eq!(list.len(), 50_000);
    }
}

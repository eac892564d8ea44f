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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use hourglass_graph::Graph;
use serde::Deserialize;

use crate::{
    BinaryTests, Impact, KnownTest, ListedSummary, SelectedTest, Selection, names_test, rules,
    scope, selection,
};

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

/// [`selection`] against the runner's own list of tests (`cargo nextest
/// list`), which is the truth about which tests exist:
///
/// - a listed test the graph knows is selected as the graph says; a case
///   `<name>::<case>` of a parameterised test the graph knows follows it;
///   a test of a `harness = false` binary follows the binary;
/// - a listed test the graph does not know is attributed to the deepest
///   module the graph knows on its path, in its binary's crate: selected
///   when the change reaches any item in or below that module. When that
///   module (or an item below it) uses a proc macro of the workspace, whose
///   output the graph cannot see, or `include!`s a Rust file (whose tests
///   the graph does not read), or the package has a build script (code
///   it writes is `include!`d unseen), or the graph does not know the crate,
///   the test is selected whenever anything its binary links changed (its
///   package or a package in its dependency closure, dev-dependencies
///   included). Rule test patterns and `run_all` apply to it as to any
///   test. Its reasons start with "not visible to the graph";
/// - a test the graph knows that is not in the list is not selected, and
///   a note names it;
/// - `total_tests` counts the list (a `harness = false` binary that lists
///   nothing counts as one test).
pub fn selection_with_list(graph: &Graph, impact: &Impact, list: &TestList) -> Selection {
    let base = selection(graph, impact);
    let scope = scope::Scope::new(graph, impact);
    let mut modules: Option<scope::Modules> = None;
    let mut by_key: BTreeMap<(&str, &str), &SelectedTest> = BTreeMap::new();
    for test in &base.selected {
        by_key.insert((test.binary_id.as_str(), test.name.as_str()), test);
    }
    let mut selected: Vec<SelectedTest> = Vec::new();
    let mut binaries: BTreeMap<String, BinaryTests> = BTreeMap::new();
    let mut summary = ListedSummary {
        tests: list.len(),
        ..ListedSummary::default()
    };
    let mut total_tests = list.len();
    for (binary_id, listed) in &list.binaries {
        let known = base.binaries.get(binary_id);
        let Some(names) = &listed.tests else {
            // Not listed by the runner: as the graph says.
            selected.extend(
                base.selected
                    .iter()
                    .filter(|test| &test.binary_id == binary_id)
                    .cloned(),
            );
            if let Some(known) = known {
                binaries.insert(binary_id.clone(), known.clone());
            } else {
                binaries.insert(
                    binary_id.clone(),
                    BinaryTests {
                        open: true,
                        ..BinaryTests::default()
                    },
                );
            }
            continue;
        };
        let mut rendered = BinaryTests::default();
        if let Some(whole) = known.and_then(|known| known.whole) {
            // `harness = false`: the list's names are the binary's own.
            rendered.whole = Some(whole);
            if whole {
                selected.extend(
                    base.selected
                        .iter()
                        .filter(|test| &test.binary_id == binary_id && test.name.is_empty())
                        .cloned(),
                );
            }
            if names.is_empty() {
                total_tests += 1;
            }
            binaries.insert(binary_id.clone(), rendered);
            continue;
        }
        let known_names: BTreeMap<&str, &KnownTest> = known
            .map(|known| {
                known
                    .tests
                    .iter()
                    .map(|test| (test.name.as_str(), test))
                    .collect()
            })
            .unwrap_or_default();
        let listed_names: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        for name in names {
            let graph_name = if known_names.contains_key(name.as_str()) {
                Some(name.as_str())
            } else {
                parameterized_parent(&known_names, name)
            };
            let pick = if let Some(graph_name) = graph_name {
                by_key
                    .get(&(binary_id.as_str(), graph_name))
                    .map(|test| test.reasons.clone())
            } else {
                summary.not_in_graph.push(format!("{binary_id} {name}"));
                let modules = modules.get_or_insert_with(|| scope::Modules::new(graph, impact));
                unseen_reason(graph, impact, &scope, modules, binary_id, listed, name)
                    .map(|reason| vec![reason])
            };
            rendered.tests.push(KnownTest {
                name: name.clone(),
                parameterized: false,
                selected: pick.is_some(),
            });
            if let Some(reasons) = pick {
                selected.push(SelectedTest {
                    binary_id: binary_id.clone(),
                    name: name.clone(),
                    reasons,
                    whole_binary: false,
                    parameterized: false,
                });
            }
        }
        if let Some(known) = known {
            for test in &known.tests {
                let listed_case = test.parameterized
                    && listed_names
                        .range::<str, _>((
                            std::ops::Bound::Excluded(test.name.as_str()),
                            std::ops::Bound::Unbounded,
                        ))
                        .next()
                        .is_some_and(|next| {
                            next.strip_prefix(test.name.as_str())
                                .is_some_and(|rest| rest.starts_with("::"))
                        });
                if !listed_names.contains(test.name.as_str()) && !listed_case {
                    summary
                        .not_in_list
                        .push(format!("{binary_id} {}", test.name));
                }
            }
        }
        binaries.insert(binary_id.clone(), rendered);
    }
    // Binaries the graph knows and the list does not: nothing of them runs.
    for (binary_id, known) in &base.binaries {
        if list.binaries.contains_key(binary_id) {
            continue;
        }
        for test in &known.tests {
            summary
                .not_in_list
                .push(format!("{binary_id} {}", test.name));
        }
        if known.whole.is_some() {
            summary.not_in_list.push(binary_id.clone());
        }
        binaries.insert(
            binary_id.clone(),
            BinaryTests {
                tests: known
                    .tests
                    .iter()
                    .map(|test| KnownTest {
                        selected: false,
                        ..test.clone()
                    })
                    .collect(),
                whole: known.whole.map(|_| false),
                open: false,
            },
        );
    }
    let mut notes = base.notes.clone();
    if !summary.not_in_graph.is_empty() {
        notes.push(format!(
            "{} listed test(s) are not visible to the graph: {}",
            summary.not_in_graph.len(),
            abbreviate(&summary.not_in_graph)
        ));
    }
    if !summary.not_in_list.is_empty() {
        notes.push(format!(
            "{} test(s) the graph found are not in the list (compiled out, or named otherwise) and are not selected: {}",
            summary.not_in_list.len(),
            abbreviate(&summary.not_in_list)
        ));
    }
    selected.sort_by(|a, b| (&a.binary_id, &a.name).cmp(&(&b.binary_id, &b.name)));
    selected.dedup_by(|a, b| a.binary_id == b.binary_id && a.name == b.name);
    Selection {
        run_all: base.run_all,
        run_all_reasons: base.run_all_reasons,
        total_tests,
        selected,
        notes,
        open_binaries: scope.open.keys().cloned().collect(),
        listed: Some(summary),
        coverage: None,
        binaries,
    }
}

/// How the runner's list compares with the graph, with no change: which
/// listed tests the graph does not know, which known tests the list lacks.
pub fn compare_with_list(graph: &Graph, list: &TestList) -> ListedSummary {
    selection_with_list(graph, &Impact::default(), list)
        .listed
        .unwrap_or_default()
}

/// The parameterised test the graph knows whose case `name` is
/// (`<test>::<case>`).
fn parameterized_parent<'a>(known: &BTreeMap<&'a str, &KnownTest>, name: &str) -> Option<&'a str> {
    let mut end = name.len();
    while let Some(at) = name[..end].rfind("::") {
        if let Some((found, test)) = known.get_key_value(&name[..at])
            && test.parameterized
        {
            return Some(found);
        }
        end = at;
    }
    None
}

/// Why a listed test the graph does not know is selected, or `None`.
fn unseen_reason(
    graph: &Graph,
    impact: &Impact,
    scope: &scope::Scope,
    modules: &scope::Modules,
    binary_id: &str,
    listed: &ListedBinary,
    name: &str,
) -> Option<String> {
    const UNSEEN: &str = "not visible to the graph";
    if impact.run_all() {
        return Some(format!("{UNSEEN}; every test runs (see run_all_reasons)"));
    }
    let printed = format!("{binary_id} {name}");
    for (pattern, reason) in &impact.rule_tests {
        if names_test(pattern, rules::test_matcher(pattern).as_ref(), &printed) {
            return Some(format!("{UNSEEN}; {reason}"));
        }
    }
    let package = graph.package_by_name(&listed.package);
    let Some(package) = package else {
        return Some(format!(
            "{UNSEEN}; its package `{}` is not in the graph",
            listed.package
        ));
    };
    let linked = || {
        scope
            .open
            .get(binary_id)
            .or_else(|| scope.packages.get(&package))
            .map(|why| format!("{UNSEEN}; {why}"))
    };
    if !modules.knows_crate(binary_id) {
        return linked();
    }
    let module = modules.module_of(binary_id, name);
    let shown = if module.is_empty() {
        "the crate root".to_owned()
    } else {
        format!("module `{module}`")
    };
    let has_build_script = graph
        .package(package)
        .targets
        .iter()
        .any(|target| target.kind == hourglass_graph::TargetKind::BuildScript);
    if has_build_script || modules.uses_proc_macro(binary_id, &module) {
        return linked();
    }
    modules
        .reached_in(binary_id, &module)
        .map(|item| format!("{UNSEEN}; {shown} holds code the change reaches (`{item}`)"))
}

/// The first ten entries, and how many more.
fn abbreviate(entries: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = entries
        .iter()
        .take(SHOWN)
        .map(|entry| format!("`{entry}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if entries.len() > SHOWN {
        let _ = write!(text, " and {} more", entries.len() - SHOWN);
    }
    text
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

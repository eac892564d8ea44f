//! Renderings of a [`Selection`]: a test list, JSON, a cargo-nextest
//! filterset and `cargo test` invocations. Pure functions returning text.

use std::collections::BTreeMap;
use std::fmt::Write;

use hourglass_graph::{Graph, TargetKind};

use crate::{BinaryTests, KnownTest, SelectedTest, Selection};

/// One `<binary id> <test name>` per line; a whole binary (`harness =
/// false`) is its binary id alone.
pub fn list(selection: &Selection) -> String {
    let mut out = String::new();
    for test in &selection.selected {
        if test.whole_binary || test.name.is_empty() {
            let _ = writeln!(out, "{}", test.binary_id);
        } else {
            let _ = writeln!(out, "{} {}", test.binary_id, test.name);
        }
    }
    out
}

/// The selection as one JSON value: `run_all`, `run_all_reasons`,
/// `total_tests`, `selected` (`binary_id`, `name`, `reasons`,
/// `whole_binary`) and `notes`.
pub fn json(selection: &Selection) -> serde_json::Value {
    serde_json::to_value(selection).expect("a selection is plain data")
}

/// The document [`json`] makes, serialised straight from the selection
/// (the same keys in the same order, sorted as a [`serde_json::Value`] sorts
/// them) without building the value first: a selection of thousands of tests
/// is written without a second copy of every string.
#[derive(Debug, Clone, Copy)]
pub struct JsonDocument<'a>(pub &'a Selection);

impl serde::Serialize for JsonDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Listed<'a> {
            not_in_graph: &'a [String],
            not_in_list: &'a [String],
            tests: usize,
        }
        #[derive(serde::Serialize)]
        struct Test<'a> {
            binary_id: &'a str,
            name: &'a str,
            parameterized: bool,
            reasons: &'a [String],
            whole_binary: bool,
        }
        struct Tests<'a>(&'a [SelectedTest]);
        impl serde::Serialize for Tests<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|test| Test {
                    binary_id: &test.binary_id,
                    name: &test.name,
                    parameterized: test.parameterized,
                    reasons: &test.reasons,
                    whole_binary: test.whole_binary,
                }))
            }
        }
        #[derive(serde::Serialize)]
        struct Document<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            coverage: Option<&'a crate::coverage::CoverageSummary>,
            listed: Option<Listed<'a>>,
            notes: &'a [String],
            open_binaries: &'a [String],
            run_all: bool,
            run_all_reasons: &'a [String],
            selected: Tests<'a>,
            total_tests: usize,
        }
        let selection = self.0;
        Document {
            coverage: selection.coverage.as_ref(),
            listed: selection.listed.as_ref().map(|listed| Listed {
                not_in_graph: &listed.not_in_graph,
                not_in_list: &listed.not_in_list,
                tests: listed.tests,
            }),
            notes: &selection.notes,
            open_binaries: &selection.open_binaries,
            run_all: selection.run_all,
            run_all_reasons: &selection.run_all_reasons,
            selected: Tests(&selection.selected),
            total_tests: selection.total_tests,
        }
        .serialize(serializer)
    }
}

/// A filterset for `cargo nextest run -E`, safe for tests the graph does
/// not know: `all()` when everything runs, `none()` when the change reaches
/// no binary, else every test except those the graph knows are unaffected:
/// `not (E1 | E2 | ...)`, one term per binary that has something to leave
/// out.
///
/// - A binary the change cannot reach (nothing it links changed):
///   `binary_id(=x)` when none of its tests is selected, else the smaller of
///   `binary_id(=x) & test(=unaffected..)` and `binary_id(=x) & not
///   test(=selected..)`.
/// - A binary the change can reach ([`crate::BinaryTests::open`]): only
///   `binary_id(=x) & test(=unaffected..)`, so a test in it the graph never
///   saw still runs; no term at all when every known test is selected.
/// - A parameterised test (`#[test_case]`, `#[rstest]`) is left out as
///   `test(=name) | test(/^name::/)`, which covers its cases; a test the
///   graph does not know to be parameterised is left out by its exact name
///   only, so cases of it run.
/// - A `harness = false` binary is left out whole or not at all.
/// - A binary the graph does not know (a new test target) is never named,
///   so it runs.
pub fn nextest(selection: &Selection) -> String {
    if selection.run_all {
        return "all()".to_owned();
    }
    let any_open = selection.binaries.values().any(|binary| binary.open);
    if selection.selected.is_empty() && !any_open {
        return "none()".to_owned();
    }
    let terms: Vec<String> = selection
        .binaries
        .iter()
        .filter_map(|(id, binary)| exclusion(id, binary))
        .collect();
    if terms.is_empty() {
        "all()".to_owned()
    } else {
        format!("not ({})", terms.join(" | "))
    }
}

/// The tests of one binary that the filterset leaves out, or `None`.
fn exclusion(id: &str, binary: &BinaryTests) -> Option<String> {
    let binary_id = format!("binary_id({})", matcher(id));
    if let Some(selected) = binary.whole {
        return (!selected).then_some(binary_id);
    }
    let (selected, unaffected): (Vec<&KnownTest>, Vec<&KnownTest>) =
        binary.tests.iter().partition(|test| test.selected);
    if unaffected.is_empty() {
        return None;
    }
    let drop_unaffected = format!("({binary_id} & {})", any_of(&unaffected));
    if binary.open {
        return Some(drop_unaffected);
    }
    if selected.is_empty() {
        return Some(binary_id);
    }
    let keep_selected = format!("({binary_id} & not {})", any_of(&selected));
    Some(if keep_selected.len() < drop_unaffected.len() {
        keep_selected
    } else {
        drop_unaffected
    })
}

/// A filterset matching these tests (and the cases of parameterised ones).
fn any_of(tests: &[&KnownTest]) -> String {
    let parts: Vec<String> = tests
        .iter()
        .map(|test| {
            if test.parameterized {
                format!(
                    "test({}) | test({})",
                    matcher(&test.name),
                    prefix_matcher(&test.name)
                )
            } else {
                format!("test({})", matcher(&test.name))
            }
        })
        .collect();
    if parts.len() == 1 && !tests[0].parameterized {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(" | "))
    }
}

/// A nextest tool-config file whose profile `profile` runs the selection:
/// `default-filter` is the [`nextest`] filterset, which no command-line
/// length limit applies to, and the profile's JUnit report is written to
/// `target/nextest/<profile>/junit.xml`. Use it as
/// `cargo nextest run --tool-config-file hourglass:/abs/path --profile <profile>`;
/// an `-E` given as well narrows the selection further.
pub fn nextest_config(selection: &Selection, profile: &str) -> String {
    let filterset = nextest(selection);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `hourglass select --format nextest-config`: {} of {} tests selected{}.",
        selection.selected.len(),
        selection.total_tests,
        if selection.run_all {
            " (every test runs)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "# Run: cargo nextest run --tool-config-file hourglass:<absolute path of this file> --profile {profile}"
    );
    let _ = writeln!(out, "[profile.{}]", toml_key(profile));
    let _ = writeln!(out, "default-filter = {}", toml_string(&filterset));
    let _ = writeln!(out);
    let _ = writeln!(out, "[profile.{}.junit]", toml_key(profile));
    let _ = writeln!(out, "path = \"junit.xml\"");
    out
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a binary runs whole: a `harness = false` target, or every test
/// known in it is selected.
fn whole_binary(selection: &Selection, binary: &str, tests: &[&SelectedTest]) -> bool {
    tests
        .iter()
        .any(|test| test.whole_binary || test.name.is_empty())
        || selection.binaries.get(binary).is_some_and(|known| {
            !known.tests.is_empty() && known.tests.iter().all(|test| test.selected)
        })
}

fn by_binary(tests: &[SelectedTest]) -> BTreeMap<&str, Vec<&SelectedTest>> {
    let mut groups: BTreeMap<&str, Vec<&SelectedTest>> = BTreeMap::new();
    for test in tests {
        groups
            .entry(test.binary_id.as_str())
            .or_default()
            .push(test);
    }
    groups
}

/// An exact-match name matcher. Plain names are written `=name`; a name with
/// characters the filterset language treats specially is written as an
/// anchored regex with those characters escaped.
fn matcher(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '/' | '.'));
    if plain && !name.is_empty() {
        return format!("={name}");
    }
    format!("/^{}$/", regex_escape(name))
}

/// `name` as a regex for a filterset: metacharacters, the delimiter and the
/// filterset's own separators escaped.
fn regex_escape(name: &str) -> String {
    let mut regex = String::new();
    for c in name.chars() {
        match c {
            // Regex metacharacters.
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                regex.push('\\');
                regex.push(c);
            }
            // The regex delimiter and the filterset's own separators.
            '/' => regex.push_str("\\x2F"),
            ',' => regex.push_str("\\x2C"),
            c if c.is_ascii_graphic() || c == ' ' => regex.push(c),
            c => {
                let _ = write!(regex, "\\x{{{:X}}}", u32::from(c));
            }
        }
    }
    regex
}

/// Matches the cases of a parameterised test: `name::<case>`.
fn prefix_matcher(name: &str) -> String {
    format!("/^{}::/", regex_escape(name))
}

/// `cargo test` invocations, one line per test binary:
/// `cargo test -p pkg --lib -- --exact a::b c::d`. Everything runs:
/// `cargo test --workspace`; nothing selected: no line.
pub fn cargo(selection: &Selection, graph: &Graph) -> String {
    if selection.run_all {
        return "cargo test --workspace\n".to_owned();
    }
    let mut out = String::new();
    for (binary, tests) in by_binary(&selection.selected) {
        let (package, target) = target_args(graph, binary);
        let mut command = format!("cargo test -p {}", shell_word(&package));
        if let Some(target) = target {
            command.push(' ');
            command.push_str(&target);
        }
        if whole_binary(selection, binary, &tests) {
            let _ = writeln!(out, "{command}");
            continue;
        }
        let (cases, exact): (Vec<&SelectedTest>, Vec<&SelectedTest>) =
            tests.iter().partition(|test| test.parameterized);
        if !exact.is_empty() {
            let _ = write!(out, "{command} -- --exact");
            for test in exact {
                let _ = write!(out, " {}", shell_word(&test.name));
            }
            out.push('\n');
        }
        if !cases.is_empty() {
            // The cases of a parameterised test: `name::` matches them all.
            let _ = write!(out, "{command} --");
            for test in cases {
                let _ = write!(out, " {}", shell_word(&format!("{}::", test.name)));
            }
            out.push('\n');
        }
    }
    out
}

/// The package and the cargo target flag (`--lib`, `--bin x`, `--test x`,
/// `--bench x`, `--example x`) of a binary id.
fn target_args(graph: &Graph, binary_id: &str) -> (String, Option<String>) {
    for (_, package) in graph.packages() {
        for target in &package.targets {
            if target.binary_id.as_deref() != Some(binary_id) {
                continue;
            }
            let name = shell_word(&target.name);
            let flag = match target.kind {
                TargetKind::Lib | TargetKind::ProcMacro => "--lib".to_owned(),
                TargetKind::Bin => format!("--bin {name}"),
                TargetKind::Test => format!("--test {name}"),
                TargetKind::Bench => format!("--bench {name}"),
                TargetKind::Example => format!("--example {name}"),
                TargetKind::BuildScript => continue,
            };
            return (package.name.clone(), Some(flag));
        }
    }
    let package = binary_id.split("::").next().unwrap_or(binary_id);
    (package.to_owned(), None)
}

/// A word for a POSIX shell: as is when safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '/' | '.' | '='));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(binary: &str, name: &str) -> SelectedTest {
        SelectedTest {
            binary_id: binary.to_owned(),
            name: name.to_owned(),
            reasons: vec!["a reason".to_owned()],
            whole_binary: name.is_empty(),
            parameterized: false,
        }
    }

    fn known(name: &str, selected: bool) -> KnownTest {
        KnownTest {
            name: name.to_owned(),
            parameterized: false,
            selected,
        }
    }

    fn binary(tests: Vec<KnownTest>, open: bool) -> BinaryTests {
        BinaryTests {
            tests,
            whole: None,
            open,
        }
    }

    /// Binaries `a` (open: x::one, x::two selected; x::three not), `a::it`
    /// (closed: three selected, four and five not), `b` (closed, nothing
    /// selected) and `b::bench/speed` (harness = false, selected).
    fn selection() -> Selection {
        let selected = vec![
            test("a", "x::one"),
            test("a", "x::two"),
            test("a::it", "three"),
            test("b::bench/speed", ""),
        ];
        let binaries = BTreeMap::from([
            (
                "a".to_owned(),
                binary(
                    vec![
                        known("x::one", true),
                        known("x::three", false),
                        known("x::two", true),
                    ],
                    true,
                ),
            ),
            (
                "a::it".to_owned(),
                binary(
                    vec![
                        known("five", false),
                        known("four", false),
                        known("three", true),
                    ],
                    false,
                ),
            ),
            ("b".to_owned(), binary(vec![known("y", false)], false)),
            (
                "b::bench/speed".to_owned(),
                BinaryTests {
                    whole: Some(true),
                    ..BinaryTests::default()
                },
            ),
        ]);
        Selection {
            total_tests: 8,
            selected,
            binaries,
            ..Selection::default()
        }
    }

    #[test]
    fn nextest_leaves_out_only_what_the_graph_knows_is_unaffected() {
        assert_eq!(
            nextest(&selection()),
            "not ((binary_id(=a) & test(=x::three)) | (binary_id(=a::it) & not test(=three)) | binary_id(=b))"
        );
    }

    #[test]
    fn an_open_binary_keeps_its_unknown_tests_even_when_listing_them_is_longer() {
        let mut s = selection();
        let a_it = s.binaries.get_mut("a::it").unwrap();
        a_it.open = true;
        assert!(nextest(&s).contains("(binary_id(=a::it) & (test(=five) | test(=four)))"));
        // An open binary whose known tests are all selected is not named.
        let a = s.binaries.get_mut("a").unwrap();
        a.tests[1].selected = true;
        assert!(!nextest(&s).contains("binary_id(=a) "), "{}", nextest(&s));
    }

    #[test]
    fn parameterised_tests_are_left_out_with_their_cases() {
        let mut s = selection();
        let a = s.binaries.get_mut("a").unwrap();
        a.tests[1].parameterized = true;
        assert!(
            nextest(&s)
                .starts_with("not ((binary_id(=a) & (test(=x::three) | test(/^x::three::/)))"),
            "{}",
            nextest(&s)
        );
    }

    #[test]
    fn a_harness_false_binary_is_left_out_whole_or_not_at_all() {
        let mut s = selection();
        assert!(!nextest(&s).contains("speed"));
        s.binaries.get_mut("b::bench/speed").unwrap().whole = Some(false);
        assert!(nextest(&s).ends_with(" | binary_id(=b::bench/speed))"));
    }

    #[test]
    fn nextest_of_nothing_and_everything() {
        let mut nothing = selection();
        nothing.selected.clear();
        for binary in nothing.binaries.values_mut() {
            binary.open = false;
        }
        assert_eq!(nextest(&nothing), "none()");
        let mut all = selection();
        all.run_all = true;
        assert_eq!(nextest(&all), "all()");
        let mut every = selection();
        every.binaries.clear();
        assert_eq!(nextest(&every), "all()");
    }

    #[test]
    fn nextest_config_holds_the_filterset_as_a_toml_string() {
        let mut s = selection();
        let b = s.binaries.get_mut("b").unwrap();
        b.open = true;
        b.tests.push(known("case(\"q\", 1)", false));
        let config = nextest_config(&s, "hourglass");
        assert!(config.contains("[profile.hourglass]\n"), "{config}");
        assert!(config.contains("[profile.hourglass.junit]\npath = \"junit.xml\"\n"));
        let line = config
            .lines()
            .find(|line| line.starts_with("default-filter = "))
            .unwrap();
        // Quotes and backslashes are escaped for TOML.
        assert!(
            line.contains(r#"test(/^case\\(\"q\"\\x2C 1\\)$/)"#),
            "{line}"
        );
        assert_eq!(toml_key("a.b"), "\"a.b\"");
    }

    #[test]
    fn special_names_become_escaped_regexes() {
        assert_eq!(matcher("a::b"), "=a::b");
        assert_eq!(matcher("case(1, 2)"), r"/^case\(1\x2C 2\)$/");
        assert_eq!(matcher("a/b c"), r"/^a/b c$/".replace("a/b", r"a\x2Fb"));
        assert_eq!(prefix_matcher("t"), "/^t::/");
    }

    #[test]
    fn the_streamed_document_is_the_json_value_written_out() {
        let mut with_list = selection();
        with_list.listed = Some(crate::ListedSummary {
            tests: 3,
            not_in_graph: vec!["b t::\"quoted\"".to_owned()],
            not_in_list: Vec::new(),
        });
        with_list.notes.push("a note".to_owned());
        with_list
            .run_all_reasons
            .push("Cargo.lock changed".to_owned());
        for selection in [selection(), with_list, Selection::default()] {
            let value = serde_json::to_string_pretty(&json(&selection)).unwrap();
            let streamed = serde_json::to_string_pretty(&JsonDocument(&selection)).unwrap();
            assert_eq!(streamed, value);
        }
    }

    #[test]
    fn list_prints_one_test_a_line() {
        let s = Selection {
            selected: vec![test("a", "x::one"), test("b::bench/speed", "")],
            ..Selection::default()
        };
        assert_eq!(list(&s), "a x::one\nb::bench/speed\n");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("a::b"), "a::b");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}

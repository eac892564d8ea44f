//! Renderings of a [`Selection`]: a test list, JSON, a cargo-nextest
//! filterset and `cargo test` invocations. Pure functions returning text.

use std::collections::BTreeMap;
use std::fmt::Write;

use hourglass_graph::{Graph, TargetKind};

use crate::{SelectedTest, Selection};

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

/// A filterset for `cargo nextest run -E`: `all()` when everything runs,
/// `none()` when nothing is selected, else one group per binary:
/// `binary_id(=a) & (test(=x) | test(=y))`, joined with `|`; a binary whose
/// every test is selected is `binary_id(=a)` alone.
pub fn nextest(selection: &Selection) -> String {
    if selection.run_all {
        return "all()".to_owned();
    }
    if selection.selected.is_empty() {
        return "none()".to_owned();
    }
    let groups = by_binary(&selection.selected);
    let parts: Vec<String> = groups
        .iter()
        .map(|(binary, tests)| {
            let whole = whole_binary(selection, binary, tests);
            let binary = format!("binary_id({})", matcher(binary));
            if whole {
                return binary;
            }
            let names: Vec<String> = tests
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
            if names.len() == 1 && !tests[0].parameterized {
                format!("({binary} & {})", names[0])
            } else {
                format!("({binary} & ({}))", names.join(" | "))
            }
        })
        .collect();
    parts.join(" | ")
}

/// Whether a binary runs whole: a `harness = false` target, or every test
/// the graph knows in it is selected.
fn whole_binary(selection: &Selection, binary: &str, tests: &[&SelectedTest]) -> bool {
    tests
        .iter()
        .any(|test| test.whole_binary || test.name.is_empty())
        || selection.binary_sizes.get(binary) == Some(&tests.len())
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
    let mut regex = String::from("/^");
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
    regex.push_str("$/");
    regex
}

/// Matches the cases of a parameterised test: `name::<case>`.
fn prefix_matcher(name: &str) -> String {
    let exact = matcher(name);
    match exact.strip_prefix('=') {
        Some(plain) => format!("#{plain}::*"),
        None => format!("{}::.*$/", exact.trim_end_matches("$/")),
    }
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

    fn selection(tests: Vec<SelectedTest>) -> Selection {
        Selection {
            run_all: false,
            run_all_reasons: vec![],
            total_tests: 10,
            selected: tests,
            notes: vec![],
            binary_sizes: BTreeMap::from([("a".to_owned(), 9), ("a::it".to_owned(), 9)]),
        }
    }

    #[test]
    fn nextest_groups_tests_per_binary() {
        let s = selection(vec![
            test("a", "x::one"),
            test("a", "x::two"),
            test("a::it", "three"),
            test("b::bench/speed", ""),
        ]);
        assert_eq!(
            nextest(&s),
            "(binary_id(=a) & (test(=x::one) | test(=x::two))) | (binary_id(=a::it) & test(=three)) | binary_id(=b::bench/speed)"
        );
    }

    #[test]
    fn parameterised_tests_match_their_cases() {
        let mut case = test("a", "cases");
        case.parameterized = true;
        let s = selection(vec![case, test("a", "plain")]);
        assert_eq!(
            nextest(&s),
            "(binary_id(=a) & (test(=cases) | test(#cases::*) | test(=plain)))"
        );
    }

    #[test]
    fn a_binary_selected_whole_is_named_alone() {
        let mut s = selection(vec![test("a", "x"), test("a", "y"), test("a::it", "z")]);
        s.binary_sizes.insert("a".to_owned(), 2);
        assert_eq!(
            nextest(&s),
            "binary_id(=a) | (binary_id(=a::it) & test(=z))"
        );
    }

    #[test]
    fn nextest_of_nothing_and_everything() {
        assert_eq!(nextest(&selection(vec![])), "none()");
        let mut all = selection(vec![test("a", "x")]);
        all.run_all = true;
        assert_eq!(nextest(&all), "all()");
    }

    #[test]
    fn special_names_become_escaped_regexes() {
        assert_eq!(matcher("a::b"), "=a::b");
        assert_eq!(matcher("case(1, 2)"), r"/^case\(1\x2C 2\)$/");
        assert_eq!(matcher("a/b c"), r"/^a/b c$/".replace("a/b", r"a\x2Fb"));
    }

    #[test]
    fn list_prints_one_test_a_line() {
        let s = selection(vec![test("a", "x::one"), test("b::bench/speed", "")]);
        assert_eq!(list(&s), "a x::one\nb::bench/speed\n");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("a::b"), "a::b");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}

//! Tests written by the workspace's own `macro_rules!` (fixture `macro-tests`): the graph
//! names them as cargo-nextest does, and reaches them from the macro, the invocation and the
//! names either mentions.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hourglass_graph::{BuildOptions, Graph, ItemId, LineRange};

use crate::graph::{graph_tests, nextest_list};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/workspaces/macro-tests")
}

fn graph() -> Graph {
    Graph::build(&fixture(), &BuildOptions::default()).expect("graph of macro-tests")
}

/// The items whose lines hold `needle` in `file` (the innermost ones, as a diff would give).
fn changed_at(graph: &Graph, file: &str, needle: &str) -> Vec<ItemId> {
    let text = std::fs::read_to_string(fixture().join(file)).expect("fixture file");
    let line = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {file}"));
    let line = u32::try_from(line + 1).unwrap();
    graph.items_at(file, LineRange::new(line, line))
}

fn affected(graph: &Graph, changed: &[ItemId]) -> BTreeSet<String> {
    graph
        .affected_tests(changed)
        .into_iter()
        .map(|(test, _)| graph.test(test).id.to_string())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn macro_written_tests_match_cargo_nextest_list() {
    let target = tempfile::tempdir().expect("target dir");
    let listed = nextest_list(&fixture(), target.path(), &["--workspace"]);
    assert_eq!(graph_tests(&graph(), None), listed);
}

#[test]
fn two_tests_per_invocation_one_behind_a_feature() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "matcher/src/lib.rs",
            "empty_case!(ascii_empty, unicode_empty",
        ),
    );
    assert_eq!(
        reached,
        names(&["matcher tests::ascii_empty", "matcher tests::unicode_empty"])
    );
}

#[test]
fn a_change_to_the_macro_reaches_every_test_it_writes() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "matcher/src/lib.rs",
            "assert_eq!(char_count($pattern), 0);",
        ),
    );
    assert_eq!(
        reached,
        names(&[
            "matcher tests::ascii_empty",
            "matcher tests::ascii_empty_again",
            "matcher tests::unicode_empty",
            "matcher tests::unicode_empty_again",
        ])
    );
}

#[test]
fn a_function_named_in_a_macro_body_reaches_its_tests() {
    let graph = graph();
    // `char_count` is named by `empty_case!` and by `one!`, which `each!` invokes.
    let reached = affected(
        &graph,
        &changed_at(&graph, "matcher/src/lib.rs", "input.chars().count()"),
    );
    for test in [
        "matcher tests::unicode_empty",
        "matcher tests::nested_a",
        "matcher tests::nested_b",
    ] {
        assert!(reached.contains(test), "{test} not in {reached:?}");
    }
}

#[test]
fn nested_helper_macros_and_nested_repetitions_name_their_tests() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "matcher/src/lib.rs",
            "assert_eq!(char_count(stringify!($name))",
        ),
    );
    assert_eq!(
        reached,
        names(&["matcher tests::nested_a", "matcher tests::nested_b"])
    );
    let reached = affected(
        &graph,
        &changed_at(&graph, "matcher/src/lib.rs", "suffix => [star_start"),
    );
    assert_eq!(
        reached,
        names(&[
            "matcher tests::prefix::star_end",
            "matcher tests::prefix::star_only",
            "matcher tests::suffix::star_start",
        ])
    );
}

#[test]
fn a_table_file_of_invocations_and_its_macro_in_another_file() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(&graph, "matcher/src/table.rs", "table_star"),
    );
    assert_eq!(reached, names(&["matcher table::table_star"]));
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "matcher/src/macros.rs",
            "crate::is_match($pattern, $input)",
        ),
    );
    assert_eq!(
        reached,
        names(&[
            "matcher table::table_empty_star",
            "matcher table::table_literal",
            "matcher table::table_star",
        ])
    );
}

#[test]
fn an_integration_target_whose_tests_all_come_from_a_helper_macro() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(&graph, "app/tests/it/macros.rs", "$fun(text);"),
    );
    assert_eq!(
        reached,
        names(&["app::it regression::issue_1", "app::it regression::issue_2"])
    );
    // The helper the macro's body calls, in a third file.
    let reached = affected(
        &graph,
        &changed_at(&graph, "app/tests/it/util.rs", "format!"),
    );
    assert_eq!(
        reached,
        names(&["app::it regression::issue_1", "app::it regression::issue_2"])
    );
    // A library function named in the invocation's closure.
    let reached = affected(
        &graph,
        &changed_at(&graph, "app/src/lib.rs", "text.lines()"),
    );
    assert!(
        reached.contains("app::it regression::issue_1"),
        "{reached:?}"
    );
}

#[test]
fn passed_through_tests_run_under_every_module_the_macro_writes() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "app/tests/runtimes.rs",
            "count_matching(\"z\", \"ab\")",
        ),
    );
    assert_eq!(
        reached,
        names(&[
            "app::runtimes multi::counts",
            "app::runtimes multi::counts_nothing",
            "app::runtimes single::counts",
            "app::runtimes single::counts_nothing",
        ])
    );
    let reached = affected(
        &graph,
        &changed_at(&graph, "app/tests/runtimes.rs", "2 + 2"),
    );
    assert!(
        reached.contains("app::runtimes multi::counts"),
        "{reached:?}"
    );
}

#[test]
fn an_exported_macro_of_a_workspace_dependency_writes_tests() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(&graph, "matcher/src/lib.rs", "assert!($body);"),
    );
    assert_eq!(
        reached,
        names(&["app::exported from_dependency", "app::exported imported"])
    );
}

#[test]
fn the_cache_keeps_what_expansion_needs() {
    let cache = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        source: None,
    };
    let cold = Graph::build(&fixture(), &options).unwrap();
    let warm = Graph::build(&fixture(), &options).unwrap();
    assert_eq!(warm.stats().cache_hits, warm.stats().files);
    assert_eq!(graph_tests(&cold, None), graph_tests(&warm, None));
    assert!(
        warm.tests()
            .iter()
            .any(|test| test.id.to_string() == "app::runtimes multi::counts_nothing")
    );
}

#[test]
fn a_module_declared_inside_a_macro_invocation_is_in_the_tree() {
    let graph = graph();
    let reached = affected(
        &graph,
        &changed_at(
            &graph,
            "app/src/declared.rs",
            "crate::count_matching(\"\", text)",
        ),
    );
    assert!(
        reached.contains("app declared::tests::counts_blank_lines"),
        "{reached:?}"
    );
    let reached = affected(
        &graph,
        &changed_at(&graph, "app/src/lib.rs", "text.lines().filter("),
    );
    for test in [
        "app declared::tests::counts_blank_lines",
        "app on_unix::tests::declared_in_a_branch",
        "app::aliased runs_under_an_alias",
        "app renamed::through_a_renamed_macro",
    ] {
        assert!(reached.contains(test), "{test} not in {reached:?}");
    }
}

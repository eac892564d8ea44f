use hourglass_model::ChangeKind;
use hourglass_select::DOCTEST_NOTE;

use crate::{BETA_LIB, Workspace, ids, modified, run, whole};

#[test]
fn a_changed_function_selects_its_users_transitively_and_nothing_else() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    // `a + b`, inside `add`.
    let selection = run(&graph, vec![modified("crates/alpha/src/lib.rs", 2, 2)]);
    assert_eq!(
        ids(&selection),
        [
            "alpha tests::adds",
            "beta tests::quadruples",
            "beta::api quadruple_of_two"
        ]
    );
    assert!(!selection.run_all);
    assert_eq!(selection.total_tests, graph.tests().len());
    let adds = &selection.selected[0];
    assert_eq!(
        adds.reasons,
        ["uses `add` (changed at crates/alpha/src/lib.rs:2)"]
    );
    assert!(selection.notes.iter().any(|n| n == DOCTEST_NOTE));
}

#[test]
fn a_test_whose_own_body_changed_is_selected_for_that_reason() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    // The body of `tests::greets` in beta.
    let line = BETA_LIB
        .lines()
        .position(|l| l.contains("super::greeting()"))
        .unwrap() as u32
        + 1;
    let selection = run(&graph, vec![modified("crates/beta/src/lib.rs", line, line)]);
    assert_eq!(ids(&selection), ["beta tests::greets"]);
    assert!(selection.selected[0].reasons[0].starts_with("its own code changed"));
}

#[test]
fn an_added_file_counts_as_wholly_changed() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(
        &graph,
        vec![whole(ChangeKind::Added, "crates/gamma/src/lib.rs")],
    );
    assert_eq!(ids(&selection), ["gamma tests::shouts"]);
}

#[test]
fn a_file_that_does_not_parse_selects_its_package_and_dependents() {
    let workspace = Workspace::new();
    workspace.write(
        "crates/alpha/src/lib.rs",
        &crate::ALPHA_LIB.replace("    -a\n", "    -a +\n"),
    );
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("crates/alpha/src/lib.rs", 10, 10)]);
    let selected = ids(&selection);
    assert!(
        selected.contains(&"beta tests::greets".to_owned()),
        "{selected:?}"
    );
    assert!(selected.contains(&"beta::api quadruple_of_two".to_owned()));
    assert!(
        !selected.iter().any(|id| id.starts_with("gamma")),
        "{selected:?}"
    );
    let reason = &selection.selected.last().unwrap().reasons[0];
    assert!(
        reason.contains("crates/alpha/src/lib.rs:") && reason.contains("does not parse"),
        "{reason}"
    );
}

#[test]
fn a_deleted_rust_file_selects_its_package() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(
        &graph,
        vec![whole(ChangeKind::Deleted, "crates/beta/src/old.rs")],
    );
    let selected = ids(&selection);
    assert!(
        selected.iter().all(|id| id.starts_with("beta")),
        "{selected:?}"
    );
    assert_eq!(selected.len(), 3);
    assert!(selection.selected[0].reasons[0].contains("was deleted"));
}

#[test]
fn a_data_file_selects_the_tests_of_its_package_only() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(
        &graph,
        vec![modified("crates/beta/tests/data/input.txt", 1, 1)],
    );
    let selected = ids(&selection);
    assert_eq!(selected.len(), 3, "{selected:?}");
    assert!(selected.iter().all(|id| id.starts_with("beta")));
    assert!(selection.selected[0].reasons[0].contains("cannot see into"));
}

#[test]
fn a_file_outside_every_package_runs_everything() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("scripts/release.sh", 1, 1)]);
    assert!(selection.run_all);
    assert_eq!(selection.selected.len(), graph.tests().len());
    assert!(selection.run_all_reasons[0].contains("scripts/release.sh"));
}

#[test]
fn a_build_script_selects_its_package_and_dependents() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("crates/gamma/build.rs", 1, 1)]);
    assert_eq!(ids(&selection), ["gamma tests::shouts"]);
    assert!(selection.selected[0].reasons[0].contains("build script"));
}

#[test]
fn documentation_is_ignored() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(
        &graph,
        vec![
            modified("README.md", 1, 1),
            modified("crates/beta/CHANGELOG.md", 3, 3),
            modified("docs/guide/intro.txt", 1, 1),
        ],
    );
    assert!(!selection.run_all);
    assert!(selection.selected.is_empty());
}

#[test]
fn the_toolchain_file_runs_everything() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("rust-toolchain.toml", 1, 1)]);
    assert!(selection.run_all);
    assert!(selection.run_all_reasons[0].contains("toolchain"));
}

#[test]
fn an_empty_change_selects_nothing() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(&graph, vec![]);
    assert!(selection.selected.is_empty());
    assert!(!selection.run_all);
    assert!(selection.notes.is_empty());
}

#[test]
fn a_parameterised_test_is_matched_by_prefix() {
    let workspace = Workspace::new();
    let source = "\
pub fn id(x: i32) -> i32 {
    x
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    #[test_case(1 ; \"one\")]
    #[test_case(2 ; \"two\")]
    fn keeps(x: i32) {
        assert_eq!(super::id(x), x);
    }

    #[test]
    fn unrelated() {
        assert_eq!(1 + 1, 2);
    }
}
";
    workspace.write("crates/gamma/src/lib.rs", source);
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("crates/gamma/src/lib.rs", 2, 2)]);
    assert_eq!(ids(&selection), ["gamma tests::keeps"]);
    assert!(selection.selected[0].parameterized);
    // `gamma` changed: its unaffected test is left out, the rest of it runs.
    assert_eq!(
        hourglass_select::output::nextest(&selection),
        "not (binary_id(=alpha) | binary_id(=beta) | binary_id(=beta::api) \
         | (binary_id(=gamma) & test(=tests::unrelated)))"
    );
    // When `unrelated` alone changes, the parameterised test is left out
    // with its cases.
    let line = source.lines().position(|l| l.contains("1 + 1")).unwrap() as u32 + 1;
    let other = run(
        &graph,
        vec![modified("crates/gamma/src/lib.rs", line, line)],
    );
    assert_eq!(ids(&other), ["gamma tests::unrelated"]);
    assert!(
        hourglass_select::output::nextest(&other)
            .contains("(binary_id(=gamma) & (test(=tests::keeps) | test(/^tests::keeps::/)))")
    );
    assert!(
        !run(&graph, vec![modified("crates/alpha/src/lib.rs", 2, 2)]).selected[0].parameterized
    );
}

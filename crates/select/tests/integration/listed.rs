//! Selection against the runner's list: tests the graph does not know.

use hourglass_model::ChangeSet;
use hourglass_select::{
    ChangeContext, PathRule, RuleAction, Rules, Selection, TestList, analyze, output,
    selection_with_list,
};

use crate::{GAMMA_LIB, Workspace, ids, modified};

/// A list in nextest's JSON shape: `(binary id, package, tests)`.
fn list(binaries: &[(&str, &str, &[&str])]) -> TestList {
    let suites: Vec<String> = binaries
        .iter()
        .map(|(binary, package, tests)| {
            let cases: Vec<String> = tests
                .iter()
                .map(|name| format!("\"{name}\": {{\"ignored\": false}}"))
                .collect();
            format!(
                "\"{binary}\": {{\"package-name\": \"{package}\", \"kind\": \"lib\", \"status\": \"listed\", \"testcases\": {{{}}}}}",
                cases.join(", ")
            )
        })
        .collect();
    let text = format!("{{\"rust-suites\": {{{}}}}}", suites.join(", "));
    TestList::from_nextest_json(text.as_bytes(), "list.json").expect("a valid list")
}

/// The workspace's tests, plus unseen ones.
fn full_list() -> TestList {
    list(&[
        (
            "alpha",
            "alpha",
            &[
                "tests::adds",
                "tests::negates",
                "tests::ghost",
                "ghost_at_root",
            ],
        ),
        (
            "beta",
            "beta",
            &["tests::quadruples", "tests::greets", "tests::ghost"],
        ),
        ("beta::api", "beta", &["quadruple_of_two", "api_ghost"]),
        ("gamma", "gamma", &["tests::shouts", "tests::ghost"]),
        ("delta::new", "delta", &["brand_new"]),
    ])
}

fn with_list(workspace: &Workspace, line: (&str, u32), rules: &Rules) -> Selection {
    let graph = workspace.graph();
    let changes = ChangeSet {
        files: vec![modified(line.0, line.1, line.1)],
    };
    let impact = analyze(&graph, &changes, rules, &ChangeContext::default());
    selection_with_list(&graph, &impact, &full_list())
}

fn reason(selection: &Selection, id: &str) -> String {
    selection
        .selected
        .iter()
        .find(|t| format!("{} {}", t.binary_id, t.name) == id)
        .map(|t| t.reasons.join("; "))
        .unwrap_or_default()
}

#[test]
fn unseen_tests_follow_their_module_and_unknown_packages_always_run() {
    let workspace = Workspace::new();
    // `greeting` in beta (line 6): only `beta tests::greets` uses it.
    let selection = with_list(
        &workspace,
        ("crates/beta/src/lib.rs", 6),
        &Rules::defaults(),
    );
    assert_eq!(
        ids(&selection),
        [
            "beta tests::ghost",
            "beta tests::greets",
            "delta::new brand_new",
        ]
    );
    assert!(
        reason(&selection, "beta tests::ghost")
            .starts_with("not visible to the graph; module `tests` holds code the change reaches"),
        "{selection:?}"
    );
    assert!(
        reason(&selection, "delta::new brand_new").contains("package `delta` is not in the graph")
    );
    let listed = selection.listed.as_ref().unwrap();
    assert_eq!(listed.tests, 12);
    assert_eq!(selection.total_tests, 12);
    assert_eq!(listed.not_in_graph.len(), 6);
    assert!(listed.not_in_list.is_empty());
}

#[test]
fn an_unseen_test_at_the_crate_root_follows_the_whole_crate() {
    let workspace = Workspace::new();
    // `add` in alpha: the crate root holds reached code.
    let selection = with_list(
        &workspace,
        ("crates/alpha/src/lib.rs", 2),
        &Rules::defaults(),
    );
    let ids = ids(&selection);
    assert!(ids.contains(&"alpha ghost_at_root".to_owned()), "{ids:?}");
    assert!(ids.contains(&"alpha tests::ghost".to_owned()));
    // beta's unseen unit test: `tests::quadruples` is reached in its module.
    assert!(ids.contains(&"beta tests::ghost".to_owned()));
    // The integration test crate's root holds `quadruple_of_two`, reached.
    assert!(ids.contains(&"beta::api api_ghost".to_owned()));
    assert!(!ids.contains(&"gamma tests::ghost".to_owned()));
}

#[test]
fn a_package_with_a_build_script_falls_back_to_what_its_binary_links() {
    let workspace = Workspace::new();
    // `shout` in gamma (line 2), which has a build script: its unseen test
    // runs because the binary links the change, not by its module.
    let line = GAMMA_LIB
        .lines()
        .position(|l| l.contains("to_uppercase"))
        .unwrap() as u32
        + 1;
    let selection = with_list(
        &workspace,
        ("crates/gamma/src/lib.rs", line),
        &Rules::defaults(),
    );
    assert!(
        reason(&selection, "gamma tests::ghost")
            .contains("not visible to the graph; it links `gamma`"),
        "{selection:?}"
    );
    // A change elsewhere leaves it out.
    let other = with_list(
        &workspace,
        ("crates/beta/src/lib.rs", 6),
        &Rules::defaults(),
    );
    assert!(!ids(&other).contains(&"gamma tests::ghost".to_owned()));
}

#[test]
fn rule_patterns_name_unseen_tests_too() {
    let workspace = Workspace::new();
    let rules = Rules::defaults().with(vec![PathRule::new(
        "fixtures/**",
        RuleAction::Tests(vec!["gamma tests::*".to_owned()]),
        Some("fixtures feed gamma"),
    )]);
    let selection = with_list(&workspace, ("fixtures/a.json", 1), &rules);
    // (A package the graph does not know always runs.)
    assert_eq!(
        ids(&selection),
        [
            "delta::new brand_new",
            "gamma tests::ghost",
            "gamma tests::shouts"
        ]
    );
    assert!(reason(&selection, "gamma tests::ghost").contains("fixtures feed gamma"));
}

#[test]
fn cases_of_a_parameterised_test_follow_it_and_missing_tests_are_noted() {
    let workspace = Workspace::new();
    workspace.write(
        "crates/gamma/src/lib.rs",
        "pub fn id(x: i32) -> i32 {\n    x\n}\n\n#[cfg(test)]\nmod tests {\n    use test_case::test_case;\n\n    #[test_case(1 ; \"one\")]\n    fn keeps(x: i32) {\n        assert_eq!(super::id(x), x);\n    }\n\n    #[test]\n    fn cfg_out() {}\n}\n",
    );
    let graph = workspace.graph();
    let changes = ChangeSet {
        files: vec![modified("crates/gamma/src/lib.rs", 2, 2)],
    };
    let impact = analyze(
        &graph,
        &changes,
        &Rules::defaults(),
        &ChangeContext::default(),
    );
    let listed = list(&[(
        "gamma",
        "gamma",
        &["tests::keeps::one", "tests::keeps::two"],
    )]);
    let selection = selection_with_list(&graph, &impact, &listed);
    assert_eq!(
        ids(&selection),
        ["gamma tests::keeps::one", "gamma tests::keeps::two"]
    );
    let summary = selection.listed.as_ref().unwrap();
    assert!(summary.not_in_graph.is_empty());
    // `cfg_out` (compiled out, say) and every test of the binaries the list
    // lacks.
    assert_eq!(summary.not_in_list[0], "gamma tests::cfg_out");
    assert!(
        summary
            .not_in_list
            .contains(&"alpha tests::adds".to_owned())
    );
    // Binaries the list lacks run nothing; the listed cases are named.
    let filterset = output::nextest(&selection);
    assert!(filterset.contains("binary_id(=alpha)"), "{filterset}");
    assert!(!filterset.contains("keeps"), "{filterset}");
}

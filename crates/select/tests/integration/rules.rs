use hourglass_model::ChangeSet;
use hourglass_select::{ChangeContext, PathRule, RuleAction, Rules, select};

use crate::{Workspace, ids, modified};

fn with_rule(rule: PathRule, path: &str) -> hourglass_select::Selection {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let rules = Rules::defaults().with(vec![rule]);
    select(
        &graph,
        &ChangeSet {
            files: vec![modified(path, 1, 1)],
        },
        &rules,
        &ChangeContext::default(),
    )
}

#[test]
fn a_tests_rule_selects_matching_tests() {
    let selection = with_rule(
        PathRule::new(
            "fixtures/**",
            RuleAction::Tests(vec![
                "beta::api *".to_owned(),
                "alpha tests::adds".to_owned(),
            ]),
            Some("fixtures feed these tests"),
        ),
        "fixtures/a.json",
    );
    assert_eq!(
        ids(&selection),
        ["alpha tests::adds", "beta::api quadruple_of_two"]
    );
    assert!(selection.selected[0].reasons[0].contains("fixtures feed these tests"));
}

#[test]
fn a_packages_rule_selects_the_package_and_dependents() {
    let selection = with_rule(
        PathRule::new(
            "schema/*.sql",
            RuleAction::Packages(vec!["alpha".to_owned()]),
            None,
        ),
        "schema/v1.sql",
    );
    let selected = ids(&selection);
    assert!(selected.contains(&"alpha tests::negates".to_owned()));
    assert!(selected.contains(&"beta tests::greets".to_owned()));
    assert!(!selected.iter().any(|id| id.starts_with("gamma")));
}

#[test]
fn a_rule_naming_an_unknown_package_runs_everything() {
    let selection = with_rule(
        PathRule::new(
            "schema/**",
            RuleAction::Packages(vec!["nope".to_owned()]),
            None,
        ),
        "schema/v1.sql",
    );
    assert!(selection.run_all);
    assert!(selection.run_all_reasons[0].contains("`nope`"));
}

#[test]
fn a_user_rule_overrides_a_default_one() {
    let selection = with_rule(
        PathRule::new("*.md", RuleAction::RunAll, Some("docs are tested")),
        "README.md",
    );
    assert!(selection.run_all);
    let ignored = with_rule(
        PathRule::new("crates/beta/**", RuleAction::Ignore, None),
        "crates/beta/src/lib.rs",
    );
    assert!(ignored.selected.is_empty());
}

use hourglass_model::{ChangeSet, RustTestId};
use hourglass_select::{ChangeContext, Explanation, Rules, analyze, explain};

use crate::{Workspace, modified};

#[test]
fn the_chain_runs_from_the_changed_item_to_the_test() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let changes = ChangeSet {
        files: vec![modified("crates/alpha/src/lib.rs", 2, 2)],
    };
    let impact = analyze(
        &graph,
        &changes,
        &Rules::defaults(),
        &ChangeContext::default(),
    );
    let test = graph
        .find_test(&RustTestId::new("beta::api", "quadruple_of_two"))
        .expect("the test exists");
    let Explanation::Reached {
        changed,
        changed_at,
        steps,
        ..
    } = explain(&graph, &impact, test)
    else {
        panic!("the test is reached");
    };
    assert_eq!(changed.name, "add");
    assert_eq!(changed_at, "crates/alpha/src/lib.rs:2");
    assert!(!steps.is_empty());
    assert_eq!(steps[0].from.name, "add");
    assert_eq!(steps.last().unwrap().to.file, "crates/beta/tests/api.rs");
    for pair in steps.windows(2) {
        assert_eq!(
            pair[0].to, pair[1].from,
            "each step starts where the last ended"
        );
    }
}

#[test]
fn an_unrelated_test_is_not_affected() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let changes = ChangeSet {
        files: vec![modified("crates/alpha/src/lib.rs", 2, 2)],
    };
    let impact = analyze(
        &graph,
        &changes,
        &Rules::defaults(),
        &ChangeContext::default(),
    );
    let test = graph
        .find_test(&RustTestId::new("gamma", "tests::shouts"))
        .expect("the test exists");
    let explanation = explain(&graph, &impact, test);
    assert!(!explanation.is_selected());
    let Explanation::NotAffected { reason } = explanation else {
        panic!("not affected");
    };
    assert!(reason.contains("`add`"), "{reason}");
}

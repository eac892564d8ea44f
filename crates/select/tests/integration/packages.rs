//! Package-level selection and the linker's bound on item-level selection.

use hourglass_graph::{BuildOptions, Graph};
use hourglass_model::ChangeSet;
use hourglass_select::{ChangeContext, Rules, select_packages};

use crate::{Workspace, ids, manifest, modified, run};

fn run_packages(
    graph: &Graph,
    files: Vec<hourglass_model::FileChange>,
) -> hourglass_select::Selection {
    select_packages(
        graph,
        &ChangeSet { files },
        &Rules::defaults(),
        &ChangeContext::default(),
    )
}

#[test]
fn package_level_selects_the_changed_package_and_the_packages_that_link_it() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run_packages(&graph, vec![modified("crates/alpha/src/lib.rs", 10, 10)]);
    assert_eq!(
        ids(&selection),
        [
            "alpha tests::adds",
            "alpha tests::negates",
            "beta tests::greets",
            "beta tests::quadruples",
            "beta::api quadruple_of_two"
        ]
    );
    let greets = &selection.selected[2];
    assert_eq!(
        greets.reasons,
        ["package `beta` can link `alpha`, which changed (crates/alpha/src/lib.rs:10)"]
    );
    // The item-level selection of the same change is inside it.
    let items = ids(&run(
        &graph,
        vec![modified("crates/alpha/src/lib.rs", 10, 10)],
    ));
    assert!(
        items.iter().all(|id| ids(&selection).contains(id)),
        "{items:?}"
    );
}

#[test]
fn package_level_does_not_follow_a_dependency_s_dev_dependencies() {
    let workspace = Workspace::new();
    // gamma dev-depends on alpha: alpha's change reaches gamma's tests, but not those of a
    // package that depends on gamma normally.
    workspace.write(
        "crates/gamma/Cargo.toml",
        &format!(
            "{}\n[dev-dependencies]\nalpha = {{ path = \"../alpha\" }}\n",
            manifest("gamma", "")
        ),
    );
    workspace.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    workspace.write(
        "crates/delta/Cargo.toml",
        &manifest("delta", "gamma = { path = \"../gamma\" }\n"),
    );
    workspace.write(
        "crates/delta/src/lib.rs",
        "#[test]\nfn shouts_too() {\n    assert_eq!(gamma::shout(\"b\"), \"B\");\n}\n",
    );
    let graph = Graph::build(workspace.path(), &BuildOptions::default()).unwrap();
    let selected = ids(&run_packages(
        &graph,
        vec![modified("crates/alpha/src/lib.rs", 10, 10)],
    ));
    assert!(
        selected.contains(&"gamma tests::shouts".to_owned()),
        "{selected:?}"
    );
    assert!(
        !selected.iter().any(|id| id.starts_with("delta")),
        "{selected:?}"
    );
}

#[test]
fn a_loose_edge_does_not_carry_a_change_into_a_test_that_cannot_link_it() {
    let workspace = Workspace::new();
    // alpha defines a trait and a function generic over it, tested in alpha and used by beta's
    // tests; gamma implements the trait. A change to gamma's impl reaches the trait method (its
    // callers dispatch to every impl), but neither alpha's nor beta's tests can link gamma.
    workspace.write(
        "crates/alpha/src/lib.rs",
        &format!(
            "{}\npub trait Doubling {{\n    fn double(&self, a: i32) -> i32;\n}}\n\npub fn apply<T: Doubling>(value: &T) -> i32 {{\n    value.double(2)\n}}\n\n#[test]\nfn applies() {{\n    struct One;\n    impl Doubling for One {{\n        fn double(&self, a: i32) -> i32 {{\n            a\n        }}\n    }}\n    assert_eq!(apply(&One), 2);\n}}\n",
            crate::ALPHA_LIB
        ),
    );
    workspace.write(
        "crates/gamma/Cargo.toml",
        &manifest("gamma", "alpha = { path = \"../alpha\" }\n"),
    );
    workspace.write(
        "crates/gamma/src/lib.rs",
        "pub struct Twice;\n\nimpl alpha::Doubling for Twice {\n    fn double(&self, a: i32) -> i32 {\n        a * 2\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(alpha::apply(&super::Twice), 4);\n    }\n}\n",
    );
    workspace.write(
        "crates/beta/tests/apply.rs",
        "#[test]\nfn applies_through_alpha() {\n    struct Three;\n    impl alpha::Doubling for Three {\n        fn double(&self, a: i32) -> i32 {\n            a * 3\n        }\n    }\n    assert_eq!(alpha::apply(&Three), 6);\n}\n",
    );
    let graph = workspace.graph();
    let change = || vec![modified("crates/gamma/src/lib.rs", 5, 5)];
    let beta = graph.package_by_name("beta").unwrap();
    let gamma = graph.package_by_name("gamma").unwrap();
    assert!(!graph.can_link(beta, gamma));
    // Without the bound the impl's change reaches alpha's and beta's tests through the trait.
    let trait_method = graph
        .items()
        .find(|(_, item)| item.name == "Doubling::double" && item.krate == "alpha")
        .map(|(id, _)| id)
        .unwrap();
    let through_trait: Vec<String> = graph
        .affected_tests(&[trait_method])
        .into_iter()
        .map(|(test, _)| graph.test(test).id.to_string().trim_end().to_owned())
        .collect();
    assert!(
        through_trait.contains(&"beta::apply applies_through_alpha".to_owned()),
        "{through_trait:?}"
    );
    assert_eq!(ids(&run(&graph, change())), ["gamma tests::doubles"]);
    assert_eq!(
        ids(&run_packages(&graph, change())),
        ["gamma tests::doubles"]
    );
}

/// `beta` depends on `ext`, a path package outside the workspace, and `ext` on the member
/// `alpha`: `Cargo.lock` (written by cargo) says so, and a change in `alpha` selects `beta`'s
/// tests at both levels, though no edge of the graph leads there.
#[test]
fn a_member_linked_through_an_external_package_selects_the_linking_package() {
    let dir = tempfile::tempdir().unwrap();
    let write = |relative: &str, contents: &str| {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    };
    write(
        "ws/Cargo.toml",
        "[workspace]\nmembers = [\"crates/alpha\", \"crates/beta\"]\nresolver = \"2\"\n",
    );
    write("ws/crates/alpha/Cargo.toml", &manifest("alpha", ""));
    write(
        "ws/crates/alpha/src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    );
    write(
        "ext/Cargo.toml",
        &manifest("ext", "alpha = { path = \"../ws/crates/alpha\" }\n"),
    );
    write(
        "ext/src/lib.rs",
        "pub fn sum(a: i32, b: i32) -> i32 {\n    alpha::add(a, b)\n}\n",
    );
    write(
        "ws/crates/beta/Cargo.toml",
        &manifest("beta", "ext = { path = \"../../../ext\" }\n"),
    );
    write(
        "ws/crates/beta/src/lib.rs",
        "#[test]\nfn sums() {\n    assert_eq!(ext::sum(2, 2), 4);\n}\n",
    );
    let root = dir.path().join("ws");
    let without_lock = Graph::build(&root, &BuildOptions::default()).unwrap();
    let change = || vec![modified("crates/alpha/src/lib.rs", 2, 2)];
    assert!(ids(&run(&without_lock, change())).is_empty());

    let status = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success());
    let graph = Graph::build(&root, &BuildOptions::default()).unwrap();
    let selection = run(&graph, change());
    assert_eq!(ids(&selection), ["beta sums"]);
    assert_eq!(
        selection.selected[0].reasons,
        ["`beta` links `alpha` through the external package `ext`"]
    );
    assert_eq!(ids(&run_packages(&graph, change())), ["beta sums"]);
}

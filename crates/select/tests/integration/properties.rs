//! A selection always contains the tests of the changed item itself: for
//! any set of changed line ranges, every test whose own span overlaps one
//! of them is selected.

use std::sync::OnceLock;

use hourglass_graph::Graph;
use hourglass_model::{ChangeKind, ChangeSet, FileChange, LineRange};
use hourglass_select::{ChangeContext, Rules, select};
use proptest::prelude::*;

use crate::Workspace;

fn graph() -> &'static (Workspace, Graph) {
    static GRAPH: OnceLock<(Workspace, Graph)> = OnceLock::new();
    GRAPH.get_or_init(|| {
        let workspace = Workspace::new();
        let graph = workspace.graph();
        (workspace, graph)
    })
}

/// Files with tests, and their line counts.
fn files(graph: &Graph) -> Vec<(String, u32)> {
    let mut files: Vec<(String, u32)> = graph
        .tests()
        .iter()
        .filter_map(|t| Some((t.file.clone(), t.lines?.end + 3)))
        .collect();
    files.sort();
    files.dedup_by(|a, b| {
        if a.0 == b.0 {
            b.1 = b.1.max(a.1);
            true
        } else {
            false
        }
    });
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_test_whose_lines_changed_is_always_selected(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), 1u32..60, 0u32..4), 1..4)
    ) {
        let (_, graph) = graph();
        let files = files(graph);
        let mut changes = ChangeSet::default();
        for (file, start, len) in picks {
            let (path, lines) = &files[file.index(files.len())];
            let start = start.min(*lines);
            let range = LineRange::new(start, start + len);
            changes.files.push(FileChange {
                kind: ChangeKind::Modified,
                old_path: Some(path.clone()),
                new_path: Some(path.clone()),
                old_lines: vec![range],
                new_lines: vec![range],
                whole_file: false,
                line_counts: vec![],
            });
        }
        let selection = select(graph, &changes, &Rules::defaults(), &ChangeContext::default());
        for test in graph.tests() {
            let Some(span) = test.lines else { continue };
            let touched = changes.files.iter().any(|change| {
                change.new_path.as_deref() == Some(test.file.as_str())
                    && change.new_lines.iter().any(|range| range.overlaps(&span))
            });
            if touched {
                prop_assert!(
                    selection.selected.iter().any(|s| s.binary_id == test.id.binary_id && s.name == test.id.name),
                    "{} changed at {:?} but was not selected", test.id, changes
                );
            }
        }
    }
}

/// Item-level selection never leaves the package-level one for changes to Rust sources: the
/// linker bounds the graph, whatever its loose edges (method names, unresolved names, trait
/// impls, hubs) suggest.
mod linker_bound {
    use std::path::Path;
    use std::sync::OnceLock;

    use hourglass_graph::{BuildOptions, Graph};
    use hourglass_model::{ChangeKind, ChangeSet, FileChange, LineRange};
    use hourglass_select::{ChangeContext, Rules, select, select_packages};
    use proptest::prelude::*;

    /// Dependency kinds by index.
    const KINDS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

    /// A workspace of `deps.len()` crates; crate `i` depends on the crates `deps[i]` names (all
    /// before it), each with a kind. Every crate has a method `run` (one name across the
    /// workspace: method-name edges), implements its first dependency's trait, which that
    /// dependency's tests call through a generic `drive` (trait-impl edges), calls an unresolvable `helper` (name-match edges) and its normal dependencies'
    /// functions, and calls its dev-dependencies from tests.
    #[allow(clippy::format_push_string, clippy::format_collect)] // Test code: clarity first.
    fn write_workspace(root: &Path, deps: &[Vec<(usize, usize)>]) {
        let write = |relative: &str, text: &str| {
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
        );
        for (index, list) in deps.iter().enumerate() {
            let mut manifest = format!(
                "[package]\nname = \"c{index}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
            );
            for (kind_index, kind) in KINDS.iter().enumerate() {
                manifest.push_str(&format!("\n[{kind}]\n"));
                for &(dep, _) in list.iter().filter(|(_, k)| *k == kind_index) {
                    manifest.push_str(&format!("c{dep} = {{ path = \"../c{dep}\" }}\n"));
                }
            }
            write(&format!("crates/c{index}/Cargo.toml"), &manifest);
            let normal: Vec<usize> = list
                .iter()
                .filter(|(_, k)| *k == 0)
                .map(|(d, _)| *d)
                .collect();
            let dev: Vec<usize> = list
                .iter()
                .filter(|(_, k)| *k == 1)
                .map(|(d, _)| *d)
                .collect();
            let mut calls: String = normal.iter().map(|d| format!(" + c{d}::f{d}()")).collect();
            calls.push_str(" + S.run() + helper()");
            let mut source = format!(
                "pub trait Act{index} {{\n    fn act(&self) -> u32;\n}}\n\npub struct S;\n\nimpl S {{\n    pub fn run(&self) -> u32 {{\n        {index}\n    }}\n}}\n\npub fn f{index}() -> u32 {{\n    1{calls}\n}}\n\nfn helper() -> u32 {{\n    0\n}}\n\npub fn drive<T: Act{index}>(value: &T) -> u32 {{\n    value.act()\n}}\n"
            );
            if let Some(&first) = normal.first() {
                source.push_str(&format!(
                    "\nimpl c{first}::Act{first} for S {{\n    fn act(&self) -> u32 {{\n        S.run()\n    }}\n}}\n"
                ));
            }
            let dev_calls: String = dev.iter().map(|d| format!(" + c{d}::f{d}()")).collect();
            source.push_str(&format!(
                "\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn works() {{\n        assert!(super::f{index}(){dev_calls} > 0);\n        struct Own;\n        impl super::Act{index} for Own {{\n            fn act(&self) -> u32 {{\n                1\n            }}\n        }}\n        assert_eq!(super::drive(&Own), 1);\n    }}\n}}\n"
            ));
            write(&format!("crates/c{index}/src/lib.rs"), &source);
            write(
                &format!("crates/c{index}/tests/it.rs"),
                &format!(
                    "#[test]\nfn integrates() {{\n    assert!(c{index}::f{index}() > 0);\n}}\n"
                ),
            );
        }
    }

    /// The Rust files of a graph with their line counts.
    fn rust_files(graph: &Graph) -> Vec<(String, u32)> {
        let mut files: Vec<(String, u32)> = graph
            .source_files()
            .map(|path| {
                let text = std::fs::read_to_string(graph.root().join(path)).unwrap_or_default();
                (
                    path.to_owned(),
                    u32::try_from(text.lines().count().max(1)).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    fn changes(files: &[(String, u32)], picks: &[(prop::sample::Index, u32, u32)]) -> ChangeSet {
        let mut changes = ChangeSet::default();
        for (file, start, len) in picks {
            let (path, lines) = &files[file.index(files.len())];
            let start = 1 + start % *lines;
            let range = LineRange::new(start, start + len);
            changes.files.push(FileChange {
                kind: ChangeKind::Modified,
                old_path: Some(path.clone()),
                new_path: Some(path.clone()),
                old_lines: vec![range],
                new_lines: vec![range],
                whole_file: false,
                line_counts: vec![],
            });
        }
        changes
    }

    fn check_subset(graph: &Graph, changes: &ChangeSet) -> Result<(), TestCaseError> {
        let rules = Rules::defaults();
        let context = ChangeContext::default();
        let items = select(graph, changes, &rules, &context);
        let packages = select_packages(graph, changes, &rules, &context);
        prop_assert_eq!(items.run_all, packages.run_all);
        for test in &items.selected {
            prop_assert!(
                packages
                    .selected
                    .iter()
                    .any(|p| p.binary_id == test.binary_id && p.name == test.name),
                "{} {} ({:?}) is selected at item level but not at package level for {:?}",
                test.binary_id,
                test.name,
                test.reasons,
                changes
            );
        }
        Ok(())
    }

    fn fixture(name: &str) -> &'static Graph {
        static GRAPHS: OnceLock<Vec<(&'static str, Graph)>> = OnceLock::new();
        let graphs = GRAPHS.get_or_init(|| {
            ["safety-shapes", "graph-basic", "manifest-patched"]
                .into_iter()
                .map(|name| {
                    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../../fixtures/workspaces")
                        .join(name);
                    (name, Graph::build(&root, &BuildOptions::default()).unwrap())
                })
                .collect()
        });
        &graphs.iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn workspace_shape() -> impl Strategy<Value = Vec<Vec<(usize, usize)>>> {
        (2usize..6).prop_flat_map(|count| {
            (0..count)
                .map(|index| {
                    proptest::collection::vec((0..index.max(1), 0usize..3), 0..=index.min(3))
                        .prop_map(move |mut list| {
                            list.retain(|(dep, _)| *dep < index);
                            list.sort_unstable();
                            list.dedup_by_key(|(dep, _)| *dep);
                            list
                        })
                        .boxed()
                })
                .collect::<Vec<_>>()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn item_level_is_inside_package_level_on_generated_workspaces(
            deps in workspace_shape(),
            picks in proptest::collection::vec((any::<prop::sample::Index>(), 0u32..40, 0u32..3), 1..3)
        ) {
            let dir = tempfile::tempdir().unwrap();
            write_workspace(dir.path(), &deps);
            let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
            prop_assert_eq!(graph.tests().len(), deps.len() * 2);
            check_subset(&graph, &changes(&rust_files(&graph), &picks))?;
        }

        #[test]
        fn item_level_is_inside_package_level_on_the_fixtures(
            fixture_index in 0usize..3,
            picks in proptest::collection::vec((any::<prop::sample::Index>(), 0u32..200, 0u32..6), 1..4)
        ) {
            let name = ["safety-shapes", "graph-basic", "manifest-patched"][fixture_index];
            let graph = fixture(name);
            check_subset(graph, &changes(&rust_files(graph), &picks))?;
        }
    }
}

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

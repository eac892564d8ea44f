//! Questions asked of a built graph: affected tests, explanations, dumps.

use std::collections::VecDeque;
use std::io::Write;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde_json::{Value, json};

use crate::link::PackageSet;
use crate::{Edge, Graph, ItemId, PackageId, TestIndex};

const UNSEEN: u32 = u32::MAX;

impl Graph {
    /// Breadth-first search from `changed` along dependency edges (to dependents); for each
    /// reached node, the edge it was reached by (or `UNSEEN`) and the changed item it came from.
    /// With `bound`, only items of those packages are entered (and seeded).
    fn search(
        &self,
        changed: &[ItemId],
        stop_at: Option<ItemId>,
        bound: Option<&PackageSet>,
    ) -> (Vec<u32>, Vec<u32>) {
        let count = self.items.len();
        let inside =
            |node: usize| bound.is_none_or(|set| set.contains(self.items[node].package.index()));
        let mut origin = vec![UNSEEN; count];
        let mut via_edge = vec![UNSEEN; count];
        let mut queue = VecDeque::new();
        for &id in changed {
            if id.index() < count && origin[id.index()] == UNSEEN && inside(id.index()) {
                origin[id.index()] = id.0;
                queue.push_back(id.index());
            }
        }
        while let Some(node) = queue.pop_front() {
            if stop_at.is_some_and(|stop| stop.index() == node) {
                break;
            }
            for edge in self
                .edges
                .edges_directed(NodeIndex::new(node), Direction::Outgoing)
            {
                let next = edge.target().index();
                if origin[next] == UNSEEN && inside(next) {
                    origin[next] = origin[node];
                    via_edge[next] = edge.id().index() as u32;
                    queue.push_back(next);
                }
            }
        }
        (origin, via_edge)
    }

    /// Tests reachable from any of `changed` along reverse dependency edges (a test reaches an
    /// item it uses directly or transitively). For each: the changed item it was reached from.
    ///
    /// The linker bounds the search: a test counts only if it is reached by a path whose every
    /// item belongs to a package its binary can contain ([`Graph::can_link`]), so no loose edge
    /// carries a change into a test that cannot link the changed code. One search finds the
    /// candidate tests; then one search per package with a candidate test, restricted to that
    /// package's bound, keeps the ones a linkable path reaches.
    pub fn affected_tests(&self, changed: &[ItemId]) -> Vec<(TestIndex, ItemId)> {
        let (origin, _) = self.search(changed, None, None);
        let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); self.packages.len()];
        for (index, (node, test)) in self.test_nodes.iter().zip(&self.tests).enumerate() {
            if origin[node.index()] != UNSEEN {
                candidates[test.package.index()].push(index);
            }
        }
        let mut out: Vec<(TestIndex, ItemId)> = Vec::new();
        for (package, tests) in candidates.iter().enumerate() {
            if tests.is_empty() {
                continue;
            }
            let bound = self.link_bounds.linkable(PackageId::from_index(package));
            let everything_inside = origin.iter().enumerate().all(|(node, &from)| {
                from == UNSEEN || bound.contains(self.items[node].package.index())
            });
            let bounded;
            let origin = if everything_inside {
                &origin
            } else {
                bounded = self.search(changed, None, Some(bound)).0;
                &bounded
            };
            for &index in tests {
                let node = self.test_nodes[index];
                if origin[node.index()] != UNSEEN {
                    out.push((TestIndex(index as u32), ItemId(origin[node.index()])));
                }
            }
        }
        out.sort();
        out
    }

    /// The chain of edges from one of `changed` to `test`, shortest first, through packages the
    /// test's binary can contain only (as in [`Graph::affected_tests`]); `None` if unreachable.
    /// An empty chain means the test's own item changed.
    pub fn explain(&self, changed: &[ItemId], test: TestIndex) -> Option<Vec<Edge>> {
        let target = *self.test_nodes.get(test.index())?;
        let bound = self.link_bounds.linkable(self.tests[test.index()].package);
        let (origin, via_edge) = self.search(changed, Some(target), Some(bound));
        if origin[target.index()] == UNSEEN {
            return None;
        }
        let mut chain = Vec::new();
        let mut node = target.index();
        while via_edge[node] != UNSEEN {
            let edge_index = petgraph::graph::EdgeIndex::new(via_edge[node] as usize);
            let (from, to) = self.edges.edge_endpoints(edge_index)?;
            chain.push(Edge {
                from: ItemId(from.index() as u32),
                to: ItemId(to.index() as u32),
                reason: self.edges[edge_index],
            });
            node = from.index();
        }
        chain.reverse();
        // A hub stands for "every item of this name": `from` → hub → `to` reads as one step.
        let mut collapsed: Vec<Edge> = Vec::with_capacity(chain.len());
        for edge in chain {
            match collapsed.last_mut() {
                Some(last) if last.to == edge.from && self.is_name_hub(edge.from) => {
                    last.to = edge.to;
                }
                _ => collapsed.push(edge),
            }
        }
        Some(collapsed)
    }

    /// Whether `id` is a pass-through node standing for a name that many items use loosely.
    pub fn is_name_hub(&self, id: ItemId) -> bool {
        self.name_hubs.binary_search(&id).is_ok()
    }

    /// The items that `id` depends on directly, with the reason.
    pub fn dependencies_of(&self, id: ItemId) -> Vec<Edge> {
        self.edges
            .edges_directed(NodeIndex::new(id.index()), Direction::Incoming)
            .map(|edge| Edge {
                from: ItemId(edge.source().index() as u32),
                to: id,
                reason: *edge.weight(),
            })
            .collect()
    }

    /// The whole graph as one JSON document: packages, files, items, edges and tests.
    pub fn to_json(&self) -> Value {
        let packages: Vec<Value> = self
            .packages
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "dir": p.dir,
                    "manifest": p.manifest,
                    "targets": p.targets.iter().map(|t| json!({
                        "kind": t.kind.as_str(),
                        "name": t.name,
                        "root": t.root,
                        "harness": t.harness,
                        "binary_id": t.binary_id,
                    })).collect::<Vec<_>>(),
                    "dependencies": p.dependencies.iter().map(|d| json!({
                        "package": self.packages[d.package.index()].name,
                        "kind": d.kind,
                        "name": d.name,
                        "through": d.through,
                    })).collect::<Vec<_>>(),
                    "external_dependencies": p.external_dependencies,
                })
            })
            .collect();
        let items: Vec<Value> = self
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                json!({
                    "id": index,
                    "kind": item.kind,
                    "name": item.name,
                    "crate": item.krate,
                    "file": item.file,
                    "lines": [item.lines.start, item.lines.end],
                })
            })
            .collect();
        let edges: Vec<Value> = self
            .edges
            .edge_references()
            .map(|edge| {
                json!({
                    "from": edge.source().index(),
                    "to": edge.target().index(),
                    "reason": edge.weight(),
                })
            })
            .collect();
        let tests: Vec<Value> = self
            .tests
            .iter()
            .map(|test| {
                json!({
                    "binary_id": test.id.binary_id,
                    "name": test.id.name,
                    "item": test.item.map(ItemId::index),
                    "file": test.file,
                    "ignored": test.ignored,
                })
            })
            .collect();
        let mut files: Vec<(&String, Value)> = self
            .files
            .keys()
            .map(|path| {
                (
                    path,
                    serde_json::to_value(self.file_status(path)).unwrap_or(Value::Null),
                )
            })
            .collect();
        files.sort_by(|a, b| a.0.cmp(b.0));
        let files: Vec<Value> = files
            .into_iter()
            .map(|(path, status)| {
                let mut object = json!({ "path": path });
                if let (Value::Object(target), Value::Object(source)) = (&mut object, status) {
                    target.extend(source);
                }
                object
            })
            .collect();
        json!({
            "root": self.root.display().to_string(),
            "stats": self.stats,
            "packages": packages,
            "files": files,
            "items": items,
            "edges": edges,
            "tests": tests,
        })
    }

    /// The graph in graphviz dot: items as nodes (tests as boxes), clustered by crate.
    pub fn to_dot(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "digraph hourglass {{")?;
        writeln!(out, "  rankdir=LR;")?;
        writeln!(out, "  node [shape=ellipse, fontsize=10];")?;
        let mut by_crate: std::collections::BTreeMap<&str, Vec<usize>> =
            std::collections::BTreeMap::default();
        for (index, item) in self.items.iter().enumerate() {
            by_crate.entry(item.krate.as_str()).or_default().push(index);
        }
        let test_nodes: std::collections::HashSet<usize> =
            self.test_nodes.iter().map(|id| id.index()).collect();
        for (cluster, (krate, members)) in by_crate.iter().enumerate() {
            writeln!(out, "  subgraph cluster_{cluster} {{")?;
            writeln!(out, "    label={};", quote(krate))?;
            for &index in members {
                let item = &self.items[index];
                let shape = if test_nodes.contains(&index) {
                    ", shape=box"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "    n{index} [label={}{shape}];",
                    quote(&format!(
                        "{}\n{}:{}",
                        item.name, item.file, item.lines.start
                    ))
                )?;
            }
            writeln!(out, "  }}")?;
        }
        for edge in self.edges.edge_references() {
            writeln!(
                out,
                "  n{} -> n{} [label={}];",
                edge.source().index(),
                edge.target().index(),
                quote(&edge.weight().to_string())
            )?;
        }
        writeln!(out, "}}")
    }
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

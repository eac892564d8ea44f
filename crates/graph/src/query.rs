//! Questions asked of a built graph: affected tests, explanations, dumps.

use std::io::Write;

use serde_json::{Value, json};

use crate::edges::{Rows, RowsParts};
use crate::link::PackageSet;
use crate::{Edge, Graph, ItemId, PackageId, TestIndex};

const UNSEEN: u32 = u32::MAX;

/// What searches walk: every node's dependents in compressed rows, and every node's package.
/// Built once per graph, on the first search.
#[derive(Debug)]
pub(crate) struct SearchIndex {
    /// The dependents of node `n` are `to[start[n]..start[n + 1]]`, reached by the edges
    /// `edge[..]` at the same positions, newest first: the order in which a search visits
    /// them decides which changed item a reached node is credited to.
    start: Vec<u32>,
    to: Vec<u32>,
    edge: Vec<u32>,
    /// The package of each node.
    package: Vec<u32>,
}

impl SearchIndex {
    fn new(graph: &Graph) -> SearchIndex {
        let edges = graph.edges.all();
        let rows = Rows::new(graph.edges.nodes(), edges, |edge| edge.0);
        let RowsParts { start, ids } = rows.into_parts();
        let to = ids.iter().map(|&id| edges[id as usize].1).collect();
        let package = graph.items.iter().map(|item| item.package.0).collect();
        SearchIndex {
            start,
            to,
            edge: ids,
            package,
        }
    }

    /// Breadth-first search from `changed` along dependency edges (to dependents); for each
    /// reached node, the changed item it came from (or `UNSEEN`) and, with `edges`, the edge it
    /// was reached by. With `bound`, only items of those packages are entered (and seeded).
    fn search(
        &self,
        changed: &[ItemId],
        stop_at: Option<ItemId>,
        bound: Option<&PackageSet>,
        edges: bool,
    ) -> (Vec<u32>, Vec<u32>) {
        let count = self.package.len();
        let inside =
            |node: usize| bound.is_none_or(|set| set.contains(self.package[node] as usize));
        let mut origin = vec![UNSEEN; count];
        let mut via_edge = if edges {
            vec![UNSEEN; count]
        } else {
            Vec::new()
        };
        // Each node enters the queue once: a vector read from the front is the queue.
        let mut queue: Vec<u32> = Vec::with_capacity(count);
        for &id in changed {
            if id.index() < count && origin[id.index()] == UNSEEN && inside(id.index()) {
                origin[id.index()] = id.0;
                queue.push(id.0);
            }
        }
        let mut head = 0;
        while let Some(&node) = queue.get(head) {
            head += 1;
            let node = node as usize;
            if stop_at.is_some_and(|stop| stop.index() == node) {
                break;
            }
            let from = origin[node];
            let (first, last) = (self.start[node] as usize, self.start[node + 1] as usize);
            for slot in first..last {
                let next = self.to[slot] as usize;
                if origin[next] == UNSEEN && inside(next) {
                    origin[next] = from;
                    if edges {
                        via_edge[next] = self.edge[slot];
                    }
                    queue.push(next as u32);
                }
            }
        }
        (origin, via_edge)
    }
}

impl Graph {
    fn search_index(&self) -> &SearchIndex {
        self.search_index.get_or_init(|| SearchIndex::new(self))
    }

    /// Tests reachable from any of `changed` along reverse dependency edges (a test reaches an
    /// item it uses directly or transitively). For each: the changed item it was reached from.
    ///
    /// The linker bounds the search: a test counts only if it is reached by a path whose every
    /// item belongs to a package its binary can contain ([`Graph::can_link`]), so no loose edge
    /// carries a change into a test that cannot link the changed code. One search finds the
    /// candidate tests; then one search per package with a candidate test, restricted to that
    /// package's bound, keeps the ones a linkable path reaches. Only the packages the first
    /// search reached matter to a restricted one, so packages whose bounds agree on those share
    /// one search (the restricted searches run in parallel), and a bound that holds them all
    /// needs none.
    pub fn affected_tests(&self, changed: &[ItemId]) -> Vec<(TestIndex, ItemId)> {
        let index = self.search_index();
        let (origin, _) = index.search(changed, None, None, false);
        let mut reached = PackageSet::new(self.packages.len());
        for (node, &from) in origin.iter().enumerate() {
            if from != UNSEEN {
                reached.insert(index.package[node] as usize);
            }
        }
        let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); self.packages.len()];
        for (test_index, (node, test)) in self.test_nodes.iter().zip(&self.tests).enumerate() {
            if origin[node.index()] != UNSEEN {
                candidates[test.package.index()].push(test_index);
            }
        }
        // Per package with candidates: which search decides for it (`None`: the first).
        let mut bounds: Vec<PackageSet> = Vec::new();
        let mut decided_by: Vec<(usize, Option<usize>)> = Vec::new();
        for (package, tests) in candidates.iter().enumerate() {
            if tests.is_empty() {
                continue;
            }
            let bound = self
                .link_bounds
                .linkable(PackageId::from_index(package))
                .intersection(&reached);
            let search = if bound == reached {
                None
            } else if let Some(found) = bounds.iter().position(|known| *known == bound) {
                Some(found)
            } else {
                bounds.push(bound);
                Some(bounds.len() - 1)
            };
            decided_by.push((package, search));
        }
        let bounded: Vec<Vec<u32>> = {
            use rayon::prelude::*;
            bounds
                .par_iter()
                .map(|bound| index.search(changed, None, Some(bound), false).0)
                .collect()
        };
        let mut out: Vec<(TestIndex, ItemId)> = Vec::new();
        for (package, search) in decided_by {
            let origin = search.map_or(&origin, |search| &bounded[search]);
            for &test_index in &candidates[package] {
                let node = self.test_nodes[test_index];
                if origin[node.index()] != UNSEEN {
                    out.push((TestIndex(test_index as u32), ItemId(origin[node.index()])));
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
        let (origin, via_edge) =
            self.search_index()
                .search(changed, Some(target), Some(bound), true);
        if origin[target.index()] == UNSEEN {
            return None;
        }
        let mut chain = Vec::new();
        let mut node = target.index();
        while via_edge[node] != UNSEEN {
            let (from, to, reason) = self.edges.get(via_edge[node]);
            chain.push(Edge {
                from: ItemId(from),
                to: ItemId(to),
                reason,
            });
            node = from as usize;
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
            .incoming(id.index())
            .map(|(from, _, reason)| Edge {
                from: ItemId(from),
                to: id,
                reason,
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
            .all()
            .iter()
            .map(|&(from, to, reason)| {
                json!({
                    "from": from,
                    "to": to,
                    "reason": reason,
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
        for &(from, to, reason) in self.edges.all() {
            writeln!(
                out,
                "  n{from} -> n{to} [label={}];",
                quote(&reason.to_string())
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

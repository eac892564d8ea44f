//! What a change can reach beyond the tests the graph knows: the binaries it
//! links into (the linker bound) and the modules holding reached code.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use hourglass_graph::{EdgeReason, Graph, ItemId, ItemKind, PackageId, TargetKind};

use crate::Impact;

/// The binaries and packages a change can reach, each with why.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Binary id → why a test in it the graph does not know can be affected.
    pub(crate) open: BTreeMap<String, String>,
    /// Packages with something changed in them or in their dependency
    /// closure (dev and build dependencies included), with why.
    pub(crate) packages: BTreeMap<PackageId, String>,
}

impl Scope {
    pub(crate) fn new(graph: &Graph, impact: &Impact) -> Scope {
        let mut scope = Scope::default();
        if impact.run_all() {
            for (_, package) in graph.packages() {
                for target in &package.targets {
                    if let Some(binary) = &target.binary_id {
                        scope
                            .open
                            .insert(binary.clone(), "every test runs".to_owned());
                    }
                }
            }
            for (id, _) in graph.packages() {
                scope.packages.insert(id, "every test runs".to_owned());
            }
            return scope;
        }
        // Packages whose library (or build script, or anything the graph
        // cannot place in one binary) changed: every binary linking them.
        let mut changed: BTreeMap<PackageId, String> = BTreeMap::new();
        for package in &impact.widened_packages {
            changed
                .entry(*package)
                .or_insert_with(|| format!("`{}` changed", graph.package(*package).name));
        }
        // A test function is compiled into its own test binary only.
        let test_items: HashSet<ItemId> =
            graph.tests().iter().filter_map(|test| test.item).collect();
        for (id, at) in &impact.changed {
            let item = graph.item(*id);
            if test_items.contains(id) {
                scope
                    .open
                    .entry(item.krate.clone())
                    .or_insert_with(|| format!("the test `{}` changed at {at}", item.name));
                continue;
            }
            let package = graph.package(item.package);
            let target = package
                .targets
                .iter()
                .find(|target| target.binary_id.as_deref() == Some(item.krate.as_str()));
            let why = format!("`{}` changed at {at}", item.krate);
            match target.map(|target| target.kind) {
                // Code of one test, bench or example binary: that binary only.
                Some(TargetKind::Test | TargetKind::Bench | TargetKind::Example) => {
                    scope.open.entry(item.krate.clone()).or_insert(why);
                }
                // A binary: itself and the targets cargo builds it for.
                Some(TargetKind::Bin) => {
                    scope.open.entry(item.krate.clone()).or_insert(why.clone());
                    for other in &package.targets {
                        if matches!(
                            other.kind,
                            TargetKind::Test | TargetKind::Bench | TargetKind::Example
                        ) && let Some(binary) = &other.binary_id
                        {
                            scope.open.entry(binary.clone()).or_insert(format!(
                                "it can run the binary `{}`, which changed at {at}",
                                item.krate
                            ));
                        }
                    }
                }
                _ => {
                    changed.entry(item.package).or_insert(why);
                }
            }
        }
        for binary in &impact.rule_binaries {
            scope
                .open
                .entry(binary.clone())
                .or_insert_with(|| "a rule names tests in it".to_owned());
        }
        for (id, package) in graph.packages() {
            let Some(reason) = closure(graph, id)
                .into_iter()
                .find_map(|member| changed.get(&member))
            else {
                continue;
            };
            let reason = format!("it links {reason}");
            scope.packages.insert(id, reason.clone());
            for target in &package.targets {
                if let Some(binary) = &target.binary_id {
                    scope
                        .open
                        .entry(binary.clone())
                        .or_insert_with(|| reason.clone());
                }
            }
        }
        // A package one of whose binaries is open may hold more binaries
        // the graph does not know.
        for (id, package) in graph.packages() {
            if scope.packages.contains_key(&id) {
                continue;
            }
            let open = package.targets.iter().find_map(|target| {
                target
                    .binary_id
                    .as_ref()
                    .and_then(|binary| scope.open.get(binary))
            });
            if let Some(reason) = open {
                scope.packages.insert(id, reason.clone());
            }
        }
        scope
    }
}

/// `id` and every workspace package it depends on, directly or not
/// (normal, dev and build dependencies).
fn closure(graph: &Graph, id: PackageId) -> Vec<PackageId> {
    let mut seen = BTreeSet::from([id]);
    let mut stack = vec![id];
    while let Some(current) = stack.pop() {
        for dependency in &graph.package(current).dependencies {
            if seen.insert(dependency.package) {
                stack.push(dependency.package);
            }
        }
    }
    seen.into_iter().collect()
}

/// The modules of each crate, which of them hold code a change reaches and
/// which use a workspace proc macro (whose output the graph cannot see).
pub(crate) struct Modules {
    /// `(crate, module path)`; the root module is `""`.
    known: HashSet<(String, String)>,
    /// `(crate, module path)` → one reached item in it (or below it).
    reached: BTreeMap<(String, String), String>,
    /// `(crate, module path)` with an item below it whose code the graph
    /// cannot see: it uses a proc macro of the workspace, or it `include!`s a
    /// Rust file (which is not parsed as part of the module tree).
    proc_macro: HashSet<(String, String)>,
}

impl Modules {
    pub(crate) fn new(graph: &Graph, impact: &Impact) -> Modules {
        let count = graph.items().count();
        // Dependents of each item: the graph gives dependencies.
        let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); count];
        let mut known = HashSet::new();
        let mut proc_macro = HashSet::new();
        for (id, item) in graph.items() {
            let mut uses_macro = false;
            for edge in graph.dependencies_of(id) {
                if edge.reason == EdgeReason::ProcMacro {
                    uses_macro = true;
                }
                if let Some(list) = dependents.get_mut(edge.from.index()) {
                    list.push(id.index() as u32);
                }
            }
            if item.kind == ItemKind::Mod && !graph.is_name_hub(id) {
                known.insert((item.krate.clone(), module_name(&item.name)));
            }
            if uses_macro {
                for prefix in prefixes(&item.name) {
                    proc_macro.insert((item.krate.clone(), prefix));
                }
            }
        }
        for (path, items) in graph.included_files() {
            if !std::path::Path::new(path)
                .extension()
                .is_some_and(|extension| extension == "rs")
            {
                continue;
            }
            for &id in items {
                let item = graph.item(id);
                for prefix in prefixes(&item.name) {
                    proc_macro.insert((item.krate.clone(), prefix));
                }
            }
        }
        let mut seen = vec![false; count];
        let mut queue: Vec<usize> = Vec::new();
        for id in impact.changed.keys() {
            if id.index() < count && !seen[id.index()] {
                seen[id.index()] = true;
                queue.push(id.index());
            }
        }
        while let Some(node) = queue.pop() {
            for &next in &dependents[node] {
                let next = next as usize;
                if !seen[next] {
                    seen[next] = true;
                    queue.push(next);
                }
            }
        }
        let mut reached = BTreeMap::new();
        for (id, item) in graph.items() {
            if !seen[id.index()] || graph.is_name_hub(id) {
                continue;
            }
            for prefix in prefixes(&item.name) {
                reached
                    .entry((item.krate.clone(), prefix))
                    .or_insert_with(|| item.name.clone());
            }
        }
        Modules {
            known,
            reached,
            proc_macro,
        }
    }

    /// Whether the graph knows the crate of a binary.
    pub(crate) fn knows_crate(&self, binary: &str) -> bool {
        self.known.contains(&(binary.to_owned(), String::new()))
    }

    /// The deepest module the graph knows that names `test`: `a::b` for
    /// `a::b::c::t` when the graph knows `a::b` and not `a::b::c`.
    pub(crate) fn module_of(&self, binary: &str, test: &str) -> String {
        let mut path: Vec<&str> = test.split("::").collect();
        path.pop();
        while !path.is_empty() {
            let candidate = path.join("::");
            if self.known.contains(&(binary.to_owned(), candidate.clone())) {
                return candidate;
            }
            path.pop();
        }
        String::new()
    }

    /// One item in (or below) the module that the change reaches.
    pub(crate) fn reached_in(&self, binary: &str, module: &str) -> Option<&str> {
        self.reached
            .get(&(binary.to_owned(), module.to_owned()))
            .map(String::as_str)
    }

    pub(crate) fn uses_proc_macro(&self, binary: &str, module: &str) -> bool {
        self.proc_macro
            .contains(&(binary.to_owned(), module.to_owned()))
    }
}

/// A module item's path: the crate root (`crate`) is `""`.
fn module_name(name: &str) -> String {
    if name == "crate" {
        String::new()
    } else {
        name.to_owned()
    }
}

/// The modules an item is in or under, root (`""`) first, and the item's
/// own path (a module item stands for its module).
fn prefixes(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    if name == "crate" || name.is_empty() {
        return out;
    }
    let mut current = String::new();
    for segment in name.split("::") {
        if !current.is_empty() {
            current.push_str("::");
        }
        current.push_str(segment);
        out.push(current.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_run_from_the_root_to_the_item() {
        assert_eq!(prefixes("a::b::f"), ["", "a", "a::b", "a::b::f"]);
        assert_eq!(prefixes("crate"), [""]);
    }
}

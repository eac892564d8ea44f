//! The linker's bound: which packages' code can end up in the test binaries of each package.
//!
//! A test binary of package `P` (its library's unit tests, a binary's, an integration test, a
//! bench or an example) is compiled from `P`'s code and links `P`'s normal and dev
//! dependencies, and transitively their normal dependencies; build dependencies and proc
//! macros run at build time and shape what is compiled, so they count too, at every step. An
//! integration test runs `P`'s binaries, which are `P`'s code and its normal dependencies. A
//! dev-dependency of a dependency is never linked. Nothing outside this closure can run in the
//! binary, whatever a loose edge (a method name, an unresolved path, a trait impl) suggests.

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use crate::workspace::{DepKind, Package, PackageId};

/// The packages and their dependencies (path, workspace, redirected and linked through an
/// external package), as a petgraph graph: node `i` is package `i`, an edge goes from a package
/// to a dependency, weighted by its kind.
#[derive(Clone, Debug)]
pub(crate) struct PackageGraph {
    graph: DiGraph<(), DepKind, u32>,
}

impl PackageGraph {
    pub(crate) fn new(packages: &[Package]) -> Self {
        let edges: usize = packages.iter().map(|p| p.dependencies.len()).sum();
        let mut graph = DiGraph::with_capacity(packages.len(), edges);
        for _ in packages {
            graph.add_node(());
        }
        for (index, package) in packages.iter().enumerate() {
            for dep in &package.dependencies {
                graph.add_edge(
                    NodeIndex::new(index),
                    NodeIndex::new(dep.package.index()),
                    dep.kind,
                );
            }
        }
        Self { graph }
    }

    /// The packages that depend on `id` directly or transitively, through any kind of
    /// dependency, sorted, without `id`.
    pub(crate) fn dependents(&self, id: PackageId) -> Vec<PackageId> {
        let reversed = Reversed(&self.graph);
        let start = NodeIndex::new(id.index());
        let mut dfs = Dfs::new(reversed, start);
        let mut out = Vec::new();
        while let Some(node) = dfs.next(reversed) {
            if node != start {
                out.push(PackageId::from_index(node.index()));
            }
        }
        out.sort();
        out
    }

    /// The packages whose code a test binary of `start` can contain: its dependencies of every
    /// kind, and from there normal and build dependencies only (a dependency's dev-dependencies
    /// are never linked).
    fn linkable(&self, start: usize) -> PackageSet {
        let mut set = PackageSet::new(self.graph.node_count());
        set.insert(start);
        let mut stack = vec![NodeIndex::<u32>::new(start)];
        while let Some(current) = stack.pop() {
            for edge in self.graph.edges_directed(current, Direction::Outgoing) {
                use petgraph::visit::EdgeRef as _;
                if *edge.weight() == DepKind::Dev && current.index() != start {
                    continue;
                }
                if set.insert(edge.target().index()) {
                    stack.push(edge.target());
                }
            }
        }
        set
    }
}

/// A fixed-size set of packages, one bit each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PackageSet {
    words: Vec<u64>,
}

impl PackageSet {
    pub(crate) fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
        }
    }

    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// The packages in both sets.
    pub(crate) fn intersection(&self, other: &PackageSet) -> PackageSet {
        PackageSet {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & b)
                .collect(),
        }
    }

    /// Adds `index`; true when it was not there.
    pub(crate) fn insert(&mut self, index: usize) -> bool {
        let word = &mut self.words[index / 64];
        let bit = 1 << (index % 64);
        let added = *word & bit == 0;
        *word |= bit;
        added
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| index * 64 + bit)
        })
    }
}

/// For every package, the packages its test binaries can contain code of (itself included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkBounds {
    linkable: Vec<PackageSet>,
}

impl LinkBounds {
    pub(crate) fn new(packages: &PackageGraph) -> Self {
        let linkable = (0..packages.graph.node_count())
            .map(|start| packages.linkable(start))
            .collect();
        Self { linkable }
    }

    /// Whether code of `code` can be in a test binary of `tests_of`.
    pub(crate) fn can_link(&self, tests_of: PackageId, code: PackageId) -> bool {
        self.linkable[tests_of.index()].contains(code.index())
    }

    pub(crate) fn linkable(&self, tests_of: PackageId) -> &PackageSet {
        &self.linkable[tests_of.index()]
    }

    /// The packages whose test binaries can contain code of `code` (itself included), sorted.
    pub(crate) fn linked_by(&self, code: PackageId) -> Vec<PackageId> {
        (0..self.linkable.len())
            .filter(|&package| self.linkable[package].contains(code.index()))
            .map(PackageId::from_index)
            .collect()
    }

    /// The packages in the bound of `tests_of`, sorted.
    pub(crate) fn members(&self, tests_of: PackageId) -> Vec<PackageId> {
        self.linkable[tests_of.index()]
            .iter()
            .map(PackageId::from_index)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::PackageDep;

    fn package(name: &str, deps: &[(usize, DepKind)]) -> Package {
        Package {
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            edition: "2021".to_owned(),
            dir: name.to_owned(),
            manifest: format!("{name}/Cargo.toml"),
            targets: Vec::new(),
            dependencies: deps
                .iter()
                .map(|&(index, kind)| PackageDep {
                    package: PackageId::from_index(index),
                    kind,
                    name: format!("p{index}"),
                    target: None,
                    optional: false,
                    through: None,
                })
                .collect(),
            external_dependencies: Vec::new(),
            external_crate_names: Vec::new(),
        }
    }

    #[test]
    fn dev_dependencies_link_only_for_their_own_package() {
        // 0 -> 1 (normal), 1 -dev-> 2, 0 -dev-> 3, 3 -> 4 (build), 5 alone.
        let packages = vec![
            package("a", &[(1, DepKind::Normal), (3, DepKind::Dev)]),
            package("b", &[(2, DepKind::Dev)]),
            package("c", &[]),
            package("d", &[(4, DepKind::Build)]),
            package("e", &[]),
            package("f", &[]),
        ];
        let bounds = LinkBounds::new(&PackageGraph::new(&packages));
        let ids = |list: &[usize]| {
            list.iter()
                .map(|&index| PackageId::from_index(index))
                .collect::<Vec<_>>()
        };
        assert_eq!(bounds.members(PackageId::from_index(0)), ids(&[0, 1, 3, 4]));
        assert_eq!(bounds.members(PackageId::from_index(1)), ids(&[1, 2]));
        assert_eq!(bounds.linked_by(PackageId::from_index(2)), ids(&[1, 2]));
        assert_eq!(bounds.linked_by(PackageId::from_index(4)), ids(&[0, 3, 4]));
        assert!(!bounds.can_link(PackageId::from_index(0), PackageId::from_index(2)));
        assert!(!bounds.can_link(PackageId::from_index(5), PackageId::from_index(0)));
    }

    #[test]
    fn package_sets_hold_more_than_one_word() {
        let mut set = PackageSet::new(130);
        assert!(set.insert(0));
        assert!(set.insert(129));
        assert!(!set.insert(129));
        assert!(set.contains(129) && !set.contains(64));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 129]);
    }
}

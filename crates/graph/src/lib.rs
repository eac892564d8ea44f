//! A Cargo workspace as a graph of packages, targets, modules, items and tests.
//!
//! [`Graph::build`] reads the manifests ([`workspace::load`]), walks every target's module tree
//! from its crate root, parses each file with `syn`, extracts the items it defines and the names
//! each item refers to, resolves those names into edges between items, and finds the tests.
//! [`Graph::affected_tests`] then answers "which tests can a change to these items affect" and
//! [`Graph::explain`] says why.
//!
//! # How it works
//!
//! - **Module trees.** From each target root (`src/lib.rs`, `src/main.rs`, `tests/x.rs`, …)
//!   `mod x;` is followed to `x.rs` or `x/mod.rs` (and to `dir/x.rs` beside a non-`mod.rs` file
//!   `dir.rs`), `#[path = "…"]` is honoured (also inside inline modules and under `cfg_attr`),
//!   inline modules nest. Code behind any `#[cfg(..)]` counts as present: every alternative of a
//!   `cfg`-switched module is parsed. Files outside every module tree are never parsed as code:
//!   their status is [`FileStatus::Unknown`] unless some item includes them
//!   ([`FileStatus::Included`]).
//! - **Items** are functions, methods (`Type::method`, also in traits), impl blocks, structs,
//!   enums, unions, traits, consts, statics, type aliases, `macro_rules!` and modules, each with
//!   its line span including attributes and doc comments. An item's name is its module path
//!   inside its crate (`parse::Parser::next`); the crate root module is named `crate`. A file that
//!   belongs to two crates (a `mod` shared by a library and a binary) gives items in both.
//! - **Edges** (`from` is used by `to`): paths in bodies, signatures, fields, generics and bounds,
//!   resolved through `use` (renames, globs, re-exports, `self`/`super`/`crate`, dependency crate
//!   names and renames); `Self` is the impl's type. A method call whose receiver has a type the
//!   source writes down ([`EdgeReason::TypedMethod`]: `self` in an impl or a trait; a parameter,
//!   a `let` or a struct field with a written type, through `&`, `Box`, `Rc` and `Arc`;
//!   `let x = T { .. }`, a unit struct, or a call whose function has a written return type,
//!   `T::new(..)`, `f(..)?`; `dyn Trait`, `impl Trait` and a generic's trait bounds) reaches the
//!   methods of that name in impls of the type in any crate (inherent and trait impls), the
//!   members of that name of the traits the type implements (default methods), of a trait
//!   receiver and its supertraits, and every method of that name in an impl whose self type is no
//!   workspace type (blanket impls, impls for foreign types). It stays loose when the type
//!   implements `Deref` (the method may be the target's), carries a derive or attribute macro
//!   other than the standard derives, is named in the input of an item macro (which may write
//!   impls for it), when a bound is unknown, or when nothing of that name is found. A variable
//!   bound twice with different types is unknown (no scopes are tracked). A method call whose
//!   receiver type cannot be known reaches every method of that name that takes `self` in the
//!   crate and its dependencies ([`EdgeReason::MethodName`]; an associated function without
//!   `self` cannot be called with method syntax). A trait reaches its impls; a trait member
//!   reaches the impls' methods of its name (a changed signature), or the whole impl for a
//!   const or a type; an impl method reaches the trait method (so the callers of the trait
//!   method), and the callers of a default method reach it directly (`x.name()` on a typed
//!   receiver through the type's traits, `Type::name` through the traits the type implements).
//!   An impl of a trait from outside the workspace (`Display`, `Drop`, `From`, …) is called
//!   invisibly, so its methods reach the impl's self type and through it every user of the
//!   type. An impl's items depend on the impl, which depends on its self
//!   type and its trait. A module's items depend on the module (a changed `use` line reaches
//!   everything in the module). Macro invocations reach the macro (by name, across the crate and
//!   its dependencies) and the names in the tokens passed to it; derives and attribute macros
//!   reach the workspace proc-macro function that defines them. A path that cannot be resolved
//!   is resolved by its last segment across the crate and its dependencies
//!   ([`EdgeReason::NameMatch`]) instead of being dropped, except where the language rules the
//!   workspace out: an associated item of a concrete prelude or primitive type (`Vec::new`,
//!   `u32::from`) is only a trait's or a blanket impl's (an impl written for `Vec` is found as
//!   `Vec::new` first), and test code (`#[test]` functions, `#[cfg(test)]` items and modules, all
//!   code of integration-test and bench targets) is named only by test code of its own crate. A
//!   path through a trait or a type from another crate (`Default::default()`, `Value::from`)
//!   dispatches to impls in the workspace and stays a loose match. When in doubt the graph has
//!   the edge.
//! - **Hubs.** A name that more than four items match loosely (a method name, an unresolved
//!   name) reaches its users through one pass-through node per crate: the candidates visible
//!   from that crate reach the hub, the hub reaches each user. Reachability is the same as with
//!   an edge from every candidate to every user, at a fraction of the edges (on rust-analyzer,
//!   0.3M edges instead of 1.6M); [`Graph::explain`] steps over hubs.
//! - **Edges the syntax does not spell out.** A package's integration tests, benches and
//!   examples depend on everything the package's binaries reach (cargo builds the binaries for
//!   them: `CARGO_BIN_EXE_<name>`, `assert_cmd`), and use its library like any dependency. A
//!   build script reaches every item of its package.
//! - **The linker bounds the graph.** A test binary of package `P` can only contain code of
//!   `P`, its normal, dev and build dependencies, and their normal and build dependencies,
//!   transitively (proc macros and build scripts are build-time inputs; a dependency's
//!   dev-dependencies are never linked); its integration tests run `P`'s binaries, which are
//!   `P`'s code. The closure is precomputed per package as a bitset ([`Graph::can_link`],
//!   [`Graph::linked_by`]). [`Graph::affected_tests`] first searches unrestricted for candidate
//!   tests, then, per package with a candidate, searches again entering only items of packages
//!   in that package's bound (skipped when the first search never left it), so no loose edge (a
//!   method name, an unresolved name, a trait impl, a hub) carries a change past the bound;
//!   [`Graph::explain`] follows the same rule. Dependencies that `[patch]` or `[replace]`
//!   redirect into the workspace are dependencies ([`workspace`]).
//! - **Tests** are functions with `#[test]` or any attribute whose last path segment is `test`
//!   (`tokio::test`, `test_log::test`, …), `#[rstest]` and `#[test_case(..)]`, in any module.
//!   Ids are cargo-nextest's: the binary id of the target and the module path inside the
//!   binary. A `harness = false` target is one test whose name is `""` (its test names cannot
//!   be known statically): it is reached by any change to any item of its crate.
//! - **Tests written by macros.** Every item-level macro invocation of a crate that runs tests
//!   is expanded when the workspace has a `macro_rules!` of that name visible to the crate: its
//!   own macros (any file of the crate, `#[macro_use]` modules included; textual order is not
//!   modelled, so an earlier or shadowed definition of the same name counts too) and the
//!   `#[macro_export]` macros of the workspace crates it depends on. The invocation is matched
//!   against the arms on token trees (`$x:ident`, `$x:tt`, `$($x:expr),*`, nested repetitions;
//!   `expr`, `ty`, `meta` and the like take a run of tokens up to a separator, and where that is
//!   ambiguous every reading is kept), the first matching arm is transcribed, and its output is
//!   read for `#[..test] fn name` (the attribute may come from the invocation through
//!   `$(#[$m:meta])*`), for the `mod` blocks around them (tests passed through `$($t)*` into
//!   several modules get every module path) and for nested invocations, which are expanded in
//!   turn (24 levels, a work budget per invocation). A macro from outside the workspace
//!   (`proptest! { #[test] fn x(..) }`) is read as written. Such a test stands on the
//!   invocation's node: the invocation depends on the macro (whose body's names are its
//!   references, so a helper the transcriber calls reaches it, as does a macro it invokes) and
//!   on every name in its tokens; any change inside the invocation reaches all of its tests.
//!   An invocation no arm matches is read as written. Expansion runs at every build, on one
//!   thread: the token trees come from the cache, the tests they give do not.
//! - **Speed.** Files are parsed in parallel (rayon); the facts extracted from a file (items,
//!   spans, references, `mod` declarations, includes, `macro_rules!` bodies and item-level
//!   macro invocations as token trees — not the syn tree) are packed into one text and a few
//!   flat lists (a file's distinct references stored and numbered once, an impl's members
//!   listed) and cached under [`BuildOptions::cache_dir`] in one pack, keyed by the blake3
//!   hash of the file's content, checksummed, and written atomically; a warm
//!   build decodes the whole pack in one parallel pass while the manifests are read, finds a
//!   file that has not changed for two seconds by its metadata without reading it, re-parses
//!   only changed files, and the pack holds only the files of the latest build. Names are
//!   resolved in parallel per module, each distinct reference of a module once, with each
//!   thread remembering the lookups it made (what a name means in a module at a depth); the
//!   loose-matching indexes, the receiver index, the structural edges, the expansion of
//!   test-writing macros and the edge list are built side by side where they do not depend on
//!   each other. [`GraphStats::phases`] says where the time went. Edges are one deduplicated
//!   list (12 bytes an edge) made from each module's chunk; searches walk compact rows of each
//!   node's dependents, and the restricted searches of [`Graph::affected_tests`] are shared by
//!   the packages whose bounds agree on the packages the first search reached, and run in
//!   parallel, so a change that reaches most of the workspace costs about as much as one that
//!   reaches little. The package graph (dependencies of every kind, the linker's bounds,
//!   reverse dependencies) is a petgraph `DiGraph`.
//!
//! # Limitations
//!
//! - Macros are expanded only to find tests: other items a macro generates are invisible, and
//!   names in macro input are matched by their last segment. Tests whose names are built
//!   (`paste!`'s `[<test_ $name>]`, `concat_idents!`) or that a procedural macro writes are not
//!   found, nor those of an invocation the matcher cannot match (an arm that needs the parser,
//!   such as `$e:expr` followed by a token an expression could hold, may fail); a macro that
//!   writes a test with a `#[cfg]` that is off is listed anyway (ripgrep: 24 such tests).
//! - Parameterised tests (`#[test_case]`, `#[rstest]` cases) are reported under the function's
//!   name; nextest names each case `function::case`, so match them by prefix.
//! - Doctests are not tests here: cargo-nextest does not run them.
//! - Name resolution is an approximation that errs on the side of more edges: method calls on a
//!   receiver of unknown type go to every method of the name, and unresolved names go to every
//!   item of the name. Receiver types come only from what the source writes: no inference
//!   through closures, iterators, method chains (`a.b().c()`) or generic instantiation.
//! - A typed receiver trusts that the impls of its type are visible: an impl written by a
//!   function-like procedural macro whose input does not name the type, or by a macro invoked
//!   inside a function body, is not seen (a type named in a `macro_rules!` body or in an item
//!   macro's input is treated as unknown).
//! - `use` chains are followed four steps deep and glob imports breadth-first (64 modules at
//!   most); beyond that a name is matched by its last segment.
//! - The method-name rule is the main source of over-selection on large workspaces: a change to a
//!   method reaches every caller of any method of that name whose receiver type is not written
//!   down, and a trait method reaches every caller of the trait method, whatever the type.
//! - A file that does not parse contributes no items ([`Graph::parse_errors`]); callers should
//!   widen the selection for its package.

pub mod lockfile;
pub mod manifest_diff;
pub mod source;
pub mod workspace;

mod build;
mod cache;
mod compact;
mod edges;
mod facts;
mod link;
mod macros;
mod query;
pub mod synthetic;
mod typing;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use hourglass_model::{LineRange, RustTestId};
pub use source::{FileSystem, SourceTree};
pub use workspace::{DepKind, Package, PackageDep, PackageId, Target, TargetKind};

/// Parses every file with `syn` in parallel and nothing else; returns how many parsed. The
/// floor a graph build stands on (see `benches/graph.rs`).
pub fn parse_files_only(paths: &[PathBuf]) -> usize {
    use rayon::prelude::*;
    paths
        .par_iter()
        .filter(|path| {
            let parsed = std::fs::read_to_string(path)
                .ok()
                .is_some_and(|text| syn::parse_file(&text).is_ok());
            proc_macro2::extra::invalidate_current_thread_spans();
            parsed
        })
        .count()
}

/// How to build a [`Graph`].
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Directory for the parse cache (one pack of facts keyed by content hash); `None` = no
    /// cache.
    pub cache_dir: Option<PathBuf>,
    /// Where the files are read from; `None` = the file system. Paths the source is asked for
    /// lie under the workspace root given to [`Graph::build`].
    pub source: Option<std::sync::Arc<dyn source::SourceTree>>,
}

/// An item: an index into the graph's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ItemId(u32);

impl ItemId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A test: an index into [`Graph::tests`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TestIndex(u32);

impl TestIndex {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The test at `index` of [`Graph::tests`].
    pub fn from_index(index: usize) -> Self {
        Self(u32::try_from(index).expect("fewer than 2^32 tests"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ItemKind {
    Fn,
    Method,
    Impl,
    Struct,
    Enum,
    Union,
    Trait,
    Const,
    Static,
    TypeAlias,
    Macro,
    Mod,
    Use,
    /// Item-level macro invocations and the synthetic nodes that stand for a whole binary.
    Other,
}

/// A named piece of code with a line span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// Module path inside its crate, e.g. `parse::Parser::next`.
    pub name: String,
    /// Relative path, `/` separators.
    pub file: String,
    /// 1-based, inclusive, attributes and doc comments included.
    pub lines: LineRange,
    pub package: PackageId,
    /// The binary id of the crate the item is compiled into (the package name for a library;
    /// the build script is `<package>::build-script`).
    pub krate: String,
}

/// A test as cargo-nextest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Test {
    /// `name` is `""` for a `harness = false` target.
    pub id: RustTestId,
    /// `None` for `harness = false` targets.
    pub item: Option<ItemId>,
    pub package: PackageId,
    pub file: String,
    pub lines: Option<LineRange>,
    pub ignored: bool,
    /// `#[test_case(..)]`, `#[rstest]`: nextest runs each case as `name::case`.
    pub parameterized: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FileStatus {
    /// Parsed as part of at least one module tree.
    Parsed,
    /// In a module tree but syn could not parse it.
    ParseError {
        line: u32,
        column: u32,
        message: String,
    },
    /// Named by include_str!/include_bytes!/include! from these items.
    Included { by: Vec<ItemId> },
    /// Not part of any module tree and not included.
    Unknown,
}

/// Why `to` depends on `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EdgeReason {
    /// `to` calls the function or method `from`.
    Calls,
    /// `to` names the type or trait `from`.
    UsesType,
    /// `to` names the const, static, module or other item `from`.
    Uses,
    /// `to` is an impl of the type or trait `from`.
    ImplOf,
    /// A trait method and the impls of its trait.
    TraitMethod,
    /// `from` implements a trait from outside the workspace for the type `to`; its calls are
    /// invisible, so users of the type depend on it.
    TraitImpl,
    /// `to` invokes the macro `from`.
    MacroUse,
    /// `to` uses a derive or attribute macro defined by `from`.
    ProcMacro,
    /// `to` is a test, bench or example target that can run the binary `from`.
    BinaryUnderTest,
    /// `from` is compiled into the binary `to`.
    InBinary,
    /// `to` is in the module, impl or trait `from`.
    Contains,
    /// `to` calls a method named like `from`, on a receiver of unknown type.
    MethodName,
    /// `to` calls a method named like `from` on a receiver whose written type has (or may
    /// dispatch to) `from`.
    TypedMethod,
    /// `to` names something that could not be resolved exactly; `from` has that name.
    NameMatch,
    /// `from` is in the package's build script.
    BuildScript,
}

impl fmt::Display for EdgeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeReason::Calls => "calls",
            EdgeReason::UsesType => "uses the type",
            EdgeReason::Uses => "uses",
            EdgeReason::ImplOf => "is implemented by",
            EdgeReason::TraitMethod => "trait method / impl",
            EdgeReason::TraitImpl => "implements a foreign trait for",
            EdgeReason::MacroUse => "is a macro invoked by",
            EdgeReason::ProcMacro => "is a proc macro used by",
            EdgeReason::BinaryUnderTest => "is a binary run by the tests of",
            EdgeReason::InBinary => "is compiled into",
            EdgeReason::Contains => "contains",
            EdgeReason::MethodName => "has the name of a method called (receiver type unknown) by",
            EdgeReason::TypedMethod => "is a method of the receiver's type called by",
            EdgeReason::NameMatch => "has the name of an unresolved path in",
            EdgeReason::BuildScript => "is in the build script of",
        })
    }
}

/// One step of an explanation chain: `from` is used by `to` (`to` depends on `from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: ItemId,
    pub to: ItemId,
    pub reason: EdgeReason,
}

/// Size of a graph and how long it took to build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GraphStats {
    pub packages: usize,
    pub targets: usize,
    /// Files in some module tree.
    pub files: usize,
    /// Lines of those files.
    pub lines: u64,
    pub items: usize,
    pub edges: usize,
    pub tests: usize,
    pub parse_errors: usize,
    /// Files whose facts came from the cache.
    pub cache_hits: usize,
    #[serde(serialize_with = "serialize_duration_ms", rename = "build_time_ms")]
    pub build_time: Duration,
    /// Where the build time went, in order: reading manifests, reading files and building the
    /// module trees (parsing, or the cache), resolving names, and assembling edges, tests and files.
    pub phases: Vec<Phase>,
}

/// One step of a graph build and how long it took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub name: &'static str,
    #[serde(serialize_with = "serialize_duration_ms", rename = "time_ms")]
    pub time: Duration,
}

fn serialize_duration_ms<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error(transparent)]
    Manifest(#[from] workspace::ManifestError),
}

/// What the graph knows of one file.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub(crate) lines: u32,
    pub(crate) error: Option<(u32, u32, String)>,
    /// Items in this file, sorted by start line.
    pub(crate) items: Vec<ItemId>,
    pub(crate) included_by: Vec<ItemId>,
    pub(crate) in_tree: bool,
}

/// The graph of a workspace. See the crate documentation.
#[derive(Debug)]
pub struct Graph {
    root: PathBuf,
    packages: Vec<Package>,
    items: Vec<Item>,
    /// Node `i` is item `i`; an edge goes from a dependency to its dependent.
    edges: edges::EdgeList,
    tests: Vec<Test>,
    /// The node that stands for each test (its function, or the crate's node).
    test_nodes: Vec<ItemId>,
    files: rustc_hash::FxHashMap<String, FileEntry>,
    /// Pass-through nodes for names used by many items, ascending; explanations step over them.
    name_hubs: Vec<ItemId>,
    stats: GraphStats,
    /// Per package, the packages its test binaries can contain code of.
    link_bounds: link::LinkBounds,
    /// The packages and their dependencies (petgraph).
    dependencies: link::PackageGraph,
    /// Compact adjacency for searches, made on the first one.
    search_index: std::sync::OnceLock<query::SearchIndex>,
}

impl Graph {
    /// Reads the workspace at `workspace_root` and builds its graph.
    pub fn build(workspace_root: &Path, options: &BuildOptions) -> Result<Graph, GraphError> {
        build::build(workspace_root, options, build::HUB_FAN_OUT)
    }

    /// [`Graph::build`] with an edge from every loose candidate to every user instead of hubs:
    /// the reference the hubs are checked against in tests.
    #[doc(hidden)]
    pub fn build_without_hubs(
        workspace_root: &Path,
        options: &BuildOptions,
    ) -> Result<Graph, GraphError> {
        build::build(workspace_root, options, usize::MAX)
    }

    /// The workspace root (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn stats(&self) -> GraphStats {
        self.stats.clone()
    }

    pub fn packages(&self) -> impl Iterator<Item = (PackageId, &Package)> {
        self.packages
            .iter()
            .enumerate()
            .map(|(index, package)| (PackageId::from_index(index), package))
    }

    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id.index()]
    }

    pub fn package_by_name(&self, name: &str) -> Option<PackageId> {
        self.packages
            .iter()
            .position(|package| package.name == name)
            .map(PackageId::from_index)
    }

    /// The innermost package whose directory contains `path` (relative, "/" separators).
    pub fn package_of_path(&self, path: &str) -> Option<PackageId> {
        self.packages()
            .filter(|(_, package)| {
                package.dir.is_empty()
                    || path == package.dir
                    || path
                        .strip_prefix(package.dir.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(_, package)| package.dir.len())
            .map(|(id, _)| id)
    }

    /// Whether code of package `code` can be compiled into a test binary of package
    /// `tests_of`: `code` is `tests_of` itself, one of its normal, dev or build dependencies, or
    /// a normal or build dependency of one of those, transitively (the linker's bound; see
    /// [`Graph::affected_tests`]).
    pub fn can_link(&self, tests_of: PackageId, code: PackageId) -> bool {
        self.link_bounds.can_link(tests_of, code)
    }

    /// The packages whose code can be compiled into the test binaries of `tests_of` (itself
    /// included), sorted.
    pub fn linkable_packages(&self, tests_of: PackageId) -> Vec<PackageId> {
        self.link_bounds.members(tests_of)
    }

    /// The packages whose test binaries can contain code of `code` (itself included), sorted:
    /// the packages whose tests a change to `code` can affect at most.
    pub fn linked_by(&self, code: PackageId) -> Vec<PackageId> {
        self.link_bounds.linked_by(code)
    }

    /// Packages that depend on `id` directly or transitively (normal, dev and build
    /// dependencies), not including `id`.
    pub fn dependents(&self, id: PackageId) -> Vec<PackageId> {
        self.dependencies.dependents(id)
    }

    pub fn file_status(&self, path: &str) -> FileStatus {
        match self.files.get(path) {
            Some(entry) if entry.in_tree => match &entry.error {
                Some((line, column, message)) => FileStatus::ParseError {
                    line: *line,
                    column: *column,
                    message: message.clone(),
                },
                None => FileStatus::Parsed,
            },
            Some(entry) if !entry.included_by.is_empty() => FileStatus::Included {
                by: entry.included_by.clone(),
            },
            _ => FileStatus::Unknown,
        }
    }

    /// Every file of some module tree (relative, `/` separators), in no particular order.
    /// Files that items pull in with `include!`, `include_str!` or `include_bytes!`, each with
    /// the items that include it.
    pub fn included_files(&self) -> impl Iterator<Item = (&str, &[ItemId])> {
        self.files
            .iter()
            .filter(|(_, entry)| !entry.included_by.is_empty())
            .map(|(path, entry)| (path.as_str(), entry.included_by.as_slice()))
    }

    pub fn source_files(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .filter(|(_, entry)| entry.in_tree)
            .map(|(path, _)| path.as_str())
    }

    /// Every file of a module tree that does not parse: `(path, line, column, message)`.
    pub fn parse_errors(&self) -> Vec<(String, u32, u32, String)> {
        let mut errors: Vec<_> = self
            .files
            .iter()
            .filter(|(_, entry)| entry.in_tree)
            .filter_map(|(path, entry)| {
                let (line, column, message) = entry.error.clone()?;
                Some((path.clone(), line, column, message))
            })
            .collect();
        errors.sort();
        errors
    }

    /// Innermost items whose spans overlap `lines` in `path`; lines outside every item (`use`,
    /// `mod` declarations, attributes of the file) give the enclosing module's item
    /// ([`ItemKind::Mod`], whose dependents are everything in that module).
    pub fn items_at(&self, path: &str, lines: LineRange) -> Vec<ItemId> {
        let Some(entry) = self.files.get(path) else {
            return Vec::new();
        };
        let last = lines.end.min(entry.lines.max(1));
        let mut out = Vec::new();
        // For each line, the innermost items containing it, per crate (all of them when
        // several span the same lines: `fn a() {} fn b() {}` on one line).
        let mut line = lines.start.max(1);
        while line <= last {
            let mut innermost: HashMap<&str, (u32, Vec<ItemId>)> = HashMap::new();
            for &id in &entry.items {
                let item = &self.items[id.index()];
                if item.lines.start > line {
                    break;
                }
                if item.lines.contains(line) {
                    let width = item.lines.end - item.lines.start;
                    let slot = innermost
                        .entry(item.krate.as_str())
                        .or_insert((width, Vec::new()));
                    if width < slot.0 {
                        *slot = (width, vec![id]);
                    } else if width == slot.0 {
                        slot.1.push(id);
                    }
                }
            }
            out.extend(innermost.into_values().flat_map(|(_, ids)| ids));
            line += 1;
        }
        if lines.start > last && entry.items.is_empty() {
            return out;
        }
        out.sort();
        out.dedup();
        out
    }

    /// All items of a file (for whole-file changes).
    pub fn items_in_file(&self, path: &str) -> Vec<ItemId> {
        self.files
            .get(path)
            .map(|entry| entry.items.clone())
            .unwrap_or_default()
    }

    pub fn item(&self, id: ItemId) -> &Item {
        &self.items[id.index()]
    }

    /// Every item, in id order.
    pub fn items(&self) -> impl Iterator<Item = (ItemId, &Item)> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| (ItemId(index as u32), item))
    }

    pub fn tests(&self) -> &[Test] {
        &self.tests
    }

    pub fn test(&self, index: TestIndex) -> &Test {
        &self.tests[index.index()]
    }

    pub fn find_test(&self, id: &RustTestId) -> Option<TestIndex> {
        // Tests are sorted by id; of equal ids (a test a file gives twice), the last.
        let after = self.tests.partition_point(|test| test.id <= *id);
        (after > 0 && self.tests[after - 1].id == *id).then(|| TestIndex(after as u32 - 1))
    }

    /// Every test in a package's targets (for package-level widening).
    pub fn tests_of_package(&self, id: PackageId) -> Vec<TestIndex> {
        self.tests
            .iter()
            .enumerate()
            .filter(|(_, test)| test.package == id)
            .map(|(index, _)| TestIndex(index as u32))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_reasons_read_as_sentences() {
        assert_eq!(EdgeReason::Calls.to_string(), "calls");
        assert!(
            EdgeReason::MethodName
                .to_string()
                .contains("receiver type unknown")
        );
    }
}

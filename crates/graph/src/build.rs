//! Building a [`Graph`]: module trees, items, name resolution, edges and tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hourglass_model::{LineRange, RustTestId};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::cache;
use crate::compact::{FactItem, Facts, PathRef, Strs};
use crate::edges::RawEdges;
use crate::facts::{PackedRefs, RefView};
use crate::macros::{self, MacroTable, Tok};
use crate::workspace::{self, PackageId, TargetKind};
use crate::{
    BuildOptions, EdgeReason, FileEntry, Graph, GraphError, GraphStats, Item, ItemId, ItemKind,
    Phase, Test,
};

/// A test a macro writes, named inside its crate.
struct MacroTestName {
    name: String,
    ignored: bool,
    parameterized: bool,
}

/// The tests macros write: the crate, the invocation's item and the test.
type MacroTests = Vec<(usize, ItemId, MacroTestName)>;

/// A crate: one target of one package.
struct Crate {
    package: PackageId,
    kind: TargetKind,
    binary_id: Option<String>,
    /// Runs as a test binary with libtest.
    runs_tests: bool,
    harness: bool,
    root_module: usize,
    /// Names of other workspace crates visible as `name::…`.
    externs: FxHashMap<String, usize>,
    /// Names of crates from outside the workspace (and the standard library).
    foreign: FxHashSet<String>,
    /// Crates whose items this crate can name: itself and its workspace dependencies.
    visible: Vec<bool>,
}

/// A module of a crate (a file module or an inline module).
struct Module {
    krate: usize,
    parent: Option<usize>,
    item: ItemId,
    children: FxHashMap<String, usize>,
    names: FxHashMap<String, Vec<ItemId>>,
    uses: FxHashMap<String, Vec<UsePath>>,
    globs: Vec<UsePath>,
}

/// The path of a `use` entry: a list of segments in a file's facts.
#[derive(Clone, Copy)]
struct UsePath {
    file: u32,
    path: Strs,
}

/// A path's segments, however they are held.
trait Segments {
    fn count(&self) -> usize;
    fn segment(&self, index: usize) -> &str;
}

impl Segments for [&str] {
    fn count(&self) -> usize {
        self.len()
    }

    fn segment(&self, index: usize) -> &str {
        self[index]
    }
}

impl Segments for Vec<&str> {
    fn count(&self) -> usize {
        self.len()
    }

    fn segment(&self, index: usize) -> &str {
        self[index]
    }
}

impl Segments for PathRef<'_> {
    fn count(&self) -> usize {
        self.len()
    }

    fn segment(&self, index: usize) -> &str {
        self.get(index)
    }
}

/// One file as part of one crate.
struct Instance {
    file: usize,
    krate: usize,
    /// The module of each scope of the file.
    scope_modules: Vec<usize>,
    /// The item of each raw item of the file.
    items: Vec<ItemId>,
    /// The file is a `#[cfg(test)]` module (or inside one).
    test_only: bool,
}

struct SourceFile {
    path: String,
    facts: Arc<Facts>,
}

struct Pending {
    krate: usize,
    path: String,
    module_path: Vec<String>,
    parent_module: Option<usize>,
    /// Children are looked up beside this file (crate roots, `mod.rs`, `#[path]` files).
    owns_dir: bool,
    /// Declared under `#[cfg(test)]` (here or in an enclosing module).
    test_only: bool,
}

struct Builder<'a> {
    root: &'a Path,
    cache: cache::Cache,
    /// Names with more loose candidates than this go through a hub.
    hub_fan_out: usize,
    packages: Vec<workspace::Package>,
    crates: Vec<Crate>,
    modules: Vec<Module>,
    module_index: FxHashMap<(usize, Vec<String>), usize>,
    items: Vec<Item>,
    /// Module of each item.
    item_module: Vec<usize>,
    /// For each item: (instance, raw index), `None` for synthetic items.
    item_source: Vec<Option<(usize, u32)>>,
    /// For each item: where the last segment of its name starts ([`Builder::short_name`]).
    short_names: Vec<u32>,
    files: Vec<SourceFile>,
    file_index: FxHashMap<String, Option<usize>>,
    instances: Vec<Instance>,
    cache_hits: usize,
    edges: RawEdges,
    /// Pass-through nodes that stand for a name used by many items ([`HUB_FAN_OUT`]).
    name_hubs: Vec<ItemId>,
}

pub(crate) fn build(
    root: &Path,
    options: &BuildOptions,
    hub_fan_out: usize,
) -> Result<Graph, GraphError> {
    let started = Instant::now();
    // The pack is read and decoded while the manifests are.
    let (workspace, cache) = rayon::join(
        || crate::source::with_source(options.source.clone(), || workspace::load(root)),
        || cache::Cache::open(options.cache_dir.as_deref(), options.source.clone()),
    );
    let workspace = workspace?;
    let mut builder = Builder {
        root: &workspace.root,
        cache,
        hub_fan_out,
        packages: workspace.packages.clone(),
        crates: Vec::new(),
        modules: Vec::new(),
        module_index: FxHashMap::default(),
        items: Vec::new(),
        item_module: Vec::new(),
        item_source: Vec::new(),
        short_names: Vec::new(),
        files: Vec::new(),
        file_index: FxHashMap::default(),
        instances: Vec::new(),
        cache_hits: 0,
        edges: RawEdges::default(),
        name_hubs: Vec::new(),
    };
    let mut phases = Vec::new();
    let mut last = started;
    let mut mark = |phase: &'static str| {
        let now = Instant::now();
        phases.push(Phase {
            name: phase,
            time: now - last,
        });
        last = now;
    };
    mark("manifests");
    builder.discover();
    std::mem::replace(&mut builder.cache, cache::Cache::open(None, None)).finish();
    mark("modules");
    builder.link_crates();
    let this = &builder;
    let (resolved, structural, written) = std::thread::scope(|scope| {
        // Finding the tests that macros write needs only the items: it runs beside name
        // resolution, on a thread with room for the matcher's recursion.
        let expanding = std::thread::Builder::new()
            .stack_size(macros::STACK_SIZE)
            .spawn_scoped(scope, || this.macro_tests())
            .ok();
        let (resolved, structural) = rayon::join(
            || this.resolve_all(&mut LookupMemo::default()),
            || this.structural_edges(&mut LookupMemo::default()),
        );
        let written = match expanding {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => this.macro_tests(),
        };
        (resolved, structural, written)
    });
    builder.add_resolved(resolved, structural);
    mark("resolve");
    let mut graph = builder.finish(&workspace.root, written);
    mark("assemble");
    graph.stats.phases = phases;
    graph.stats.build_time = started.elapsed();
    Ok(graph)
}

fn parent_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn join(dir: &str, rest: &str) -> String {
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for part in rest.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// The last two segments of a path (`Owner::name`, a suffix of it), if it has two.
fn assoc_suffix(name: &str) -> Option<&str> {
    let (before, _) = split_last(name)?;
    Some(&name[before.len() - last_name(before).len()..])
}

/// Where the last `::` of `name` is: what comes before it and after it.
fn split_last(name: &str) -> Option<(&str, &str)> {
    // Byte by byte: names are short, and this runs for most references.
    let bytes = name.as_bytes();
    let mut end = bytes.len();
    while end >= 2 {
        if bytes[end - 1] == b':' && bytes[end - 2] == b':' {
            return Some((&name[..end - 2], &name[end..]));
        }
        end -= 1;
    }
    None
}

/// The last segment of a path: what `name.rsplit("::").next()` gives.
fn last_name(name: &str) -> &str {
    split_last(name).map_or(name, |(_, last)| last)
}

/// The segment before the last: what `name.rsplit("::").nth(1)` gives.
fn owner_name(name: &str) -> Option<&str> {
    split_last(name).map(|(before, _)| last_name(before))
}

/// A path's segments: what `text.split("::")` gives.
fn segments(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let bytes = current.as_bytes();
        let mut at = 0;
        while let Some(offset) = current[at..].find(':') {
            let colon = at + offset;
            if bytes.get(colon + 1) == Some(&b':') {
                rest = Some(&current[colon + 2..]);
                return Some(&current[..colon]);
            }
            at = colon + 1;
        }
        rest = None;
        Some(current)
    })
}

/// A resolved path: a module or an item.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Res {
    Module(usize),
    Item(ItemId),
}

enum Resolution {
    Found(Vec<Res>),
    /// Names something outside the workspace.
    Foreign,
    Unresolved,
}

const MAX_DEPTH: u32 = 4;

/// Lookups already made. What a name means in a module depends only on the module, the name and
/// the depth it is asked at, and resolving a workspace's references asks the same ones again and
/// again (through glob imports above all: on rust-analyzer, 1.4M lookups of 81k distinct ones).
/// One per thread.
#[derive(Default)]
struct LookupMemo {
    /// Each name asked for, numbered.
    names: FxHashMap<Box<str>, u32>,
    /// `(module, name, depth)`: where in `results` what [`Builder::lookup`] appends lies.
    found: FxHashMap<(u32, u32, u32), (u32, u32)>,
    results: Vec<Res>,
    /// Room to spell `Type::name` in.
    key: String,
}

/// A name with more candidates than this reaches its users through one hub node per crate
/// instead of an edge from every candidate to every user.
pub(crate) const HUB_FAN_OUT: usize = 4;

type RawEdge = (ItemId, ItemId, EdgeReason);

/// Concrete types of the standard prelude and the primitive types: `Vec::new()` names no
/// workspace item but a trait's (an impl named `Vec::new` is found by that name first). Traits
/// are not here: `Default::default()` dispatches to any type's impl.
const STD_TYPES: &[&str] = &[
    "Box", "Option", "Result", "String", "Vec", "bool", "char", "str", "u8", "u16", "u32", "u64",
    "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
];

/// Derives that write only impls of standard traits: no inherent method, no `Deref`.
const STD_DERIVES: &[&str] = &[
    "Debug",
    "Clone",
    "Copy",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
    "Default",
    "Serialize",
    "Deserialize",
];

/// Traits of the standard prelude: as a bound beside a workspace trait (`T: Run + Send`) they
/// add no workspace method (their workspace impls are reached through the types).
const PRELUDE_TRAITS: &[&str] = &[
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "Copy",
    "Clone",
    "Default",
    "Eq",
    "PartialEq",
    "Ord",
    "PartialOrd",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Extend",
    "From",
    "Into",
    "AsRef",
    "AsMut",
    "ToString",
    "ToOwned",
    "Drop",
];

fn is_deref(path: &str) -> bool {
    matches!(last_name(path), "Deref" | "DerefMut")
}

/// What a method call on a receiver of a written type can reach (see `typing.rs`).
#[derive(Default)]
struct ReceiverIndex<'a> {
    /// Methods that take `self` in impls whose self type is this struct, enum, union or trait
    /// (inherent impls and trait impls, in any crate).
    methods_of: FxHashMap<ItemId, Vec<ItemId>>,
    /// Workspace traits implemented for a type.
    traits_of: FxHashMap<ItemId, Vec<ItemId>>,
    /// The members of each workspace trait.
    trait_members: FxHashMap<ItemId, Vec<ItemId>>,
    /// By name: methods of impls whose self type is no workspace type (a blanket impl's
    /// parameter, a foreign type, an alias) and members of traits that such impls implement.
    /// Any receiver may reach them.
    unanchored: FxHashMap<&'a str, Vec<ItemId>>,
    /// Types whose methods cannot all be seen: a `Deref` impl, a derive or attribute macro
    /// other than the standard derives.
    loose_types: FxHashSet<ItemId>,
    /// Names of types that a macro may write impls for (named in macro input) or that have a
    /// `Deref` impl whose self type did not resolve.
    loose_names: FxHashSet<&'a str>,
}

/// What resolving names adds to the graph: each module's edges, the hubs (nodes standing for
/// names that many items match loosely) and their edges.
struct Resolved {
    direct: Vec<Vec<RawEdge>>,
    hub_items: Vec<Item>,
    hub_edges: Vec<RawEdge>,
}

/// The indexes names are matched loosely against (see [`Builder::loose_indexes`]).
struct LooseIndexes<'a> {
    /// Items by their own name (no modules, impls or macro invocations).
    by_name: FxHashMap<&'a str, Vec<ItemId>>,
    /// Associated items by `Owner::name`.
    by_assoc: FxHashMap<&'a str, Vec<ItemId>>,
    /// Methods that take `self`, by name.
    methods: FxHashMap<&'a str, Vec<ItemId>>,
    /// `macro_rules!` and procedural macros by name (`true`: procedural).
    macros: FxHashMap<&'a str, Vec<(ItemId, bool)>>,
    /// Per item: test code.
    test_only: Vec<bool>,
    /// Per item: an associated item a path through a prelude or primitive type can name.
    nameable_through_std: Vec<bool>,
    /// Per item: the trait's name for members of trait impls.
    impl_trait: Vec<Option<&'a str>>,
}

/// The edges of one module's items, and the hubs its items use (`(hub, user)`).
type ModuleEdges<'a> = (Vec<RawEdge>, Vec<(HubKey<'a>, ItemId)>);

/// What one reference, written in one module, reaches.
enum Target<'a> {
    Items(Vec<(ItemId, EdgeReason)>),
    Hub(HubKey<'a>),
}

/// A name that many items resolve loosely ([`EdgeReason::MethodName`],
/// [`EdgeReason::NameMatch`]), as seen from one crate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct HubKey<'a> {
    reason: EdgeReason,
    name: &'a str,
    krate: usize,
    /// The users are test code (and may reach the crate's test code).
    from_test: bool,
    /// For a path `other::…::name` that starts with another workspace crate: that crate. Only
    /// the items it can see and members of trait impls are candidates (`usize::MAX`: any).
    scope: usize,
}

impl Builder<'_> {
    // ---------------------------------------------------------------- discovery

    fn discover(&mut self) {
        let mut pending = Vec::new();
        for (index, package) in self.packages.iter().enumerate() {
            for target in &package.targets {
                let krate = self.crates.len();
                self.crates.push(Crate {
                    package: PackageId::from_index(index),
                    kind: target.kind,
                    binary_id: target.binary_id.clone(),
                    runs_tests: target.test && target.binary_id.is_some(),
                    harness: target.harness,
                    root_module: usize::MAX,
                    externs: FxHashMap::default(),
                    foreign: FxHashSet::default(),
                    visible: Vec::new(),
                });
                pending.push(Pending {
                    krate,
                    path: target.root.clone(),
                    module_path: Vec::new(),
                    parent_module: None,
                    owns_dir: true,
                    test_only: false,
                });
            }
        }
        // Room for the items at once, as many as the cached files hold and an eighth more for
        // the nodes that stand for names and binaries: the item lists are large, and memory a
        // process touches for the first time costs more than the work done in it.
        let expected = self.cache.stored_items();
        self.reserve_items(expected + expected / 8);
        let mut visited: FxHashSet<(usize, String)> = FxHashSet::default();
        while !pending.is_empty() {
            self.load_files(pending.iter().map(|p| p.path.as_str()));
            // Room for this round's items (when the estimate above fell short).
            let incoming: usize = pending
                .iter()
                .filter_map(|task| match self.file_index.get(&task.path) {
                    Some(Some(file)) => Some(self.files[*file].facts.items.len() + 1),
                    _ => None,
                })
                .sum();
            self.reserve_items(incoming);
            let mut next = Vec::new();
            for task in pending {
                let Some(Some(file)) = self.file_index.get(&task.path).copied() else {
                    continue;
                };
                if !visited.insert((task.krate, task.path.clone())) {
                    continue;
                }
                self.instantiate(&task, file, &mut next);
            }
            pending = next;
        }
    }

    fn load_files<'p>(&mut self, paths: impl Iterator<Item = &'p str>) {
        let mut wanted: Vec<String> = paths
            .filter(|p| !self.file_index.contains_key(*p))
            .map(str::to_owned)
            .collect();
        wanted.sort();
        wanted.dedup();
        let root = self.root;
        let cache = &self.cache;
        let loaded: Vec<_> = wanted
            .into_par_iter()
            .map(|path| {
                let loaded = cache.load(&root.join(&path));
                (path, loaded)
            })
            .collect();
        for (path, loaded) in loaded {
            match loaded {
                Some(loaded) => {
                    self.cache_hits += usize::from(loaded.cache_hit);
                    self.files.push(SourceFile {
                        path: path.clone(),
                        facts: loaded.facts,
                    });
                    self.file_index.insert(path, Some(self.files.len() - 1));
                }
                None => {
                    self.file_index.insert(path, None);
                }
            }
        }
    }

    fn module(
        &mut self,
        krate: usize,
        path: Vec<String>,
        parent: Option<usize>,
        item: ItemId,
    ) -> usize {
        if let Some(&existing) = self.module_index.get(&(krate, path.clone())) {
            return existing;
        }
        let index = self.modules.len();
        if let (Some(parent), Some(name)) = (parent, path.last()) {
            self.modules[parent].children.insert(name.clone(), index);
        }
        self.modules.push(Module {
            krate,
            parent,
            item,
            children: FxHashMap::default(),
            names: FxHashMap::default(),
            uses: FxHashMap::default(),
            globs: Vec::new(),
        });
        self.module_index.insert((krate, path), index);
        index
    }

    fn reserve_items(&mut self, additional: usize) {
        self.items.reserve(additional);
        self.item_module.reserve(additional);
        self.item_source.reserve(additional);
        self.short_names.reserve(additional);
    }

    fn push_item(&mut self, item: Item, module: usize, source: Option<(usize, u32)>) -> ItemId {
        let id = ItemId(self.items.len() as u32);
        self.short_names
            .push((item.name.len() - last_name(&item.name).len()) as u32);
        self.items.push(item);
        self.item_module.push(module);
        self.item_source.push(source);
        id
    }

    /// The last segment of an item's name: `next` for `parse::Parser::next`.
    fn short_name(&self, id: ItemId) -> &str {
        let name = &self.items[id.index()].name;
        self.short_names
            .get(id.index())
            .and_then(|&start| name.get(start as usize..))
            .unwrap_or_else(|| last_name(name))
    }

    fn krate_label(&self, krate: usize) -> String {
        let c = &self.crates[krate];
        c.binary_id
            .clone()
            .unwrap_or_else(|| format!("{}::build-script", self.packages[c.package.index()].name))
    }

    fn instantiate(&mut self, task: &Pending, file: usize, next: &mut Vec<Pending>) {
        let facts = Arc::clone(&self.files[file].facts);
        let path = self.files[file].path.clone();
        let krate = task.krate;
        let package = self.crates[krate].package;
        let label = self.krate_label(krate);
        let instance = self.instances.len();

        // The file's own module item spans the whole file.
        let mod_name = if task.module_path.is_empty() {
            "crate".to_owned()
        } else {
            task.module_path.join("::")
        };
        let module_item = Item {
            kind: ItemKind::Mod,
            name: mod_name,
            file: path.clone(),
            lines: LineRange::new(1, facts.lines.max(1)),
            package,
            krate: label.clone(),
        };
        let existing = self
            .module_index
            .get(&(krate, task.module_path.clone()))
            .copied();
        let file_module = if let Some(module) = existing {
            {
                // A second file for the same module (cfg alternatives): its own item, same module.
                let id = self.push_item(module_item, module, None);
                let owner = self.modules[module].item;
                self.edges.push((owner, id, EdgeReason::Contains));
                self.edges.push((id, owner, EdgeReason::Contains));
                module
            }
        } else {
            let placeholder = self.modules.len();
            let id = self.push_item(module_item, placeholder, None);
            self.module(krate, task.module_path.clone(), task.parent_module, id)
        };
        if task.module_path.is_empty() {
            self.crates[krate].root_module = file_module;
        }
        if let Some(parent) = task.parent_module {
            let parent_item = self.modules[parent].item;
            let own = self.modules[file_module].item;
            self.edges.push((parent_item, own, EdgeReason::Contains));
        }

        // Scopes → modules.
        let mut scope_modules = Vec::with_capacity(facts.scopes.len());
        scope_modules.push(file_module);
        for scope in facts.scopes.iter().skip(1) {
            scope_modules.push(usize::MAX);
            let _ = scope;
        }
        let mut items = Vec::with_capacity(facts.items.len());
        for (raw_index, raw) in facts.items.iter().enumerate() {
            let module = scope_modules[raw.scope as usize];
            let mut name = task.module_path.join("::");
            let mut first = task.module_path.is_empty();
            for segment in facts.path(raw.path).iter() {
                if !first {
                    name.push_str("::");
                }
                first = false;
                name.push_str(segment);
            }
            let item = Item {
                kind: raw.kind,
                name,
                file: path.clone(),
                lines: LineRange::new(raw.start, raw.end),
                package,
                krate: label.clone(),
            };
            let id = self.push_item(item, module, Some((instance, raw_index as u32)));
            items.push(id);
            if raw.kind == ItemKind::Mod {
                // An inline module: the scope that has this item.
                if let Some(scope_index) = facts
                    .scopes
                    .iter()
                    .position(|s| s.item == Some(raw_index as u32))
                {
                    let parent = scope_modules[raw.scope as usize];
                    let mut module_path = task.module_path.clone();
                    module_path.extend(
                        facts
                            .path(facts.scopes[scope_index].path)
                            .iter()
                            .map(str::to_owned),
                    );
                    let child = self.module(krate, module_path, Some(parent), id);
                    scope_modules[scope_index] = child;
                }
            }
            if raw.kind != ItemKind::Mod && raw.kind != ItemKind::Impl {
                let key = facts.own_name(raw);
                let names = &mut self.modules[module].names;
                match names.get_mut(key) {
                    Some(ids) => ids.push(id),
                    None => {
                        names.insert(key.to_owned(), vec![id]);
                    }
                }
            }
        }
        // Items are visited before the scopes they open, so the module of every item is known;
        // fix up items that were pushed with a placeholder (none: scopes open before their items).
        for (scope_index, scope) in facts.scopes.iter().enumerate() {
            let module = scope_modules[scope_index];
            if module == usize::MAX {
                continue;
            }
            for entry in facts.uses(scope) {
                let path = UsePath {
                    file: file as u32,
                    path: entry.path,
                };
                match entry.alias {
                    Some(alias) => {
                        let uses = &mut self.modules[module].uses;
                        let alias = facts.str(alias);
                        match uses.get_mut(alias) {
                            Some(paths) => paths.push(path),
                            None => {
                                uses.insert(alias.to_owned(), vec![path]);
                            }
                        }
                    }
                    None => self.modules[module].globs.push(path),
                }
            }
        }
        // `mod x;` declarations → the files to read next.
        let file_dir = parent_dir(&path).to_owned();
        let child_base = if task.owns_dir {
            file_dir.clone()
        } else {
            let stem = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .trim_end_matches(".rs");
            join(&file_dir, stem)
        };
        for decl in &facts.mods {
            let scope = &facts.scopes[decl.scope as usize];
            let parent_module = scope_modules[decl.scope as usize];
            let name = facts.str(decl.name);
            let mut module_path = task.module_path.clone();
            module_path.extend(facts.path(scope.path).iter().map(str::to_owned));
            module_path.push(name.to_owned());
            let inline_dir = facts.path(scope.dir).join("/");
            if decl.path_attrs.is_empty() {
                let base = join(&child_base, &inline_dir);
                for (candidate, owns_dir) in [
                    (join(&base, &format!("{name}.rs")), false),
                    (join(&base, &format!("{name}/mod.rs")), true),
                ] {
                    next.push(Pending {
                        krate,
                        path: candidate,
                        module_path: module_path.clone(),
                        parent_module: Some(parent_module),
                        owns_dir,
                        test_only: task.test_only || decl.test_only,
                    });
                }
            } else {
                for attr in facts.path(decl.path_attrs).iter() {
                    let base = if decl.scope == 0 {
                        file_dir.clone()
                    } else {
                        join(&child_base, &inline_dir)
                    };
                    next.push(Pending {
                        krate,
                        path: join(&base, attr),
                        module_path: module_path.clone(),
                        parent_module: Some(parent_module),
                        owns_dir: true,
                        test_only: task.test_only || decl.test_only,
                    });
                }
            }
        }
        self.instances.push(Instance {
            file,
            krate,
            scope_modules,
            items,
            test_only: task.test_only,
        });
    }

    // ---------------------------------------------------------------- crate links

    fn link_crates(&mut self) {
        let lib_of: Vec<Option<usize>> = (0..self.packages.len())
            .map(|p| {
                self.crates.iter().position(|c| {
                    c.package.index() == p
                        && matches!(c.kind, TargetKind::Lib | TargetKind::ProcMacro)
                })
            })
            .collect();
        // Packages reachable through dependencies.
        let reachable: Vec<Vec<bool>> = (0..self.packages.len())
            .map(|start| {
                let mut seen = vec![false; self.packages.len()];
                let mut stack = vec![start];
                while let Some(p) = stack.pop() {
                    for dep in &self.packages[p].dependencies {
                        let d = dep.package.index();
                        if !seen[d] {
                            seen[d] = true;
                            stack.push(d);
                        }
                    }
                }
                seen
            })
            .collect();
        let crate_count = self.crates.len();
        for krate in 0..crate_count {
            let package_index = self.crates[krate].package.index();
            let package = &self.packages[package_index];
            let mut externs = FxHashMap::default();
            // A member linked through an external package cannot be named.
            for dep in package
                .dependencies
                .iter()
                .filter(|dep| dep.through.is_none())
            {
                if let Some(lib) = lib_of[dep.package.index()] {
                    externs.insert(dep.name.clone(), lib);
                }
            }
            let own_lib = lib_of[package_index];
            if let Some(lib) = own_lib
                && lib != krate
            {
                externs.insert(package.lib_crate_name(), lib);
            }
            let mut foreign: FxHashSet<String> = package
                .external_dependencies
                .iter()
                .map(|name| name.replace('-', "_"))
                .collect();
            for name in ["std", "core", "alloc", "proc_macro", "test"] {
                foreign.insert(name.to_owned());
            }
            let mut visible = vec![false; crate_count];
            visible[krate] = true;
            for (other, c) in self.crates.iter().enumerate() {
                let p = c.package.index();
                let is_lib = matches!(c.kind, TargetKind::Lib | TargetKind::ProcMacro);
                if is_lib && (reachable[package_index][p] || p == package_index) {
                    visible[other] = true;
                }
            }
            let c = &mut self.crates[krate];
            c.externs = externs;
            c.foreign = foreign;
            c.visible = visible;
        }
    }

    // ---------------------------------------------------------------- resolution

    /// Appends what `name` means in `module`, asked at `depth`.
    fn lookup(
        &self,
        memo: &mut LookupMemo,
        module: usize,
        name: &str,
        depth: u32,
        out: &mut Vec<Res>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let symbol = if let Some(&symbol) = memo.names.get(name) {
            symbol
        } else {
            let symbol = memo.names.len() as u32;
            memo.names.insert(name.into(), symbol);
            symbol
        };
        let key = (module as u32, symbol, depth);
        if let Some(&(start, end)) = memo.found.get(&key) {
            out.extend_from_slice(&memo.results[start as usize..end as usize]);
            return;
        }
        let before = out.len();
        self.lookup_uncached(memo, module, name, depth, out);
        let start = memo.results.len() as u32;
        memo.results.extend_from_slice(&out[before..]);
        memo.found.insert(key, (start, memo.results.len() as u32));
    }

    fn lookup_uncached(
        &self,
        memo: &mut LookupMemo,
        module: usize,
        name: &str,
        depth: u32,
        out: &mut Vec<Res>,
    ) {
        let m = &self.modules[module];
        let before = out.len();
        if let Some(&child) = m.children.get(name) {
            out.push(Res::Module(child));
        }
        if let Some(items) = m.names.get(name) {
            out.extend(items.iter().map(|&id| Res::Item(id)));
        }
        if let Some(paths) = m.uses.get(name) {
            for path in paths {
                let path = self.use_path(*path);
                if let Resolution::Found(found) = self.resolve(memo, module, &path, depth + 1) {
                    out.extend(found);
                    // A name reached through a `use` (a re-export, say) also depends on the
                    // module holding that `use`: changing where it points reaches its users.
                    out.push(Res::Item(m.item));
                }
            }
        }
        if out.len() == before {
            for glob in &m.globs {
                let glob = self.use_path(*glob);
                if let Resolution::Found(found) = self.resolve(memo, module, &glob, depth + 1) {
                    for res in found {
                        if let Res::Module(target) = res
                            && target != module
                        {
                            let found_before = out.len();
                            self.lookup(memo, target, name, depth + 1, out);
                            if out.len() > found_before {
                                out.push(Res::Item(m.item));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The segments of a `use` entry's path.
    fn use_path(&self, path: UsePath) -> PathRef<'_> {
        self.files[path.file as usize].facts.path(path.path)
    }

    fn resolve<P: Segments + ?Sized>(
        &self,
        memo: &mut LookupMemo,
        module: usize,
        path: &P,
        depth: u32,
    ) -> Resolution {
        if depth > MAX_DEPTH || path.count() == 0 {
            return Resolution::Unresolved;
        }
        let krate = &self.crates[self.modules[module].krate];
        let first = path.segment(0);
        let mut current: Vec<Res> = match first {
            "crate" => vec![Res::Module(krate.root_module)],
            "self" => vec![Res::Module(module)],
            "super" => match self.modules[module].parent {
                Some(parent) => vec![Res::Module(parent)],
                None => return Resolution::Unresolved,
            },
            _ => {
                let mut found = Vec::new();
                self.lookup(memo, module, first, depth, &mut found);
                if found.is_empty() {
                    if let Some(&dep) = krate.externs.get(first) {
                        let root = self.crates[dep].root_module;
                        if root != usize::MAX {
                            found.push(Res::Module(root));
                        }
                    } else if krate.foreign.contains(first) && path.count() > 1 {
                        return Resolution::Foreign;
                    }
                }
                if found.is_empty() {
                    return Resolution::Unresolved;
                }
                found
            }
        };
        for index in 1..path.count() {
            let segment = path.segment(index);
            if segment == "super" {
                current = current
                    .into_iter()
                    .filter_map(|res| match res {
                        Res::Module(m) => self.modules[m].parent.map(Res::Module),
                        Res::Item(_) => None,
                    })
                    .collect();
                continue;
            }
            if segment == "self" {
                continue;
            }
            let mut next = Vec::new();
            let mut stopped = Vec::new();
            for res in &current {
                match *res {
                    Res::Module(m) => self.lookup(memo, m, segment, depth, &mut next),
                    Res::Item(id) => {
                        // An associated item of a type or trait: `Type::method`.
                        let owner = self.short_name(id);
                        let key = &mut memo.key;
                        key.clear();
                        key.push_str(owner);
                        key.push_str("::");
                        key.push_str(segment);
                        let module = self.item_module[id.index()];
                        match self.modules[module].names.get(key.as_str()) {
                            Some(items) => next.extend(items.iter().map(|&i| Res::Item(i))),
                            // A variant, or an associated item we cannot see: the type itself.
                            None => stopped.push(Res::Item(id)),
                        }
                    }
                }
            }
            if next.is_empty() && stopped.is_empty() {
                return Resolution::Unresolved;
            }
            if next.is_empty() {
                return Resolution::Found(stopped);
            }
            next.extend(stopped);
            current = next;
        }
        Resolution::Found(current)
    }

    /// The facts of an item's file and the item's own.
    fn raw(&self, id: ItemId) -> Option<(&Facts, &FactItem)> {
        let (instance, raw) = self.item_source.get(id.index()).copied().flatten()?;
        let facts = &self.files[self.instances[instance].file].facts;
        Some((facts, facts.items.get(raw as usize)?))
    }

    /// The index behind [`Builder::typed_candidates`].
    fn receiver_index(&self, memo: &mut LookupMemo) -> ReceiverIndex<'_> {
        let mut index = ReceiverIndex::default();
        let nominal = |kind: ItemKind| {
            matches!(
                kind,
                ItemKind::Struct | ItemKind::Enum | ItemKind::Union | ItemKind::Trait
            )
        };
        let mut blanket_traits = Vec::new();
        for instance in &self.instances {
            let facts = &self.files[instance.file].facts;
            for (raw_index, raw) in facts.items.iter().enumerate() {
                let id = instance.items[raw_index];
                if let Some(parent) = raw.parent
                    && facts.items[parent as usize].kind == ItemKind::Trait
                {
                    index
                        .trait_members
                        .entry(instance.items[parent as usize])
                        .or_default()
                        .push(id);
                }
                match raw.kind {
                    ItemKind::Struct | ItemKind::Enum | ItemKind::Union => {
                        let touched = facts.refs(raw).any(|line| match PackedRefs::view(line) {
                            RefView::Macro(path) => !STD_DERIVES.contains(&last_name(path)),
                            _ => false,
                        });
                        if touched {
                            index.loose_types.insert(id);
                        }
                    }
                    ItemKind::Macro | ItemKind::Other => {
                        for line in facts.refs(raw) {
                            if let RefView::Ident(name) | RefView::Path(name) =
                                PackedRefs::view(line)
                            {
                                index.loose_names.insert(last_name(name));
                            }
                        }
                    }
                    _ => {}
                }
                let Some(imp) = facts.imp(raw) else { continue };
                let module = instance.scope_modules[raw.scope as usize];
                let self_ty = facts.path(imp.self_ty);
                let mut self_types = Vec::new();
                if let Resolution::Found(found) = self.resolve(memo, module, &self_ty, 0) {
                    for res in found {
                        if let Res::Item(ty) = res
                            && nominal(self.items[ty.index()].kind)
                        {
                            self_types.push(ty);
                        }
                    }
                }
                let mut traits = Vec::new();
                if let Some(trait_path) = imp.trait_.map(|path| facts.path(path)) {
                    if is_deref(&trait_path.join("::")) {
                        index.loose_types.extend(self_types.iter().copied());
                        if self_types.is_empty() {
                            index.loose_names.insert(self_ty.last().unwrap_or_default());
                        }
                    }
                    if let Resolution::Found(found) = self.resolve(memo, module, &trait_path, 0) {
                        for res in found {
                            if let Res::Item(t) = res
                                && self.items[t.index()].kind == ItemKind::Trait
                            {
                                traits.push(t);
                            }
                        }
                    }
                }
                for &member_index in facts.members(raw) {
                    let member = &facts.items[member_index as usize];
                    if member.kind != ItemKind::Method || !member.receiver {
                        continue;
                    }
                    let member_id = instance.items[member_index as usize];
                    if self_types.is_empty() {
                        let name = last_name(facts.own_name(member));
                        index.unanchored.entry(name).or_default().push(member_id);
                    }
                    for &ty in &self_types {
                        index.methods_of.entry(ty).or_default().push(member_id);
                    }
                }
                if self_types.is_empty() {
                    blanket_traits.extend(traits);
                } else {
                    for &ty in &self_types {
                        index.traits_of.entry(ty).or_default().extend(&traits);
                    }
                }
            }
        }
        blanket_traits.sort();
        blanket_traits.dedup();
        for t in blanket_traits {
            for &member in index.trait_members.get(&t).into_iter().flatten() {
                let name = self.short_name(member);
                index.unanchored.entry(name).or_default().push(member);
            }
        }
        index
    }

    /// The methods a call `.method()` on `receiver` (encoded, see `typing.rs`) written in
    /// `module` can reach; `None` when that cannot be narrowed down (the call then matches
    /// every method of the name).
    fn typed_candidates(
        &self,
        memo: &mut LookupMemo,
        index: &ReceiverIndex<'_>,
        module: usize,
        method: &str,
        receiver: &str,
        depth: u32,
    ) -> Option<Vec<ItemId>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let kind = receiver.get(..1)?;
        let rest = receiver.get(1..)?;
        match kind {
            "T" => self.alternatives_candidates(memo, index, module, method, rest, depth),
            "R" | "Q" | "P" => {
                let path: Vec<&str> = segments(rest).collect();
                let Resolution::Found(found) = self.resolve(memo, module, &path, 0) else {
                    return None;
                };
                let mut out = Vec::new();
                let mut any = false;
                for res in found {
                    let Res::Item(id) = res else { continue };
                    match self.items[id.index()].kind {
                        ItemKind::Fn | ItemKind::Method if kind != "P" => {
                            let (facts, raw) = self.raw(id)?;
                            let returns = facts.str(if kind == "R" {
                                raw.returns
                            } else {
                                raw.returns_ok
                            }?);
                            let owner = self.item_module[id.index()];
                            out.extend(self.alternatives_candidates(
                                memo,
                                index,
                                owner,
                                method,
                                returns,
                                depth + 1,
                            )?);
                            any = true;
                        }
                        // A tuple struct or an enum variant built by a call, a unit struct.
                        ItemKind::Struct | ItemKind::Enum if kind != "Q" => {
                            out.extend(self.type_candidates(index, id, method)?);
                            out.extend(index.unanchored.get(method).into_iter().flatten());
                            any = true;
                        }
                        ItemKind::Mod => {}
                        _ => return None,
                    }
                }
                any.then_some(out)
            }
            "F" => {
                let (field, alternatives) = rest.split_once('@')?;
                let mut out = Vec::new();
                let mut any = false;
                for alternative in alternatives.split('|') {
                    let path: Vec<&str> = segments(alternative).collect();
                    let Resolution::Found(found) = self.resolve(memo, module, &path, 0) else {
                        return None;
                    };
                    for res in found {
                        let Res::Item(id) = res else { continue };
                        match self.items[id.index()].kind {
                            ItemKind::Struct => {
                                let (facts, raw) = self.raw(id)?;
                                let (_, ty) = facts.fields(raw).find(|&(name, _)| name == field)?;
                                let owner = self.item_module[id.index()];
                                out.extend(self.alternatives_candidates(
                                    memo,
                                    index,
                                    owner,
                                    method,
                                    ty,
                                    depth + 1,
                                )?);
                                any = true;
                            }
                            ItemKind::Mod => {}
                            _ => return None,
                        }
                    }
                }
                any.then_some(out)
            }
            _ => None,
        }
    }

    /// `.method()` on a value of one of these types (a type, or a generic's or a `dyn`'s trait
    /// bounds). A bound from outside the workspace adds nothing; an unknown one, or nothing
    /// found at all, makes the call loose.
    fn alternatives_candidates(
        &self,
        memo: &mut LookupMemo,
        index: &ReceiverIndex<'_>,
        module: usize,
        method: &str,
        alternatives: &str,
        depth: u32,
    ) -> Option<Vec<ItemId>> {
        let mut out = Vec::new();
        for alternative in alternatives.split('|') {
            if is_deref(alternative) {
                // `T: Deref<Target = ..>`: the call may be the target's.
                return None;
            }
            let path: Vec<&str> = segments(alternative).collect();
            match self.resolve(memo, module, &path, 0) {
                Resolution::Foreign => {}
                Resolution::Unresolved if path.len() == 1 && PRELUDE_TRAITS.contains(&path[0]) => {}
                Resolution::Unresolved => return None,
                Resolution::Found(found) => {
                    let mut any = false;
                    for res in found {
                        let Res::Item(id) = res else { continue };
                        match self.items[id.index()].kind {
                            ItemKind::Struct | ItemKind::Enum | ItemKind::Union => {
                                out.extend(self.type_candidates(index, id, method)?);
                                any = true;
                            }
                            ItemKind::Trait => {
                                out.extend(self.trait_candidates(memo, index, id, method, depth)?);
                                any = true;
                            }
                            ItemKind::Mod => {}
                            _ => return None,
                        }
                    }
                    if !any {
                        return None;
                    }
                }
            }
        }
        if out.is_empty() {
            return None;
        }
        out.extend(index.unanchored.get(method).into_iter().flatten());
        out.sort();
        out.dedup();
        Some(out)
    }

    /// `.method()` on a struct, enum or union: its methods (inherent, and of its trait impls in
    /// any crate) and the members of the traits it implements.
    fn type_candidates(
        &self,
        index: &ReceiverIndex<'_>,
        ty: ItemId,
        method: &str,
    ) -> Option<Vec<ItemId>> {
        if index.loose_types.contains(&ty) || index.loose_names.contains(self.short_name(ty)) {
            return None;
        }
        let named = |id: &&ItemId| self.short_name(**id) == method;
        let mut out: Vec<ItemId> = index
            .methods_of
            .get(&ty)
            .into_iter()
            .flatten()
            .filter(named)
            .copied()
            .collect();
        for t in index.traits_of.get(&ty).into_iter().flatten() {
            out.extend(
                index
                    .trait_members
                    .get(t)
                    .into_iter()
                    .flatten()
                    .filter(named),
            );
        }
        (!out.is_empty()).then_some(out)
    }

    /// Members named `name` of the traits implemented for `ty` and of blanket impls: what
    /// `Type::name` means when the type has no item `name` of its own.
    fn trait_members_of_type(
        &self,
        index: &ReceiverIndex<'_>,
        ty: ItemId,
        name: &str,
    ) -> Vec<ItemId> {
        let named = |id: &&ItemId| self.short_name(**id) == name;
        let mut out: Vec<ItemId> = index
            .traits_of
            .get(&ty)
            .into_iter()
            .flatten()
            .filter_map(|t| index.trait_members.get(t))
            .flatten()
            .filter(named)
            .copied()
            .collect();
        out.extend(index.unanchored.get(name).into_iter().flatten());
        out
    }

    /// `.method()` on a `dyn Trait`, an `impl Trait` or a generic bounded by the trait: the
    /// trait's member (whose impls reach it) and its supertraits'.
    fn trait_candidates(
        &self,
        memo: &mut LookupMemo,
        index: &ReceiverIndex<'_>,
        tr: ItemId,
        method: &str,
        depth: u32,
    ) -> Option<Vec<ItemId>> {
        let named = |id: &&ItemId| self.short_name(**id) == method;
        let mut out: Vec<ItemId> = index
            .trait_members
            .get(&tr)
            .into_iter()
            .chain(index.methods_of.get(&tr))
            .flatten()
            .filter(named)
            .copied()
            .collect();
        if let Some(supertraits) = self
            .raw(tr)
            .and_then(|(facts, raw)| Some(facts.str(raw.supertraits?)))
        {
            let module = self.item_module[tr.index()];
            for alternative in supertraits.split('|') {
                if is_deref(alternative) {
                    return None;
                }
                let path: Vec<&str> = segments(alternative).collect();
                if depth < MAX_DEPTH
                    && let Resolution::Found(found) = self.resolve(memo, module, &path, 0)
                {
                    for res in found {
                        if let Res::Item(sup) = res
                            && sup != tr
                            && self.items[sup.index()].kind == ItemKind::Trait
                            && let Some(more) =
                                self.trait_candidates(memo, index, sup, method, depth + 1)
                        {
                            out.extend(more);
                        }
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn resolve_all(&self, memo: &mut LookupMemo) -> Resolved {
        let (indexes, (receivers, unknown_glob)) = rayon::join(
            || self.loose_indexes(),
            || {
                // Modules with a glob import that names nothing known: their unresolved single
                // names may come from it.
                let unknown_glob: Vec<bool> = (0..self.modules.len())
                    .map(|m| {
                        self.modules[m].globs.iter().any(|&g| {
                            let glob = self.use_path(g);
                            matches!(self.resolve(memo, m, &glob, 0), Resolution::Unresolved)
                        })
                    })
                    .collect();
                (self.receiver_index(memo), unknown_glob)
            },
        );
        let LooseIndexes {
            by_name,
            by_assoc,
            methods,
            macros,
            test_only,
            nameable_through_std,
            impl_trait,
        } = indexes;
        self.resolve_references(
            &by_name,
            &by_assoc,
            &methods,
            &macros,
            &test_only,
            &nameable_through_std,
            &impl_trait,
            &receivers,
            &unknown_glob,
        )
    }

    /// The indexes names are matched loosely against.
    fn loose_indexes(&self) -> LooseIndexes<'_> {
        // Indexes for loose matching.
        let mut by_name: FxHashMap<&str, Vec<ItemId>> = FxHashMap::default();
        let mut by_assoc: FxHashMap<&str, Vec<ItemId>> = FxHashMap::default();
        let mut methods: FxHashMap<&str, Vec<ItemId>> = FxHashMap::default();
        let mut macros: FxHashMap<&str, Vec<(ItemId, bool)>> = FxHashMap::default();
        for (index, item) in self.items.iter().enumerate() {
            let id = ItemId(index as u32);
            if matches!(item.kind, ItemKind::Impl | ItemKind::Other) {
                continue;
            }
            let name = self.short_name(id);
            // A module is never the last segment of a path in a body nor a name in macro input
            // that reaches it: what is used is an item inside it, matched by its own name.
            if item.kind != ItemKind::Mod {
                by_name.entry(name).or_default().push(id);
            }
            if item.kind == ItemKind::Method
                || item.kind == ItemKind::Const
                || item.kind == ItemKind::TypeAlias
            {
                if let Some(key) = assoc_suffix(&item.name) {
                    by_assoc.entry(key).or_default().push(id);
                }
                // Method syntax (`x.name()`) calls only functions that take `self`.
                let takes_self = self.item_source[index].is_some_and(|(instance, raw)| {
                    self.files[self.instances[instance].file].facts.items[raw as usize].receiver
                });
                if item.kind == ItemKind::Method && takes_self {
                    methods.entry(name).or_default().push(id);
                }
            }
            if item.kind == ItemKind::Macro {
                macros.entry(name).or_default().push((id, false));
            }
            if let Some((instance, raw)) = self.item_source[index] {
                let facts = &self.files[self.instances[instance].file].facts;
                for alias in facts.path(facts.items[raw as usize].proc_macro).iter() {
                    macros.entry(alias).or_default().push((id, true));
                }
            }
        }
        // A `use` that renames a macro (`use _config_data as config_data;`): the new name
        // calls it too.
        let renamed: Vec<(&str, Vec<(ItemId, bool)>)> = self
            .files
            .iter()
            .flat_map(|file| file.facts.renames())
            .filter_map(|(alias, name)| Some((alias, macros.get(name)?.clone())))
            .collect();
        for (alias, targets) in renamed {
            macros.entry(alias).or_default().extend(targets);
        }
        // Tests and `#[cfg(test)]` code exist only in their own crate's test build: only test
        // code of the same crate can name them, however loosely it matches names.
        let test_only: Vec<bool> = self
            .item_source
            .iter()
            .map(|source| {
                source.is_some_and(|(instance, raw)| {
                    let instance = &self.instances[instance];
                    instance.test_only
                        || self.files[instance.file].facts.items[raw as usize].test_only
                })
            })
            .collect();
        // Associated items whose owner is not a workspace struct, enum or union (a trait, or a
        // blanket impl's type parameter): the only items `Vec::name` can mean.
        let nominal: FxHashSet<&str> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                matches!(
                    item.kind,
                    ItemKind::Struct | ItemKind::Enum | ItemKind::Union
                )
            })
            .map(|(index, _)| self.short_name(ItemId(index as u32)))
            .collect();
        let nameable_through_std: Vec<bool> = self
            .items
            .iter()
            .map(|item| {
                matches!(
                    item.kind,
                    ItemKind::Method | ItemKind::Const | ItemKind::TypeAlias
                ) && owner_name(&item.name).is_some_and(|owner| !nominal.contains(owner))
            })
            .collect();
        // Members of impls of a trait: callable through any path that names the trait or the
        // type, from any crate that sees them.
        // The value is the trait's name.
        let impl_trait: Vec<Option<&str>> = self
            .item_source
            .iter()
            .map(|source| {
                let (instance, raw) = (*source)?;
                let facts = &self.files[self.instances[instance].file].facts;
                let parent = facts.items[raw as usize].parent?;
                let trait_ = facts.imp(&facts.items[parent as usize])?.trait_?;
                Some(facts.path(trait_).last().unwrap_or(""))
            })
            .collect();
        LooseIndexes {
            by_name,
            by_assoc,
            methods,
            macros,
            test_only,
            nameable_through_std,
            impl_trait,
        }
    }

    /// Resolves every item's references, each distinct one once per module, in parallel.
    #[allow(clippy::too_many_arguments)]
    fn resolve_references(
        &self,
        by_name: &FxHashMap<&str, Vec<ItemId>>,
        by_assoc: &FxHashMap<&str, Vec<ItemId>>,
        methods: &FxHashMap<&str, Vec<ItemId>>,
        macros: &FxHashMap<&str, Vec<(ItemId, bool)>>,
        test_only: &[bool],
        nameable_through_std: &[bool],
        impl_trait: &[Option<&str>],
        receivers: &ReceiverIndex<'_>,
        unknown_glob: &[bool],
    ) -> Resolved {
        // Whether an item of crate `krate` (test code or not) may name `candidate` loosely: its
        // crate can see the candidate's, and test code is named only by test code of its crate.
        let may_name = |krate: usize, from_test: bool, candidate: ItemId| {
            let other = self.modules[self.item_module[candidate.index()]].krate;
            self.crates[krate].visible[other]
                && (!test_only[candidate.index()] || (from_test && other == krate))
        };
        let trait_impl_member = |id: ItemId| impl_trait[id.index()].is_some();
        // Whether `candidate` may be what a path starting with crate `scope` names.
        let in_scope = |scope: usize, candidate: ItemId| {
            let other = self.modules[self.item_module[candidate.index()]].krate;
            self.crates[scope].visible[other] || trait_impl_member(candidate)
        };
        let hub_fan_out = self.hub_fan_out;
        let this = self;
        // Items grouped by module: what a reference resolves to depends only on the module it is
        // written in, so each module resolves each distinct reference once.
        let mut by_module: Vec<Vec<u32>> = vec![Vec::new(); this.modules.len()];
        for (index, source) in this.item_source.iter().enumerate() {
            if source.is_some() {
                by_module[this.item_module[index]].push(index as u32);
            }
        }
        // One memo per thread of the pool (and one for a caller outside it).
        let memos: Vec<std::sync::Mutex<LookupMemo>> = (0..=rayon::current_num_threads())
            .map(|_| std::sync::Mutex::default())
            .collect();
        let per_module: Vec<ModuleEdges<'_>> = by_module
            .par_iter()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(module, items)| {
                let slot = rayon::current_thread_index()
                    .map_or(memos.len() - 1, |i| i.min(memos.len() - 1));
                let mut guard = memos[slot].lock().expect("no thread panics holding a memo");
                let lookups: &mut LookupMemo = &mut guard;
                let krate_index = this.modules[module].krate;
                let krate = &this.crates[krate_index];
                // `from_test`: the referring item is test code.
                let visible = |id: &ItemId, from_test: bool| may_name(krate_index, from_test, *id);
                // The workspace crate a path of two or more segments starts with, unless its
                // first segment is a name of this module.
                let crate_scope = |lookups: &mut LookupMemo, path: &[&str]| -> Option<usize> {
                    if path.len() < 2 {
                        return None;
                    }
                    let dep = *krate.externs.get(path[0])?;
                    let mut local = Vec::new();
                    this.lookup(lookups, module, path[0], 0, &mut local);
                    local.is_empty().then_some(dep)
                };
                let target_of = |lookups: &mut LookupMemo,
                                 line: &str,
                                 from_test: bool|
                 -> Target<'_> {
                    let hub_in = |reason: EdgeReason, name, scope| {
                        Target::Hub(HubKey {
                            reason,
                            name,
                            krate: krate_index,
                            from_test,
                            scope,
                        })
                    };
                    let hub = |reason: EdgeReason, name| hub_in(reason, name, usize::MAX);
                    let loose = |candidates: &[ItemId], reason: EdgeReason| {
                        Target::Items(
                            candidates
                                .iter()
                                .filter(|id| visible(id, from_test))
                                .map(|&id| (id, reason))
                                .collect(),
                        )
                    };
                    let method_name = |name: &str| match methods.get_key_value(name) {
                        Some((key, candidates)) if candidates.len() > hub_fan_out => {
                            hub(EdgeReason::MethodName, key)
                        }
                        Some((_, candidates)) => loose(candidates, EdgeReason::MethodName),
                        None => Target::Items(Vec::new()),
                    };
                    match PackedRefs::view(line) {
                        RefView::Path(text) => {
                            let path: Vec<&str> = segments(text).collect();
                            match this.resolve(lookups, module, &path, 0) {
                                Resolution::Found(found) => {
                                    let last = path.last().copied().unwrap_or("");
                                    let mut out: Vec<(ItemId, EdgeReason)> = Vec::new();
                                    for res in found {
                                        let from = match res {
                                            Res::Item(id) => id,
                                            Res::Module(m) => this.modules[m].item,
                                        };
                                        let item = &this.items[from.index()];
                                        out.push((from, reason_for(item.kind)));
                                        // `Type::name` where the type has no item `name` of its
                                        // own: a trait's (default) member or a blanket impl's.
                                        if path.len() >= 2
                                            && matches!(
                                                item.kind,
                                                ItemKind::Struct | ItemKind::Enum | ItemKind::Union
                                            )
                                            && this.short_name(from) != last
                                        {
                                            out.extend(
                                                this.trait_members_of_type(receivers, from, last)
                                                    .into_iter()
                                                    .filter(|id| visible(id, from_test))
                                                    .map(|id| (id, EdgeReason::TraitMethod)),
                                            );
                                        }
                                    }
                                    Target::Items(out)
                                }
                                // `serde_json::Value::from(x)`, `std::convert::From::from(x)`:
                                // an associated item of a foreign type or trait may be a member
                                // of a workspace impl of a foreign trait (`impl From<X> for
                                // Value`), named by the type's or the trait's name.
                                Resolution::Foreign if path.len() >= 3 => {
                                    let owner = path[path.len() - 2];
                                    let members: Vec<ItemId> = by_name
                                        .get(path[path.len() - 1])
                                        .into_iter()
                                        .flatten()
                                        .copied()
                                        .filter(|&id| {
                                            impl_trait[id.index()].is_some_and(|t| {
                                                t == owner
                                                    || owner_name(&this.items[id.index()].name)
                                                        == Some(owner)
                                            })
                                        })
                                        .collect();
                                    loose(&members, EdgeReason::NameMatch)
                                }
                                Resolution::Foreign => Target::Items(Vec::new()),
                                // A local variable, a generic parameter or a prelude name.
                                Resolution::Unresolved
                                    if path.len() == 1 && !unknown_glob[module] =>
                                {
                                    Target::Items(Vec::new())
                                }
                                Resolution::Unresolved => {
                                    let name = path.last().copied().unwrap_or("");
                                    let found = match assoc_suffix(text)
                                        .and_then(|key| by_assoc.get_key_value(key))
                                    {
                                        Some((key, ids)) => Some((*key, ids.as_slice())),
                                        None => by_name
                                            .get_key_value(name)
                                            .map(|(key, ids)| (*key, ids.as_slice())),
                                    };
                                    let Some((key, candidates)) = found else {
                                        return Target::Items(Vec::new());
                                    };
                                    // `other::…::name` where `other` is a workspace crate: the
                                    // item is that crate's or one it re-exports (so in its
                                    // closure), or a trait impl's member written elsewhere.
                                    if let Some(scope) = crate_scope(lookups, &path) {
                                        let scoped: Vec<ItemId> = candidates
                                            .iter()
                                            .copied()
                                            .filter(|&id| in_scope(scope, id))
                                            .collect();
                                        return if scoped.len() > hub_fan_out {
                                            hub_in(EdgeReason::NameMatch, key, scope)
                                        } else {
                                            loose(&scoped, EdgeReason::NameMatch)
                                        };
                                    }
                                    // `Vec::new`, `u32::from`: an associated item of a prelude
                                    // or primitive type, which no workspace type has. Only trait
                                    // items (a trait's own, or a blanket impl's) can be named so.
                                    if key == name
                                        && path.len() >= 2
                                        && !unknown_glob[module]
                                        && STD_TYPES.contains(&path[path.len() - 2])
                                    {
                                        let traitlike: Vec<ItemId> = candidates
                                            .iter()
                                            .copied()
                                            .filter(|id| nameable_through_std[id.index()])
                                            .collect();
                                        return loose(&traitlike, EdgeReason::NameMatch);
                                    }
                                    if candidates.len() > hub_fan_out {
                                        hub(EdgeReason::NameMatch, key)
                                    } else {
                                        loose(candidates, EdgeReason::NameMatch)
                                    }
                                }
                            }
                        }
                        RefView::Method(name) => method_name(name),
                        RefView::Typed(name, receiver) => {
                            let typed: Vec<(ItemId, EdgeReason)> = this
                                .typed_candidates(lookups, receivers, module, name, receiver, 0)
                                .unwrap_or_default()
                                .into_iter()
                                .filter(|id| visible(id, from_test))
                                .map(|id| (id, EdgeReason::TypedMethod))
                                .collect();
                            if typed.is_empty() {
                                method_name(name)
                            } else {
                                Target::Items(typed)
                            }
                        }
                        RefView::Macro(path) => {
                            let name = last_name(path);
                            Target::Items(
                                macros
                                    .get(name)
                                    .into_iter()
                                    .flatten()
                                    .filter(|(id, _)| visible(id, from_test))
                                    .map(|&(id, proc)| {
                                        let reason = if proc {
                                            EdgeReason::ProcMacro
                                        } else {
                                            EdgeReason::MacroUse
                                        };
                                        (id, reason)
                                    })
                                    .collect(),
                            )
                        }
                        RefView::Ident(name) => match by_name.get_key_value(name) {
                            Some((key, candidates)) if candidates.len() > hub_fan_out => {
                                hub(EdgeReason::NameMatch, key)
                            }
                            Some((_, candidates)) => loose(candidates, EdgeReason::NameMatch),
                            None => Target::Items(Vec::new()),
                        },
                    }
                };
                // What each reference (by its file and its number there) reaches, from test code
                // or not.
                let mut memo: FxHashMap<(u32, u32, bool), Target<'_>> = FxHashMap::default();
                // The module's items with their file and whether they are test code.
                let sources: Vec<(ItemId, &Facts, &FactItem, u32, bool)> = items
                    .iter()
                    .filter_map(|&index| {
                        let (instance, raw) = this.item_source[index as usize]?;
                        let file = this.instances[instance].file;
                        let facts = &this.files[file].facts;
                        // An integration test or bench target is compiled only as a test: all
                        // of its code is test code.
                        let from_test = test_only[index as usize]
                            || matches!(krate.kind, TargetKind::Test | TargetKind::Bench);
                        Some((
                            ItemId(index),
                            &**facts,
                            &facts.items[raw as usize],
                            file as u32,
                            from_test,
                        ))
                    })
                    .collect();
                // Every reference's target first, counting edges, so that the edges take one
                // vector of the right size.
                let (mut count, mut hub_uses) = (0, 0);
                for &(_, facts, raw, file, from_test) in &sources {
                    for (line_id, line) in facts.ref_ids(raw) {
                        let target = memo
                            .entry((file, line_id, from_test))
                            .or_insert_with(|| target_of(lookups, line, from_test));
                        match target {
                            Target::Items(found) => count += found.len(),
                            Target::Hub(_) => hub_uses += 1,
                        }
                    }
                }
                let mut out = Vec::with_capacity(count);
                let mut via_hub = Vec::with_capacity(hub_uses);
                for &(to, facts, raw, file, from_test) in &sources {
                    for (line_id, _) in facts.ref_ids(raw) {
                        match &memo[&(file, line_id, from_test)] {
                            Target::Items(found) => out.extend(
                                found
                                    .iter()
                                    .filter(|(from, _)| *from != to)
                                    .map(|&(from, reason)| (from, to, reason)),
                            ),
                            Target::Hub(key) => via_hub.push((*key, to)),
                        }
                    }
                }
                (out, via_hub)
            })
            .collect();

        // One hub per (reason, name, crate): the candidates of that name visible from the crate
        // reach the hub, the hub reaches every item of the crate that uses the name. Reachability
        // is the same as with an edge from each candidate to each user, at a fraction of the
        // edges.
        let mut hubs: FxHashMap<HubKey<'_>, (ItemId, Vec<ItemId>)> = FxHashMap::default();
        let mut edges: Vec<RawEdge> = Vec::new();
        let mut next_hub = self.items.len() as u32;
        let mut direct_edges = Vec::with_capacity(per_module.len());
        for (direct, via_hub) in per_module {
            direct_edges.push(direct);
            for (key, to) in via_hub {
                let entry = hubs.entry(key).or_insert_with(|| {
                    let id = ItemId(next_hub);
                    next_hub += 1;
                    (id, Vec::new())
                });
                entry.1.push(to);
            }
        }
        let mut hub_list: Vec<(HubKey<'_>, ItemId, Vec<ItemId>)> = hubs
            .into_iter()
            .map(|(key, (id, users))| (key, id, users))
            .collect();
        hub_list.sort_by_key(|(_, id, _)| *id);
        let mut hub_items = Vec::with_capacity(hub_list.len());
        for (key, hub, users) in &hub_list {
            let krate = &this.crates[key.krate];
            let candidates: &[ItemId] = match key.reason {
                EdgeReason::MethodName => methods.get(key.name).map_or(&[], Vec::as_slice),
                _ => by_assoc
                    .get(key.name)
                    .or_else(|| by_name.get(key.name))
                    .map_or(&[], Vec::as_slice),
            };
            for &candidate in candidates {
                if may_name(key.krate, key.from_test, candidate)
                    && (key.scope == usize::MAX || in_scope(key.scope, candidate))
                {
                    edges.push((candidate, *hub, key.reason));
                }
            }
            for &user in users {
                edges.push((*hub, user, key.reason));
            }
            let root = &this.items[this.modules[krate.root_module].item.index()];
            let label = match key.reason {
                EdgeReason::MethodName => format!(".{}() (any receiver)", key.name),
                _ => format!("{} (unresolved name)", key.name),
            };
            hub_items.push(Item {
                kind: ItemKind::Other,
                name: label,
                file: root.file.clone(),
                lines: root.lines,
                package: root.package,
                krate: root.krate.clone(),
            });
        }
        Resolved {
            direct: direct_edges,
            hub_items,
            hub_edges: edges,
        }
    }

    /// Adds the hubs and, in order, each module's edges, the hubs' edges and the structural
    /// edges.
    fn add_resolved(&mut self, resolved: Resolved, structural: Vec<RawEdge>) {
        self.reserve_items(resolved.hub_items.len());
        for item in resolved.hub_items {
            let id = ItemId(self.items.len() as u32);
            self.items.push(item);
            self.item_module.push(usize::MAX);
            self.item_source.push(None);
            self.name_hubs.push(id);
        }
        for chunk in resolved.direct {
            self.edges.append(chunk);
        }
        self.edges.append(resolved.hub_edges);
        self.edges.append(structural);
    }

    // ---------------------------------------------------------------- structure

    /// Containment, impls and trait methods.
    fn structural_edges(&self, memo: &mut LookupMemo) -> Vec<RawEdge> {
        let mut edges = Vec::new();
        for instance in &self.instances {
            let facts = &self.files[instance.file].facts;
            for (raw_index, raw) in facts.items.iter().enumerate() {
                let id = instance.items[raw_index];
                let module = instance.scope_modules[raw.scope as usize];
                let container = match raw.parent {
                    Some(parent) => instance.items[parent as usize],
                    None => self.modules[module].item,
                };
                if container != id {
                    edges.push((container, id, EdgeReason::Contains));
                }
                let Some(imp) = facts.imp(raw) else { continue };
                let mut self_types = Vec::new();
                if let Resolution::Found(found) =
                    self.resolve(memo, module, &facts.path(imp.self_ty), 0)
                {
                    for res in found {
                        if let Res::Item(ty) = res {
                            // A path through a re-export also names the module holding the
                            // `use`: the impl depends on it, but users of the type reach the
                            // impl through the type itself, not through that module.
                            if self.items[ty.index()].kind != ItemKind::Mod {
                                self_types.push(ty);
                            }
                            edges.push((ty, id, EdgeReason::ImplOf));
                        }
                    }
                }
                let mut traits = Vec::new();
                if let Some(trait_path) = imp.trait_
                    && let Resolution::Found(found) =
                        self.resolve(memo, module, &facts.path(trait_path), 0)
                {
                    for res in found {
                        if let Res::Item(t) = res
                            && self.items[t.index()].kind == ItemKind::Trait
                        {
                            traits.push(t);
                            edges.push((t, id, EdgeReason::ImplOf));
                        }
                    }
                }
                let members: Vec<ItemId> = facts
                    .members(raw)
                    .iter()
                    .map(|&i| instance.items[i as usize])
                    .collect();
                if imp.trait_.is_some() && traits.is_empty() {
                    // A trait from outside the workspace: its methods are called invisibly
                    // (operators, `?`, `Drop`, `Display`, generic code), so users of the type
                    // depend on them.
                    for &ty in &self_types {
                        edges.push((id, ty, EdgeReason::TraitImpl));
                    }
                    // Each method reaches the type's users directly: through the impl it would
                    // reach the impl's other methods, which do not depend on it.
                    for &member in &members {
                        if self_types.is_empty() {
                            edges.push((member, id, EdgeReason::TraitImpl));
                        }
                        for &ty in &self_types {
                            edges.push((member, ty, EdgeReason::TraitImpl));
                        }
                    }
                }
                for &t in &traits {
                    let trait_name = self.short_name(t).to_owned();
                    let trait_module = self.item_module[t.index()];
                    for &member in &members {
                        let method = self.short_name(member);
                        let key = format!("{trait_name}::{method}");
                        for &tm in self.modules[trait_module]
                            .names
                            .get(&key)
                            .into_iter()
                            .flatten()
                        {
                            edges.push((member, tm, EdgeReason::TraitMethod));
                        }
                    }
                    // Every trait member (a default body or a signature) reaches the impls.
                    let prefix = format!("{trait_name}::");
                    let mut trait_members: Vec<ItemId> = self.modules[trait_module]
                        .names
                        .iter()
                        .filter(|(key, _)| key.starts_with(&prefix))
                        .flat_map(|(_, ids)| ids.iter().copied())
                        .collect();
                    trait_members.sort();
                    for tm in trait_members {
                        // A method reaches only the impl's own method of its name (a changed
                        // signature changes it); the callers of a default body reach the trait
                        // method itself (method calls on the implementing types, `Type::name`
                        // paths). A const or a type may be used by the whole impl.
                        if self.items[tm.index()].kind == ItemKind::Method {
                            let method = self.short_name(tm);
                            for &member in &members {
                                if self.short_name(member) == method {
                                    edges.push((tm, member, EdgeReason::TraitMethod));
                                }
                            }
                        } else {
                            edges.push((tm, id, EdgeReason::TraitMethod));
                        }
                    }
                }
            }
        }
        edges
    }

    // ---------------------------------------------------------------- macro tests

    /// The tests that item-level macro invocations write in crates that run tests: the crate,
    /// the invocation's item and the test. A crate's macros are its own `macro_rules!` (any
    /// file, any order: textual scoping is not modelled) and the `#[macro_export]` ones of the
    /// workspace crates it can see.
    fn macro_tests(&self) -> MacroTests {
        let mut defs: Vec<(usize, bool, &str, &[Tok])> = Vec::new();
        for instance in &self.instances {
            for def in &self.files[instance.file].facts.macro_defs {
                defs.push((instance.krate, def.exported, &def.name, &def.body));
            }
        }
        // `use _config_data as config_data;` (rust-analyzer's config): a crate's `use` that
        // renames a macro of the workspace makes the new name call it too.
        let aliases: Vec<(usize, &str, &str)> = self
            .instances
            .iter()
            .flat_map(|instance| {
                let facts = &self.files[instance.file].facts;
                facts
                    .renames()
                    .map(move |(alias, name)| (instance.krate, alias, name))
            })
            .collect();
        let mut tables: FxHashMap<usize, MacroTable<'_>> = FxHashMap::default();
        let mut work = Vec::new();
        for instance in &self.instances {
            let c = &self.crates[instance.krate];
            let facts = &self.files[instance.file].facts;
            if !c.runs_tests || !c.harness || facts.macro_calls.is_empty() {
                continue;
            }
            tables.entry(instance.krate).or_insert_with(|| {
                let mut table: MacroTable<'_> = FxHashMap::default();
                for &(krate, exported, name, body) in &defs {
                    if krate == instance.krate || (exported && c.visible[krate]) {
                        table.entry(name).or_default().push(body);
                    }
                }
                for &(krate, alias, name) in &aliases {
                    if krate == instance.krate
                        && let Some(bodies) = table.get(name).cloned()
                    {
                        table.entry(alias).or_default().extend(bodies);
                    }
                }
                table
            });
            for call in &facts.macro_calls {
                let raw = &facts.items[call.item as usize];
                let id = instance.items[call.item as usize];
                let name = &self.items[id.index()].name;
                let own = facts.own_name(raw);
                let prefix = name
                    .strip_suffix(own)
                    .unwrap_or("")
                    .trim_end_matches("::")
                    .to_owned();
                work.push((instance.krate, id, prefix, call));
            }
        }
        let expand = || {
            let mut out = Vec::new();
            for (krate, id, prefix, call) in &work {
                for test in macros::tests_of_invocation(&tables[krate], &call.name, &call.input) {
                    let mut name = prefix.clone();
                    for segment in &test.path {
                        if !name.is_empty() {
                            name.push_str("::");
                        }
                        name.push_str(segment);
                    }
                    out.push((
                        *krate,
                        *id,
                        MacroTestName {
                            name,
                            ignored: test.ignored,
                            parameterized: test.parameterized,
                        },
                    ));
                }
            }
            out
        };
        // Matching recurses once per repetition: the caller runs this on a thread with room for
        // long inputs.
        expand()
    }

    // ---------------------------------------------------------------- finish

    /// What the graph knows of each file: its items (in span order), who includes it, whether it
    /// is in a module tree.
    fn file_entries(&self, hub_ids: &FxHashSet<ItemId>) -> FxHashMap<String, FileEntry> {
        let mut files: FxHashMap<String, FileEntry> = FxHashMap::default();
        for file in &self.files {
            files.insert(
                file.path.clone(),
                FileEntry {
                    lines: file.facts.lines,
                    error: file.facts.error.clone(),
                    items: Vec::new(),
                    included_by: Vec::new(),
                    in_tree: false,
                },
            );
        }
        for instance in &self.instances {
            let path = &self.files[instance.file].path;
            if let Some(entry) = files.get_mut(path) {
                entry.in_tree = true;
            }
        }
        for (index, item) in self.items.iter().enumerate() {
            let id = ItemId(index as u32);
            if hub_ids.contains(&id) {
                continue;
            }
            if let Some(entry) = files.get_mut(&item.file) {
                entry.items.push(id);
            }
        }
        for instance in &self.instances {
            let facts = &self.files[instance.file].facts;
            let dir = parent_dir(&self.files[instance.file].path).to_owned();
            for (raw_index, raw) in facts.items.iter().enumerate() {
                for include in facts.path(raw.includes).iter() {
                    let path = join(&dir, include);
                    let entry = files.entry(path).or_insert_with(|| FileEntry {
                        lines: 0,
                        error: None,
                        items: Vec::new(),
                        included_by: Vec::new(),
                        in_tree: false,
                    });
                    entry.included_by.push(instance.items[raw_index]);
                }
            }
        }
        let items = &self.items;
        for entry in files.values_mut() {
            entry.items.sort_by_key(|id| {
                (
                    items[id.index()].lines.start,
                    std::cmp::Reverse(items[id.index()].lines.end),
                )
            });
        }
        files.retain(|_, entry| entry.in_tree || !entry.included_by.is_empty());
        files
    }

    fn finish(mut self, root: &Path, written: MacroTests) -> Graph {
        // Synthetic nodes: one per binary (reached by everything in it, reaching the test,
        // bench and example targets of its package) and per `harness = false` target.
        let mut hubs: FxHashMap<usize, ItemId> = FxHashMap::default();
        let crate_items: Vec<Vec<ItemId>> = {
            let mut lists = vec![Vec::new(); self.crates.len()];
            for (index, &module) in self.item_module.iter().enumerate() {
                if module != usize::MAX && module < self.modules.len() {
                    lists[self.modules[module].krate].push(ItemId(index as u32));
                }
            }
            lists
        };
        for (krate, c) in self.crates.iter().enumerate() {
            let needs_hub = c.kind == TargetKind::Bin || (c.runs_tests && !c.harness);
            if !needs_hub || c.root_module == usize::MAX {
                continue;
            }
            let root_item = self.items[self.modules[c.root_module].item.index()].clone();
            let hub_item = Item {
                kind: ItemKind::Other,
                name: format!("{} (whole binary)", c.binary_id.clone().unwrap_or_default()),
                file: root_item.file.clone(),
                lines: root_item.lines,
                package: c.package,
                krate: root_item.krate.clone(),
            };
            let id = ItemId(self.items.len() as u32);
            self.items.push(hub_item);
            self.item_module.push(c.root_module);
            self.item_source.push(None);
            hubs.insert(krate, id);
            for &item in &crate_items[krate] {
                self.edges.push((item, id, EdgeReason::InBinary));
            }
        }
        for (krate, c) in self.crates.iter().enumerate() {
            if c.root_module == usize::MAX {
                continue;
            }
            let root_item = self.modules[c.root_module].item;
            match c.kind {
                TargetKind::Test | TargetKind::Bench | TargetKind::Example => {
                    for (other, o) in self.crates.iter().enumerate() {
                        if o.package == c.package
                            && o.kind == TargetKind::Bin
                            && let Some(&hub) = hubs.get(&other)
                        {
                            self.edges
                                .push((hub, root_item, EdgeReason::BinaryUnderTest));
                        }
                    }
                }
                TargetKind::BuildScript => {
                    for (other, o) in self.crates.iter().enumerate() {
                        if o.package == c.package && other != krate && o.root_module != usize::MAX {
                            let target_root = self.modules[o.root_module].item;
                            for &item in &crate_items[krate] {
                                self.edges
                                    .push((item, target_root, EdgeReason::BuildScript));
                            }
                        }
                    }
                }
                _ => {}
            }
        }

        // Tests, in lists sized once: the tests of test functions, of macros and of
        // `harness = false` targets.
        let runs_tests = |c: &Crate| c.runs_tests && c.harness;
        let room = self
            .instances
            .iter()
            .filter(|instance| runs_tests(&self.crates[instance.krate]))
            .map(|instance| {
                let facts = &self.files[instance.file].facts;
                facts.items.iter().filter(|raw| raw.test.is_some()).count()
            })
            .sum::<usize>()
            + written.len()
            + self.crates.len();
        let mut tests = Vec::with_capacity(room);
        let mut test_nodes = Vec::with_capacity(room);
        for instance in &self.instances {
            let c = &self.crates[instance.krate];
            if !runs_tests(c) {
                continue;
            }
            let facts = &self.files[instance.file].facts;
            for (raw_index, raw) in facts.items.iter().enumerate() {
                let Some(attr) = raw.test else { continue };
                let id = instance.items[raw_index];
                let item = &self.items[id.index()];
                tests.push(Test {
                    id: RustTestId::new(c.binary_id.clone().unwrap_or_default(), item.name.clone()),
                    item: Some(id),
                    package: c.package,
                    file: item.file.clone(),
                    lines: Some(item.lines),
                    ignored: attr.ignored,
                    parameterized: attr.parameterized,
                });
                test_nodes.push(id);
            }
        }
        // Tests written by item-level macro invocations: their node is the invocation, which
        // depends on the macro's definition and on every name in its input.
        let mut from_macros = Vec::new();
        {
            let known: FxHashSet<(&str, &str)> = tests
                .iter()
                .map(|t: &Test| (t.id.binary_id.as_str(), t.id.name.as_str()))
                .collect();
            let mut known_written: FxHashSet<RustTestId> = FxHashSet::default();
            for (krate, invocation, test) in written {
                let c = &self.crates[krate];
                let binary_id = c.binary_id.as_deref().unwrap_or_default();
                if known.contains(&(binary_id, test.name.as_str())) {
                    continue;
                }
                let id = RustTestId::new(binary_id, test.name);
                if !known_written.insert(id.clone()) {
                    continue;
                }
                let item = &self.items[invocation.index()];
                from_macros.push(Test {
                    id,
                    item: Some(invocation),
                    package: c.package,
                    file: item.file.clone(),
                    lines: Some(item.lines),
                    ignored: test.ignored,
                    parameterized: test.parameterized,
                });
                test_nodes.push(invocation);
            }
        }
        tests.extend(from_macros);
        for (krate, c) in self.crates.iter().enumerate() {
            if c.runs_tests
                && !c.harness
                && let Some(&hub) = hubs.get(&krate)
            {
                let item = &self.items[hub.index()];
                tests.push(Test {
                    id: RustTestId::new(c.binary_id.clone().unwrap_or_default(), ""),
                    item: None,
                    package: c.package,
                    file: item.file.clone(),
                    lines: None,
                    ignored: false,
                    parameterized: false,
                });
                test_nodes.push(hub);
            }
        }
        // Sort tests by id for stable output (a stable sort: of equal ids, the first added
        // comes first) and for lookups by id.
        let mut paired: Vec<(Test, ItemId)> = tests.into_iter().zip(test_nodes).collect();
        paired.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let (tests, test_nodes): (Vec<Test>, Vec<ItemId>) = paired.into_iter().unzip();

        // Edges, deduplicated (the first reason wins), beside the files' entries.
        let hub_ids: FxHashSet<ItemId> = hubs.values().chain(&self.name_hubs).copied().collect();
        let (graph, files) = rayon::join(
            || crate::edges::EdgeList::from_raw(self.items.len(), &self.edges),
            || self.file_entries(&hub_ids),
        );

        let in_tree: Vec<&FileEntry> = files.values().filter(|e| e.in_tree).collect();
        let stats = GraphStats {
            packages: self.packages.len(),
            targets: self.crates.len(),
            files: in_tree.len(),
            lines: in_tree.iter().map(|e| u64::from(e.lines)).sum(),
            items: self.items.len() - hubs.len() - self.name_hubs.len(),
            edges: graph.len(),
            tests: tests.len(),
            parse_errors: in_tree.iter().filter(|e| e.error.is_some()).count(),
            cache_hits: self.cache_hits,
            build_time: std::time::Duration::ZERO,
            phases: Vec::new(),
        };
        let package_graph = crate::link::PackageGraph::new(&self.packages);
        let link_bounds = crate::link::LinkBounds::new(&package_graph);
        // What the graph does not keep (the facts above all: many small allocations) is freed
        // on another thread.
        let leftovers = (
            self.files,
            self.modules,
            self.module_index,
            self.instances,
            self.item_module,
            self.item_source,
            self.file_index,
            self.crates,
            self.edges,
        );
        rayon::spawn(move || drop(leftovers));
        Graph {
            root: root.to_path_buf(),
            packages: self.packages,
            items: self.items,
            edges: graph,
            tests,
            test_nodes,
            files,
            name_hubs: self.name_hubs,
            stats,
            link_bounds,
            dependencies: package_graph,
            search_index: std::sync::OnceLock::new(),
        }
    }
}

fn reason_for(kind: ItemKind) -> EdgeReason {
    match kind {
        ItemKind::Fn | ItemKind::Method => EdgeReason::Calls,
        ItemKind::Struct
        | ItemKind::Enum
        | ItemKind::Union
        | ItemKind::Trait
        | ItemKind::TypeAlias => EdgeReason::UsesType,
        ItemKind::Macro => EdgeReason::MacroUse,
        _ => EdgeReason::Uses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_helpers_agree_with_the_standard_splits() {
        for text in [
            "", "a", "a::b", "a::b::c", "::a", "a::", "a:::b", "a::::b", ":", "a:b::c", "::", "a:",
        ] {
            assert_eq!(
                segments(text).collect::<Vec<_>>(),
                text.split("::").collect::<Vec<_>>(),
                "{text}"
            );
            assert_eq!(Some(last_name(text)), text.rsplit("::").next(), "{text}");
            assert_eq!(owner_name(text), text.rsplit("::").nth(1), "{text}");
            let parts: Vec<&str> = text.split("::").collect();
            let expected = (parts.len() >= 2)
                .then(|| format!("{}::{}", parts[parts.len() - 2], parts[parts.len() - 1]));
            assert_eq!(assoc_suffix(text).map(str::to_owned), expected, "{text}");
        }
    }

    #[test]
    fn paths_join_and_normalise() {
        assert_eq!(join("src", "a.rs"), "src/a.rs");
        assert_eq!(join("src/x", "../y/b.rs"), "src/y/b.rs");
        assert_eq!(join("", "./a.rs"), "a.rs");
        assert_eq!(parent_dir("src/lib.rs"), "src");
        assert_eq!(parent_dir("build.rs"), "");
    }
}

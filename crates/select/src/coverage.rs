//! Sharper selection from per-test coverage ([`hourglass_coverage`]).
//!
//! A test that passed at the covered commit C, and whose process never ran
//! a function, cannot see a change to that function's body: if it does not
//! run it, the new body never runs either. So a change whose every changed
//! line lies inside the body of a plain function or method (not a `const
//! fn`, which may run at compile time) reaches only the tests that ran a
//! function of that key. Every other change (signatures, types, constants,
//! statics, macros, files the graph cannot see, functions the map does not
//! hold) is followed through the graph as without coverage. Build scripts
//! and proc macros are never instrumented: their functions are followed
//! too, whatever key they share with instrumented ones.
//!
//! A run of the diff that deletes whole plain functions or inherent
//! methods reaches the tests that ran one of them: code that called them
//! had to change to build without them, and is followed on its own.
//!
//! A module whose own changed lines are private `use` declarations (and
//! blank lines and comments), in a file that lost no item, changes how the
//! names it imports resolve, in that module and in the modules under it
//! that see its imports (same file, or a `use super::*`/`use crate::..`
//! glob or path naming them). The names are those imported on one side
//! only (old imports against new, so moved or rewrapped lines count for
//! nothing). Only the items whose own lines name one of them change: a
//! function that names it only inside its body reaches the tests that ran
//! it; any other item (the name in a signature, an attribute, a type) is
//! followed through the graph.
//!
//! Not seen: a trait import added or removed that makes an unchanged
//! method call resolve to another trait's method (Rust accepts it when the
//! new method applies at an earlier auto-deref step), since the call does
//! not name the trait.
//!
//! The map speaks of C, and a selection is of `base..head`. So the rule is
//! applied to the whole change since C: a test that nothing changed since
//! C can reach (by the rule above) runs the same code as at C, and passed
//! there; it is left out. Every other test keeps the selection it had
//! without coverage. The result is therefore never larger than the
//! selection without coverage, and the older C, the less it leaves out.

use std::collections::{BTreeMap, BTreeSet};

use hourglass_coverage::{CoverageMap, Verdict, symbol};
use hourglass_graph::{Graph, ItemId, ItemKind, TestIndex};
use hourglass_model::{ChangeKind, ChangeSet};
use serde::Serialize;

use crate::{Impact, Selection};

/// Above this many changed functions with an unknown verdict for one test,
/// the test is kept without asking the graph about each.
const MAX_ITEM_SEARCHES: usize = 64;
/// How many followed items a summary names.
const MAX_FOLLOWED: usize = 20;

/// What coverage did to a selection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoverageSummary {
    /// The commit the map covers.
    pub commit: String,
    /// Changed items since that commit.
    pub changed_items: usize,
    /// Of those, functions whose body alone changed and that the map holds:
    /// these reach only the tests that ran them.
    pub body_changes: usize,
    /// Modules whose own changed lines are private imports only: these
    /// reach what the items naming the imported names reach.
    pub import_changes: usize,
    /// Changed functions only changed code can call: these add nothing.
    pub silent_functions: usize,
    /// Functions deleted since then: these reach the tests that ran them.
    pub deleted_functions: usize,
    /// Tests the selection had without coverage and lost with it.
    pub left_out: usize,
    /// Changed items (or items naming a changed import) followed through
    /// the graph, as without coverage: what keeps tests in.
    pub followed_items: usize,
    /// The first of them, with where they changed.
    pub followed: Vec<String>,
    /// Tests selected since the map's commit without the graph (manifests,
    /// `Cargo.lock`, rules, files the graph cannot see).
    pub widened_tests: usize,
}

/// How coverage sees the changed items of a change since the map's commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageChanges {
    /// Functions whose body alone changed and that the map holds: item → key.
    pub bodies: BTreeMap<ItemId, String>,
    /// Modules whose own lines changed in private `use` declarations only
    /// (and blank lines and comments): each stands for the items of its
    /// subtree that name what those lines name, not for everything in it.
    pub imports: BTreeMap<ItemId, Named>,
    /// Changed free functions and inherent methods whose name appears
    /// nowhere but on changed lines and in their own text: only changed
    /// code can call them, so they reach no test the rest does not.
    pub silent: BTreeSet<ItemId>,
    /// Changed functions whose every caller the map or the graph can speak
    /// for: each stands for the function itself (if the map holds it) and
    /// the items that name it (`function_changes`).
    pub callers: BTreeMap<ItemId, Named>,
    /// The map's keys of the functions the change deleted
    /// ([`Quieted::deleted`]).
    pub deleted: BTreeSet<String>,
    /// How many functions it deleted.
    pub deleted_functions: usize,
}

/// The items of a module's subtree that name an identifier of its changed
/// imports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// Functions that name one only inside their body, held by the map:
    /// item → key.
    pub bodies: BTreeMap<ItemId, String>,
    /// The other items that name one: followed through the graph.
    pub others: BTreeSet<ItemId>,
}

/// A change since the map's commit, without what cannot reach a test on
/// its own ([`quiet_change`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quieted {
    /// The change without those runs.
    pub changes: ChangeSet,
    /// The map's keys of the functions whole runs of it deleted: only the
    /// tests that ran one of them can see their loss.
    pub deleted: BTreeSet<String>,
    /// How many functions those runs deleted.
    pub deleted_functions: usize,
}

/// The change without its runs of blank lines and comments
/// (`blank_runs_dropped`), and without the runs that only deleted whole
/// items (the line before such a run, where the diff anchors it, belongs to
/// an item that did not change):
/// - a deleted function, constant, type or `macro_rules!` whose name no
///   unchanged line of a package that can link it writes could only have
///   been used by changed code: it reaches nothing;
/// - a deleted function or inherent method (not a `const fn`, plain
///   attributes only) of an instrumented crate reaches the tests that ran
///   it: code that called it must have changed to build without it (and is
///   followed on its own), and a test that did not run it cannot miss it.
///
/// Impls (used without being named) and items with attributes that export
/// them are never taken out.
pub fn quiet_change(
    graph: &Graph,
    changes: &ChangeSet,
    map: &CoverageMap,
    read: &dyn Fn(&str) -> Option<String>,
    read_old: &dyn Fn(&str) -> Option<String>,
) -> Quieted {
    let changes = blank_runs_dropped(changes, read, read_old);
    let changed = changed_lines(&changes);
    // Each file's runs, with what each deleted run deleted whole (names,
    // and how the map keys its functions): found first, so that the
    // workspace is searched for all their names at once.
    // `None`: the file is kept as it is.
    let mut files: Vec<(&hourglass_model::FileChange, Option<Vec<Option<Deleted>>>)> = Vec::new();
    for change in &changes.files {
        let counted = !change.whole_file
            && change.line_counts.len() == change.new_lines.len()
            && change.line_counts.len() == change.old_lines.len();
        let old = counted
            .then(|| {
                let text = read_old(change.old_path.as_deref()?)?;
                let lines: Vec<String> = text.lines().map(str::to_owned).collect();
                Some((Quiet::of(&text)?, deletable_items(&text)?, lines))
            })
            .flatten();
        let (Some((quiet, items, old_lines)), Some(_)) = (old, change.new_path.as_deref()) else {
            files.push((change, None));
            continue;
        };
        let runs = change
            .old_lines
            .iter()
            .zip(&change.line_counts)
            .map(|(old_range, count)| {
                let deleted = (count.1 == 0 && count.0 > 0).then(|| {
                    slid(*old_range, &old_lines)
                        .into_iter()
                        .find_map(|range| deleted_items(range, &quiet, &items))
                })??;
                Some(
                    deleted
                        .into_iter()
                        .filter_map(|item| Some((item.name.clone()?, item.function.clone())))
                        .collect(),
                )
            })
            .collect();
        files.push((change, Some(runs)));
    }
    let names: BTreeSet<&str> = files
        .iter()
        .flat_map(|(_, runs)| runs.iter().flatten().flatten().flatten())
        .map(|(name, _)| name.as_str())
        .collect();
    let found = if names.is_empty() {
        None
    } else {
        mentions(graph, &names, &changed, read)
    };
    let mut out = Quieted::default();
    for (change, deleted_runs) in files {
        let Some(deleted_runs) = deleted_runs else {
            out.changes.files.push(change.clone());
            continue;
        };
        let path = change.new_path.as_deref().unwrap_or_default();
        let callers: BTreeSet<_> = graph
            .package_of_path(path)
            .map(|package| graph.linked_by(package).into_iter().collect())
            .unwrap_or_default();
        let covered = graph
            .items_in_file(path)
            .first()
            .is_some_and(|id| instrumented(graph, graph.item(*id)));
        let mut runs = Vec::new();
        for (((new_range, old_range), count), deleted) in change
            .new_lines
            .iter()
            .zip(&change.old_lines)
            .zip(&change.line_counts)
            .zip(deleted_runs)
        {
            let Some(deleted) = deleted else {
                runs.push((*new_range, *old_range, *count));
                continue;
            };
            // Named nowhere a package that can link it can write it.
            let silent = !callers.is_empty()
                && found.as_ref().is_some_and(|found| {
                    deleted
                        .iter()
                        .filter_map(|(name, _)| found.get(name))
                        .flatten()
                        .all(|(file, _)| {
                            graph
                                .package_of_path(file)
                                .is_some_and(|package| !callers.contains(&package))
                        })
                });
            if silent {
                continue;
            }
            let functions: Option<Vec<&DeletedFn>> = deleted
                .iter()
                .map(|(_, function)| function.as_ref())
                .collect();
            match functions {
                Some(functions) if covered => {
                    out.deleted_functions += functions.len();
                    for function in functions {
                        out.deleted.extend(function.keys(map));
                    }
                }
                _ => runs.push((*new_range, *old_range, *count)),
            }
        }
        out.changes.files.extend(with_runs(change, &runs));
    }
    out
}

/// What a deleted run deleted whole: each item's name, and how the map
/// keys it when it is a function.
type Deleted = Vec<(String, Option<DeletedFn>)>;

/// Every placement of a run of deleted old lines that deletes the same
/// text: a diff puts a run whose first line equals the line after it (a
/// blank line, an `#[inline]`) at one of several places, and only one may
/// hold whole items. The run as the diff gives it comes first.
fn slid(range: hourglass_model::LineRange, lines: &[String]) -> Vec<hourglass_model::LineRange> {
    let line = |number: u32| lines.get(number as usize - 1);
    let mut out = vec![range];
    let mut up = range;
    while up.start > 1 && line(up.start - 1).is_some_and(|text| Some(text) == line(up.end)) {
        up = hourglass_model::LineRange::new(up.start - 1, up.end - 1);
        out.push(up);
    }
    let mut down = range;
    while line(down.end + 1).is_some_and(|text| Some(text) == line(down.start)) {
        down = hourglass_model::LineRange::new(down.start + 1, down.end + 1);
        out.push(down);
    }
    out
}

/// Whether the map can speak for `item`: it is compiled with coverage
/// instrumentation, which `hourglass coverage` leaves off for build
/// scripts and proc macros (they run while building, not in tests).
fn instrumented(graph: &Graph, item: &hourglass_graph::Item) -> bool {
    let package = graph.package(item.package);
    let proc_macro = item.krate == package.name
        && package
            .lib()
            .is_some_and(|lib| lib.kind == hourglass_graph::TargetKind::ProcMacro);
    !proc_macro && !item.krate.ends_with("::build-script")
}

/// `change` with only `runs` (new lines, old lines, counts); `None` when
/// none is left.
fn with_runs(
    change: &hourglass_model::FileChange,
    runs: &[(
        hourglass_model::LineRange,
        hourglass_model::LineRange,
        (u32, u32),
    )],
) -> Option<hourglass_model::FileChange> {
    if runs.is_empty() {
        return None;
    }
    let mut kept = change.clone();
    kept.new_lines = runs.iter().map(|run| run.0).collect();
    kept.old_lines = runs.iter().map(|run| run.1).collect();
    kept.line_counts = runs.iter().map(|run| run.2).collect();
    Some(kept)
}

/// The named items a deleted run of old lines held, when every line of it
/// is quiet or inside an item it deleted whole that may go
/// ([`deletable_items`]).
fn deleted_items<'a>(
    range: hourglass_model::LineRange,
    quiet: &Quiet,
    items: &'a [Deletable],
) -> Option<Vec<&'a Deletable>> {
    let whole = |item: &&Deletable| item.start >= range.start && item.end <= range.end;
    let inside: Vec<&Deletable> = items.iter().filter(whole).collect();
    for line in range.start..=range.end {
        if quiet.all_quiet(hourglass_model::LineRange::new(line, line)) {
            continue;
        }
        // The line must belong to an item deleted whole, and to no item
        // that stays (an inherent impl or a module around it may stay).
        let holds = |item: &&Deletable| line >= item.start && line <= item.end;
        let covered = inside.iter().any(|item| item.name.is_some() && holds(item));
        let in_kept = items
            .iter()
            .any(|item| holds(&item) && !whole(&item) && !item.container);
        if !covered || in_kept {
            return None;
        }
    }
    if inside
        .iter()
        .any(|item| item.name.is_none() && !item.container)
    {
        return None;
    }
    Some(
        inside
            .into_iter()
            .filter(|item| item.name.is_some())
            .collect(),
    )
}

/// An item of an old file, for [`deleted_items`].
struct Deletable {
    start: u32,
    end: u32,
    /// Its name, when it may be deleted without a trace but its name.
    name: Option<String>,
    /// For a function that may be deleted so (not a `const fn`): how the
    /// map keys it.
    function: Option<DeletedFn>,
    /// An inherent impl or an inline module: it holds items, and deleting
    /// it whole deletes just them.
    container: bool,
}

/// How a deleted function is looked up in a coverage map.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DeletedFn {
    /// A free function: every key of its name, in any module (the old
    /// file's module path is not at hand; more keys only add tests).
    Free(String),
    /// An inherent method: `Type::method`.
    Method(String),
}

impl DeletedFn {
    /// The map's keys for it; empty when no profiled binary held one.
    fn keys(&self, map: &CoverageMap) -> Vec<String> {
        match self {
            Self::Method(key) => map.has_key(key).then(|| key.clone()).into_iter().collect(),
            Self::Free(name) => map
                .keys()
                .filter(|key| {
                    key.strip_suffix(name.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.ends_with("::"))
                })
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Every item of a file as (first line, last line, name): the name only
/// for an item that may be deleted without a trace but its name (a free
/// function, an inherent method, a constant, a static, a type, a
/// `macro_rules!`, with no attribute but plain ones, `test` and `derive`);
/// `None` for the others (impl blocks, trait items, modules, uses).
fn deletable_items(text: &str) -> Option<Vec<Deletable>> {
    use syn::spanned::Spanned as _;
    fn plain(attributes: &[syn::Attribute]) -> bool {
        attributes.iter().all(|attribute| {
            attribute.path().segments.first().is_some_and(|segment| {
                let name = segment.ident.to_string();
                PLAIN_ATTRIBUTES.contains(&name.as_str()) || name == "test" || name == "derive"
            })
        })
    }
    fn lines(span: proc_macro2::Span) -> (u32, u32) {
        (
            u32::try_from(span.start().line).unwrap_or(u32::MAX),
            u32::try_from(span.end().line).unwrap_or(u32::MAX),
        )
    }
    fn walk(items: &[syn::Item], out: &mut Vec<Deletable>) {
        for item in items {
            let (start, end) = lines(item.span());
            let named =
                |attributes: &[syn::Attribute], name: String| plain(attributes).then_some(name);
            let mut deleted_fn = None;
            let name = match item {
                syn::Item::Fn(function) => {
                    let name = named(&function.attrs, function.sig.ident.to_string());
                    if function.sig.constness.is_none() {
                        deleted_fn = name.clone().map(DeletedFn::Free);
                    }
                    name
                }
                syn::Item::Const(constant) => named(&constant.attrs, constant.ident.to_string()),
                syn::Item::Static(value) => named(&value.attrs, value.ident.to_string()),
                syn::Item::Struct(value) => named(&value.attrs, value.ident.to_string()),
                syn::Item::Enum(value) => named(&value.attrs, value.ident.to_string()),
                syn::Item::Union(value) => named(&value.attrs, value.ident.to_string()),
                syn::Item::Type(value) => named(&value.attrs, value.ident.to_string()),
                syn::Item::Macro(value) => value
                    .ident
                    .as_ref()
                    .and_then(|ident| named(&value.attrs, ident.to_string())),
                syn::Item::Impl(block) if block.trait_.is_none() && plain(&block.attrs) => {
                    let self_type = match &*block.self_ty {
                        syn::Type::Path(path) => path
                            .path
                            .segments
                            .last()
                            .map(|segment| segment.ident.to_string()),
                        _ => None,
                    };
                    for inner in &block.items {
                        let (start, end) = lines(inner.span());
                        let (name, function) = match inner {
                            syn::ImplItem::Fn(function) => {
                                let name = named(&function.attrs, function.sig.ident.to_string());
                                let key = name
                                    .as_ref()
                                    .zip(self_type.as_ref())
                                    .filter(|_| function.sig.constness.is_none())
                                    .map(|(name, ty)| DeletedFn::Method(format!("{ty}::{name}")));
                                (name, key)
                            }
                            _ => (None, None),
                        };
                        out.push(Deletable {
                            start,
                            end,
                            name,
                            function,
                            container: false,
                        });
                    }
                    out.push(Deletable {
                        start,
                        end,
                        name: None,
                        function: None,
                        container: true,
                    });
                    continue;
                }
                syn::Item::Mod(module) => {
                    if let Some((_, inner)) = &module.content {
                        walk(inner, out);
                    }
                    out.push(Deletable {
                        start,
                        end,
                        name: None,
                        function: None,
                        container: module.content.is_some(),
                    });
                    continue;
                }
                _ => None,
            };
            out.push(Deletable {
                start,
                end,
                name,
                function: deleted_fn,
                container: false,
            });
        }
    }
    let file = syn::parse_file(text).ok()?;
    let mut out = Vec::new();
    walk(&file.items, &mut out);
    Some(out)
}

/// The change without its runs of blank lines and `//` comments (outside
/// string literals; doc comments count as code): they change nothing a test
/// can see, but a blank line between two methods belongs to their `impl`,
/// and would make it look changed. Needs the runs' line counts
/// (`FileChange::line_counts`); a file without them is kept whole.
fn blank_runs_dropped(
    changes: &ChangeSet,
    read: &dyn Fn(&str) -> Option<String>,
    read_old: &dyn Fn(&str) -> Option<String>,
) -> ChangeSet {
    let mut out = ChangeSet::default();
    for change in &changes.files {
        let counts = &change.line_counts;
        let known = !change.whole_file
            && counts.len() == change.new_lines.len()
            && counts.len() == change.old_lines.len();
        let texts = known
            .then(|| {
                let new = read(change.new_path.as_deref()?)?;
                let old = read_old(change.old_path.as_deref()?)?;
                Some((Quiet::of(&new)?, Quiet::of(&old)?))
            })
            .flatten();
        let Some((new, old)) = texts else {
            out.files.push(change.clone());
            continue;
        };
        let mut runs = Vec::new();
        for ((new_range, old_range), count) in
            change.new_lines.iter().zip(&change.old_lines).zip(counts)
        {
            let quiet = (count.1 == 0 || new.all_quiet(*new_range))
                && (count.0 == 0 || old.all_quiet(*old_range));
            if quiet {
                continue;
            }
            if count.0 == 0 {
                // Inserted lines only: the blank ones and comments among
                // them insert nothing.
                for range in new.loud_runs(*new_range) {
                    runs.push((range, *old_range, (0, range.end - range.start + 1)));
                }
            } else {
                runs.push((*new_range, *old_range, *count));
            }
        }
        out.files.extend(with_runs(change, &runs));
    }
    out
}

/// Which lines of a file are blank or a `//` comment, outside literals.
struct Quiet {
    quiet: Vec<bool>,
}

impl Quiet {
    fn of(text: &str) -> Option<Self> {
        let tokens: proc_macro2::TokenStream = text.parse().ok()?;
        let mut quiet: Vec<bool> = text
            .lines()
            .map(|line| {
                let trimmed = line.trim();
                trimmed.is_empty()
                    || (trimmed.starts_with("//")
                        && !trimmed.starts_with("///")
                        && !trimmed.starts_with("//!"))
            })
            .collect();
        // A line inside a (multi-line) literal is part of the literal.
        mark_literals(tokens, &mut quiet);
        Some(Self { quiet })
    }

    /// The runs of lines of `range` that are not quiet.
    fn loud_runs(&self, range: hourglass_model::LineRange) -> Vec<hourglass_model::LineRange> {
        let mut runs = Vec::new();
        let mut start = None;
        for line in range.start..=range.end + 1 {
            let loud =
                line <= range.end && !self.all_quiet(hourglass_model::LineRange::new(line, line));
            match (loud, start) {
                (true, None) => start = Some(line),
                (false, Some(first)) => {
                    runs.push(hourglass_model::LineRange::new(first, line - 1));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    fn all_quiet(&self, range: hourglass_model::LineRange) -> bool {
        (range.start..=range.end).all(|line| {
            line.checked_sub(1)
                .and_then(|at| self.quiet.get(at as usize))
                .copied()
                .unwrap_or(false)
        })
    }
}

/// Marks the lines of every literal in `stream` as not quiet.
fn mark_literals(stream: proc_macro2::TokenStream, quiet: &mut [bool]) {
    for token in stream {
        match token {
            proc_macro2::TokenTree::Group(group) => mark_literals(group.stream(), quiet),
            proc_macro2::TokenTree::Literal(literal) => {
                let span = literal.span();
                for line in span.start().line..=span.end().line {
                    if let Some(slot) = line.checked_sub(1).and_then(|at| quiet.get_mut(at)) {
                        *slot = false;
                    }
                }
            }
            _ => {}
        }
    }
}

/// Which changed items coverage can speak for. `read` gives a file of the
/// head side by its workspace path, `read_old` one of the map's commit.
pub fn changes(
    graph: &Graph,
    quieted: &Quieted,
    map: &CoverageMap,
    read: &dyn Fn(&str) -> Option<String>,
    read_old: &dyn Fn(&str) -> Option<String>,
) -> CoverageChanges {
    let changes = &quieted.changes;
    let bodies = body_changes(graph, changes, map, read, read_old);
    let imports = import_changes(graph, changes, map, read, read_old);
    let (silent, callers) = function_changes(graph, changes, map, &bodies, read);
    CoverageChanges {
        bodies,
        imports,
        silent,
        callers,
        deleted: quieted.deleted.clone(),
        deleted_functions: quieted.deleted_functions,
    }
}

/// Which changed items are function bodies the map can speak for: item →
/// its key. A change to the lines of the signature counts as one to the
/// body when the old file has the same function (same name, same impl or
/// module) with the same attributes and signature but for the names of its
/// parameters.
fn body_changes(
    graph: &Graph,
    changes: &ChangeSet,
    map: &CoverageMap,
    read: &dyn Fn(&str) -> Option<String>,
    read_old: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<ItemId, String> {
    // Item → the changed lines in it; `None` once one change is not inside its body.
    let mut lines: BTreeMap<ItemId, Option<Vec<u32>>> = BTreeMap::new();
    let mut old_paths: BTreeMap<&str, &str> = BTreeMap::new();
    for change in &changes.files {
        let Some(path) = change.new_path.as_deref() else {
            continue;
        };
        if let Some(old) = change.old_path.as_deref() {
            old_paths.insert(path, old);
        }
        let whole =
            change.whole_file || change.kind == ChangeKind::Renamed || change.new_lines.is_empty();
        if whole {
            for id in graph.items_in_file(path) {
                lines.insert(id, None);
            }
            continue;
        }
        for range in &change.new_lines {
            for id in graph.items_at(path, *range) {
                if let Some(changed) = lines.entry(id).or_insert_with(|| Some(Vec::new())) {
                    changed.extend(range.start..=range.end);
                }
            }
        }
    }
    let mut texts: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    let mut old_signatures: BTreeMap<String, Option<Vec<Signature>>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (id, changed) in lines {
        let Some(changed) = changed else { continue };
        let item = graph.item(id);
        let method = match item.kind {
            ItemKind::Fn => false,
            ItemKind::Method => true,
            _ => continue,
        };
        let key = symbol::item_key(&item.name, method);
        if !map.has_key(&key) || !instrumented(graph, item) {
            continue;
        }
        let file = texts.entry(item.file.clone()).or_insert_with(|| {
            read(&item.file).map(|text| text.lines().map(str::to_owned).collect())
        });
        let Some(file) = file else { continue };
        let Some((open, close)) = body_lines(file, item.lines.start, item.lines.end) else {
            continue;
        };
        if changed.iter().all(|line| *line > open && *line < close) {
            out.insert(id, key);
            continue;
        }
        // Lines of the signature changed too: the same function in the old
        // file, but for its parameters' names?
        if close > open
            && changed.iter().all(|line| *line <= close)
            && let Some(old_path) = old_paths.get(item.file.as_str())
            && same_signature(
                file,
                item.lines.start,
                old_path,
                read_old,
                &mut old_signatures,
            )
        {
            out.insert(id, key);
        }
    }
    out
}

/// Whether the function starting at `start` (1-based) of `file` has, in the
/// old file, a function of the same name in the same impl, trait or module
/// with the same attributes and signature but for its parameters' names.
fn same_signature(
    file: &[String],
    start: u32,
    old_path: &str,
    read_old: &dyn Fn(&str) -> Option<String>,
    cache: &mut BTreeMap<String, Option<Vec<Signature>>>,
) -> bool {
    let Some(new) = signatures(&file.join("\n")) else {
        return false;
    };
    let Some(function) = new.iter().find(|signature| signature.start == start) else {
        return false;
    };
    let old = cache
        .entry(old_path.to_owned())
        .or_insert_with(|| read_old(old_path).and_then(|text| signatures(&text)));
    old.as_ref().is_some_and(|old| {
        old.iter().any(|signature| {
            signature.container == function.container && signature.normalized == function.normalized
        })
    })
}

/// One function of a file: where it starts, what holds it, and its
/// attributes and signature with every parameter pattern as `_`.
struct Signature {
    start: u32,
    container: String,
    normalized: String,
}

fn signatures(text: &str) -> Option<Vec<Signature>> {
    fn normalized(attrs: &[syn::Attribute], signature: &syn::Signature) -> String {
        let mut signature = signature.clone();
        for input in &mut signature.inputs {
            if let syn::FnArg::Typed(typed) = input {
                *typed.pat = syn::parse_quote!(_);
            }
        }
        let attributes: Vec<String> = attrs.iter().map(tokens).collect();
        format!("{} {}", attributes.join(" "), tokens(&signature))
    }
    fn line(span: proc_macro2::Span) -> u32 {
        u32::try_from(span.start().line).unwrap_or(u32::MAX)
    }
    fn walk(items: &[syn::Item], container: &str, out: &mut Vec<Signature>) {
        use syn::spanned::Spanned as _;
        for item in items {
            match item {
                syn::Item::Fn(function) => out.push(Signature {
                    start: line(item.span()),
                    container: container.to_owned(),
                    normalized: normalized(&function.attrs, &function.sig),
                }),
                syn::Item::Mod(module) => {
                    if let Some((_, inner)) = &module.content {
                        walk(inner, &format!("{container}::{}", module.ident), out);
                    }
                }
                syn::Item::Impl(block) => {
                    let holder = format!(
                        "{container} impl {} {} for {}",
                        tokens(&block.generics),
                        block
                            .trait_
                            .as_ref()
                            .map(|(_, path, _)| tokens(path))
                            .unwrap_or_default(),
                        tokens(&block.self_ty)
                    );
                    for inner in &block.items {
                        if let syn::ImplItem::Fn(function) = inner {
                            out.push(Signature {
                                start: line(inner.span()),
                                container: holder.clone(),
                                normalized: normalized(&function.attrs, &function.sig),
                            });
                        }
                    }
                }
                syn::Item::Trait(declaration) => {
                    let holder = format!("{container} trait {}", declaration.ident);
                    for inner in &declaration.items {
                        if let syn::TraitItem::Fn(function) = inner {
                            out.push(Signature {
                                start: line(inner.span()),
                                container: holder.clone(),
                                normalized: normalized(&function.attrs, &function.sig),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let file = syn::parse_file(text).ok()?;
    let mut out = Vec::new();
    walk(&file.items, "", &mut out);
    Some(out)
}

/// Changed lines of the head side per file (`None`: changed whole), without
/// the anchors of runs that only deleted lines (those lines did not change).
fn changed_lines(changes: &ChangeSet) -> BTreeMap<&str, Option<Vec<hourglass_model::LineRange>>> {
    let mut changed = BTreeMap::new();
    for change in &changes.files {
        let Some(path) = change.new_path.as_deref() else {
            continue;
        };
        let whole =
            change.whole_file || change.kind == ChangeKind::Renamed || change.new_lines.is_empty();
        let ranges = (!whole).then(|| {
            let counted = change.line_counts.len() == change.new_lines.len();
            change
                .new_lines
                .iter()
                .enumerate()
                .filter(|(at, _)| !counted || change.line_counts[*at].1 > 0)
                .map(|(_, range)| *range)
                .collect()
        });
        changed.insert(path, ranges);
    }
    changed
}

/// Every line of the workspace's files (module trees and included files)
/// that names one of `names` (whole identifiers, in any text), outside the
/// changed lines: name → (file, line). A definition `fn name` is not a
/// mention. `None` when a file cannot be read.
fn mentions(
    graph: &Graph,
    names: &BTreeSet<&str>,
    changed: &BTreeMap<&str, Option<Vec<hourglass_model::LineRange>>>,
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<BTreeMap<String, Vec<(String, u32)>>> {
    let mut mentioned: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    let files: BTreeSet<&str> = graph
        .source_files()
        .chain(graph.included_files().map(|(path, _)| path))
        .collect();
    for file in files {
        let text = read(file)?;
        if !names.iter().any(|name| text.contains(name)) {
            continue;
        }
        let ranges = changed.get(file);
        for (index, line) in text.lines().enumerate() {
            let number = index as u32 + 1;
            let on_changed = match ranges {
                Some(None) => true,
                Some(Some(ranges)) => ranges.iter().any(|range| range.contains(number)),
                None => false,
            };
            if on_changed {
                continue;
            }
            let mut words: Vec<&str> = identifiers(line).collect();
            if let Some(at) = words.windows(2).position(|pair| pair[0] == "fn") {
                words.remove(at + 1);
            }
            for word in words {
                if names.contains(word) {
                    mentioned
                        .entry(word.to_owned())
                        .or_default()
                        .push((file.to_owned(), number));
                }
            }
        }
    }
    Some(mentioned)
}

/// Attributes that do not make a function callable without its name.
const PLAIN_ATTRIBUTES: &[&str] = &[
    "allow",
    "cfg",
    "cfg_attr",
    "clippy",
    "cold",
    "deny",
    "deprecated",
    "doc",
    "expect",
    "inline",
    "instrument",
    "must_use",
    "rustfmt",
    "track_caller",
    "tracing",
    "warn",
];

/// Changed free functions and inherent methods (no attribute that exports
/// them or makes them a test or an entry point) as their callers see them:
/// - silent: their name on no line of the files of the packages that can
///   link them (any text, strings included) but changed lines and their own;
/// - otherwise, when every such line is a `use` that does not rename them,
///   a `//` comment, or inside the body of a function the map holds: the
///   tests that ran the function or one of those ([`Named::bodies`]; no
///   [`Named::others`]). Whatever the change to
///   the function (its signature, its generics, a new function), only code
///   that names it can call it, and only a test that runs that code (or the
///   function) can see it. Not for a body change already held, a `const fn`
///   or a function of code the map cannot speak for.
fn function_changes(
    graph: &Graph,
    changes: &ChangeSet,
    map: &CoverageMap,
    bodies: &BTreeMap<ItemId, String>,
    read: &dyn Fn(&str) -> Option<String>,
) -> (BTreeSet<ItemId>, BTreeMap<ItemId, Named>) {
    let changed = changed_lines(changes);
    let mut candidates: BTreeMap<ItemId, String> = BTreeMap::new();
    let mut texts: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for change in &changes.files {
        let Some(path) = change.new_path.as_deref() else {
            continue;
        };
        let whole =
            change.whole_file || change.kind == ChangeKind::Renamed || change.new_lines.is_empty();
        let items = if whole {
            graph.items_in_file(path)
        } else {
            change
                .new_lines
                .iter()
                .flat_map(|range| graph.items_at(path, *range))
                .collect()
        };
        for id in items {
            let item = graph.item(id);
            if !matches!(item.kind, ItemKind::Fn | ItemKind::Method) {
                continue;
            }
            let name = item
                .name
                .rsplit("::")
                .next()
                .unwrap_or(&item.name)
                .to_owned();
            if name == "main" || candidates.contains_key(&id) {
                continue;
            }
            let lines = texts.entry(item.file.clone()).or_insert_with(|| {
                read(&item.file).map(|text| text.lines().map(str::to_owned).collect())
            });
            let Some(lines) = lines else { continue };
            if plain_function(graph, id, lines) {
                candidates.insert(id, name);
            }
        }
    }
    if candidates.is_empty() {
        return Default::default();
    }
    let names: BTreeSet<&str> = candidates.values().map(String::as_str).collect();
    let Some(mentioned) = mentions(graph, &names, &changed, read) else {
        return Default::default();
    };
    let mut shapes: BTreeMap<String, Option<(FileShape, Vec<String>)>> = BTreeMap::new();
    let mut braces: BTreeMap<ItemId, Option<(u32, u32)>> = BTreeMap::new();
    let mut silent = BTreeSet::new();
    let mut callers = BTreeMap::new();
    for (id, name) in &candidates {
        let item = graph.item(*id);
        // Only a package whose binaries can link the function can call it.
        let linking: BTreeSet<_> = graph.linked_by(item.package).into_iter().collect();
        let places: Vec<&(String, u32)> = mentioned
            .get(name.as_str())
            .into_iter()
            .flatten()
            .filter(|(file, line)| {
                !(*file == item.file && item.lines.contains(*line))
                    && graph
                        .package_of_path(file)
                        .is_some_and(|package| linking.contains(&package))
            })
            .collect();
        if places.is_empty() {
            silent.insert(*id);
            continue;
        }
        if bodies.contains_key(id) || !instrumented(graph, item) {
            continue;
        }
        let own = texts
            .get(&item.file)
            .and_then(Option::as_ref)
            .and_then(|lines| body_lines(lines, item.lines.start, item.lines.end));
        if own.is_none() {
            continue;
        }
        let mut named = Named::default();
        let key = symbol::item_key(&item.name, item.kind == ItemKind::Method);
        if map.has_key(&key) {
            named.bodies.insert(*id, key);
        }
        let all_seen = places.iter().all(|(file, line)| {
            let Some((shape, lines)) = shapes
                .entry(file.clone())
                .or_insert_with(|| {
                    let text = read(file)?;
                    Some((
                        FileShape::of(&text)?,
                        text.lines().map(str::to_owned).collect(),
                    ))
                })
                .as_ref()
            else {
                return false;
            };
            let text = lines.get(*line as usize - 1).map_or("", String::as_str);
            match shape.kind(*line) {
                LineKind::Free => return true,
                // An import names it where it is; a rename would make its
                // callers name it otherwise.
                LineKind::PrivateUse | LineKind::Other => return !renames(text, name),
                LineKind::InItem => {}
            }
            let at = hourglass_model::LineRange::new(*line, *line);
            let Some(&holder) = graph.items_at(file, at).iter().min_by_key(|other| {
                let other = graph.item(**other);
                other.lines.end - other.lines.start
            }) else {
                return false;
            };
            let outer = graph.item(holder);
            if !matches!(outer.kind, ItemKind::Fn | ItemKind::Method) || !instrumented(graph, outer)
            {
                return false;
            }
            let key = symbol::item_key(&outer.name, outer.kind == ItemKind::Method);
            let inside = map.has_key(&key)
                && braces
                    .entry(holder)
                    .or_insert_with(|| body_lines(lines, outer.lines.start, outer.lines.end))
                    .is_some_and(|(open, close)| *line > open && *line < close);
            if inside {
                named.bodies.insert(holder, key);
            }
            inside
        });
        if all_seen {
            callers.insert(*id, named);
        }
    }
    (silent, callers)
}

/// Whether `line` imports `name` under another name (`name as other`).
fn renames(line: &str, name: &str) -> bool {
    let words: Vec<&str> = identifiers(line).collect();
    words
        .windows(2)
        .any(|pair| pair[0] == name && pair[1] == "as")
}

/// A free function or inherent method (not in a trait impl) whose
/// attributes are all [`PLAIN_ATTRIBUTES`].
fn plain_function(graph: &Graph, id: ItemId, lines: &[String]) -> bool {
    let item = graph.item(id);
    let Some(text) = lines
        .get(item.lines.start as usize - 1..item.lines.end as usize)
        .map(|lines| lines.join("\n"))
    else {
        return false;
    };
    let attributes = if let Ok(function) = syn::parse_str::<syn::ItemFn>(&text) {
        function.attrs
    } else if let Ok(function) = syn::parse_str::<syn::ImplItemFn>(&text) {
        function.attrs
    } else {
        return false;
    };
    let plain =
        attributes.iter().all(|attribute| {
            attribute.path().segments.first().is_some_and(|segment| {
                PLAIN_ATTRIBUTES.contains(&segment.ident.to_string().as_str())
            })
        });
    if !plain {
        return false;
    }
    if item.kind == ItemKind::Fn {
        return true;
    }
    // A method: the impl around it must be inherent (`impl X`, not
    // `impl Trait for X`), and not a trait's default body.
    graph.items_in_file(&item.file).into_iter().any(|other| {
        let outer = graph.item(other);
        outer.kind == ItemKind::Impl
            && outer.lines.start <= item.lines.start
            && outer.lines.end >= item.lines.end
            && !outer.name.contains(" for ")
    })
}

/// Modules whose own changed lines (both sides) are private `use`
/// declarations, blank lines and comments, in files where no item was
/// removed: each module → the items of its subtree whose own text names an
/// identifier of those lines (every item, for a glob import).
fn import_changes(
    graph: &Graph,
    changes: &ChangeSet,
    map: &CoverageMap,
    read: &dyn Fn(&str) -> Option<String>,
    read_old: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<ItemId, Named> {
    let mut out = BTreeMap::new();
    let mut texts: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for change in &changes.files {
        let (Some(path), Some(old_path)) = (change.new_path.as_deref(), change.old_path.as_deref())
        else {
            continue;
        };
        if change.whole_file || change.kind == ChangeKind::Renamed || change.new_lines.is_empty() {
            continue;
        }
        let modules: BTreeSet<ItemId> = change
            .new_lines
            .iter()
            .flat_map(|range| graph.items_at(path, *range))
            .filter(|id| graph.item(*id).kind == ItemKind::Mod)
            .collect();
        if modules.is_empty() {
            continue;
        }
        let (Some(new_text), Some(old_text)) = (read(path), read_old(old_path)) else {
            continue;
        };
        let (Some(new_file), Some(old_file)) = (FileShape::of(&new_text), FileShape::of(&old_text))
        else {
            continue;
        };
        if !old_file.items.is_subset(&new_file.items) {
            continue;
        }
        let sides = [
            (&change.new_lines, &new_file, &new_text),
            (&change.old_lines, &old_file, &old_text),
        ];
        let eligible = sides.iter().all(|(ranges, shape, text)| {
            let lines: Vec<&str> = text.lines().collect();
            ranges.iter().all(|range| {
                (range.start..=range.end).all(|line| match shape.kind(line) {
                    LineKind::InItem | LineKind::PrivateUse => true,
                    LineKind::Free => {
                        let content = lines.get(line as usize - 1).copied().unwrap_or("");
                        let trimmed = content.trim();
                        trimmed.is_empty() || trimmed.starts_with("//")
                    }
                    LineKind::Other => false,
                })
            })
        });
        if !eligible {
            continue;
        }
        // The imports of each side; those on one side only are what
        // changed (lines moved or rewrapped change nothing).
        let imports = |shape: &FileShape| {
            shape
                .imports
                .iter()
                .map(|(_, path, leaf)| (path.clone(), leaf.clone()))
                .collect::<BTreeSet<_>>()
        };
        let added = imports(&new_file);
        let removed = imports(&old_file);
        let mut names = Names::default();
        for (_, leaf) in added.symmetric_difference(&removed) {
            if leaf == "*" {
                names.glob = true;
            } else {
                names.names.insert(leaf.clone());
            }
        }
        for module in modules {
            let named = named_items(graph, module, &names, read, &mut texts, map);
            out.insert(module, named);
        }
    }
    out
}

/// The items of `module`'s subtree (its crate's items under its path) whose
/// own lines name one of `names`.
fn named_items(
    graph: &Graph,
    module: ItemId,
    names: &Names,
    read: &dyn Fn(&str) -> Option<String>,
    texts: &mut BTreeMap<String, Option<Vec<String>>>,
    map: &CoverageMap,
) -> Named {
    let root = graph.item(module);
    let prefix = if root.name == "crate" || root.name.is_empty() {
        String::new()
    } else {
        format!("{}::", root.name)
    };
    let mut named = Named::default();
    let mut files: BTreeSet<&str> = BTreeSet::new();
    let subtree: Vec<ItemId> = graph
        .items()
        .filter(|(id, item)| {
            *id != module
                && item.krate == root.krate
                && item.kind != ItemKind::Mod
                && (prefix.is_empty() || item.name.starts_with(&prefix))
        })
        .map(|(id, _)| id)
        .collect();
    for id in &subtree {
        files.insert(graph.item(*id).file.as_str());
    }
    for file in files {
        let Some(Some(lines)) =
            Some(texts.entry(file.to_owned()).or_insert_with(|| {
                read(file).map(|text| text.lines().map(str::to_owned).collect())
            }))
        else {
            // A file of the subtree that cannot be read: every item in it counts.
            for id in subtree.iter().filter(|id| graph.item(**id).file == file) {
                named.others.insert(*id);
            }
            continue;
        };
        // A module in a file of its own sees the changed imports only
        // through a glob import or an import naming them (`use super::X`).
        if file != root.file && !names.glob {
            let sees = FileShape::of(&lines.join("\n")).is_none_or(|shape| {
                shape.imports.iter().any(|(_, path, leaf)| {
                    // `use super::*`, `use crate::a::*`: globs of modules of
                    // the crate bring their imports in; a glob of an enum
                    // (`use self::Kind::*`) or of another crate does not.
                    let relative = path.starts_with("::super") || path.starts_with("::crate");
                    relative
                        && (leaf == "*"
                            || path
                                .split("::")
                                .any(|segment| names.names.contains(segment)))
                })
            });
            if !sees {
                continue;
            }
        }
        let in_file: Vec<ItemId> = subtree
            .iter()
            .copied()
            .filter(|id| graph.item(*id).file == file)
            .collect();
        for id in &in_file {
            let item = graph.item(*id);
            // Its own lines: not those of the items nested in it.
            let nested: Vec<(u32, u32)> = graph
                .items_in_file(file)
                .into_iter()
                .filter(|other| other != id)
                .map(|other| graph.item(other).lines)
                .filter(|lines| {
                    lines.start >= item.lines.start
                        && lines.end <= item.lines.end
                        && (lines.start, lines.end) != (item.lines.start, item.lines.end)
                })
                .map(|lines| (lines.start, lines.end))
                .collect();
            let own = |line: u32| {
                !nested
                    .iter()
                    .any(|(start, end)| line >= *start && line <= *end)
            };
            let mentioned: Vec<u32> = (item.lines.start..=item.lines.end)
                .filter(|line| own(*line))
                .filter(|line| {
                    lines
                        .get(*line as usize - 1)
                        .is_some_and(|text| names.mentioned_in(text))
                })
                .collect();
            if mentioned.is_empty() {
                continue;
            }
            let method = match item.kind {
                ItemKind::Fn => Some(false),
                ItemKind::Method => Some(true),
                _ => None,
            };
            let key = method
                .map(|method| symbol::item_key(&item.name, method))
                .filter(|key| map.has_key(key) && instrumented(graph, item));
            let in_body = key.is_some()
                && body_lines(lines, item.lines.start, item.lines.end).is_some_and(
                    |(open, close)| mentioned.iter().all(|line| *line > open && *line < close),
                );
            match key {
                Some(key) if in_body => {
                    named.bodies.insert(*id, key);
                }
                _ => {
                    named.others.insert(*id);
                }
            }
        }
    }
    named
}

/// Identifiers of changed import lines.
#[derive(Debug, Default)]
struct Names {
    names: BTreeSet<String>,
    /// A glob import changed: every identifier counts.
    glob: bool,
}

impl Names {
    fn mentioned_in(&self, line: &str) -> bool {
        self.glob || identifiers(line).any(|word| self.names.contains(word))
    }
}

fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c == '_' || c.is_alphanumeric()))
        .filter(|word| {
            word.chars()
                .next()
                .is_some_and(|c| c == '_' || c.is_alphabetic())
        })
}

/// What a line of a file is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// An item other than a `use` (its change is that item's).
    InItem,
    /// A `use` declaration without `pub`.
    PrivateUse,
    /// No item: blank, a comment, or the lines of a module's own braces.
    Free,
    /// A `pub use`, `mod x;`, `extern crate`, or an inner attribute.
    Other,
}

/// The items of a parsed file, for [`LineKind`]s and to see that none was
/// removed.
struct FileShape {
    /// (first line, last line, kind), innermost last.
    spans: Vec<(u32, u32, LineKind)>,
    /// Every item (any depth) as kind and name.
    items: BTreeSet<String>,
    /// Every name a private `use` brings in: (line of the name, full path,
    /// the name; `*` for a glob).
    imports: Vec<(u32, String, String)>,
}

impl FileShape {
    fn of(text: &str) -> Option<Self> {
        let file = syn::parse_file(text).ok()?;
        let mut shape = Self {
            spans: Vec::new(),
            items: BTreeSet::new(),
            imports: Vec::new(),
        };
        for attribute in &file.attrs {
            let span = syn::spanned::Spanned::span(attribute);
            shape.push(span, LineKind::Other);
        }
        shape.walk(&file.items, "");
        Some(shape)
    }

    fn push(&mut self, span: proc_macro2::Span, kind: LineKind) {
        let start = u32::try_from(span.start().line).unwrap_or(u32::MAX);
        let end = u32::try_from(span.end().line).unwrap_or(u32::MAX);
        self.spans.push((start, end, kind));
    }

    fn walk(&mut self, items: &[syn::Item], path: &str) {
        use syn::spanned::Spanned as _;
        for item in items {
            match item {
                syn::Item::Use(declaration) => {
                    let kind = if matches!(declaration.vis, syn::Visibility::Inherited) {
                        flatten_use(&declaration.tree, path, &mut self.imports);
                        LineKind::PrivateUse
                    } else {
                        LineKind::Other
                    };
                    self.push(item.span(), kind);
                }
                syn::Item::Mod(module) => {
                    let name = format!("{path}::{}", module.ident);
                    self.items.insert(format!("mod {name}"));
                    match &module.content {
                        Some((brace, inner)) => {
                            // The module's own lines up to its brace, and its closing line.
                            let open = brace.span.open();
                            self.push(item.span().join(open).unwrap_or(open), LineKind::Other);
                            self.push(brace.span.close(), LineKind::Free);
                            for attribute in &module.attrs {
                                if matches!(attribute.style, syn::AttrStyle::Inner(_)) {
                                    self.push(attribute.span(), LineKind::Other);
                                }
                            }
                            self.walk(inner, &name);
                        }
                        None => self.push(item.span(), LineKind::Other),
                    }
                }
                syn::Item::ExternCrate(_) => self.push(item.span(), LineKind::Other),
                other => {
                    self.items
                        .insert(format!("{path}::{}", item_signature(other)));
                    self.push(other.span(), LineKind::InItem);
                }
            }
        }
    }

    /// The innermost kind at `line`.
    fn kind(&self, line: u32) -> LineKind {
        let mut found = LineKind::Free;
        let mut width = u32::MAX;
        for (start, end, kind) in &self.spans {
            if line >= *start && line <= *end && end - start <= width {
                width = end - start;
                found = *kind;
            }
        }
        found
    }
}

/// The names a use tree brings in, each with its line and full path (the
/// module it is declared in first, so that equal imports of two modules
/// differ).
fn flatten_use(tree: &syn::UseTree, prefix: &str, out: &mut Vec<(u32, String, String)>) {
    let line = |span: proc_macro2::Span| u32::try_from(span.start().line).unwrap_or(u32::MAX);
    match tree {
        syn::UseTree::Path(path) => {
            flatten_use(&path.tree, &format!("{prefix}::{}", path.ident), out);
        }
        syn::UseTree::Group(group) => {
            for inner in &group.items {
                flatten_use(inner, prefix, out);
            }
        }
        syn::UseTree::Name(name) => {
            let leaf = if name.ident == "self" {
                prefix.rsplit("::").next().unwrap_or_default().to_owned()
            } else {
                name.ident.to_string()
            };
            out.push((
                line(name.ident.span()),
                format!("{prefix}::{}", name.ident),
                leaf,
            ));
        }
        syn::UseTree::Rename(rename) => out.push((
            line(rename.rename.span()),
            format!("{prefix}::{} as {}", rename.ident, rename.rename),
            rename.rename.to_string(),
        )),
        syn::UseTree::Glob(glob) => {
            out.push((
                line(glob.star_token.span),
                format!("{prefix}::*"),
                "*".to_owned(),
            ));
        }
    }
}

/// An item's kind and name (and, for impls, its tokens up to the body), to
/// tell whether an item of the old file is still in the new one.
fn item_signature(item: &syn::Item) -> String {
    match item {
        syn::Item::Fn(function) => format!("fn {}", function.sig.ident),
        syn::Item::Struct(item) => format!("struct {}", item.ident),
        syn::Item::Enum(item) => format!("enum {}", item.ident),
        syn::Item::Union(item) => format!("union {}", item.ident),
        syn::Item::Trait(item) => format!("trait {}", item.ident),
        syn::Item::TraitAlias(item) => format!("trait {}", item.ident),
        syn::Item::Type(item) => format!("type {}", item.ident),
        syn::Item::Const(item) => format!("const {}", item.ident),
        syn::Item::Static(item) => format!("static {}", item.ident),
        syn::Item::Macro(item) => format!(
            "macro {} {}",
            item.ident
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            tokens(&item.mac.path)
        ),
        syn::Item::Impl(item) => {
            let methods: Vec<String> = item
                .items
                .iter()
                .map(|inner| match inner {
                    syn::ImplItem::Fn(function) => format!("fn {}", function.sig.ident),
                    syn::ImplItem::Const(constant) => format!("const {}", constant.ident),
                    syn::ImplItem::Type(alias) => format!("type {}", alias.ident),
                    _ => "other".to_owned(),
                })
                .collect();
            format!(
                "impl {} for {} {{ {} }}",
                item.trait_
                    .as_ref()
                    .map(|(_, path, _)| tokens(path))
                    .unwrap_or_default(),
                tokens(&item.self_ty),
                methods.join(", ")
            )
        }
        syn::Item::ForeignMod(_) => "extern block".to_owned(),
        _ => "other".to_owned(),
    }
}

fn tokens(node: &impl quote::ToTokens) -> String {
    node.to_token_stream().to_string()
}

/// The lines of the opening and closing brace of the body of the function
/// at `start..=end` (1-based) of `file`; `None` when it is not a function
/// with a body, or a `const fn`.
fn body_lines(file: &[String], start: u32, end: u32) -> Option<(u32, u32)> {
    let first = start.checked_sub(1)? as usize;
    let text = file.get(first..end as usize)?.join("\n");
    let (constness, block) = if let Ok(function) = syn::parse_str::<syn::ItemFn>(&text) {
        (function.sig.constness.is_some(), function.block.brace_token)
    } else if let Ok(function) = syn::parse_str::<syn::ImplItemFn>(&text) {
        (function.sig.constness.is_some(), function.block.brace_token)
    } else if let Ok(syn::TraitItemFn {
        sig,
        default: Some(block),
        ..
    }) = syn::parse_str::<syn::TraitItemFn>(&text)
    {
        (sig.constness.is_some(), block.brace_token)
    } else {
        return None;
    };
    if constness {
        return None;
    }
    let span = block.span;
    let open = u32::try_from(span.open().start().line).ok()? + start - 1;
    let close = u32::try_from(span.close().start().line).ok()? + start - 1;
    Some((open, close))
}

/// The graph's tests that a change since the map's commit can reach, with
/// function bodies reaching only the tests that ran them (`None` when the
/// change since then runs everything), and the changed items followed
/// through the graph.
fn reach(
    graph: &Graph,
    since: &Impact,
    changes: &CoverageChanges,
    map: &CoverageMap,
) -> (Option<BTreeSet<TestIndex>>, Vec<ItemId>) {
    if since.run_all() {
        return (None, Vec::new());
    }
    // Changed function bodies and, for modules whose imports alone changed,
    // the functions naming an imported name in their body: item → key.
    let mut bodies: BTreeMap<ItemId, String> = BTreeMap::new();
    let mut other_items: Vec<ItemId> = Vec::new();
    // Changed functions seen through their callers.
    let mut through_callers: Vec<(ItemId, &Named)> = Vec::new();
    for id in since.changed.keys() {
        if changes.silent.contains(id) {
            continue;
        }
        if let Some(named) = changes.imports.get(id) {
            other_items.extend(&named.others);
            for (item, key) in &named.bodies {
                bodies.insert(*item, key.clone());
            }
        } else if let Some(key) = changes.bodies.get(id) {
            bodies.insert(*id, key.clone());
        } else if let Some(named) = changes.callers.get(id) {
            through_callers.push((*id, named));
        } else {
            other_items.push(*id);
        }
    }
    other_items.sort_unstable();
    other_items.dedup();
    // An item that also changed otherwise is followed through the graph.
    bodies.retain(|id, _| other_items.binary_search(id).is_err());
    let mut reached: BTreeSet<TestIndex> = graph
        .affected_tests(&other_items)
        .into_iter()
        .map(|(test, _)| test)
        .collect();
    reached.extend(since.widened.keys().copied());
    if !changes.deleted.is_empty() {
        for (at, test) in graph.tests().iter().enumerate() {
            let index = if test.parameterized {
                None
            } else {
                map.test_index(&test.id.binary_id, &test.id.name)
            };
            if changes
                .deleted
                .iter()
                .any(|key| map.may_have_run(key, index))
            {
                reached.insert(TestIndex::from_index(at));
            }
        }
    }
    let mut item_reach: BTreeMap<ItemId, BTreeSet<TestIndex>> = BTreeMap::new();
    let from_bodies = ran_bodies(graph, map, &bodies, &reached, &mut item_reach);
    reached.extend(from_bodies);
    // A function seen through its callers reaches the tests that ran it or
    // one of them, and no test the graph does not reach from it: both are
    // sound, so their common part is.
    for (id, named) in through_callers {
        if other_items.binary_search(&id).is_ok() {
            continue;
        }
        let callers = ran_bodies(graph, map, &named.bodies, &reached, &mut item_reach);
        let followed = item_reach.entry(id).or_insert_with(|| {
            graph
                .affected_tests(&[id])
                .into_iter()
                .map(|(test, _)| test)
                .collect()
        });
        let both: Vec<TestIndex> = callers.intersection(followed).copied().collect();
        reached.extend(both);
    }
    (Some(reached), other_items)
}

/// The graph's tests, not already in `reached`, that the changed `bodies`
/// (item → key) reach: those that ran one, and for a test the map cannot
/// speak for, those the graph reaches from the item.
fn ran_bodies(
    graph: &Graph,
    map: &CoverageMap,
    bodies: &BTreeMap<ItemId, String>,
    reached: &BTreeSet<TestIndex>,
    item_reach: &mut BTreeMap<ItemId, BTreeSet<TestIndex>>,
) -> BTreeSet<TestIndex> {
    let mut out = BTreeSet::new();
    if bodies.is_empty() {
        return out;
    }
    let body_items: Vec<ItemId> = bodies.keys().copied().collect();
    for (test, _) in graph.affected_tests(&body_items) {
        if reached.contains(&test) {
            continue;
        }
        let known = graph.test(test);
        let index = if known.parameterized {
            None
        } else {
            map.test_index(&known.id.binary_id, &known.id.name)
        };
        let mut unknown = Vec::new();
        let mut ran = false;
        for item in &body_items {
            let verdict = index.map_or(Verdict::Unknown, |index| map.verdict(&bodies[item], index));
            match verdict {
                Verdict::Ran => {
                    ran = true;
                    break;
                }
                Verdict::NotRan => {}
                Verdict::Unknown => unknown.push(*item),
            }
        }
        let keep = ran
            || unknown.len() > MAX_ITEM_SEARCHES
            || unknown.iter().any(|item| {
                item_reach
                    .entry(*item)
                    .or_insert_with(|| {
                        graph
                            .affected_tests(&[*item])
                            .into_iter()
                            .map(|(test, _)| test)
                            .collect()
                    })
                    .contains(&test)
            });
        if keep {
            out.insert(test);
        }
    }
    out
}

/// Leaves out of `selection` the graph's tests that nothing since the map's
/// commit reaches (`reach`). Tests the graph does not know
/// (whole binaries, tests only the runner's list has) are kept.
pub fn apply(
    graph: &Graph,
    selection: &mut Selection,
    since: &Impact,
    changes: &CoverageChanges,
    map: &CoverageMap,
) -> CoverageSummary {
    let mut summary = CoverageSummary {
        commit: map.commit.clone(),
        changed_items: since.changed.len(),
        body_changes: changes
            .bodies
            .keys()
            .filter(|id| since.changed.contains_key(id))
            .count(),
        import_changes: changes.imports.len(),
        silent_functions: changes
            .silent
            .iter()
            .filter(|id| since.changed.contains_key(id))
            .count(),
        deleted_functions: changes.deleted_functions,
        left_out: 0,
        followed_items: 0,
        followed: Vec::new(),
        widened_tests: 0,
    };
    if selection.run_all {
        return summary;
    }
    let (reached, followed) = reach(graph, since, changes, map);
    summary.followed_items = followed.len();
    summary.followed = followed
        .iter()
        .take(MAX_FOLLOWED)
        .map(|id| {
            let item = graph.item(*id);
            let at = since
                .changed
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("{}:{}", item.file, item.lines.start));
            format!("{} ({at})", crate::display_name(graph, *id, item.kind))
        })
        .collect();
    summary.widened_tests = since.widened.len();
    let Some(reached) = reached else {
        return summary;
    };
    let index: BTreeMap<(&str, &str), TestIndex> = graph
        .tests()
        .iter()
        .enumerate()
        .filter(|(_, test)| test.item.is_some() && !test.id.name.is_empty())
        .map(|(at, test)| {
            (
                (test.id.binary_id.as_str(), test.id.name.as_str()),
                TestIndex::from_index(at),
            )
        })
        .collect();
    let mut dropped: BTreeSet<(String, String)> = BTreeSet::new();
    selection.selected.retain(|test| {
        let keep = test.whole_binary
            || index
                .get(&(test.binary_id.as_str(), test.name.as_str()))
                .is_none_or(|at| reached.contains(at));
        if !keep {
            dropped.insert((test.binary_id.clone(), test.name.clone()));
        }
        keep
    });
    for (binary_id, binary) in &mut selection.binaries {
        for test in &mut binary.tests {
            if test.selected && dropped.contains(&(binary_id.clone(), test.name.clone())) {
                test.selected = false;
            }
        }
    }
    summary.left_out = dropped.len();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn body_lines_are_the_braces_of_a_function_with_a_body() {
        let file = lines("#[inline]\nfn f(\n    x: u8,\n) -> u8 {\n    x\n}\n");
        assert_eq!(body_lines(&file, 1, 6), Some((4, 6)));
        let constant = lines("const fn f() -> u8 {\n    1\n}\n");
        assert_eq!(body_lines(&constant, 1, 3), None);
        let default = lines("fn d(&self) -> u8 {\n    1\n}\n");
        assert_eq!(body_lines(&default, 1, 3), Some((1, 3)));
        let declaration = lines("fn r(&self) -> u8;\n");
        assert_eq!(body_lines(&declaration, 1, 1), None);
    }

    #[test]
    fn quiet_lines_are_blank_or_plain_comments_outside_literals() {
        let text = "fn f() {\n\n    // a comment\n    /// a doc comment\n    let s = \"\n// inside a string\n\n\";\n}\n";
        let quiet = Quiet::of(text).unwrap();
        let is = |line| quiet.all_quiet(hourglass_model::LineRange::new(line, line));
        assert!(is(2) && is(3));
        assert!(!is(1) && !is(4));
        // The string's lines, blank ones included, are code.
        assert!(!is(5) && !is(6) && !is(7) && !is(8));
        assert_eq!(
            quiet.loud_runs(hourglass_model::LineRange::new(1, 5)),
            [
                hourglass_model::LineRange::new(1, 1),
                hourglass_model::LineRange::new(4, 5)
            ]
        );
    }

    #[test]
    fn a_file_shape_knows_private_imports_their_names_and_the_other_lines() {
        let text = "use a::{b, c as d, e::{self, *}};\npub use x::Y;\n\nmod m {\n    use super::*;\n    fn f() {}\n}\nextern crate z;\n";
        let shape = FileShape::of(text).unwrap();
        let names: Vec<&str> = shape
            .imports
            .iter()
            .map(|(_, _, leaf)| leaf.as_str())
            .collect();
        assert_eq!(names, ["b", "d", "e", "*", "*"]);
        assert_eq!(shape.imports[3].1, "::a::e::*");
        assert_eq!(shape.imports[4].1, "::m::super::*");
        assert_eq!(shape.kind(1), LineKind::PrivateUse);
        assert_eq!(shape.kind(2), LineKind::Other);
        assert_eq!(shape.kind(3), LineKind::Free);
        assert_eq!(shape.kind(4), LineKind::Other);
        assert_eq!(shape.kind(6), LineKind::InItem);
        assert_eq!(shape.kind(7), LineKind::Free);
        assert_eq!(shape.kind(8), LineKind::Other);
        assert!(shape.items.contains("::m::fn f"), "{:?}", shape.items);
    }

    #[test]
    fn a_deleted_run_slides_over_lines_equal_at_both_ends() {
        let old = lines("fn a() {}\n\n#[inline]\nfn b() {}\n\n#[inline]\nfn c() {}\n");
        let at = |start, end| hourglass_model::LineRange::new(start, end);
        // Deleting 4..=6 (`fn b`, blank, `#[inline]`) leaves the same file as
        // deleting 3..=5 (`#[inline]`, `fn b`, blank), which holds `b` whole.
        assert_eq!(slid(at(4, 6), &old), [at(4, 6), at(3, 5), at(2, 4)]);
        assert_eq!(slid(at(4, 4), &old), [at(4, 4)]);
        let items = deletable_items(&old.join("\n")).unwrap();
        let quiet = Quiet::of(&old.join("\n")).unwrap();
        assert!(deleted_items(at(4, 6), &quiet, &items).is_none());
        let found = deleted_items(at(3, 5), &quiet, &items).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].function, Some(DeletedFn::Free("b".to_owned())));
    }

    #[test]
    fn an_import_renames_a_name_only_with_as_after_it() {
        assert!(renames(
            "use crate::shapes::{circle as round, square};",
            "circle"
        ));
        assert!(!renames(
            "use crate::shapes::{circle, square as box_};",
            "circle"
        ));
        assert!(!renames("use crate::circle_as::circle;", "circle"));
    }

    #[test]
    fn names_match_whole_identifiers_only() {
        let names = Names {
            names: ["Foo".to_owned()].into(),
            glob: false,
        };
        assert!(names.mentioned_in("let x: Foo = y;"));
        assert!(names.mentioned_in("x::<Foo>()"));
        assert!(!names.mentioned_in("let x: FooBar = y;"));
        assert!(!names.mentioned_in("let foo = 1;"));
        assert!(
            Names {
                names: BTreeSet::new(),
                glob: true
            }
            .mentioned_in("anything")
        );
    }
}

//! A [`ChangeSet`] + the test graph + rules into a [`Selection`] of tests, with reasons.
//!
//! # What it does
//!
//! [`select`] answers "which tests can this change affect?" for a Cargo
//! workspace whose graph ([`hourglass_graph::Graph`]) was built from the
//! *head* side of the change. Every selected test carries the reasons it was
//! picked; [`explain`] gives the chain of edges from a changed item to one
//! test, for `hourglass why`. [`output`] renders a selection as a test list,
//! JSON, a cargo-nextest filterset, a nextest tool-config file or `cargo
//! test` invocations.
//!
//! # How it works
//!
//! Each changed file is classified, in this order:
//!
//! 1. **Rules** ([`Rules`], user rules first, then [`Rules::defaults`]): the
//!    first rule whose glob matches the new or the old path decides: ignore
//!    the file, run everything, select the tests of some packages (and their
//!    dependents) or some tests by id or glob. An `ignore` rule does not hide
//!    a file that code pulls in with `include_str!`/`include!` from an item
//!    other than a module (a crate's `#![doc = include_str!("README.md")]` is
//!    a module attribute and only feeds doctests).
//! 2. **Manifests.** A package's `Cargo.toml` (or the root one) is compared
//!    old against new ([`hourglass_graph::manifest_diff`]): no build-visible
//!    change selects nothing, a package-level change selects the package's
//!    tests and its dependents', a workspace-level one runs everything. The
//!    root `Cargo.lock` gives the external crates whose locked version or
//!    dependencies changed ([`hourglass_graph::lockfile`]); the workspace
//!    packages that depend on them, directly or through other crates, are
//!    selected with their dependents. The caller supplies the old and new
//!    contents in [`ChangeContext`]; without them, everything runs.
//! 3. **Build scripts**: the package's tests and its dependents'.
//! 4. **Rust files** the graph parsed: the items overlapping each changed
//!    line range of the new file ([`Graph::items_at`]), or every item of the
//!    file when it is whole-file (added, renamed, binary, mode change). A
//!    file that does not parse selects its package and dependents, naming
//!    the file and line. A deleted `.rs` file selects its package.
//! 5. **Included files** (`include_str!` and friends): the including items.
//! 6. **Anything else**: the tests of the innermost package containing it,
//!    since the graph cannot see who reads it; outside every package,
//!    everything runs.
//!
//! The changed items are then followed through the graph to every test that
//! uses them ([`Graph::affected_tests`]); those tests get a reason naming the
//! item and the line where it changed. The linker bounds that search: a test
//! is reached only through items of packages its binary can contain
//! ([`Graph::can_link`]), so a loose edge never carries a change into a test
//! that cannot link the changed code.
//!
//! # Package level
//!
//! [`select_packages`] (`hourglass select --level package`) skips the item
//! graph: every test of a package with a changed file or item, and of every
//! package whose test binaries can contain that package's code
//! ([`Graph::linked_by`]: dependents through normal and build dependencies,
//! with a dev-dependency allowed as the last step), plus the same widening and
//! reasons to run everything as [`select`]. Dependencies that `[patch]` or
//! `[replace]` redirect into the workspace count as dependencies. For changes
//! to Rust sources the item-level selection is always a subset of it (a
//! property test checks this on generated workspaces and on the fixtures).
//!
//! A test function with `#[test_case]`/`#[rstest]`/`#[case]` attributes is
//! marked `parameterized` (its attributes are read from the source): nextest
//! names its cases `<name>::<case>`, so renderings match it as a prefix. A
//! binary whose every known test is selected is rendered as the binary alone.
//!
//! # Tests the graph does not know
//!
//! A test written by a macro the graph cannot expand, or by a build script,
//! is invisible to the graph, and nothing widens for it. Two defences:
//!
//! - **The linker bound.** A change can only affect a test binary that links
//!   it: a binary whose package, or a package in its dependency closure
//!   (dev and build dependencies included), changed; a changed item of a
//!   test, bench or example crate reaches that binary only, one of a binary
//!   target reaches it and the targets cargo builds it for. These binaries
//!   are [`Selection::open_binaries`]. [`output::nextest`] renders the
//!   selection as an exclusion: every test except those the graph *knows*
//!   are unaffected, so a test it never saw still runs in an open binary,
//!   and a binary it does not know at all (a new test target) is never
//!   named, so it runs.
//! - **The runner's list.** [`selection_with_list`] takes `cargo nextest
//!   list --message-format json` output ([`TestList`]), which is the truth
//!   about which tests exist. A listed test the graph does not know is
//!   attributed to the deepest module the graph knows on its path (selected
//!   when the change reaches an item in or below it; a macro invocation and
//!   the `macro_rules!` it calls are items of that module), or, when the
//!   module uses a workspace proc macro, the package has a build script or
//!   the crate is unknown, selected whenever its binary is open. Its reasons
//!   say "not visible to the graph". `total_tests` counts the list; tests the
//!   graph knows and the list lacks are noted, not selected.
//!
//! [`output::nextest_config`] puts the filterset into a nextest tool-config
//! profile (`default-filter`), which no command-line length limit applies
//! to (Linux refuses a single argument past 128 KiB).
//!
//! # Limitations
//!
//! - The graph is the head side; code that was deleted is only seen through
//!   the position where it was (a one-line anchor in the new file), so a
//!   deleted item selects the tests of whatever encloses that position.
//! - Doctests are not selected: cargo-nextest does not run them.
//! - Selection is as good as the graph's edges; see `hourglass_graph` for
//!   what it cannot see (macro-generated code in particular).
//! - Module attribution of an unseen test trusts that the code a macro
//!   writes is reached through the module's items (the invocation, whose
//!   tokens name what the test uses, and the `macro_rules!` body). Code a
//!   proc macro of the workspace writes, or a build script, falls back to
//!   the linker bound, which is safe but coarse.
//! - The `cargo` rendering lists the known selected tests only; it is not
//!   safe for tests the graph does not know.
//! - A member that reaches another only through a crate from outside the
//!   workspace (an external crate depending on a patched member) is not
//!   linked by the manifests alone: neither level selects its tests for a
//!   change of that member, except through `Cargo.lock` changes.

use std::collections::{BTreeMap, BTreeSet};

use hourglass_graph::lockfile::{changed_lock_packages, reverse_closure};
use hourglass_graph::manifest_diff::{ManifestImpact, classify_manifest_change};
use hourglass_graph::{FileStatus, Graph, ItemId, ItemKind, PackageId, TargetKind, TestIndex};
use hourglass_model::{ChangeKind, ChangeSet, FileChange};
use serde::Serialize;

pub mod coverage;
mod explain;
pub mod listed;
pub mod output;
mod rules;
mod scope;

pub use explain::{Explanation, ItemRef, Step, explain};
pub use listed::{ListError, ListedBinary, TestList, compare_with_list, selection_with_list};
pub use rules::{PathRule, RuleAction, Rules};

/// At most this many reasons are kept per test; the rest are counted.
const MAX_REASONS: usize = 5;

/// The note every selection carries.
pub const DOCTEST_NOTE: &str = "doctests are not run by cargo-nextest and are not selected";

/// Old and new contents of one changed `Cargo.toml` (`None` = absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestChange {
    /// Relative to the workspace root, `/` separators.
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What [`select`] cannot read from a [`ChangeSet`]: the old and new contents
/// of changed manifests and of the root lockfile, supplied by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeContext {
    pub manifests: Vec<ManifestChange>,
    /// `(old, new)` contents of the root `Cargo.lock`, when it changed.
    pub lockfile: Option<(Option<String>, Option<String>)>,
}

/// The tests a change needs, each with the reasons it was picked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// Every test must run; `selected` then lists every test.
    pub run_all: bool,
    pub run_all_reasons: Vec<String>,
    /// Tests in the graph.
    pub total_tests: usize,
    /// Sorted by binary id, then name.
    pub selected: Vec<SelectedTest>,
    pub notes: Vec<String>,
    /// Binaries the change can reach (their package, or a package they link,
    /// changed): without a list, a test in one that the graph does not know
    /// may be affected, so `--format nextest` runs it. Sorted.
    pub open_binaries: Vec<String>,
    /// With the runner's list of tests ([`selection_with_list`]): how it
    /// compares with the graph; `None` without a list.
    pub listed: Option<ListedSummary>,
    /// With a coverage map ([`coverage::apply`]): what it left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<coverage::CoverageSummary>,
    /// Every test binary with the tests known in it (the graph's, or the
    /// list's), for renderings.
    #[serde(skip)]
    pub binaries: BTreeMap<String, BinaryTests>,
}

/// How the runner's list compares with the graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListedSummary {
    /// Tests in the list.
    pub tests: usize,
    /// Listed tests the graph does not know (`<binary id> <test name>`).
    pub not_in_graph: Vec<String>,
    /// Tests the graph knows that the list does not have (compiled out by a
    /// `cfg`, named otherwise by a macro): never selected.
    pub not_in_list: Vec<String>,
}

/// The tests known in one binary and whether the change may reach others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinaryTests {
    /// Sorted by name.
    pub tests: Vec<KnownTest>,
    /// `Some(selected)` for a `harness = false` target, which runs whole.
    pub whole: Option<bool>,
    /// The change can reach code of this binary, so tests in it that are not
    /// in `tests` must run.
    pub open: bool,
}

/// One test of a [`BinaryTests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTest {
    pub name: String,
    /// Its cases are named `<name>::<case>`.
    pub parameterized: bool,
    pub selected: bool,
}

/// One selected test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectedTest {
    pub binary_id: String,
    /// `""` for a whole binary (`whole_binary`).
    pub name: String,
    pub reasons: Vec<String>,
    /// A `harness = false` target: its test names are unknown, the whole
    /// binary runs.
    pub whole_binary: bool,
    /// A `#[test_case]`/`#[rstest]` function: nextest names its cases
    /// `<name>::<case>`, so match `name` as a prefix.
    pub parameterized: bool,
}

impl Selection {
    /// Share of the graph's tests selected, 0.0 to 1.0 (1.0 for an empty graph).
    pub fn share(&self) -> f64 {
        if self.total_tests == 0 {
            1.0
        } else {
            self.selected.len() as f64 / self.total_tests as f64
        }
    }
}

/// What a change reaches before it is turned into tests: the changed items,
/// the tests selected by widening, and the reasons to run everything.
#[derive(Debug, Clone, Default)]
pub struct Impact {
    /// Changed items, each with the first place it changed (`file:line`).
    pub changed: BTreeMap<ItemId, String>,
    /// Tests selected without the graph's edges (package widening, rules).
    pub widened: BTreeMap<TestIndex, Vec<String>>,
    pub run_all_reasons: Vec<String>,
    pub notes: Vec<String>,
    /// Changed files that selected nothing, with why.
    pub quiet_files: Vec<(String, String)>,
    /// Packages widened as a whole (with their dependents): something in
    /// them changed that their items do not show.
    pub widened_packages: BTreeSet<PackageId>,
    /// Test patterns of the rules that fired, with the reason: they also
    /// name listed tests the graph does not know.
    pub rule_tests: Vec<(String, String)>,
    /// Binaries holding tests a rule selected.
    pub rule_binaries: BTreeSet<String>,
}

impl Impact {
    pub fn run_all(&self) -> bool {
        !self.run_all_reasons.is_empty()
    }

    fn changed_ids(&self) -> Vec<ItemId> {
        self.changed.keys().copied().collect()
    }

    fn widen(&mut self, test: TestIndex, reason: &str) {
        let reasons = self.widened.entry(test).or_default();
        if !reasons.iter().any(|r| r == reason) {
            reasons.push(reason.to_owned());
        }
    }

    fn change(&mut self, item: ItemId, at: String) {
        self.changed.entry(item).or_insert(at);
    }
}

/// Selects the tests `changes` can affect. See the crate documentation.
pub fn select(
    graph: &Graph,
    changes: &ChangeSet,
    rules: &Rules,
    context: &ChangeContext,
) -> Selection {
    let impact = analyze(graph, changes, rules, context);
    selection(graph, &impact)
}

/// The first half of [`select`]: what the change touches in the graph.
pub fn analyze(
    graph: &Graph,
    changes: &ChangeSet,
    rules: &Rules,
    context: &ChangeContext,
) -> Impact {
    let mut impact = Impact::default();
    for (pattern, error) in rules.invalid_patterns() {
        impact.notes.push(format!(
            "rule pattern `{pattern}` is not a valid glob and never matches: {error}"
        ));
    }
    let mut rust_changed = false;
    for change in &changes.files {
        if change.paths().any(is_rust) {
            rust_changed = true;
        }
        classify(graph, change, rules, context, &mut impact);
    }
    linked_through_externals(graph, &mut impact);
    if rust_changed {
        impact.notes.push(DOCTEST_NOTE.to_owned());
    }
    impact
}

/// The second half of [`select`]: tests and reasons from an [`Impact`].
pub fn selection(graph: &Graph, impact: &Impact) -> Selection {
    let total_tests = graph.tests().len();
    let mut reasons: BTreeMap<TestIndex, Vec<String>> = BTreeMap::new();
    if impact.run_all() {
        let reason = "every test runs (see run_all_reasons)".to_owned();
        for index in 0..total_tests {
            reasons.insert(test_index(graph, index), vec![reason.clone()]);
        }
    } else {
        for (test, origin) in graph.affected_tests(&impact.changed_ids()) {
            let item = graph.item(origin);
            let at = impact.changed.get(&origin).cloned().unwrap_or_default();
            let reason = if graph.test(test).item == Some(origin) {
                format!("its own code changed ({at})")
            } else {
                format!(
                    "uses `{}` (changed at {at})",
                    display_name(graph, origin, item.kind)
                )
            };
            push_reason(reasons.entry(test).or_default(), reason);
        }
        for (test, widened) in &impact.widened {
            let entry = reasons.entry(*test).or_default();
            for reason in widened {
                push_reason(entry, reason.clone());
            }
        }
    }
    finish(graph, impact, reasons)
}

/// Selects at package level: every test of a package with a changed file or item, and of every
/// package whose test binaries can contain that package's code ([`Graph::linked_by`]: its
/// dependents, through normal and build dependencies and a dev-dependency at the last step),
/// plus what [`analyze`] widens to. For changes to Rust sources this is a superset of
/// [`select`]: the graph's search never leaves the packages a test can link.
pub fn select_packages(
    graph: &Graph,
    changes: &ChangeSet,
    rules: &Rules,
    context: &ChangeContext,
) -> Selection {
    let impact = analyze(graph, changes, rules, context);
    package_selection(graph, changes, &impact)
}

/// The second half of [`select_packages`]: package-level tests and reasons from an [`Impact`].
pub fn package_selection(graph: &Graph, changes: &ChangeSet, impact: &Impact) -> Selection {
    if impact.run_all() {
        return selection(graph, impact);
    }
    // Changed package → where it changed first.
    let mut changed: BTreeMap<PackageId, String> = BTreeMap::new();
    for (id, at) in &impact.changed {
        changed
            .entry(graph.item(*id).package)
            .or_insert_with(|| at.clone());
    }
    for change in &changes.files {
        for path in change.paths() {
            let name = file_name(path);
            let quiet = impact.quiet_files.iter().any(|(quiet, _)| quiet == path);
            // Manifests and the lockfile are judged by `analyze`, which widens for them.
            if quiet || name == "Cargo.toml" || name == "Cargo.lock" {
                continue;
            }
            if let Some(package) = graph.package_of_path(path) {
                changed.entry(package).or_insert_with(|| path.to_owned());
            }
        }
    }
    let mut reasons: BTreeMap<TestIndex, Vec<String>> = BTreeMap::new();
    for (&package, at) in &changed {
        let name = &graph.package(package).name;
        for user in graph.linked_by(package) {
            let reason = if user == package {
                format!("package `{name}` changed ({at})")
            } else {
                format!(
                    "package `{}` can link `{name}`, which changed ({at})",
                    graph.package(user).name
                )
            };
            for test in graph.tests_of_package(user) {
                push_reason(reasons.entry(test).or_default(), reason.clone());
            }
        }
    }
    for (test, widened) in &impact.widened {
        let entry = reasons.entry(*test).or_default();
        for reason in widened {
            push_reason(entry, reason.clone());
        }
    }
    finish(graph, impact, reasons)
}

/// Turns reasons per test into a [`Selection`].
fn finish(graph: &Graph, impact: &Impact, reasons: BTreeMap<TestIndex, Vec<String>>) -> Selection {
    let total_tests = graph.tests().len();
    let mut selected: Vec<SelectedTest> = reasons
        .into_iter()
        .map(|(index, mut reasons)| {
            let test = graph.test(index);
            if reasons.len() > MAX_REASONS {
                let more = reasons.len() - MAX_REASONS;
                reasons.truncate(MAX_REASONS);
                reasons.push(format!("and {more} more"));
            }
            SelectedTest {
                binary_id: test.id.binary_id.clone(),
                name: test.id.name.clone(),
                reasons,
                whole_binary: test.item.is_none() || test.id.name.is_empty(),
                parameterized: test.parameterized,
            }
        })
        .collect();
    selected.sort_by(|a, b| (&a.binary_id, &a.name).cmp(&(&b.binary_id, &b.name)));
    selected.dedup_by(|a, b| a.binary_id == b.binary_id && a.name == b.name);
    let scope = scope::Scope::new(graph, impact);
    let binaries = graph_binaries(graph, &selected, &scope);
    Selection {
        run_all: impact.run_all(),
        run_all_reasons: impact.run_all_reasons.clone(),
        total_tests,
        selected,
        notes: impact.notes.clone(),
        open_binaries: scope.open.keys().cloned().collect(),
        listed: None,
        coverage: None,
        binaries,
    }
}

/// Every binary the graph knows (a target with a binary id), with its tests
/// and whether the change can reach it.
fn graph_binaries(
    graph: &Graph,
    selected: &[SelectedTest],
    scope: &scope::Scope,
) -> BTreeMap<String, BinaryTests> {
    let chosen: BTreeSet<(&str, &str)> = selected
        .iter()
        .map(|test| (test.binary_id.as_str(), test.name.as_str()))
        .collect();
    let mut binaries: BTreeMap<String, BinaryTests> = BTreeMap::new();
    for (_, package) in graph.packages() {
        for target in &package.targets {
            if let Some(binary) = &target.binary_id {
                binaries.entry(binary.clone()).or_default();
            }
        }
    }
    for test in graph.tests() {
        let binary = binaries.entry(test.id.binary_id.clone()).or_default();
        let is_selected = chosen.contains(&(test.id.binary_id.as_str(), test.id.name.as_str()));
        if test.item.is_none() || test.id.name.is_empty() {
            binary.whole = Some(is_selected || binary.whole == Some(true));
        } else {
            binary.tests.push(KnownTest {
                name: test.id.name.clone(),
                parameterized: test.parameterized,
                selected: is_selected,
            });
        }
    }
    for (id, binary) in &mut binaries {
        binary.tests.sort_by(|a, b| a.name.cmp(&b.name));
        binary.tests.dedup_by(|a, b| a.name == b.name);
        binary.open = scope.open.contains_key(id);
    }
    binaries
}

fn push_reason(reasons: &mut Vec<String>, reason: String) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

/// The [`TestIndex`] of the `index`-th test of the graph.
fn test_index(graph: &Graph, index: usize) -> TestIndex {
    let test = &graph.tests()[index];
    graph
        .find_test(&test.id)
        .filter(|found| found.index() == index)
        .unwrap_or_else(|| {
            // Two tests with one id: find the index by position.
            graph
                .tests_of_package(test.package)
                .into_iter()
                .find(|found| found.index() == index)
                .expect("every test is in its package")
        })
}

/// An item's name for reasons: `crate` stands for the crate root module.
pub(crate) fn display_name(graph: &Graph, id: ItemId, kind: ItemKind) -> String {
    let item = graph.item(id);
    if item.name == "crate" || (kind == ItemKind::Mod && item.name.is_empty()) {
        format!("{} (crate root)", item.krate)
    } else {
        item.name.clone()
    }
}

fn classify(
    graph: &Graph,
    change: &FileChange,
    rules: &Rules,
    context: &ChangeContext,
    impact: &mut Impact,
) {
    let path = change
        .new_path
        .as_deref()
        .or(change.old_path.as_deref())
        .unwrap_or_default()
        .to_owned();
    let status = change
        .new_path
        .as_deref()
        .map_or(FileStatus::Unknown, |new| graph.file_status(new));

    // 1. Rules.
    let rule = change.paths().find_map(|p| rules.first_match(p));
    if let Some(rule) = rule {
        let why = rule
            .reason
            .clone()
            .unwrap_or_else(|| format!("rule `{}`", rule.pattern));
        match &rule.action {
            RuleAction::Ignore => {
                let included_by_code = matches!(&status, FileStatus::Included { by }
                    if by.iter().any(|id| graph.item(*id).kind != ItemKind::Mod));
                if !included_by_code {
                    impact.quiet_files.push((path, format!("ignored: {why}")));
                    return;
                }
            }
            RuleAction::RunAll => {
                impact
                    .run_all_reasons
                    .push(format!("{path} changed: {why}"));
                return;
            }
            RuleAction::Packages(names) => {
                for name in names {
                    match graph.package_by_name(name) {
                        Some(package) => widen_package(
                            graph,
                            impact,
                            package,
                            true,
                            &format!("{path} changed and rule `{}` names package `{name}` ({why})", rule.pattern),
                        ),
                        None => impact.run_all_reasons.push(format!(
                            "{path} changed and rule `{}` names `{name}`, which is not a workspace package",
                            rule.pattern
                        )),
                    }
                }
                return;
            }
            RuleAction::Tests(patterns) => {
                for pattern in patterns {
                    let matched = widen_tests(
                        graph,
                        impact,
                        pattern,
                        &format!(
                            "{path} changed and rule `{}` names this test ({why})",
                            rule.pattern
                        ),
                    );
                    if matched == 0 {
                        impact.notes.push(format!(
                            "rule `{}`: `{pattern}` matches no test",
                            rule.pattern
                        ));
                    }
                }
                return;
            }
        }
    }

    // 2. Manifests and the lockfile.
    if file_name(&path) == "Cargo.toml" && classify_manifest(graph, change, &path, context, impact)
    {
        return;
    }
    if path == "Cargo.lock" {
        classify_lockfile(graph, context, impact);
        return;
    }

    // 3. Build scripts.
    if let Some(package) = build_script_package(graph, &path) {
        let name = &graph.package(package).name;
        widen_package(
            graph,
            impact,
            package,
            true,
            &format!("build script {path} of `{name}` changed"),
        );
        return;
    }

    // 4. and 5. What the graph knows of the file.
    match status {
        FileStatus::Parsed => {
            let new_path = change.new_path.as_deref().unwrap_or(&path);
            rust_file(graph, change, new_path, impact);
        }
        FileStatus::ParseError {
            line,
            column,
            message,
        } => match graph.package_of_path(&path) {
            Some(package) => widen_package(
                graph,
                impact,
                package,
                true,
                &format!(
                    "{path}:{line}:{column} does not parse ({message}), so the graph cannot see into it"
                ),
            ),
            None => impact.run_all_reasons.push(format!(
                "{path}:{line}:{column} does not parse and is outside every package"
            )),
        },
        FileStatus::Included { by } => {
            for id in by {
                impact.change(id, format!("{path}, which it includes"));
            }
        }
        FileStatus::Unknown => other_file(graph, change, &path, impact),
    }
}

fn is_rust(path: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|extension| extension == "rs")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Handles a `Cargo.toml`; false when it is not a manifest of the
/// workspace (a fixture), to be treated as any other file.
fn classify_manifest(
    graph: &Graph,
    change: &FileChange,
    path: &str,
    context: &ChangeContext,
    impact: &mut Impact,
) -> bool {
    let package = graph
        .packages()
        .find(|(_, package)| package.manifest == path)
        .map(|(id, _)| id);
    let deleted = change.kind == ChangeKind::Deleted;
    if package.is_none() && path != "Cargo.toml" && !deleted {
        return false;
    }
    let supplied = context
        .manifests
        .iter()
        .find(|manifest| change.paths().any(|p| p == manifest.path));
    let Some(supplied) = supplied else {
        impact.run_all_reasons.push(format!(
            "{path} changed and its old and new contents were not supplied"
        ));
        return true;
    };
    match classify_manifest_change(supplied.old.as_deref(), supplied.new.as_deref()) {
        ManifestImpact::None => impact
            .quiet_files
            .push((path.to_owned(), "no change a build can see".to_owned())),
        ManifestImpact::Package { reasons } => match package {
            Some(package) => {
                let name = &graph.package(package).name;
                widen_package(
                    graph,
                    impact,
                    package,
                    true,
                    &format!("{path} of `{name}` changed: {}", reasons.join("; ")),
                );
            }
            None => impact
                .run_all_reasons
                .push(format!("{path} changed: {}", reasons.join("; "))),
        },
        ManifestImpact::Everything { reasons } => impact
            .run_all_reasons
            .push(format!("{path} changed: {}", reasons.join("; "))),
    }
    true
}

fn classify_lockfile(graph: &Graph, context: &ChangeContext, impact: &mut Impact) {
    let Some((old, new)) = &context.lockfile else {
        impact
            .run_all_reasons
            .push("Cargo.lock changed and its old and new contents were not supplied".to_owned());
        return;
    };
    let changed = match changed_lock_packages(old.as_deref(), new.as_deref()) {
        Ok(changed) => changed,
        Err(error) => {
            impact
                .run_all_reasons
                .push(format!("Cargo.lock changed and cannot be read: {error}"));
            return;
        }
    };
    // Workspace members' own entries change with their manifests, which are
    // classified on their own; only crates from outside count here.
    let changed: Vec<String> = changed
        .into_iter()
        .filter(|name| graph.package_by_name(name).is_none())
        .collect();
    if changed.is_empty() {
        impact.quiet_files.push((
            "Cargo.lock".to_owned(),
            "no locked crate from outside the workspace changed".to_owned(),
        ));
        return;
    }
    let mut reached: BTreeSet<String> = changed.iter().cloned().collect();
    for lock in [old, new].into_iter().flatten() {
        match reverse_closure(lock, &changed) {
            Ok(names) => reached.extend(names),
            Err(error) => {
                impact
                    .run_all_reasons
                    .push(format!("Cargo.lock changed and cannot be read: {error}"));
                return;
            }
        }
    }
    let shown: Vec<&str> = changed.iter().take(3).map(String::as_str).collect();
    let more = changed.len().saturating_sub(shown.len());
    let changed_text = if more > 0 {
        format!("`{}` and {more} more", shown.join("`, `"))
    } else {
        format!("`{}`", shown.join("`, `"))
    };
    let packages: Vec<PackageId> = graph
        .packages()
        .filter(|(_, package)| {
            reached.contains(&package.name)
                || package
                    .external_dependencies
                    .iter()
                    .any(|dependency| reached.contains(dependency))
        })
        .map(|(id, _)| id)
        .collect();
    if packages.is_empty() {
        impact.quiet_files.push((
            "Cargo.lock".to_owned(),
            format!("{changed_text} changed, and no workspace package uses it"),
        ));
    }
    for package in packages {
        let name = &graph.package(package).name;
        widen_package(
            graph,
            impact,
            package,
            true,
            &format!("Cargo.lock: {changed_text} changed, and `{name}` depends on it"),
        );
    }
}

fn build_script_package(graph: &Graph, path: &str) -> Option<PackageId> {
    graph
        .packages()
        .find(|(_, package)| {
            package
                .targets
                .iter()
                .any(|target| target.kind == TargetKind::BuildScript && target.root == path)
        })
        .map(|(id, _)| id)
}

fn rust_file(graph: &Graph, change: &FileChange, path: &str, impact: &mut Impact) {
    let whole =
        change.whole_file || change.kind == ChangeKind::Renamed || change.new_lines.is_empty();
    let mut found = false;
    if whole {
        for id in graph.items_in_file(path) {
            let line = graph.item(id).lines.start;
            impact.change(id, format!("{path}:{line}"));
            found = true;
        }
    } else {
        for range in &change.new_lines {
            for id in graph.items_at(path, *range) {
                let item = graph.item(id);
                let line = range.start.max(item.lines.start);
                impact.change(id, format!("{path}:{line}"));
                found = true;
            }
        }
    }
    if !found {
        // A file with no items the change falls in: widen rather than miss.
        match graph.package_of_path(path) {
            Some(package) => widen_package(
                graph,
                impact,
                package,
                true,
                &format!("{path} changed outside every item the graph knows"),
            ),
            None => impact
                .run_all_reasons
                .push(format!("{path} changed and is outside every package")),
        }
    }
}

fn other_file(graph: &Graph, change: &FileChange, path: &str, impact: &mut Impact) {
    let deleted_rust = change.kind == ChangeKind::Deleted && is_rust(path);
    match graph.package_of_path(path) {
        Some(package) => {
            let name = graph.package(package).name.clone();
            let reason = if deleted_rust {
                format!("{path} was deleted from package `{name}`")
            } else {
                format!("{path} is in package `{name}`, which the graph cannot see into")
            };
            widen_package(graph, impact, package, false, &reason);
        }
        None => impact
            .run_all_reasons
            .push(format!("{path} changed and is outside every package")),
    }
}

/// Selects every test of `package`, and of its dependents when `dependents`.
/// A member whose code a package links only through an external package (`Cargo.lock` says the
/// external package depends on it): no edge of the graph leads from its items into that
/// package's tests, so a change in it selects them all (and those of their dependents).
fn linked_through_externals(graph: &Graph, impact: &mut Impact) {
    let changed: BTreeSet<PackageId> = impact
        .changed
        .keys()
        .map(|&id| graph.item(id).package)
        .collect();
    if changed.is_empty() {
        return;
    }
    for (id, package) in graph.packages() {
        for dep in &package.dependencies {
            if let Some(external) = &dep.through
                && changed.contains(&dep.package)
            {
                let reason = format!(
                    "`{}` links `{}` through the external package `{external}`",
                    package.name,
                    graph.package(dep.package).name
                );
                widen_package(graph, impact, id, true, &reason);
            }
        }
    }
}

fn widen_package(
    graph: &Graph,
    impact: &mut Impact,
    package: PackageId,
    dependents: bool,
    reason: &str,
) {
    let mut packages = vec![package];
    if dependents {
        packages.extend(graph.dependents(package));
    }
    for id in packages {
        impact.widened_packages.insert(id);
        for test in graph.tests_of_package(id) {
            impact.widen(test, reason);
        }
    }
}

/// Selects the tests whose printed id (`<binary id> <test name>`) equals or
/// matches the glob `pattern`; returns how many.
fn widen_tests(graph: &Graph, impact: &mut Impact, pattern: &str, reason: &str) -> usize {
    impact
        .rule_tests
        .push((pattern.to_owned(), reason.to_owned()));
    let matcher = rules::test_matcher(pattern);
    let mut count = 0;
    for (index, test) in graph.tests().iter().enumerate() {
        let printed = test.id.to_string();
        if names_test(pattern, matcher.as_ref(), &printed) {
            impact.widen(test_index(graph, index), reason);
            impact.rule_binaries.insert(test.id.binary_id.clone());
            count += 1;
        }
    }
    count
}

/// Whether a rule's test pattern names the printed id of a test.
fn names_test(pattern: &str, matcher: Option<&globset::GlobMatcher>, printed: &str) -> bool {
    let printed = printed.trim_end();
    printed == pattern.trim() || matcher.is_some_and(|m| m.is_match(printed))
}

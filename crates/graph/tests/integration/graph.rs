//! The graph of the fixture workspaces (and of this repository), checked against what the
//! code says and against `cargo nextest list`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use hourglass_graph::{
    BuildOptions, EdgeReason, FileStatus, Graph, ItemKind, LineRange, RustTestId,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/workspaces")
        .join(name)
}

fn basic() -> Graph {
    Graph::build(&fixture("graph-basic"), &BuildOptions::default()).expect("graph of graph-basic")
}

/// The one item of `krate` named `name`.
fn item(graph: &Graph, krate: &str, name: &str) -> hourglass_graph::ItemId {
    let found: Vec<_> = graph
        .items()
        .filter(|(_, item)| item.krate == krate && item.name == name)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found.len(), 1, "items named {name} in {krate}: {found:?}");
    found[0]
}

fn affected(graph: &Graph, changed: &[hourglass_graph::ItemId]) -> BTreeSet<String> {
    graph
        .affected_tests(changed)
        .into_iter()
        .map(|(test, _)| graph.test(test).id.to_string())
        .collect()
}

/// `(binary id, test name, ignored)` of every test `cargo nextest list` finds in `dir`.
pub(crate) fn nextest_list(
    dir: &Path,
    target_dir: &Path,
    args: &[&str],
) -> BTreeSet<(String, String, bool)> {
    let mut list = Command::new("cargo");
    list.args(["nextest", "list", "--message-format", "json"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS");
    // Under nextest, NEXTEST_* (the profile, say) would leak into the inner run.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NEXTEST") {
            list.env_remove(key);
        }
    }
    let output = list.output().expect("run cargo nextest list");
    assert!(
        output.status.success(),
        "cargo nextest list failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("nextest JSON");
    let mut tests = BTreeSet::new();
    for (binary_id, suite) in list["rust-suites"].as_object().expect("rust-suites") {
        for (name, case) in suite["testcases"].as_object().expect("testcases") {
            let ignored = case["ignored"].as_bool().unwrap_or(false);
            tests.insert((binary_id.clone(), name.clone(), ignored));
        }
    }
    tests
}

pub(crate) fn graph_tests(
    graph: &Graph,
    packages: Option<&[&str]>,
) -> BTreeSet<(String, String, bool)> {
    graph
        .tests()
        .iter()
        .filter(|test| !test.id.name.is_empty())
        .filter(|test| {
            packages.is_none_or(|names| names.contains(&graph.package(test.package).name.as_str()))
        })
        .map(|test| {
            (
                test.id.binary_id.clone(),
                test.id.name.clone(),
                test.ignored,
            )
        })
        .collect()
}

#[test]
fn test_ids_match_cargo_nextest_list_on_the_fixture() {
    let dir = fixture("graph-basic");
    let target = tempfile::tempdir().expect("target dir");
    let listed = nextest_list(&dir, target.path(), &["--workspace"]);
    assert_eq!(graph_tests(&basic(), None), listed);
}

#[test]
fn test_ids_match_cargo_nextest_list_on_this_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nextest-list-self");
    let listed = nextest_list(&root, &target, &["-p", "hourglass-graph"]);
    let graph = Graph::build(&root, &BuildOptions::default()).expect("graph of this workspace");
    assert_eq!(graph_tests(&graph, Some(&["hourglass-graph"])), listed);
}

#[test]
fn a_harness_false_target_is_one_test_without_a_name() {
    let graph = basic();
    let index = graph
        .find_test(&RustTestId::new("app::custom", ""))
        .expect("the harness = false target");
    assert_eq!(graph.test(index).item, None);
}

#[test]
fn a_helper_reaches_tests_through_a_macro_a_trait_and_the_binary() {
    let graph = basic();
    let twice = item(&graph, "shapes", "util::twice");
    let tests = affected(&graph, &[twice]);
    for expected in [
        "shapes area::tests::square_area",
        "shapes::describe describe_mentions_area",
        "app::run binary_prints_area",
        "app::custom ",
    ] {
        assert!(tests.contains(expected), "{expected} not in {tests:?}");
    }
    assert!(
        !tests.contains("shapes tests::banner_is_not_empty"),
        "{tests:?}"
    );
    assert!(
        !tests.contains("app::bin/app cli::tests::renders_one_decimal"),
        "{tests:?}"
    );
}

#[test]
fn a_change_to_one_impl_does_not_reach_unrelated_tests() {
    let graph = basic();
    let lines = graph
        .items()
        .find(|(_, item)| item.krate == "shapes" && item.name == "area::circle::Circle::area")
        .map(|(_, item)| item.lines)
        .expect("Circle::area");
    let changed = graph.items_at("shapes/src/area/circle.rs", lines);
    let tests = affected(&graph, &changed);
    assert!(
        tests.contains("shapes area::circle::tests::circle_area"),
        "{tests:?}"
    );
    assert!(
        !tests.contains("shapes tests::banner_is_not_empty"),
        "{tests:?}"
    );
    assert!(
        !tests.contains("shapes tests::named_says_hello"),
        "{tests:?}"
    );
}

#[test]
fn an_included_file_reaches_the_item_that_includes_it() {
    let graph = basic();
    let FileStatus::Included { by } = graph.file_status("shapes/src/banner.txt") else {
        panic!("banner.txt is included");
    };
    let names: Vec<_> = by.iter().map(|&id| graph.item(id).name.as_str()).collect();
    assert_eq!(names, ["BANNER"]);
    assert!(affected(&graph, &by).contains("shapes tests::banner_is_not_empty"));
}

#[test]
fn files_outside_every_module_tree_are_unknown_and_cfg_alternatives_are_parsed() {
    let graph = basic();
    assert_eq!(
        graph.file_status("shapes/src/orphan.rs"),
        FileStatus::Unknown
    );
    assert!(graph.items_in_file("shapes/src/orphan.rs").is_empty());
    assert_eq!(
        graph.file_status("shapes/src/sys_unix.rs"),
        FileStatus::Parsed
    );
    assert_eq!(
        graph.file_status("shapes/src/sys_other.rs"),
        FileStatus::Parsed
    );
    assert_eq!(
        graph.file_status("shapes/src/area/circle.rs"),
        FileStatus::Parsed
    );
}

#[test]
fn a_derive_macro_reaches_the_users_of_the_types_it_derives_for() {
    let graph = basic();
    let helper = item(&graph, "derive-hello", "struct_name");
    let tests = affected(&graph, &[helper]);
    assert!(
        tests.contains("shapes tests::named_says_hello"),
        "{tests:?}"
    );
    let chain = graph
        .explain(
            &[helper],
            graph
                .find_test(&RustTestId::new("shapes", "tests::named_says_hello"))
                .unwrap(),
        )
        .expect("a chain");
    assert!(
        chain
            .iter()
            .any(|edge| edge.reason == EdgeReason::ProcMacro),
        "{chain:?}"
    );
}

#[test]
fn a_build_script_reaches_its_package() {
    let graph = basic();
    let main = item(&graph, "app::build-script", "main");
    let tests = affected(&graph, &[main]);
    assert!(
        tests.contains("app::bin/app cli::tests::renders_one_decimal"),
        "{tests:?}"
    );
    assert!(!tests.iter().any(|t| t.starts_with("shapes")), "{tests:?}");
}

#[test]
fn lines_outside_items_give_the_module_and_the_module_reaches_its_items() {
    let graph = basic();
    // Line 1 of lib.rs is the crate doc comment: outside every item.
    let at = graph.items_at("shapes/src/lib.rs", LineRange::new(1, 1));
    assert_eq!(at.len(), 1);
    assert_eq!(graph.item(at[0]).kind, ItemKind::Mod);
    let tests = affected(&graph, &at);
    assert!(
        tests.contains("shapes tests::banner_is_not_empty"),
        "{tests:?}"
    );
    assert!(
        tests.contains("shapes area::tests::square_area"),
        "{tests:?}"
    );
}

#[test]
fn explain_gives_a_chain_from_the_change_to_the_test() {
    let graph = basic();
    let twice = item(&graph, "shapes", "util::twice");
    let test = graph
        .find_test(&RustTestId::new("shapes", "area::tests::square_area"))
        .unwrap();
    let chain = graph.explain(&[twice], test).expect("reachable");
    assert_eq!(chain.first().map(|edge| edge.from), Some(twice));
    assert_eq!(chain.last().map(|edge| edge.to), graph.test(test).item);
    for pair in chain.windows(2) {
        assert_eq!(pair[0].to, pair[1].from);
    }
    let unrelated = graph
        .find_test(&RustTestId::new("shapes", "tests::banner_is_not_empty"))
        .unwrap();
    assert_eq!(graph.explain(&[twice], unrelated), None);
}

#[test]
fn a_warm_build_reads_every_file_from_the_cache_and_agrees_with_the_cold_one() {
    let cache = tempfile::tempdir().unwrap();
    let options = BuildOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        source: None,
    };
    let cold = Graph::build(&fixture("graph-basic"), &options).unwrap();
    let warm = Graph::build(&fixture("graph-basic"), &options).unwrap();
    assert_eq!(cold.stats().cache_hits, 0);
    assert_eq!(warm.stats().cache_hits, warm.stats().files);
    assert_eq!(cold.to_json()["edges"], warm.to_json()["edges"]);
    assert_eq!(cold.tests(), warm.tests());
}

/// A tree of files held in memory, under a root that does not exist on disk.
#[derive(Debug)]
struct InMemory {
    files: std::collections::BTreeMap<PathBuf, Vec<u8>>,
    ids: bool,
}

impl InMemory {
    /// Every file under `dir` on disk, moved under `root`.
    fn copy_of(dir: &Path, root: &Path, ids: bool) -> InMemory {
        let mut files = std::collections::BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(dir).unwrap();
                    files.insert(root.join(relative), std::fs::read(&path).unwrap());
                }
            }
        }
        InMemory { files, ids }
    }
}

impl hourglass_graph::SourceTree for InMemory {
    fn read_into(&self, path: &Path, into: &mut Vec<u8>) -> bool {
        self.files
            .get(path)
            .map(|bytes| into.extend_from_slice(bytes))
            .is_some()
    }
    fn content_id(&self, path: &Path) -> Option<[u8; 20]> {
        let bytes = self.files.get(path).filter(|_| self.ids)?;
        Some(blake3::hash(bytes).as_bytes()[..20].try_into().unwrap())
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.files
            .keys()
            .any(|file| file.starts_with(path) && file != path)
    }
    fn read_dir(&self, path: &Path) -> Option<Vec<(String, bool)>> {
        if !self.is_dir(path) {
            return None;
        }
        let mut entries: Vec<(String, bool)> = self
            .files
            .keys()
            .filter_map(|file| {
                let rest = file.strip_prefix(path).ok()?;
                let mut parts = rest.components();
                let first = parts.next()?.as_os_str().to_string_lossy().into_owned();
                Some((first, parts.next().is_some()))
            })
            .collect();
        entries.dedup();
        Some(entries)
    }
}

#[test]
fn a_graph_read_from_another_source_is_the_graph_of_the_same_files_on_disk() {
    let on_disk = Graph::build(&fixture("safety-shapes"), &BuildOptions::default()).unwrap();
    let root = Path::new("/nonexistent/hourglass-source-test");
    for ids in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let source = InMemory::copy_of(&fixture("safety-shapes"), root, ids);
        let options = BuildOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            source: Some(std::sync::Arc::new(source)),
        };
        let cold = Graph::build(root, &options).unwrap();
        let warm = Graph::build(root, &options).unwrap();
        for graph in [&cold, &warm] {
            assert_eq!(graph.tests(), on_disk.tests());
            assert_eq!(graph.to_json()["edges"], on_disk.to_json()["edges"]);
            assert_eq!(graph.to_json()["packages"], on_disk.to_json()["packages"]);
        }
        assert_eq!(warm.stats().cache_hits, warm.stats().files, "ids: {ids}");
    }
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write("src/lib.rs", "mod bad;\n\n#[test]\nfn fine() {}\n");
    write("src/bad.rs", "pub fn oops( {\n");
    let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
    let errors = graph.parse_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "src/bad.rs");
    assert_eq!(errors[0].1, 1);
    assert!(matches!(
        graph.file_status("src/bad.rs"),
        FileStatus::ParseError { line: 1, .. }
    ));
    assert!(
        graph
            .find_test(&RustTestId::new("broken", "fine"))
            .is_some()
    );
}

#[test]
fn json_and_dot_describe_the_same_graph() {
    let graph = basic();
    let json = graph.to_json();
    assert_eq!(
        json["items"].as_array().unwrap().len(),
        graph.items().count()
    );
    assert_eq!(json["tests"].as_array().unwrap().len(), graph.tests().len());
    let mut dot = Vec::new();
    graph.to_dot(&mut dot).unwrap();
    let dot = String::from_utf8(dot).unwrap();
    assert!(dot.starts_with("digraph"));
    assert_eq!(dot.matches(" -> ").count(), graph.stats().edges);
}

/// Writes `files` (path, contents) under a new temporary directory.
fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// A method name implemented by many types goes through one hub node per crate instead of an
/// edge from every implementation to every caller: each implementation still reaches each
/// caller, the explanation still reads as one step, and a crate that cannot see an
/// implementation is not reached by it.
#[test]
fn a_method_name_with_many_impls_reaches_every_caller_through_a_hub() {
    let mut types = String::from("pub trait Area { fn area(&self) -> u32; }\n");
    for n in 0..8 {
        let _ = writeln!(
            types,
            "pub struct S{n};\nimpl Area for S{n} {{\n    fn area(&self) -> u32 {{ {n} }}\n}}"
        );
    }
    let dir = workspace(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"shapes\", \"user\", \"other\"]\nresolver = \"2\"\n",
        ),
        (
            "shapes/Cargo.toml",
            "[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("shapes/src/lib.rs", &types),
        (
            "user/Cargo.toml",
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nshapes = { path = \"../shapes\" }\n",
        ),
        (
            "user/src/lib.rs",
            "pub fn total<T: shapes::Area>(all: &[T]) -> u32 {\n    all.iter().map(|s| s.area()).sum()\n}\n\n#[test]\nfn sums() {\n    assert_eq!(total(&[shapes::S1]), 1);\n}\n\n#[test]\nfn unrelated() {\n    assert_eq!(1 + 1, 2);\n}\n",
        ),
        (
            "other/Cargo.toml",
            "[package]\nname = \"other\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "other/src/lib.rs",
            "pub struct Mine;\nimpl Mine {\n    pub fn area(&self) -> u32 { 0 }\n}\n\n#[test]\nfn calls_its_own_area() {\n    let x = Mine;\n    assert_eq!(x.area(), 0);\n}\n",
        ),
    ]);
    let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
    assert!(
        graph.items().any(|(id, _)| graph.is_name_hub(id)),
        "ten methods named `area` go through a hub"
    );
    let sums = graph
        .find_test(&RustTestId::new("user", "sums"))
        .expect("test sums");
    for n in 0..8 {
        let method = item(&graph, "shapes", &format!("S{n}::area"));
        let reached = affected(&graph, &[method]);
        assert!(
            reached.contains("user sums"),
            "S{n}::area reaches {reached:?}"
        );
        assert!(!reached.contains("user unrelated"), "{reached:?}");
        // `other` does not depend on `shapes`: its `.area()` call cannot reach these impls.
        assert!(!reached.contains("other calls_its_own_area"), "{reached:?}");
        let chain = graph.explain(&[method], sums).expect("reached");
        let method_steps: Vec<_> = chain
            .iter()
            .filter(|edge| edge.reason == EdgeReason::MethodName)
            .collect();
        assert_eq!(method_steps.len(), 1, "{chain:?}");
        assert_eq!(method_steps[0].from, method);
        assert!(
            chain
                .iter()
                .all(|edge| !graph.is_name_hub(edge.from) && !graph.is_name_hub(edge.to))
        );
    }
    // The impl in `other` is within reach of its own test and of nothing in `user`.
    let mine = item(&graph, "other", "Mine::area");
    let reached = affected(&graph, &[mine]);
    assert!(reached.contains("other calls_its_own_area"), "{reached:?}");
    assert!(!reached.contains("user sums"), "{reached:?}");
}

/// A one-package workspace `p` whose `src/lib.rs` is `lib`, plus more files under `src/`.
fn one_package(lib: &str, more: &[(&str, &str)]) -> (tempfile::TempDir, Graph) {
    let mut files = vec![
        (
            "Cargo.toml",
            "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde_json = \"1\"\n",
        ),
        ("src/lib.rs", lib),
    ];
    files.extend_from_slice(more);
    let dir = workspace(&files);
    let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
    (dir, graph)
}

/// Method syntax calls only functions that take `self`; `Vec::new()` and `u32::from()` do not
/// reach workspace functions that merely share the last name.
#[test]
fn loose_name_matches_skip_what_the_language_rules_out() {
    let (_dir, graph) = one_package(
        "pub struct A;\n\
         impl A {\n    pub fn build() -> A { A }\n    pub fn from(x: u32) -> u32 { x }\n    pub fn new() -> A { A }\n    pub fn size(&self) -> u32 { 1 }\n}\n\
         pub trait Make { fn make() -> u32; }\n\
         impl<T: Clone> Make for T {\n    fn make() -> u32 { 7 }\n}\n\
         pub fn caller(v: Vec<u32>) -> usize {\n    let _ = v.build();\n    let _ = u32::from(1u8);\n    let _ = Vec::<u32>::new();\n    let _ = String::make();\n    v.size()\n}\n\
         #[test]\nfn t() {\n    assert_eq!(caller(vec![]), 0);\n}\n",
        &[],
    );
    let t = graph.find_test(&RustTestId::new("p", "t")).expect("test t");
    for (name, reaches) in [
        ("A::build", false),
        ("A::from", false),
        ("A::new", false),
        ("A::size", true),
        // `String::make()` can only be the blanket impl's (or the trait's) `make`.
        ("T::make", true),
    ] {
        let id = item(&graph, "p", name);
        let reached = affected(&graph, &[id]);
        assert_eq!(reached.contains("p t"), reaches, "{name}: {reached:?}");
        assert_eq!(graph.explain(&[id], t).is_some(), reaches, "{name}");
    }
}

/// Tests and `#[cfg(test)]` code exist only in their crate's test build: other code cannot name
/// them, however loosely names match, while test code of the same crate still can.
#[test]
fn test_code_is_matched_loosely_only_from_test_code() {
    let (_dir, graph) = one_package(
        "#[macro_export]\nmacro_rules! twice { ($e:expr) => { $e + $e } }\n\
         pub fn shipped() -> u32 {\n    twice!(helper())\n}\n\
         pub fn helper() -> u32 { 1 }\n\
         #[cfg(test)]\nmod tests;\n\
         #[cfg(test)]\nmod inline {\n    pub fn fixture() -> u32 { 2 }\n    #[test]\n    fn uses_fixture() {\n        assert_eq!(crate::twice!(fixture()), 4);\n    }\n}\n",
        &[(
            "src/tests.rs",
            "pub fn helper() -> u32 { 3 }\n#[test]\nfn shipped_works() {\n    assert_eq!(crate::shipped(), 2);\n}\n",
        )],
    );
    // `shipped` names `helper` only inside macro input: a loose match. The test-only `helper`
    // of `tests.rs` cannot be it.
    let test_helper = graph
        .items()
        .find(|(_, item)| item.name == "tests::helper")
        .map(|(id, _)| id)
        .expect("tests::helper");
    let shipped = item(&graph, "p", "shipped");
    let reached_from_test_helper: Vec<_> = graph
        .affected_tests(&[test_helper])
        .into_iter()
        .map(|(test, _)| graph.test(test).id.to_string())
        .collect();
    assert!(
        !reached_from_test_helper.contains(&"p tests::shipped_works".to_owned()),
        "{reached_from_test_helper:?}"
    );
    assert!(
        graph
            .explain(
                &[test_helper],
                graph
                    .find_test(&RustTestId::new("p", "tests::shipped_works"))
                    .unwrap()
            )
            .is_none()
    );
    // The real `helper` still reaches the test through `shipped`.
    let helper = item(&graph, "p", "helper");
    assert!(affected(&graph, &[helper]).contains("p tests::shipped_works"));
    assert!(affected(&graph, &[shipped]).contains("p tests::shipped_works"));
    // Test code of the same crate matches test code loosely: `fixture` in macro input.
    let fixture = item(&graph, "p", "inline::fixture");
    assert!(affected(&graph, &[fixture]).contains("p inline::uses_fixture"));
}

/// An integration test target is compiled only as a test: a helper there that is not marked
/// as test code may still name one of its tests.
#[test]
fn all_code_of_an_integration_test_target_is_test_code() {
    let (_dir, graph) = one_package(
        "pub fn lib_fn() -> u32 { 1 }\n",
        &[(
            "tests/flow.rs",
            "macro_rules! run { ($e:expr) => { $e } }\n\
             #[test]\nfn step() { assert_eq!(p::lib_fn(), 1); }\n\
             fn all_steps() { run!(step()) }\n\
             #[test]\nfn whole_flow() { all_steps(); }\n",
        )],
    );
    let step = item(&graph, "p::flow", "step");
    assert!(affected(&graph, &[step]).contains("p::flow whole_flow"));
}

/// Hubs change how many edges the graph has, never what reaches what: for every item of the
/// fixtures and of this repository, the tests it reaches are the same with hubs and with an
/// edge from every candidate to every user.
#[test]
fn hubs_leave_every_item_reaching_the_same_tests() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for root in [fixture("graph-basic"), fixture("safety-shapes"), repository] {
        let options = BuildOptions::default();
        let hubs = Graph::build(&root, &options).unwrap();
        let direct = Graph::build_without_hubs(&root, &options).unwrap();
        assert_eq!(
            hubs.stats().items,
            direct.stats().items,
            "{}",
            root.display()
        );
        assert!(hubs.stats().edges <= direct.stats().edges);
        let mut compared = 0;
        for (id, item) in direct.items() {
            if item.kind == ItemKind::Other || direct.is_name_hub(id) {
                continue;
            }
            assert_eq!(hubs.item(id), item, "item ids agree");
            assert_eq!(
                affected(&hubs, &[id]),
                affected(&direct, &[id]),
                "{} in {}",
                item.name,
                root.display()
            );
            compared += 1;
        }
        assert!(
            compared > 20,
            "{compared} items compared in {}",
            root.display()
        );
        if root.ends_with("../..") {
            assert!(
                hubs.items().any(|(id, _)| hubs.is_name_hub(id))
                    && hubs.stats().edges < direct.stats().edges,
                "this repository has names that go through hubs"
            );
        }
    }
}

/// A path through a trait (`Default::default()`, `fmt::Display::fmt`) or through a type from
/// another crate (`Value::from`) dispatches to impls in the workspace: those stay loose matches.
#[test]
fn trait_and_foreign_type_paths_still_reach_workspace_impls() {
    let (_dir, graph) = one_package(
        "use serde_json::Value;\n\
         use std::fmt;\n\
         pub struct Local(u32);\n\
         impl From<Local> for Value {\n    fn from(l: Local) -> Value { Value::Null }\n}\n\
         impl fmt::Display for Local {\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { Ok(()) }\n}\n\
         impl Default for Local {\n    fn default() -> Local { Local(3) }\n}\n\
         pub fn reset<T: Default>(slot: &mut T) {\n    *slot = Default::default();\n}\n\
         pub fn show<T: fmt::Display>(x: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n    fmt::Display::fmt(x, f)\n}\n\
         pub fn to_json<T>(x: T) -> Value where Value: From<T> {\n    Value::from(x)\n}\n",
        &[],
    );
    for (user, dependency) in [
        ("reset", "Local::default"),
        ("show", "Local::fmt"),
        ("to_json", "Value::from"),
    ] {
        let user_id = item(&graph, "p", user);
        let dependency_id = item(&graph, "p", dependency);
        let deps = graph.dependencies_of(user_id);
        assert!(
            deps.iter()
                .any(|edge| edge.from == dependency_id && edge.reason == EdgeReason::NameMatch),
            "{user} depends on {dependency}: {deps:?}"
        );
    }
}

/// Two functions written on one line: a change of that line changes both, and each reaches
/// its own test.
#[test]
fn items_on_the_same_lines_are_all_changed() {
    let dir = workspace(&[
        (
            "Cargo.toml",
            "[package]\nname = \"one\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "src/lib.rs",
            "pub fn a() -> u32 { 1 } pub fn b() -> u32 { 2 }\n\n#[test]\nfn uses_a() {\n    assert_eq!(a(), 1);\n}\n\n#[test]\nfn uses_b() {\n    assert_eq!(b(), 2);\n}\n",
        ),
    ]);
    let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
    let at = graph.items_at("src/lib.rs", LineRange::new(1, 1));
    let names: BTreeSet<&str> = at.iter().map(|&id| graph.item(id).name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["a", "b"]), "{names:?}");
    let tests = affected(&graph, &at);
    assert_eq!(
        tests,
        BTreeSet::from(["one uses_a".to_owned(), "one uses_b".to_owned()]),
    );
}

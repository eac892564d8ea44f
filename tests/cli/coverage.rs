//! `hourglass coverage` and `select --coverage`: a real instrumented build
//! and nextest run of a small crate, then selections after changes to it.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{TempRepo, stderr, stdout};

const LIB: &str = r"pub fn area(kind: u8, size: u32) -> u32 {
    if kind == 0 {
        square(size)
    } else {
        circle(size)
    }
}

pub fn square(size: u32) -> u32 {
    size * size
}

pub fn circle(size: u32) -> u32 {
    size * 3
}

pub struct Grid {
    pub cells: u32,
}

impl Grid {
    pub fn count(&self) -> u32 {
        self.cells
    }
}

pub const fn scale() -> u32 {
    2
}
";

const TESTS: &str = r"use shapes::*;

#[test]
fn square_area() {
    assert_eq!(area(0, 3), 9);
}

#[test]
fn circle_area() {
    assert_eq!(area(1, 3), 9);
}

#[test]
fn grid_count() {
    assert_eq!(Grid { cells: 4 }.count(), 4);
}

#[test]
fn scaled() {
    const TWICE: u32 = scale() * 2;
    assert_eq!(TWICE, 4);
}
";

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `command` without the NEXTEST_* variables of the nextest running this
/// test (its profile, its run), so that it runs a nextest of its own.
fn without_nextest(mut command: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NEXTEST") {
            command.env_remove(key);
        }
    }
    command
}

/// The crate, committed, and a coverage map of that commit.
struct Covered {
    repo: TempRepo,
    map: String,
    target: tempfile::TempDir,
}

fn covered() -> Option<Covered> {
    covered_crate(LIB, TESTS, 4)
}

/// A crate of this library and integration tests, committed, and a
/// coverage map of that commit.
fn covered_crate(lib: &str, tests: &str, count: u64) -> Option<Covered> {
    if !has_nextest() {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-nextest is missing under CI"
        );
        eprintln!("skipped: cargo-nextest is not installed");
        return None;
    }
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    repo.write("src/lib.rs", lib);
    repo.write("tests/area.rs", tests);
    repo.write(".gitignore", "target\n.hourglass\n");
    repo.commit_all("shapes");
    let target = tempfile::tempdir().unwrap();
    let map = target.path().join("coverage.map").display().to_string();
    let output = without_nextest(crate::support::hourglass())
        .args([
            "coverage",
            "--target-dir",
            &target.path().display().to_string(),
            "--out",
            &map,
            "--format",
            "json",
        ])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["tests"], count, "{summary}");
    assert_eq!(summary["uncovered_tests"], 0, "{summary}");
    Some(Covered { repo, map, target })
}

impl Covered {
    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.repo.join("src/lib.rs")).unwrap();
        assert!(text.contains(from), "no `{from}`");
        self.repo.write("src/lib.rs", text.replacen(from, to, 1));
    }

    /// The names of the selected tests, with and without the map.
    fn select(&self) -> (BTreeSet<String>, BTreeSet<String>, serde_json::Value) {
        self.select_with(&self.map)
    }

    /// The same with another map.
    fn select_with(&self, map: &str) -> (BTreeSet<String>, BTreeSet<String>, serde_json::Value) {
        let names = |args: &[&str]| {
            let output = self.repo.run(args);
            assert!(output.status.success(), "{}", stderr(&output));
            let document: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
            let names = document["selected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|test| test["name"].as_str().unwrap().to_owned())
                .collect::<BTreeSet<_>>();
            (names, document)
        };
        let (with, document) = names(&["select", "--format", "json", "--coverage", map]);
        let (without, _) = names(&["select", "--format", "json"]);
        (with, without, document)
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn a_body_change_selects_only_the_tests_that_ran_the_function() {
    let Some(covered) = covered() else { return };
    covered.edit("    size * 3\n", "    size + size + size\n");
    let (with, without, document) = covered.select();
    assert_eq!(without, set(&["circle_area", "square_area"]));
    assert_eq!(with, set(&["circle_area"]));
    assert_eq!(document["coverage"]["body_changes"], 1, "{document}");
    assert_eq!(document["coverage"]["left_out"], 1, "{document}");
    // And the left-out test indeed passes with the change: run what was not selected.
    let output = without_nextest(Command::new("cargo"))
        .args([
            "nextest",
            "run",
            "--no-fail-fast",
            "-E",
            "test(=square_area)",
        ])
        .current_dir(covered.repo.path())
        .env("CARGO_TARGET_DIR", covered.target.path().join("plain"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn signatures_const_fns_and_methods_follow_their_kind() {
    let Some(covered) = covered() else { return };
    // An attribute: the function's code may change for every caller
    // (`#[track_caller]` changes what it reports), coverage or not.
    covered.edit("pub fn circle(", "#[track_caller]\npub fn circle(");
    let (with, without, _) = covered.select();
    assert_eq!(with, without);
    assert_eq!(with, set(&["circle_area", "square_area"]));
    covered.repo.git(&["checkout", "--", "src/lib.rs"]);
    // A const fn runs while compiling: the test that evaluates it did not run it.
    covered.edit("    2\n}", "    1 + 1\n}");
    let (with, without, _) = covered.select();
    assert_eq!(with, set(&["scaled"]));
    assert_eq!(with, without);
    covered.repo.git(&["checkout", "--", "src/lib.rs"]);
    // A method's body: only the test that ran it.
    covered.edit("        self.cells\n", "        self.cells + 0\n");
    let (with, _, _) = covered.select();
    assert_eq!(with, set(&["grid_count"]));
}

#[test]
fn a_change_since_the_covered_commit_keeps_the_tests_it_may_have_rerouted() {
    let Some(covered) = covered() else { return };
    // Committed after the map: squares now go through `circle` too.
    covered.edit(
        "        square(size)\n",
        "        circle(size) * size / 3\n",
    );
    covered.repo.commit_all("squares through circle");
    // Now only `circle`'s body changes, against the new base.
    covered.edit("    size * 3\n", "    size + size + size\n");
    let (with, without, _) = covered.select();
    assert_eq!(without, set(&["circle_area", "square_area"]));
    // At the map's commit `square_area` did not run `circle`, but it ran
    // `area`, whose body changed since: its coverage is stale, so it stays.
    assert_eq!(with, set(&["circle_area", "square_area"]));
}

#[test]
fn a_map_that_is_cut_short_is_refused_with_its_path() {
    let Some(covered) = covered() else { return };
    let bytes = std::fs::read(&covered.map).unwrap();
    std::fs::write(&covered.map, &bytes[..bytes.len() / 2]).unwrap();
    covered.edit("    size * 3\n", "    size + size + size\n");
    let output = covered.repo.run(&["select", "--coverage", &covered.map]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&covered.map) && message.contains("incomplete"),
        "{message}"
    );
}

/// A committed crate with no code.
fn empty_crate() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n[workspace]\n",
    );
    repo.write("src/lib.rs", "");
    repo.commit_all("a");
    repo
}

#[test]
fn a_dirty_tree_is_not_covered_without_allow_dirty() {
    let repo = empty_crate();
    repo.write("src/lib.rs", "pub fn f() {}\n");
    let output = repo.run(&["coverage", "--out", "x.map"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("src/lib.rs"),
        "{}",
        stderr(&output)
    );
    assert!(!repo.join("x.map").exists());
}

#[test]
fn an_import_change_reaches_only_the_items_that_name_it() {
    let Some(covered) = covered() else { return };
    // A new import, used in `circle`'s body only.
    covered.edit(
        "pub fn area(",
        "use std::ops::Mul as Times;\n\npub fn area(",
    );
    covered.edit("    size * 3\n", "    Times::mul(size, 3)\n");
    let (with, without, document) = covered.select();
    assert_eq!(
        without,
        set(&["circle_area", "grid_count", "scaled", "square_area"])
    );
    assert_eq!(with, set(&["circle_area"]), "{document}");
    assert_eq!(document["coverage"]["import_changes"], 1, "{document}");
    covered.repo.git(&["checkout", "--", "src/lib.rs"]);
    // The same import named in a signature: followed through the graph.
    covered.edit(
        "pub fn area(",
        "use std::primitive::u32 as Size;\n\npub fn area(",
    );
    covered.edit("pub fn circle(size: u32)", "pub fn circle(size: Size)");
    let (with, _, _) = covered.select();
    assert_eq!(with, set(&["circle_area", "square_area"]));
}

#[test]
fn a_new_function_only_changed_code_names_reaches_nothing_of_its_own() {
    let Some(covered) = covered() else { return };
    covered.edit("    size * 3\n", "    triple(size)\n");
    covered.edit(
        "    2\n}\n",
        "    2\n}\n\nfn triple(size: u32) -> u32 {\n    size * 3\n}\n",
    );
    let (with, without, document) = covered.select();
    // Without the map, the blank line between the two functions is a line
    // of the crate's root module: every test.
    assert_eq!(without.len(), 4);
    assert_eq!(with, set(&["circle_area"]), "{document}");
    assert_eq!(document["coverage"]["silent_functions"], 1, "{document}");
    covered.repo.git(&["checkout", "--", "src/lib.rs"]);
    // A name that unchanged code also writes (the field `cells`) may be a
    // call the change reroutes: followed through the graph.
    covered.edit("    size * 3\n", "    cells(size)\n");
    covered.edit(
        "    2\n}\n",
        "    2\n}\n\nfn cells(size: u32) -> u32 {\n    size * 3\n}\n",
    );
    let (with, _, document) = covered.select();
    assert_eq!(with, set(&["circle_area", "square_area"]), "{document}");
    assert_eq!(document["coverage"]["silent_functions"], 0, "{document}");
}

#[test]
fn a_parameter_renamed_with_the_body_is_still_a_body_change() {
    let Some(covered) = covered() else { return };
    covered.edit(
        "pub fn circle(size: u32) -> u32 {\n    size * 3\n}",
        "pub fn circle(radius: u32) -> u32 {\n    radius * 3\n}",
    );
    let (with, _, document) = covered.select();
    assert_eq!(with, set(&["circle_area"]), "{document}");
    assert_eq!(document["coverage"]["body_changes"], 1, "{document}");
    covered.repo.git(&["checkout", "--", "src/lib.rs"]);
    // A parameter's type is the signature: every caller.
    covered.edit(
        "pub fn circle(size: u32) -> u32 {\n    size * 3\n}",
        "pub fn circle(size: impl Into<u32>) -> u32 {\n    size.into() * 3\n}",
    );
    let (with, _, _) = covered.select();
    assert_eq!(with, set(&["circle_area", "square_area"]));
}

#[test]
fn a_signature_change_reaches_the_tests_that_ran_its_callers() {
    // `circle` is called only through `round`, which only the circle branch
    // of `area` takes: `square_area` runs `area` but never `round`.
    let lib = LIB
        .replacen("        circle(size)\n", "        round(size)\n", 1)
        .replacen(
            "pub fn circle(",
            "fn round(size: u32) -> u32 {\n    circle(size)\n}\n\npub fn circle(",
            1,
        );
    let Some(covered) = covered_crate(&lib, TESTS, 4) else {
        return;
    };
    // Generic now: every caller still builds, and may call another function.
    covered.edit(
        "pub fn circle(size: u32) -> u32 {\n    size * 3\n}",
        "pub fn circle<T: Into<u32>>(size: T) -> u32 {\n    size.into() * 3\n}",
    );
    let (with, without, document) = covered.select();
    assert_eq!(without, set(&["circle_area", "square_area"]));
    assert_eq!(with, set(&["circle_area"]), "{document}");
    assert_eq!(document["coverage"]["followed_items"], 0, "{document}");
    // Also named where no test can be seen running it (a static's
    // initializer): followed through the graph, as without the map.
    let with_static = format!("{lib}\npub static AREA: fn(u32) -> u32 = circle;\n");
    let Some(covered) = covered_crate(&with_static, TESTS, 4) else {
        return;
    };
    covered.edit("pub fn circle(", "#[inline(never)]\npub fn circle(");
    let (with, _, document) = covered.select();
    assert_eq!(with, set(&["circle_area", "square_area"]), "{document}");
    assert_eq!(document["coverage"]["followed_items"], 1, "{document}");
}

#[test]
fn a_deleted_function_nothing_names_does_not_change_the_one_before_it() {
    let Some(covered) = covered() else { return };
    // The map is of a commit with `unused_helper` after `circle`; deleting
    // it leaves the diff's anchor on `circle`'s last line.
    let lib = std::fs::read_to_string(covered.repo.join("src/lib.rs")).unwrap();
    let with_helper = lib.replacen(
        "    size * 3\n}\n",
        "    size * 3\n}\nfn unused_helper() -> u32 {\n    7\n}\n",
        1,
    );
    covered.repo.write("src/lib.rs", &with_helper);
    covered.repo.commit_all("a helper nobody calls");
    let map = remap(&covered);
    covered.repo.write("src/lib.rs", &lib);
    let (with, without, document) = covered.select_with(&map);
    assert_eq!(without, set(&["circle_area", "square_area"]));
    assert_eq!(with, set(&[]), "{document}");
    // Unchanged code still names it (in a comment here), so it may have
    // been called by a name the graph cannot follow; but no test ran it.
    covered.repo.write(
        "src/lib.rs",
        with_helper.replace("pub struct Grid", "// unused_helper\npub struct Grid"),
    );
    covered.repo.commit_all("a comment naming it");
    let map = remap(&covered);
    covered.repo.write(
        "src/lib.rs",
        lib.replace("pub struct Grid", "// unused_helper\npub struct Grid"),
    );
    let (with, without, document) = covered.select_with(&map);
    assert_eq!(without, set(&["circle_area", "square_area"]));
    assert_eq!(with, set(&[]), "{document}");
    assert_eq!(document["coverage"]["deleted_functions"], 1, "{document}");
}

#[test]
fn a_deleted_function_reaches_the_tests_that_ran_it() {
    let Some(covered) = covered() else { return };
    // A commit where `area` no longer calls `square`, which now follows
    // `circle` and is still named (in a comment); the map, of the first
    // commit, says `square_area` alone ran `square`. Deleting `square`
    // anchors the diff on `circle`'s last line, which both tests reach.
    let lib = std::fs::read_to_string(covered.repo.join("src/lib.rs")).unwrap();
    let inlined = lib
        .replacen("        square(size)\n", "        size * size\n", 1)
        .replacen(
            "pub fn square(size: u32) -> u32 {\n    size * size\n}\n\n",
            "",
            1,
        )
        .replacen("pub struct Grid", "// square\npub struct Grid", 1);
    let with_square = inlined.replacen(
        "    size * 3\n}\n",
        "    size * 3\n}\npub fn square(size: u32) -> u32 {\n    size * size\n}\n",
        1,
    );
    assert_ne!(with_square, lib);
    covered.repo.write("src/lib.rs", &with_square);
    covered
        .repo
        .commit_all("square after circle, called by nothing");
    let map = remap(&covered);
    covered.repo.write("src/lib.rs", &inlined);
    let (with, without, document) = covered.select_with(&map);
    assert_eq!(without, set(&["circle_area", "square_area"]));
    assert_eq!(with, set(&["square_area"]), "{document}");
    assert_eq!(document["coverage"]["deleted_functions"], 1, "{document}");
    assert_eq!(document["coverage"]["followed_items"], 0, "{document}");
}

/// The map of the fixture's first commit, claiming the commit checked out
/// now (its code differs only where a test says it does not matter).
fn remap(covered: &Covered) -> String {
    let head = covered.repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let out = covered.target.path().join(format!("{head}.map"));
    let mut map =
        hourglass_coverage::CoverageMap::read(std::path::Path::new(&covered.map)).unwrap();
    map.commit = head;
    map.write(&out).unwrap();
    out.display().to_string()
}

#[test]
fn files_of_hourglass_s_own_folder_do_not_make_the_tree_dirty() {
    let repo = empty_crate();
    repo.write(".hourglass/coverage.map", "an earlier map");
    repo.write(".hourglass/.gitignore", "*\n");
    let output = repo.run(&["coverage", "--out", "x.map", "--", "--no-such-nextest-flag"]);
    // Past the dirty check: nextest refuses the flag, and no test ran.
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no test wrote a profile"),
        "{}",
        stderr(&output)
    );
}

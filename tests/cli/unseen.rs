//! Tests the graph cannot see (written by a macro, by a build script), the
//! runner's list (`--tests-from`), the nextest tool-config form of the
//! selection and the pull-request script of the README, all through the
//! real cargo-nextest on `fixtures/workspaces/unseen-tests` (each test
//! builds it in its own target directory: a few seconds).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{TempRepo, hourglass, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A committed copy of the `unseen-tests` fixture, and a target directory.
struct Fixture {
    repo: TempRepo,
    target: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let repo = TempRepo::new();
        copy_dir(&fixture("fixtures/workspaces/unseen-tests"), repo.path());
        repo.commit_all("unseen-tests");
        Fixture {
            repo,
            target: tempfile::tempdir().unwrap(),
        }
    }

    /// Replaces `from` with `to` in a file of the working tree.
    fn edit(&self, path: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.repo.join(path)).unwrap();
        assert!(text.contains(from), "{path} has no `{from}`");
        self.repo.write(path, text.replacen(from, to, 1));
    }

    /// A command run in the repository with the fixture's target directory
    /// and without the NEXTEST_* variables of the nextest running this test.
    fn command(&self, mut command: Command) -> Command {
        command
            .current_dir(self.repo.path())
            .env("CARGO_TARGET_DIR", self.target.path())
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("HOURGLASS_DB");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("NEXTEST") {
                command.env_remove(key);
            }
        }
        command
    }

    fn hourglass(&self, args: &[&str]) -> Output {
        let mut command = self.command(hourglass());
        command.args(args);
        command.output().expect("run hourglass")
    }

    fn cargo(&self, args: &[&str]) -> Output {
        let mut command = self.command(Command::new("cargo"));
        command.args(args);
        command.output().expect("run cargo")
    }

    fn select_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["select", "--format", "json"];
        all.extend_from_slice(args);
        let output = self.hourglass(&all);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).expect("select prints JSON")
    }

    /// `cargo nextest list --message-format json`, written to `list.json`
    /// outside the repository; returns its path.
    fn write_list(&self) -> PathBuf {
        let output = self.cargo(&["nextest", "list", "--workspace", "--message-format", "json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let path = self.target.path().join("list.json");
        std::fs::write(&path, &output.stdout).unwrap();
        path
    }
}

/// `<binary id> <name>` of each selected test.
fn selected(json: &serde_json::Value) -> Vec<String> {
    json["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t["binary_id"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn reasons_of(json: &serde_json::Value, id: &str) -> String {
    json["selected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            format!(
                "{} {}",
                t["binary_id"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            ) == id
        })
        .map(|t| t["reasons"].to_string())
        .unwrap_or_default()
}

/// The `<binary id> <test name>` lines nextest printed as passed.
fn passed(output: &Output) -> Vec<String> {
    let text = format!("{}{}", stdout(output), stderr(output));
    let mut passed: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("PASS [")?;
            let (_, rest) = rest.split_once(']')?;
            let rest = rest.trim();
            // `(1/6) calc tests::adds`
            let (_, id) = rest.split_once(") ")?;
            Some(id.trim().to_owned())
        })
        .collect();
    passed.sort();
    passed
}

#[test]
fn a_test_the_graph_cannot_see_runs_under_the_filterset_without_a_list() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    // `mul` changed: the graph knows `calc tests::muls` uses it; it cannot
    // see that the test the build script writes uses it too.
    f.edit("calc/src/lib.rs", "a * b", "b * a");
    let json = f.select_json(&[]);
    assert_eq!(selected(&json), ["calc tests::muls"]);
    assert_eq!(json["open_binaries"], serde_json::json!(["calc", "stamp"]));
    let filterset = stdout(&f.hourglass(&["select", "--format", "nextest"]));
    let run = f.cargo(&["nextest", "run", "--workspace", "-E", filterset.trim()]);
    assert!(run.status.success(), "{}", stderr(&run));
    // Only the tests the graph knows are unaffected are left out.
    assert_eq!(
        passed(&run),
        [
            "calc table::one_and_one",
            "calc table::two_and_three",
            "calc tests::muls",
            "stamp written::stamped_product",
        ]
    );
}

#[test]
fn tests_from_a_list_selects_unseen_tests_by_module_and_by_what_their_binary_links() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    let list = f.write_list();
    let list = list.to_str().unwrap();

    f.edit("calc/src/lib.rs", "a * b", "b * a");
    let json = f.select_json(&["--tests-from", list]);
    // The included file's tests hide their code from the graph, and the build
    // script's test is in a binary that links the changed crate: both run.
    assert_eq!(
        selected(&json),
        [
            "calc table::one_and_one",
            "calc table::two_and_three",
            "calc tests::muls",
            "stamp written::stamped_product"
        ]
    );
    let why = reasons_of(&json, "calc table::one_and_one");
    assert!(why.contains("not visible to the graph"), "{why}");
    let why = reasons_of(&json, "stamp written::stamped_product");
    assert!(why.contains("not visible to the graph"), "{why}");
    assert!(why.contains("`calc` changed at calc/src/lib.rs"), "{why}");
    assert_eq!(json["total_tests"], 6);
    assert_eq!(
        json["listed"]["not_in_graph"],
        serde_json::json!([
            "calc table::one_and_one",
            "calc table::two_and_three",
            "stamp written::stamped_product"
        ])
    );
    // The runner's list, made by hourglass itself, gives the same selection.
    let itself = f.select_json(&["--tests-from", "nextest"]);
    assert_eq!(selected(&itself), selected(&json));
    // The filterset of a selection with a list runs exactly the selection.
    let filterset = stdout(&f.hourglass(&["select", "--tests-from", list, "--format", "nextest"]));
    let run = f.cargo(&["nextest", "run", "--workspace", "-E", filterset.trim()]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(passed(&run), selected(&json));

    // `add` changed: the included tests still run, and so do the tests that use `add`.
    f.repo.git(&["checkout", "--quiet", "."]);
    f.edit("calc/src/lib.rs", "a + b", "b + a");
    let json = f.select_json(&["--tests-from", list]);
    assert_eq!(
        selected(&json),
        [
            "calc table::one_and_one",
            "calc table::two_and_three",
            "calc tests::adds",
            "stamp tests::labels",
            "stamp written::stamped_product",
        ]
    );
    let why = reasons_of(&json, "calc table::one_and_one");
    assert!(why.contains("not visible to the graph"), "{why}");
}

#[test]
fn a_test_the_list_lacks_is_noted_and_not_selected() {
    let f = Fixture::new();
    let list = r#"{"rust-suites": {
        "calc": {"package-name": "calc", "kind": "lib", "status": "listed",
                 "testcases": {"tests::adds": {}, "table::one_and_one": {}}},
        "stamp": {"package-name": "stamp", "kind": "lib", "status": "listed",
                  "testcases": {"tests::labels": {}}}}}"#;
    std::fs::write(f.target.path().join("list.json"), list).unwrap();
    f.edit("calc/src/lib.rs", "a * b", "b * a");
    let path = f.target.path().join("list.json");
    let json = f.select_json(&["--tests-from", path.to_str().unwrap()]);
    // The listed test the graph does not know runs; the one the list lacks does not.
    assert_eq!(selected(&json), ["calc table::one_and_one"]);
    assert_eq!(json["total_tests"], 3);
    assert_eq!(
        json["listed"]["not_in_list"],
        serde_json::json!(["calc tests::muls"])
    );
    assert!(json["notes"].to_string().contains("are not in the list"));
}

#[test]
fn a_malformed_list_is_bad_input_naming_the_file_and_position() {
    let f = Fixture::new();
    f.repo.write(
        "list.json",
        "{\n  \"rust-suites\": {\n    \"calc\": {\"package-name\": \"calc\",, }\n",
    );
    let output = f.hourglass(&["select", "--tests-from", "list.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("list.json:3:37: "),
        "{}",
        stderr(&output)
    );
    let missing = f.hourglass(&["select", "--tests-from", "absent.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("absent.json"));
}

#[test]
fn tests_from_nextest_reports_the_commands_errors() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    f.edit("calc/src/lib.rs", "a * b", "a * \"b\"");
    let output = f.hourglass(&["select", "--tests-from", "nextest"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("cargo nextest list --workspace --message-format json"),
        "{err}"
    );
    assert!(err.contains("cannot multiply"), "{err}");
}

#[test]
fn graph_says_which_listed_tests_it_does_not_know() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    let output = f.hourglass(&["graph", "--tests-from", "nextest"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("listed tests 6\n  not in graph 3\n"),
        "{text}"
    );
    let list = f.write_list();
    let output = f.hourglass(&[
        "graph",
        "--format",
        "json",
        "--tests-from",
        list.to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["tests_from"]["tests"], 6);
    assert_eq!(
        json["tests_from"]["not_in_graph"],
        serde_json::json!([
            "calc table::one_and_one",
            "calc table::two_and_three",
            "stamp written::stamped_product"
        ])
    );
}

/// Tests with names long enough that leaving out all but one of them takes
/// a filterset past Linux's 128 KiB limit on one argument.
fn big_workspace(repo: &TempRepo, tests: usize) {
    repo.write(".gitignore", "target/\n");
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"big\"]\nresolver = \"2\"\n\n[profile.dev]\ndebug = false\n",
    );
    repo.write(
        "big/Cargo.toml",
        "[package]\nname = \"big\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    let mut lib = String::from(
        "pub fn one() -> u32 {\n    1\n}\n\npub fn two() -> u32 {\n    2\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn uses_one() {\n        assert_eq!(super::one(), 1);\n    }\n",
    );
    for i in 0..tests {
        let _ = write!(
            lib,
            "\n    #[test]\n    fn a_test_with_a_name_long_enough_to_fill_a_filterset_quickly_{i:05}() {{\n        assert_eq!(super::two(), 2);\n    }}\n"
        );
    }
    lib.push_str("}\n");
    repo.write("big/src/lib.rs", lib);
}

#[test]
fn a_filterset_past_the_argument_limit_runs_through_the_nextest_config() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture {
        repo: TempRepo::new(),
        target: tempfile::tempdir().unwrap(),
    };
    big_workspace(&f.repo, 1800);
    let lock = f.cargo(&["generate-lockfile", "--offline"]);
    assert!(lock.status.success(), "{}", stderr(&lock));
    f.repo.commit_all("big");
    f.edit("big/src/lib.rs", "    1\n", "    0 + 1\n");
    let filterset = stdout(&f.hourglass(&["select", "--format", "nextest"]));
    assert!(filterset.len() > 128 * 1024, "{} bytes", filterset.len());
    // The kernel refuses the filterset as one argument.
    let too_long = f
        .command(Command::new("cargo"))
        .args(["nextest", "list", "-E", filterset.trim()])
        .output();
    assert_eq!(
        too_long.map_err(|e| e.raw_os_error()).err(),
        Some(Some(7)),
        "E2BIG"
    );

    let config = f.hourglass(&["select", "--format", "nextest-config"]);
    assert!(config.status.success(), "{}", stderr(&config));
    let path = f.target.path().join("selection.toml");
    std::fs::write(&path, &config.stdout).unwrap();
    let tool = format!("hourglass:{}", path.display());
    let run = f.cargo(&[
        "nextest",
        "run",
        "--workspace",
        "--tool-config-file",
        &tool,
        "--profile",
        "hourglass",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(passed(&run), ["big tests::uses_one"]);
    let junit = std::fs::read_to_string(f.repo.join("target/nextest/hourglass/junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 1, "{junit}");
}

#[test]
fn the_pull_request_script_selects_runs_and_ingests() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    f.repo.git(&["checkout", "--quiet", "-b", "feature"]);
    f.edit("calc/src/lib.rs", "a * b", "b * a");
    f.repo.commit_all("calc: mul in the other order");
    let script = fixture("fixtures/ci/pull-request.sh");
    let bin = Path::new(env!("CARGO_BIN_EXE_hourglass"));
    let run = f
        .command(Command::new("sh"))
        .arg(&script)
        .env("HOURGLASS", bin)
        .env("HOURGLASS_BASE", "main")
        .output()
        .expect("run the script");
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    assert_eq!(
        passed(&run),
        [
            "calc table::one_and_one",
            "calc table::two_and_three",
            "calc tests::muls",
            "stamp written::stamped_product"
        ]
    );
    // The results are in the history.
    let export = f.hourglass(&["export", "--format", "jsonl"]);
    assert!(export.status.success(), "{}", stderr(&export));
    let mut names: Vec<String> = stdout(&export)
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            format!(
                "{} {} {}",
                row["classname"].as_str().unwrap(),
                row["name"].as_str().unwrap(),
                row["status"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "calc table::one_and_one passed",
            "calc table::two_and_three passed",
            "calc tests::muls passed",
            "stamp written::stamped_product passed"
        ]
    );
    let selection: serde_json::Value = serde_json::from_slice(
        &std::fs::read(f.repo.join("target/hourglass/selection.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(selection["total_tests"], 6);
}

#[test]
fn the_coverage_map_script_feeds_the_pull_request_script() {
    if !has_nextest() {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let f = Fixture::new();
    let bin = Path::new(env!("CARGO_BIN_EXE_hourglass"));
    let script = |name: &str| {
        let mut command = f.command(Command::new("sh"));
        command
            .arg(fixture(&format!("fixtures/ci/{name}")))
            .env("HOURGLASS", bin)
            .env("HOURGLASS_BASE", "main");
        command.output().expect("run the script")
    };
    // On main: the map of its head.
    let main = f.repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let covered = script("coverage-map.sh");
    assert!(covered.status.success(), "{}", stderr(&covered));
    let map = f.repo.join(".hourglass/coverage.map");
    assert!(map.is_file());
    // A pull request changes `mul`'s body: the map takes part in the
    // selection, and the tests that ran `mul` run.
    f.repo.git(&["checkout", "--quiet", "-b", "feature"]);
    f.edit("calc/src/lib.rs", "a * b", "b * a");
    f.repo.commit_all("calc: mul in the other order");
    let run = script("pull-request.sh");
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    let selection = |f: &Fixture| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(f.repo.join("target/hourglass/selection.json")).unwrap(),
        )
        .unwrap()
    };
    let chosen = selection(&f);
    assert_eq!(chosen["coverage"]["commit"], main.as_str(), "{chosen}");
    assert_eq!(chosen["coverage"]["body_changes"], 1, "{chosen}");
    let ran = passed(&run);
    assert!(ran.contains(&"calc tests::muls".to_owned()), "{ran:?}");
    assert!(
        ran.contains(&"stamp written::stamped_product".to_owned()),
        "{ran:?}"
    );
    // A map of a commit this clone does not have is skipped, with a warning.
    let mut foreign = hourglass_coverage::CoverageMap::read(&map).unwrap();
    foreign.commit = "0123456789abcdef0123456789abcdef01234567".to_owned();
    foreign.write(&map).unwrap();
    let run = script("pull-request.sh");
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("is not used"), "{}", stderr(&run));
    assert!(selection(&f)["coverage"].is_null());
}

/// The README's CI recipe quotes the script the test above runs, line for line.
#[test]
fn the_readme_quotes_the_pull_request_script() {
    let readme = std::fs::read_to_string(fixture("README.md")).unwrap();
    let script = std::fs::read_to_string(fixture("fixtures/ci/pull-request.sh")).unwrap();
    let recipe = &readme[readme.find("## CI recipe").expect("a CI recipe section")..];
    let block = recipe
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block");
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(lines.contains(&line), "not in the script: {line}");
    }
    assert!(recipe.contains("sh fixtures/ci/pull-request.sh"));
}

#[test]
fn a_reserved_nextest_profile_is_bad_input() {
    let f = Fixture::new();
    for name in ["default", "default-ci", "a b"] {
        let output = f.hourglass(&[
            "select",
            "--format",
            "nextest-config",
            "--nextest-profile",
            name,
        ]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).contains("--nextest-profile"),
            "{}",
            stderr(&output)
        );
    }
    let ok = f.hourglass(&[
        "select",
        "--format",
        "nextest-config",
        "--nextest-profile",
        "pr",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("[profile.pr]\n"));
    // Nothing changed: the profile runs nothing.
    assert!(
        stdout(&ok).contains("default-filter = \"none()\"\n"),
        "{}",
        stdout(&ok)
    );
}

//! A fixture workspace copied into a temporary git repository, and the real
//! tools run in it: `hourglass select`, `hourglass graph`, `cargo nextest`
//! and `cargo test --no-run`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::junit::{self, Status};
use crate::mutations::Mutation;

/// A test as cargo-nextest names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TestId {
    pub binary_id: String,
    pub name: String,
}

impl TestId {
    pub fn new(binary_id: &str, name: &str) -> Self {
        Self {
            binary_id: binary_id.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for TestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.binary_id, self.name)
    }
}

/// What `hourglass select --format json` picked.
#[derive(Debug, Clone)]
pub struct Selection {
    pub run_all: bool,
    pub tests: BTreeSet<TestId>,
}

/// The outcome of every test of one `cargo nextest run`.
#[derive(Debug)]
pub struct Results(Vec<(TestId, Status)>);

impl Results {
    pub fn failed(&self) -> BTreeSet<TestId> {
        self.0
            .iter()
            .filter(|(_, status)| *status == Status::Failed)
            .map(|(test, _)| test.clone())
            .collect()
    }

    /// Tests that ran (passed or failed).
    pub fn ran(&self) -> BTreeSet<TestId> {
        self.0
            .iter()
            .filter(|(_, status)| *status != Status::Skipped)
            .map(|(test, _)| test.clone())
            .collect()
    }
}

#[derive(Debug)]
pub enum Build {
    Ran(Results),
    /// The workspace did not build; cargo's first error line.
    Failed(String),
}

/// A test binary as `cargo nextest list` shows it.
#[derive(Debug)]
pub struct ListedBinary {
    pub path: PathBuf,
    /// Names of the tests that are not ignored.
    pub tests: BTreeSet<String>,
    pub ignored: BTreeSet<String>,
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/workspaces")
        .join(name)
}

/// A fixture copied into a temporary git repository with one commit.
pub struct Workspace {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
    target: PathBuf,
}

impl Workspace {
    pub fn create(fixture: &str) -> Self {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path().join("workspace");
        let target = temp.path().join("target");
        copy_tree(&fixture_dir(fixture), &root);
        let workspace = Self {
            _temp: temp,
            root,
            target,
        };
        workspace.git(&["init", "--quiet", "--initial-branch=main"]);
        // hourglass keeps its caches in `.hourglass/`; they are not part of the change.
        fs::write(
            workspace.root.join(".git/info/exclude"),
            "/.hourglass/\n/target/\n",
        )
        .expect("write .git/info/exclude");
        workspace.git(&["add", "--all"]);
        workspace.git(&["commit", "--quiet", "-m", "fixture"]);
        workspace
    }

    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
            .args(args)
            .current_dir(&self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Fixture Author")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "Fixture Author")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .output()
            .expect("run git");
        assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
        String::from_utf8(output.stdout).expect("git output is UTF-8")
    }

    /// Edits the work tree; panics unless `find` occurs exactly once.
    pub fn apply(&self, mutation: &Mutation) {
        let path = self.root.join(mutation.file);
        let text = fs::read_to_string(&path).expect("read the mutated file");
        assert_eq!(
            text.matches(mutation.find).count(),
            1,
            "{}: {:?} must occur exactly once in {}",
            mutation.name,
            mutation.find,
            mutation.file
        );
        fs::write(&path, text.replacen(mutation.find, mutation.replace, 1))
            .expect("write the mutated file");
    }

    /// Puts the committed tree back.
    pub fn restore(&self) {
        self.git(&["checkout", "--quiet", "--", "."]);
        assert_eq!(
            self.git(&["status", "--porcelain"]),
            "",
            "the work tree is clean again"
        );
    }

    pub fn select(&self) -> Selection {
        let output = Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args(["select", "--format", "json"])
            .current_dir(&self.root)
            .env_remove("HOURGLASS_DB")
            .output()
            .expect("run hourglass select");
        assert!(
            output.status.success(),
            "hourglass select --format json failed ({}): {}",
            output.status,
            stderr(&output)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("hourglass select prints JSON");
        let run_all = json["run_all"].as_bool().expect("`run_all` is a bool");
        let tests = json["selected"]
            .as_array()
            .expect("`selected` is a list")
            .iter()
            .map(|test| {
                TestId::new(
                    test["binary_id"].as_str().expect("`binary_id` is a string"),
                    test["name"].as_str().expect("`name` is a string"),
                )
            })
            .collect();
        Selection { run_all, tests }
    }

    /// `hourglass graph --format json`.
    pub fn graph_json(&self) -> serde_json::Value {
        let output = Command::new(env!("CARGO_BIN_EXE_hourglass"))
            .args(["graph", "--format", "json"])
            .current_dir(&self.root)
            .env_remove("HOURGLASS_DB")
            .output()
            .expect("run hourglass graph");
        assert!(
            output.status.success(),
            "hourglass graph --format json failed: {}",
            stderr(&output)
        );
        serde_json::from_slice(&output.stdout).expect("hourglass graph prints JSON")
    }

    fn cargo(&self) -> Command {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            // What the outer cargo or nextest set for this test process.
            if key.contains("NEXTEST")
                || key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_BIN_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_TARGET_")
                || key == "CARGO_CRATE_NAME"
                || key == "CARGO_PRIMARY_PACKAGE"
                || key == "RUST_TEST_THREADS"
            {
                command.env_remove(key.as_ref());
            }
        }
        command
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TERM_COLOR", "never");
        command
    }

    /// `cargo nextest run --no-fail-fast`, read back from its JUnit file.
    pub fn nextest_run(&self) -> Build {
        let junit_path = self.root.join("target/nextest/default/junit.xml");
        let _ = fs::remove_file(&junit_path);
        let output = self
            .cargo()
            .args([
                "nextest",
                "run",
                "--workspace",
                "--no-fail-fast",
                "--cargo-quiet",
            ])
            .args([
                "--status-level",
                "none",
                "--final-status-level",
                "none",
                "--hide-progress-bar",
            ])
            .output()
            .expect("run cargo nextest (is cargo-nextest installed?)");
        match output.status.code() {
            Some(0 | 100) => {
                let xml = fs::read_to_string(&junit_path)
                    .unwrap_or_else(|error| panic!("read {}: {error}", junit_path.display()));
                Build::Ran(Results(junit::parse(&xml)))
            }
            Some(101) => {
                let log = stderr(&output);
                let first_error = log
                    .lines()
                    .find(|line| line.starts_with("error"))
                    .unwrap_or("error");
                Build::Failed(first_error.to_owned())
            }
            _ => panic!(
                "cargo nextest run failed ({}): {}",
                output.status,
                stderr(&output)
            ),
        }
    }

    /// `cargo nextest list`: every test binary with its path and tests.
    pub fn nextest_list(&self) -> BTreeMap<String, ListedBinary> {
        let output = self
            .cargo()
            .args([
                "nextest",
                "list",
                "--workspace",
                "--message-format",
                "json",
                "--cargo-quiet",
            ])
            .output()
            .expect("run cargo nextest list");
        assert!(
            output.status.success(),
            "cargo nextest list failed: {}",
            stderr(&output)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("cargo nextest list prints JSON");
        let suites = json["rust-suites"]
            .as_object()
            .expect("`rust-suites` is an object");
        suites
            .iter()
            .map(|(binary_id, suite)| {
                let mut tests = BTreeSet::new();
                let mut ignored = BTreeSet::new();
                for (name, case) in suite["testcases"]
                    .as_object()
                    .expect("`testcases` is an object")
                {
                    if case["ignored"].as_bool() == Some(true) {
                        ignored.insert(name.clone());
                    } else {
                        tests.insert(name.clone());
                    }
                }
                let path = PathBuf::from(
                    suite["binary-path"]
                        .as_str()
                        .expect("`binary-path` is a string"),
                );
                (
                    binary_id.clone(),
                    ListedBinary {
                        path,
                        tests,
                        ignored,
                    },
                )
            })
            .collect()
    }

    /// Test executables that still build, as `cargo build --tests --keep-going`
    /// reports them (the same test profile, so the same paths, as nextest's build).
    pub fn built_test_executables(&self) -> BTreeSet<PathBuf> {
        let output = self
            .cargo()
            .args([
                "build",
                "--workspace",
                "--tests",
                "--keep-going",
                "--quiet",
                "--message-format",
                "json",
            ])
            .output()
            .expect("run cargo test --no-run");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact")
            .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
            .collect()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create a directory");
    for entry in fs::read_dir(from).expect("read a fixture directory") {
        let entry = entry.expect("read a directory entry");
        let name = entry.file_name();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if name != "target" {
                copy_tree(&entry.path(), &to.join(&name));
            }
        } else {
            fs::copy(entry.path(), to.join(&name)).expect("copy a fixture file");
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

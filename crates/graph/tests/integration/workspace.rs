//! `workspace::load` against cargo itself: `cargo metadata` for packages, targets and
//! dependencies, `cargo nextest list` for binary ids.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use hourglass_graph::workspace::{self, DepKind, ManifestError, TargetKind, Workspace};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repo_root().join("fixtures/workspaces").join(name)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // A nested cargo or nextest must not inherit the settings of the run executing this test.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NEXTEST_") {
            command.env_remove(key);
        }
    }
    command
}

/// A fresh directory under the system temporary directory, outside any Cargo workspace.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(label: &str) -> Self {
        Self(
            tempfile::Builder::new()
                .prefix(&format!("hourglass-manifest-{label}-"))
                .tempdir()
                .unwrap(),
        )
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn relative_to(root: &Path, path: &str) -> String {
    let path = normalize(Path::new(path));
    path.strip_prefix(root)
        .unwrap_or_else(|_| panic!("{} is outside {}", path.display(), root.display()))
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TargetView {
    kind: String,
    name: String,
    root: String,
    test: bool,
    required_features: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct DepView {
    package: String,
    kind: &'static str,
    in_code_name: String,
    target: Option<String>,
    optional: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct PackageView {
    version: String,
    edition: String,
    manifest: String,
    targets: BTreeSet<TargetView>,
    member_dependencies: Vec<DepView>,
    external_dependencies: BTreeSet<String>,
    external_crate_names: BTreeSet<String>,
}

fn kind_name(kind: DepKind) -> &'static str {
    match kind {
        DepKind::Normal => "normal",
        DepKind::Dev => "dev",
        DepKind::Build => "build",
    }
}

fn cargo_metadata(root: &Path) -> Value {
    let output = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// What `cargo metadata` says, in the shape `load` gives.
fn view_from_metadata(metadata: &Value) -> BTreeMap<String, PackageView> {
    let root = normalize(Path::new(metadata["workspace_root"].as_str().unwrap()));
    let packages = metadata["packages"].as_array().unwrap();
    let text = |value: &Value| value.as_str().unwrap().to_owned();
    // Member directory → library name (or package name with `_`), for in-code names.
    let lib_names: BTreeMap<PathBuf, String> = packages
        .iter()
        .map(|package| {
            let dir = normalize(Path::new(package["manifest_path"].as_str().unwrap()))
                .parent()
                .unwrap()
                .to_path_buf();
            let lib = package["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|target| {
                    target["kind"].as_array().unwrap().iter().any(|kind| {
                        matches!(
                            kind.as_str().unwrap(),
                            "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro"
                        )
                    })
                })
                .map_or_else(
                    || text(&package["name"]).replace('-', "_"),
                    |lib| text(&lib["name"]),
                );
            (dir, lib)
        })
        .collect();
    packages
        .iter()
        .map(|package| {
            let targets = package["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|target| {
                    let kinds: Vec<String> = target["kind"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(text)
                        .collect();
                    let kind = if kinds.iter().any(|k| k == "proc-macro") {
                        "proc-macro".to_owned()
                    } else if kinds
                        .iter()
                        .any(|k| matches!(k.as_str(), "rlib" | "dylib" | "cdylib" | "staticlib"))
                    {
                        "lib".to_owned()
                    } else {
                        kinds[0].clone()
                    };
                    TargetView {
                        kind,
                        name: text(&target["name"]),
                        root: relative_to(&root, target["src_path"].as_str().unwrap()),
                        test: target["test"].as_bool().unwrap(),
                        required_features: target
                            .get("required-features")
                            .and_then(Value::as_array)
                            .map(|features| features.iter().map(text).collect())
                            .unwrap_or_default(),
                    }
                })
                .collect();
            let mut member_dependencies = Vec::new();
            let mut external_dependencies = BTreeSet::new();
            let mut external_crate_names = BTreeSet::new();
            for dep in package["dependencies"].as_array().unwrap() {
                let member_lib = dep["path"]
                    .as_str()
                    .and_then(|path| lib_names.get(&normalize(Path::new(path))));
                let Some(member_lib) = member_lib else {
                    external_dependencies.insert(text(&dep["name"]));
                    let in_code = dep["rename"]
                        .as_str()
                        .unwrap_or(dep["name"].as_str().unwrap());
                    external_crate_names.insert(in_code.replace('-', "_"));
                    continue;
                };
                let in_code_name = match dep["rename"].as_str() {
                    Some(rename) => rename.replace('-', "_"),
                    None => member_lib.clone(),
                };
                member_dependencies.push(DepView {
                    package: text(&dep["name"]),
                    kind: match dep["kind"].as_str() {
                        None => "normal",
                        Some("dev") => "dev",
                        Some("build") => "build",
                        Some(other) => panic!("unknown dependency kind {other}"),
                    },
                    in_code_name,
                    target: dep["target"].as_str().map(str::to_owned),
                    optional: dep["optional"].as_bool().unwrap(),
                });
            }
            member_dependencies.sort();
            (
                text(&package["name"]),
                PackageView {
                    version: text(&package["version"]),
                    edition: text(&package["edition"]),
                    manifest: relative_to(&root, package["manifest_path"].as_str().unwrap()),
                    targets,
                    member_dependencies,
                    external_dependencies,
                    external_crate_names,
                },
            )
        })
        .collect()
}

fn view_from_load(workspace: &Workspace) -> BTreeMap<String, PackageView> {
    workspace
        .packages
        .iter()
        .map(|package| {
            let mut member_dependencies: Vec<DepView> = package
                .dependencies
                .iter()
                .map(|dep| DepView {
                    package: workspace.package(dep.package).name.clone(),
                    kind: kind_name(dep.kind),
                    in_code_name: dep.name.clone(),
                    target: dep.target.clone(),
                    optional: dep.optional,
                })
                .collect();
            member_dependencies.sort();
            (
                package.name.clone(),
                PackageView {
                    version: package.version.clone(),
                    edition: package.edition.clone(),
                    manifest: package.manifest.clone(),
                    targets: package
                        .targets
                        .iter()
                        .map(|target| TargetView {
                            kind: target.kind.as_str().to_owned(),
                            name: target.name.clone(),
                            root: target.root.clone(),
                            test: target.test,
                            required_features: target.required_features.clone(),
                        })
                        .collect(),
                    member_dependencies,
                    external_dependencies: package.external_dependencies.iter().cloned().collect(),
                    external_crate_names: package.external_crate_names.iter().cloned().collect(),
                },
            )
        })
        .collect()
}

fn assert_matches_cargo_metadata(root: &Path) -> Workspace {
    let loaded = workspace::load(root).expect("workspace loads");
    let expected = view_from_metadata(&cargo_metadata(root));
    let actual = view_from_load(&loaded);
    let names = |map: &BTreeMap<String, PackageView>| map.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&actual),
        names(&expected),
        "members of {}",
        root.display()
    );
    for (name, expected) in &expected {
        assert_eq!(&actual[name], expected, "package {name}");
    }
    loaded
}

/// `cargo nextest list` of a fixture: binary id → (kind, binary name).
fn nextest_binaries(root: &Path, label: &str) -> BTreeMap<String, (String, String)> {
    let target_dir = std::env::temp_dir().join(format!("hourglass-manifest-nextest-{label}"));
    let output = cargo()
        .args([
            "nextest",
            "list",
            "--workspace",
            "--all-features",
            "--locked",
            "--offline",
        ])
        .args(["--list-type", "binaries-only", "--message-format", "json"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("cargo nextest runs");
    assert!(
        output.status.success(),
        "cargo nextest list failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: Value = serde_json::from_slice(&output.stdout).expect("nextest prints JSON");
    list["rust-binaries"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, binary)| {
            (
                id.clone(),
                (
                    binary["kind"].as_str().unwrap().to_owned(),
                    binary["binary-name"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

fn assert_binary_ids_match_nextest(root: &Path, label: &str) {
    let loaded = workspace::load(root).unwrap();
    let expected = nextest_binaries(root, label);
    let actual: BTreeMap<String, (String, String)> = loaded
        .packages
        .iter()
        .flat_map(|package| &package.targets)
        .filter(|target| target.test)
        .map(|target| {
            (
                target
                    .binary_id
                    .clone()
                    .expect("test targets have a binary id"),
                (target.kind.as_str().to_owned(), target.name.clone()),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn virtual_workspace_matches_cargo_metadata() {
    let loaded = assert_matches_cargo_metadata(&fixture("manifest-virtual"));
    let names: Vec<&str> = loaded.packages.iter().map(|p| p.name.as_str()).collect();
    assert!(
        !names.contains(&"skipped"),
        "excluded package loaded: {names:?}"
    );
    assert!(
        names.contains(&"delta"),
        "path dependency not a member: {names:?}"
    );
}

#[test]
fn root_package_workspace_matches_cargo_metadata() {
    let loaded = assert_matches_cargo_metadata(&fixture("manifest-rooted"));
    let rooted = loaded.package(loaded.package_by_name("rooted").unwrap());
    assert_eq!(rooted.dir, "");
    assert_eq!(rooted.manifest, "Cargo.toml");
    assert!(
        rooted.targets.iter().all(|t| t.root != "tests/other.rs"),
        "2015 edition: an explicit [[test]] disables test discovery"
    );
}

#[test]
fn this_repository_matches_cargo_metadata() {
    assert_matches_cargo_metadata(&repo_root());
}

/// Edges between members in `cargo metadata`'s resolve graph (which applies `[patch]` and
/// `[replace]`): member → (dependency member, in-code name, kind, platform), sorted. Run from
/// `root` so that its `.cargo/config.toml` counts.
fn resolved_member_edges(
    root: &Path,
) -> BTreeMap<String, Vec<(String, String, String, Option<String>)>> {
    let output = cargo()
        .current_dir(root)
        .args(["metadata", "--offline", "--format-version", "1"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        if !members.contains(id) {
            continue;
        }
        let mut list = Vec::new();
        for dep in node["deps"].as_array().unwrap() {
            let pkg = dep["pkg"].as_str().unwrap();
            if !members.contains(pkg) {
                continue;
            }
            for kind in dep["dep_kinds"].as_array().unwrap() {
                list.push((
                    name_of[pkg].to_owned(),
                    dep["name"].as_str().unwrap().to_owned(),
                    kind["kind"].as_str().unwrap_or("normal").to_owned(),
                    kind["target"].as_str().map(str::to_owned),
                ));
            }
        }
        list.sort();
        edges.insert(name_of[id].to_owned(), list);
    }
    edges
}

fn loaded_member_edges(
    loaded: &Workspace,
) -> BTreeMap<String, Vec<(String, String, String, Option<String>)>> {
    loaded
        .packages
        .iter()
        .map(|package| {
            let mut list: Vec<_> = package
                .dependencies
                .iter()
                .map(|dep| {
                    (
                        loaded.package(dep.package).name.clone(),
                        dep.name.clone(),
                        kind_name(dep.kind).to_owned(),
                        dep.target.clone(),
                    )
                })
                .collect();
            list.sort();
            list.dedup();
            (package.name.clone(), list)
        })
        .collect()
}

#[test]
fn patched_registry_dependencies_are_member_edges_as_in_cargo_metadata() {
    let root = fixture("manifest-patched");
    let loaded = workspace::load(&root).unwrap();
    let expected = resolved_member_edges(&root);
    assert_eq!(loaded_member_edges(&loaded), expected);
    // The fixture has what it is for: edges through `[patch.crates-io]`, through a patched
    // registry index URL, a renamed patched dependency, and a path dependency on a package
    // `members` does not list.
    let app = &expected["app"];
    for edge in [
        ("core-lib", "core_lib", "normal"),
        ("core-lib", "core_lib", "build"),
        ("legacy", "legacy", "dev"),
        ("widgets", "widgets", "normal"),
        ("helper", "helper", "normal"),
    ] {
        assert!(
            app.iter()
                .any(|(p, n, k, _)| (p.as_str(), n.as_str(), k.as_str()) == edge),
            "{edge:?} in {app:?}"
        );
    }
    assert_eq!(expected["widgets"][0].1, "base");
    let manifest = fs::read_to_string(root.join("app/Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("path = \"../core\""),
        "app names core-lib by version only"
    );
    let app = loaded.package(loaded.package_by_name("app").unwrap());
    assert!(
        app.external_dependencies.is_empty(),
        "{:?}",
        app.external_dependencies
    );
}

#[test]
fn replaced_registry_dependencies_are_member_edges_as_in_cargo_metadata() {
    let root = fixture("manifest-replaced");
    let loaded = workspace::load(&root).unwrap();
    let expected = resolved_member_edges(&root);
    assert_eq!(
        expected["app"],
        [(
            "legacy".to_owned(),
            "legacy".to_owned(),
            "normal".to_owned(),
            None
        )]
    );
    assert_eq!(loaded_member_edges(&loaded), expected);
}

#[test]
fn patches_apply_only_to_their_source() {
    let dir = TempDir::new("patch-sources");
    dir.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\n\n[patch.'https://example.com/git/b.git']\nb = { path = \"b\" }\n\n[patch.crates-io]\nc = { path = \"c\" }\n",
    );
    for name in ["b", "c"] {
        dir.write(
            &format!("{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n"),
        );
        dir.write(&format!("{name}/src/lib.rs"), "");
    }
    // `b` from git (patched, the URL spelled differently), `c` from another registry (not
    // patched: `[patch.crates-io]` is for crates.io only).
    dir.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n[dependencies]\nb = { git = \"https://EXAMPLE.com/git/b/\" }\nc = { version = \"1\", registry = \"internal\" }\n",
    );
    dir.write("a/src/lib.rs", "");
    let loaded = workspace::load(dir.path()).unwrap();
    let a = loaded.package(loaded.package_by_name("a").unwrap());
    let members: Vec<&str> = a
        .dependencies
        .iter()
        .map(|dep| loaded.package(dep.package).name.as_str())
        .collect();
    assert_eq!(members, ["b"]);
    assert_eq!(a.external_dependencies, ["c"]);
}

#[test]
fn package_only_root_matches_cargo_metadata() {
    let dir = TempDir::new("solo");
    let root = dir.path().join("solo");
    dir.write(
        "solo/Cargo.toml",
        r#"[package]
name = "solo-pkg"
version = "2.0.0"
edition = "2021"
build = false
autoexamples = false

[lib]
path = "lib/solo.rs"

[[bin]]
name = "solo-pkg"

[dependencies]
sibling = { path = "../sibling" }
json = { package = "serde_json", version = "1" }

[target.'cfg(windows)'.dev-dependencies]
winapi = "0.3"
"#,
    );
    dir.write("solo/lib/solo.rs", "");
    dir.write("solo/src/main.rs", "fn main() {}\n");
    dir.write("solo/build.rs", "fn main() {}\n");
    dir.write("solo/examples/skipped.rs", "fn main() {}\n");
    dir.write("solo/tests/smoke.rs", "");
    dir.write(
        "sibling/Cargo.toml",
        "[package]\nname = \"sibling\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    dir.write("sibling/src/lib.rs", "");

    let loaded = assert_matches_cargo_metadata(&root);
    assert_eq!(loaded.packages.len(), 1);
    assert_eq!(
        loaded.packages[0].external_dependencies,
        ["serde_json", "sibling", "winapi"]
    );
    assert_eq!(
        loaded.packages[0].external_crate_names,
        ["json", "sibling", "winapi"]
    );
    assert!(
        loaded.packages[0]
            .targets
            .iter()
            .all(|t| t.kind != TargetKind::BuildScript),
        "build = false"
    );
}

#[test]
fn member_globs_match_cargo_metadata() {
    let dir = TempDir::new("globs");
    dir.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"group-[ab]/*\", \"single\"]\nresolver = \"2\"\n",
    );
    for member in ["group-a/one", "group-b/two", "group-c/three", "single"] {
        let name = member.rsplit('/').next().unwrap();
        dir.write(
            &format!("{member}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        dir.write(&format!("{member}/src/lib.rs"), "");
    }
    dir.write("group-a/notes.txt", "not a directory\n");
    let loaded = assert_matches_cargo_metadata(dir.path());
    let names: Vec<&str> = loaded.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["one", "single", "two"]);
}

#[test]
fn unmatched_member_glob_fails_like_cargo() {
    let dir = TempDir::new("unmatched");
    dir.write("Cargo.toml", "[workspace]\nmembers = [\"plugins/*\"]\n");
    let cargo_output = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(dir.path().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(!cargo_output.status.success(), "cargo accepted it");
    match workspace::load(dir.path()) {
        Err(ManifestError::Io { path, .. }) => assert!(path.ends_with("plugins/*/Cargo.toml")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn virtual_workspace_binary_ids_match_nextest() {
    assert_binary_ids_match_nextest(&fixture("manifest-virtual"), "virtual");
}

#[test]
fn root_package_binary_ids_match_nextest() {
    assert_binary_ids_match_nextest(&fixture("manifest-rooted"), "rooted");
}

#[test]
fn dependencies_carry_the_names_code_uses() {
    let loaded = workspace::load(&fixture("manifest-virtual")).unwrap();
    let deps = |package: &str| -> BTreeSet<(String, &'static str, String)> {
        let package = loaded.package(loaded.package_by_name(package).unwrap());
        package
            .dependencies
            .iter()
            .map(|dep| {
                (
                    loaded.package(dep.package).name.clone(),
                    kind_name(dep.kind),
                    dep.name.clone(),
                )
            })
            .collect()
    };
    let set = |items: &[(&str, &'static str, &str)]| -> BTreeSet<(String, &'static str, String)> {
        items
            .iter()
            .map(|(p, k, n)| ((*p).to_owned(), *k, (*n).to_owned()))
            .collect()
    };
    // `[lib] name` of alpha; rename of a member dependency; rename inherited from the workspace.
    assert_eq!(
        deps("beta-util"),
        set(&[
            ("alpha", "normal", "alpha_core"),
            ("alpha", "build", "alpha_core"),
            ("delta", "normal", "delta"),
            ("gamma-macros", "dev", "renamed_macros"),
        ])
    );
    assert_eq!(deps("alpha"), set(&[("gamma-macros", "normal", "macros")]));
    assert_eq!(deps("cli-tool"), set(&[("beta-util", "normal", "beta")]));
    let alpha = loaded.package(loaded.package_by_name("alpha").unwrap());
    assert_eq!(alpha.lib_crate_name(), "alpha_core");
    let macros = loaded.package(loaded.package_by_name("gamma-macros").unwrap());
    assert_eq!(
        macros.lib().map(|lib| lib.kind),
        Some(TargetKind::ProcMacro)
    );
}

#[test]
fn targets_that_nextest_does_not_run_still_have_ids() {
    let loaded = workspace::load(&fixture("manifest-virtual")).unwrap();
    let cli = loaded.package(loaded.package_by_name("cli-tool").unwrap());
    let id = |name: &str| {
        cli.targets
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no target {name}"))
            .binary_id
            .clone()
    };
    assert_eq!(
        id("bench-main").as_deref(),
        Some("cli-tool::bench/bench-main")
    );
    assert_eq!(id("other").as_deref(), Some("cli-tool::example/other"));
    assert_eq!(id("build-script-tools-build"), None);
    let custom = cli.targets.iter().find(|t| t.name == "custom").unwrap();
    assert!(!custom.harness);
}

#[test]
fn malformed_manifest_reports_line_and_column() {
    let dir = TempDir::new("malformed");
    dir.write(
        "Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = 2021 2022\n",
    );
    match workspace::load(dir.path()) {
        Err(ManifestError::Toml {
            path, line, column, ..
        }) => {
            assert_eq!(path, normalize(&dir.path().join("Cargo.toml")));
            assert_eq!(line, 4);
            assert!(column > 1, "column {column}");
        }
        other => panic!("expected a TOML error, got {other:?}"),
    }
}

#[test]
fn member_manifest_errors_name_the_member() {
    let dir = TempDir::new("member-error");
    dir.write("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n");
    dir.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\n[dependencies]\nx.workspace = true\n",
    );
    dir.write("a/src/lib.rs", "");
    match workspace::load(dir.path()) {
        Err(ManifestError::Invalid { path, message }) => {
            assert!(path.ends_with("a/Cargo.toml"), "{}", path.display());
            assert!(message.contains("`x`"), "{message}");
        }
        other => panic!("expected an invalid-manifest error, got {other:?}"),
    }
}

#[test]
fn missing_member_is_an_error() {
    let dir = TempDir::new("missing-member");
    dir.write("Cargo.toml", "[workspace]\nmembers = [\"gone\"]\n");
    match workspace::load(dir.path()) {
        Err(ManifestError::Io { path, .. }) => assert!(path.ends_with("gone/Cargo.toml")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// `Cargo.lock` against `cargo tree --invert`, on `fixtures/workspaces/lockfile-vendored`: its
/// external crates come from `vendor/` (a directory source), so cargo resolves it offline with
/// an empty registry cache. It has a platform-specific dependency (`cfg(windows)`), dev and build
/// dependencies, crates shared by several dependents, and a member (`core-lib`, patched into the
/// workspace) reached through external crates.
mod lockfile {
    use std::collections::BTreeSet;
    use std::fs;
    use std::path::PathBuf;

    use hourglass_graph::lockfile::{affected_members, changed_lock_packages, reverse_closure};
    use hourglass_graph::workspace;

    use super::{cargo, fixture, repo_root};

    fn vendored() -> PathBuf {
        fixture("lockfile-vendored")
    }

    fn lock_of(root: &std::path::Path) -> String {
        fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock is readable")
    }

    fn repo_lock() -> String {
        lock_of(&repo_root())
    }

    /// Names locked at exactly one version, every `step`-th of them.
    fn sample_of_single_version_names(lock: &str, step: usize) -> Vec<String> {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for line in lock.lines() {
            if let Some(name) = line
                .strip_prefix("name = \"")
                .and_then(|rest| rest.strip_suffix('"'))
            {
                *counts.entry(name.to_owned()).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, count)| *count == 1)
            .map(|(name, _)| name)
            .step_by(step)
            .collect()
    }

    /// Package names that depend on `name`, and `name` itself, as cargo sees them. Run from the
    /// workspace root so that its `.cargo/config.toml` (the vendored source) applies.
    fn cargo_tree_inverted(root: &std::path::Path, name: &str) -> BTreeSet<String> {
        let output = cargo()
            .current_dir(root)
            .args([
                "tree",
                "--offline",
                "--locked",
                "--workspace",
                "--all-features",
            ])
            .args([
                "--target",
                "all",
                "-e",
                "normal,build,dev",
                "--prefix",
                "none",
            ])
            .args(["--no-dedupe", "--invert", name])
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| line.split(' ').next())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The lockfile also records optional dependencies no feature of this workspace enables, so
    /// the closure may be wider than what cargo builds, never narrower.
    #[test]
    fn lockfile_changes_reach_every_dependent_cargo_tree_finds() {
        let root = vendored();
        let lock = lock_of(&root);
        let loaded = workspace::load(&root).unwrap();
        let sample = sample_of_single_version_names(&lock, 1);
        assert!(sample.len() >= 8, "sample too small: {sample:?}");
        let mut members_reached = 0;
        let mut through_externals = false;
        for name in sample {
            let cargo = cargo_tree_inverted(&root, &name);

            let closure: BTreeSet<String> = reverse_closure(&lock, std::slice::from_ref(&name))
                .unwrap()
                .into_iter()
                .collect();
            let missed: Vec<&String> = cargo.difference(&closure).collect();
            assert!(missed.is_empty(), "dependents of {name} missed: {missed:?}");
            assert!(closure.contains(&name));

            let header = format!("name = \"{name}\"\nversion = \"");
            let start = lock.find(&header).expect("entry present") + header.len();
            let mut bumped = lock.clone();
            bumped.insert_str(start, "99.");
            let affected: BTreeSet<String> = affected_members(&loaded, Some(&lock), Some(&bumped))
                .unwrap()
                .into_iter()
                .map(|id| loaded.package(id).name.clone())
                .collect();
            let expected: BTreeSet<String> = cargo
                .into_iter()
                .filter(|dependent| loaded.package_by_name(dependent).is_some())
                .collect();
            let missed: Vec<&String> = expected.difference(&affected).collect();
            assert!(
                missed.is_empty(),
                "bumping {name} missed members {missed:?}"
            );
            members_reached += expected.len();
            through_externals |= name == "core-lib" && expected.contains("app");
        }
        assert!(members_reached > 0, "the sample reaches no member");
        assert!(
            through_externals,
            "core-lib reaches app through external crates only"
        );
        assert!(
            affected_members(&loaded, Some(&lock), Some(&lock))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn version_bump_in_the_real_lockfile_changes_one_name() {
        let lock = repo_lock();
        let name = &sample_of_single_version_names(&lock, 1)[0];
        let header = format!("name = \"{name}\"\nversion = \"");
        let start = lock.find(&header).expect("entry present") + header.len();
        let mut bumped = lock.clone();
        bumped.insert_str(start, "99.");
        assert_eq!(
            changed_lock_packages(Some(&lock), Some(&bumped)).unwrap(),
            std::slice::from_ref(name)
        );
        assert!(
            changed_lock_packages(Some(&lock), Some(&lock))
                .unwrap()
                .is_empty()
        );
    }
}

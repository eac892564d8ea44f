//! The Cargo workspace model, read from the manifests alone.
//!
//! [`load`] reads `Cargo.toml` files with the `toml` crate: no `cargo metadata`, no process, no
//! network. It finds the members the way cargo does (the `[workspace]` `members` globs, path
//! dependencies inside the workspace directory, `exclude` prefixes), resolves workspace
//! inheritance (`version.workspace = true`, `dep.workspace = true`), and discovers each package's
//! targets with cargo's conventions (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`,
//! `src/bin/*/main.rs`, `tests/`, `benches/`, `examples/`, `build.rs`), merged with the explicit
//! `[lib]`, `[[bin]]`, `[[test]]`, `[[bench]]` and `[[example]]` sections and the `auto*` switches.
//! Every target but a build script gets the binary id cargo-nextest gives it, and says whether
//! `cargo test` (so nextest) runs it (`test`).
//!
//! Dependencies redirected into the workspace are dependencies: a registry or git dependency
//! that a `[patch.<registry>]`, `[patch.'<git url>']` or `[replace]` entry of the root manifest
//! serves from a member's path (tokio's `tokio-stream` depends on `tokio = "1"`, which the root
//! patches to `tokio = { path = "tokio" }`) becomes a [`PackageDep`] on that member, as in
//! `cargo metadata`'s resolve graph. A path dependency inside the workspace directory makes its
//! package a member even when `members` does not list it, as cargo does.
//!
//! Limitations: features are not resolved (a target with `required-features` is still listed);
//! a patch's version is not compared with the dependency's requirement (cargo leaves a patch
//! that does not match unused; here it counts, which only widens); `[patch]` in
//! `.cargo/config.toml` is not read; `package.workspace` pointers and nested workspaces are not
//! followed (the root given to [`load`] is the root); a path dependency outside the workspace
//! directory is treated as external.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::source::{self, SourceTree};

use serde::Serialize;
use toml::{Table, Value};

/// A workspace package: an index into [`Workspace::packages`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PackageId(pub(crate) u32);

impl PackageId {
    /// The position of the package in [`Workspace::packages`].
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn from_index(index: usize) -> Self {
        Self(u32::try_from(index).expect("fewer than 2^32 packages"))
    }
}

/// A Cargo workspace: its root directory and its member packages, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workspace {
    /// Absolute, lexically normalized workspace root.
    pub root: PathBuf,
    /// Members, sorted by name; [`PackageId`] indexes this list.
    pub packages: Vec<Package>,
}

impl Workspace {
    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id.index()]
    }

    pub fn packages(&self) -> impl Iterator<Item = (PackageId, &Package)> {
        self.packages
            .iter()
            .enumerate()
            .map(|(index, package)| (PackageId::from_index(index), package))
    }

    pub fn package_by_name(&self, name: &str) -> Option<PackageId> {
        self.packages
            .iter()
            .position(|package| package.name == name)
            .map(PackageId::from_index)
    }

    /// The package whose manifest is `manifest` (relative, "/" separators).
    pub fn package_by_manifest(&self, manifest: &str) -> Option<PackageId> {
        self.packages
            .iter()
            .position(|package| package.manifest == manifest)
            .map(PackageId::from_index)
    }
}

/// One member package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Package name from `Cargo.toml`.
    pub name: String,
    /// `package.version` (inherited if so declared), `0.0.0` when absent.
    pub version: String,
    /// `package.edition` (inherited if so declared), `2015` when absent.
    pub edition: String,
    /// Directory relative to the workspace root, "/" separators, "" for the root.
    pub dir: String,
    /// Relative path of its `Cargo.toml`.
    pub manifest: String,
    pub targets: Vec<Target>,
    /// Path dependencies on other members, one entry per declaration (a package that is both a
    /// normal and a dev dependency appears twice).
    pub dependencies: Vec<PackageDep>,
    /// Package names (after `package =` renames) of every other dependency: registry, git, and
    /// path dependencies outside the workspace. Sorted, without duplicates.
    pub external_dependencies: Vec<String>,
    /// The names code uses for those dependencies: the rename, else the package name, with `-` as
    /// `_` (an external library's `[lib] name` is not known without its manifest). Sorted, without
    /// duplicates.
    pub external_crate_names: Vec<String>,
}

impl Package {
    /// The library target, plain or proc-macro.
    pub fn lib(&self) -> Option<&Target> {
        self.targets
            .iter()
            .find(|target| matches!(target.kind, TargetKind::Lib | TargetKind::ProcMacro))
    }

    /// The name code uses for this package's library: `[lib] name`, else the package name with
    /// `-` replaced by `_`.
    pub fn lib_crate_name(&self) -> String {
        match self.lib() {
            Some(lib) => lib.name.clone(),
            None => self.name.replace('-', "_"),
        }
    }
}

/// A dependency on another workspace member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageDep {
    pub package: PackageId,
    pub kind: DepKind,
    /// The name by which the depending code refers to it: the rename (`foo = { package = "bar" }`
    /// gives `foo`) or else the library name of the target package, with `-` as `_`.
    pub name: String,
    /// The platform of a `[target.'cfg(..)'.dependencies]` entry.
    pub target: Option<String>,
    pub optional: bool,
    /// Set when the member is reached only through a package from outside the workspace (the
    /// name of that dependency): `Cargo.lock` says the external package depends on the member
    /// (through `[patch]`, or a path), so the member's code is linked, though this package's
    /// code cannot name it.
    pub through: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: TargetKind,
    /// Target name: the library name (`_`-separated), or the bin/test/bench/example name.
    pub name: String,
    /// Crate root, relative to the workspace root, "/" separators.
    pub root: String,
    /// `harness = false` targets have a `main` of their own instead of libtest.
    pub harness: bool,
    /// Whether `cargo test` (and so nextest) builds and runs it as a test binary
    /// (`test = ...`; by default libraries, binaries and integration tests).
    pub test: bool,
    pub required_features: Vec<String>,
    /// The cargo-nextest binary id; `None` for build scripts.
    pub binary_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Lib,
    ProcMacro,
    Bin,
    Test,
    Bench,
    Example,
    BuildScript,
}

impl TargetKind {
    /// The kind as `cargo metadata` spells it (`lib` stands for every library crate type).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lib => "lib",
            Self::ProcMacro => "proc-macro",
            Self::Bin => "bin",
            Self::Test => "test",
            Self::Bench => "bench",
            Self::Example => "example",
            Self::BuildScript => "custom-build",
        }
    }
}

/// The binary id cargo-nextest gives a target of `package`.
pub fn nextest_binary_id(package: &str, kind: TargetKind, target: &str) -> Option<String> {
    match kind {
        TargetKind::Lib | TargetKind::ProcMacro => Some(package.to_owned()),
        TargetKind::Test => Some(format!("{package}::{target}")),
        TargetKind::Bin => Some(format!("{package}::bin/{target}")),
        TargetKind::Bench => Some(format!("{package}::bench/{target}")),
        TargetKind::Example => Some(format!("{package}::example/{target}")),
        TargetKind::BuildScript => None,
    }
}

/// A manifest (or lockfile) that cannot be read or understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Toml {
        path: PathBuf,
        /// 1-based.
        line: u64,
        /// 1-based, in characters.
        column: u64,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl ManifestError {
    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Parses TOML text, mapping an error's span to a line and column.
pub(crate) fn parse_toml(text: &str, path: &Path) -> Result<Table, ManifestError> {
    toml::from_str::<Table>(text).map_err(|error| {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        ManifestError::Toml {
            path: path.to_path_buf(),
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

fn read_manifest(path: &Path) -> Result<Table, ManifestError> {
    let text = source::read_to_string(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_toml(&text, path)
}

/// `[workspace]` of the root manifest.
struct WorkspaceConfig {
    root: PathBuf,
    manifest: PathBuf,
    members: Vec<String>,
    exclude: Vec<String>,
    package: Table,
    dependencies: Table,
}

impl WorkspaceConfig {
    fn parse(root: &Path, manifest: &Path, table: &Table) -> Result<Self, ManifestError> {
        let strings = |key: &str| -> Result<Vec<String>, ManifestError> {
            match table.get(key) {
                None => Ok(Vec::new()),
                Some(value) => string_array(value).ok_or_else(|| {
                    ManifestError::invalid(
                        manifest,
                        format!("`workspace.{key}` must be an array of strings"),
                    )
                }),
            }
        };
        let sub_table = |key: &str| -> Table {
            table
                .get(key)
                .and_then(Value::as_table)
                .cloned()
                .unwrap_or_default()
        };
        Ok(Self {
            root: root.to_path_buf(),
            manifest: manifest.to_path_buf(),
            members: strings("members")?,
            exclude: strings("exclude")?,
            package: sub_table("package"),
            dependencies: sub_table("dependencies"),
        })
    }

    /// cargo's rule: under an `exclude` prefix and not under a literal `members` entry.
    fn is_excluded(&self, dir: &Path) -> bool {
        let excluded = self
            .exclude
            .iter()
            .any(|exclude| dir.starts_with(normalize(&self.root.join(exclude))));
        let explicit = self
            .members
            .iter()
            .any(|member| dir.starts_with(normalize(&self.root.join(member))));
        excluded && !explicit
    }
}

fn string_array(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// [`load`] from another tree of files than the file system (a revision in git, say).
pub fn load_from(root: &Path, tree: Arc<dyn SourceTree>) -> Result<Workspace, ManifestError> {
    source::with_source(Some(tree), || load(root))
}

/// Reads the workspace rooted at `root` (the directory holding the root `Cargo.toml`).
pub fn load(root: &Path) -> Result<Workspace, ManifestError> {
    let absolute = std::path::absolute(root).map_err(|source| ManifestError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let root = normalize(&absolute);
    let root_manifest = root.join("Cargo.toml");
    let root_table = read_manifest(&root_manifest)?;
    let redirects = redirects(&root_table, &root);

    let config = match root_table.get("workspace") {
        Some(Value::Table(table)) => Some(WorkspaceConfig::parse(&root, &root_manifest, table)?),
        Some(_) => {
            return Err(ManifestError::invalid(
                &root_manifest,
                "`workspace` must be a table",
            ));
        }
        None => None,
    };

    let mut manifests: Vec<(PathBuf, Table)> = Vec::new();
    match &config {
        None => {
            if package_table(&root_table).is_none() {
                return Err(ManifestError::invalid(
                    &root_manifest,
                    "manifest has neither [package] nor [workspace]",
                ));
            }
            manifests.push((root.clone(), root_table));
        }
        Some(config) => {
            let mut queue: VecDeque<(PathBuf, bool)> = VecDeque::new();
            for member in &config.members {
                let dirs = expand_member(&root, member)
                    .map_err(|message| ManifestError::invalid(&root_manifest, message))?;
                queue.extend(dirs.into_iter().map(|dir| (dir, false)));
            }
            queue.push_back((root.clone(), false));
            let mut seen: HashSet<PathBuf> = HashSet::new();
            let mut root_table = Some(root_table);
            while let Some((dir, is_path_dep)) = queue.pop_front() {
                let dir = normalize(&dir);
                if seen.contains(&dir)
                    || (is_path_dep && !dir.starts_with(&root))
                    || config.is_excluded(&dir)
                {
                    continue;
                }
                seen.insert(dir.clone());
                let manifest = dir.join("Cargo.toml");
                let table = if dir == root {
                    root_table.take().unwrap_or_default()
                } else {
                    read_manifest(&manifest)?
                };
                if package_table(&table).is_none() {
                    if dir == root {
                        continue;
                    }
                    return Err(ManifestError::invalid(
                        &manifest,
                        "workspace member has no [package]",
                    ));
                }
                for dep in raw_dependencies(&table, &dir, &manifest, Some(config))? {
                    if let Some(path) = dep.path {
                        queue.push_back((path, true));
                    }
                }
                manifests.push((dir, table));
            }
        }
    }

    let mut built = Vec::new();
    for (dir, table) in &manifests {
        built.push(build_package(&root, dir, table, config.as_ref())?);
    }
    built.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name).then_with(|| a.dir.cmp(&b.dir)));
    for pair in built.windows(2) {
        if pair[0].0.name == pair[1].0.name {
            return Err(ManifestError::invalid(
                &root_manifest,
                format!(
                    "two packages named `{}` in this workspace: `{}` and `{}`",
                    pair[0].0.name, pair[0].0.manifest, pair[1].0.manifest
                ),
            ));
        }
    }

    let by_dir: HashMap<String, PackageId> = built
        .iter()
        .enumerate()
        .map(|(index, (package, _))| (package.dir.clone(), PackageId::from_index(index)))
        .collect();
    let lib_names: Vec<String> = built.iter().map(|(p, _)| p.lib_crate_name()).collect();
    let package_names: Vec<String> = built.iter().map(|(p, _)| p.name.clone()).collect();
    // A registry or git dependency that a `[patch]` or `[replace]` entry serves from a member.
    let redirected = |dep: &RawDep, own: usize| {
        redirects.iter().find_map(|redirect| {
            let id = *by_dir.get(&relative(&root, &redirect.dir))?;
            let applies = match &redirect.source_key {
                Some(key) => dep.source.patched_by(key),
                None => dep.source != DepSource::Path,
            };
            (applies && id.index() != own && package_names[id.index()] == dep.package).then_some(id)
        })
    };
    let mut packages = Vec::with_capacity(built.len());
    for (own, (mut package, raw)) in built.into_iter().enumerate() {
        let mut external_kinds = Vec::new();
        let mut external = BTreeSet::new();
        let mut external_names = BTreeSet::new();
        for dep in raw {
            let member = dep
                .path
                .as_ref()
                .and_then(|path| by_dir.get(&relative(&root, path)).copied())
                .or_else(|| redirected(&dep, own));
            if let Some(id) = member {
                let name = if dep.key == dep.package {
                    lib_names[id.index()].clone()
                } else {
                    dep.key.replace('-', "_")
                };
                package.dependencies.push(PackageDep {
                    package: id,
                    kind: dep.kind,
                    name,
                    target: dep.target,
                    optional: dep.optional,
                    through: None,
                });
            } else {
                external_names.insert(dep.key.replace('-', "_"));
                external_kinds.push((dep.package.clone(), dep.kind, dep.target, dep.optional));
                external.insert(dep.package);
            }
        }
        package.external_dependencies = external.into_iter().collect();
        package.external_crate_names = external_names.into_iter().collect();
        packages.push((package, external_kinds));
    }
    let mut packages: Vec<Package> = match source::read_to_string(&root.join("Cargo.lock")) {
        // Without a lockfile (or with one that does not parse: `select` reports that where it
        // reads it) no link through an external package is known.
        Ok(lock) => match crate::lockfile::members_through_externals(&lock, &package_names) {
            Ok(through) => link_through_externals(packages, &through),
            Err(_) => packages.into_iter().map(|(package, _)| package).collect(),
        },
        Err(_) => packages.into_iter().map(|(package, _)| package).collect(),
    };
    packages.shrink_to_fit();
    Ok(Workspace { root, packages })
}

/// An external dependency of a package: its package name, kind, platform and whether optional.
type ExternalDep = (String, DepKind, Option<String>, bool);

/// Adds a [`PackageDep`] with `through` for each member an external dependency of a package
/// depends on (`through`: external package name → members it reaches, from the lockfile).
fn link_through_externals(
    packages: Vec<(Package, Vec<ExternalDep>)>,
    through: &HashMap<String, Vec<usize>>,
) -> Vec<Package> {
    packages
        .into_iter()
        .enumerate()
        .map(|(own, (mut package, externals))| {
            for (external, kind, target, optional) in externals {
                for &member in through.get(&external).into_iter().flatten() {
                    let known = package.dependencies.iter().any(|dep| {
                        dep.package.index() == member && dep.kind == kind && dep.through.is_none()
                    });
                    if member != own && !known {
                        package.dependencies.push(PackageDep {
                            package: PackageId::from_index(member),
                            kind,
                            name: String::new(),
                            target: target.clone(),
                            optional,
                            through: Some(external.clone()),
                        });
                    }
                }
            }
            package
        })
        .collect()
}

fn package_table(table: &Table) -> Option<&Table> {
    table
        .get("package")
        .or_else(|| table.get("project"))
        .and_then(Value::as_table)
}

/// Expands one `members` entry like cargo: glob matches that are directories, or the literal
/// path when nothing matches.
fn expand_member(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let mut current = vec![root.to_path_buf()];
    let mut globbed = false;
    for component in Path::new(pattern).components() {
        let part = match component {
            Component::Normal(part) => part.to_string_lossy().into_owned(),
            Component::ParentDir => {
                current = current.iter().map(|dir| dir.join("..")).collect();
                continue;
            }
            Component::CurDir => continue,
            Component::RootDir | Component::Prefix(_) => {
                current = vec![PathBuf::from(component.as_os_str())];
                continue;
            }
        };
        if !part.contains(['*', '?', '[']) {
            current = current.iter().map(|dir| dir.join(&part)).collect();
            continue;
        }
        globbed = true;
        let mut next = Vec::new();
        if part == "**" {
            for dir in &current {
                next.extend(source::walk_dirs(dir));
            }
        } else {
            let matcher = globset::GlobBuilder::new(&part)
                .literal_separator(true)
                .build()
                .map_err(|error| format!("invalid member pattern `{pattern}`: {error}"))?
                .compile_matcher();
            for dir in &current {
                let Some(entries) = source::read_dir(dir) else {
                    continue;
                };
                next.extend(
                    entries
                        .into_iter()
                        .filter(|(name, _)| matcher.is_match(Path::new(name)))
                        .map(|(name, _)| dir.join(name)),
                );
            }
        }
        current = next;
    }
    if !globbed || current.is_empty() {
        // Like cargo: a pattern that matches nothing stands for itself (and fails to load).
        return Ok(if globbed {
            vec![root.join(pattern)]
        } else {
            current
        });
    }
    Ok(current
        .into_iter()
        .filter(|path| source::is_dir(path))
        .collect())
}

/// A dependency declaration before it is matched with a member.
struct RawDep {
    /// The key in the dependency table (the rename, if any).
    key: String,
    /// The package name.
    package: String,
    kind: DepKind,
    target: Option<String>,
    /// Absolute normalized directory of a path dependency.
    path: Option<PathBuf>,
    /// Where the dependency comes from when it is not a path.
    source: DepSource,
    optional: bool,
}

/// Where a dependency declaration says the package comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DepSource {
    Path,
    /// `git = "url"`.
    Git(String),
    /// `registry = "name"`; `None` is crates.io.
    Registry(Option<String>),
    /// `registry-index = "url"`.
    RegistryIndex(String),
}

impl DepSource {
    /// Whether a `[patch.<key>]` table patches dependencies from this source: crates.io by
    /// `crates-io` or its index URL, another registry by its name or index URL, a git
    /// repository by its URL.
    fn patched_by(&self, key: &str) -> bool {
        match self {
            Self::Path => false,
            Self::Registry(None) => key == "crates-io" || is_crates_io_url(key),
            Self::Registry(Some(name)) => {
                key == name || (name == "crates-io" && is_crates_io_url(key))
            }
            Self::Git(url) | Self::RegistryIndex(url) => same_url(url, key),
        }
    }
}

fn is_crates_io_url(url: &str) -> bool {
    same_url(url, "https://github.com/rust-lang/crates.io-index")
        || same_url(url, "sparse+https://index.crates.io/")
}

/// URLs equal up to case, a trailing `/` and a trailing `.git`.
fn same_url(a: &str, b: &str) -> bool {
    let canonical = |url: &str| {
        let url = url.trim().to_ascii_lowercase();
        let url = url.trim_end_matches('/');
        url.strip_suffix(".git").unwrap_or(url).to_owned()
    };
    canonical(a) == canonical(b)
}

/// A `[patch.<key>]` or `[replace]` entry of the root manifest that names a path: dependencies
/// on `package` from the patched source are served by the package in `dir`.
#[derive(Clone, Debug)]
struct Redirect {
    /// The `[patch]` table key (`crates-io`, a registry name or a URL); `None` for `[replace]`,
    /// which names its source in the package id spec and is matched by package name alone.
    source_key: Option<String>,
    /// Absolute normalized directory.
    dir: PathBuf,
}

/// The path entries of the root manifest's `[patch.*]` tables and `[replace]`.
fn redirects(root_table: &Table, root: &Path) -> Vec<Redirect> {
    let path_of = |value: &Value| {
        value
            .as_table()?
            .get("path")?
            .as_str()
            .map(|path| normalize(&root.join(path)))
    };
    let mut out = Vec::new();
    if let Some(patches) = root_table.get("patch").and_then(Value::as_table) {
        for (key, entries) in patches {
            for value in entries.as_table().into_iter().flat_map(Table::values) {
                if let Some(dir) = path_of(value) {
                    out.push(Redirect {
                        source_key: Some(key.clone()),
                        dir,
                    });
                }
            }
        }
    }
    if let Some(replace) = root_table.get("replace").and_then(Value::as_table) {
        for value in replace.values() {
            if let Some(dir) = path_of(value) {
                out.push(Redirect {
                    source_key: None,
                    dir,
                });
            }
        }
    }
    out
}

const DEPENDENCY_TABLES: [(&str, DepKind); 5] = [
    ("dependencies", DepKind::Normal),
    ("dev-dependencies", DepKind::Dev),
    ("dev_dependencies", DepKind::Dev),
    ("build-dependencies", DepKind::Build),
    ("build_dependencies", DepKind::Build),
];

fn raw_dependencies(
    table: &Table,
    dir: &Path,
    manifest: &Path,
    config: Option<&WorkspaceConfig>,
) -> Result<Vec<RawDep>, ManifestError> {
    let mut deps = Vec::new();
    let mut sections: Vec<(Option<String>, &Table)> = vec![(None, table)];
    if let Some(targets) = table.get("target").and_then(Value::as_table) {
        for (platform, section) in targets {
            if let Some(section) = section.as_table() {
                sections.push((Some(platform.clone()), section));
            }
        }
    }
    for (platform, section) in sections {
        for (name, kind) in DEPENDENCY_TABLES {
            let Some(entries) = section.get(name) else {
                continue;
            };
            let entries = entries.as_table().ok_or_else(|| {
                ManifestError::invalid(manifest, format!("`{name}` must be a table"))
            })?;
            for (key, value) in entries {
                deps.push(raw_dependency(
                    key,
                    value,
                    kind,
                    platform.clone(),
                    dir,
                    manifest,
                    config,
                )?);
            }
        }
    }
    Ok(deps)
}

fn raw_dependency(
    key: &str,
    value: &Value,
    kind: DepKind,
    target: Option<String>,
    dir: &Path,
    manifest: &Path,
    config: Option<&WorkspaceConfig>,
) -> Result<RawDep, ManifestError> {
    let mut dep = RawDep {
        key: key.to_owned(),
        package: key.to_owned(),
        kind,
        target,
        path: None,
        source: DepSource::Registry(None),
        optional: false,
    };
    let table = match value {
        Value::String(_) => return Ok(dep),
        Value::Table(table) => table,
        _ => {
            return Err(ManifestError::invalid(
                manifest,
                format!("dependency `{key}` must be a version string or a table"),
            ));
        }
    };
    dep.optional = table.get("optional").and_then(Value::as_bool) == Some(true);
    let inherited = table.get("workspace").and_then(Value::as_bool) == Some(true);
    let (source, base) = if inherited {
        let config = config.ok_or_else(|| {
            ManifestError::invalid(
                manifest,
                format!("dependency `{key}` inherits from a workspace, but there is none"),
            )
        })?;
        let entry = config.dependencies.get(key).ok_or_else(|| {
            ManifestError::invalid(
                manifest,
                format!(
                    "dependency `{key}` has `workspace = true`, but `workspace.dependencies` in {} has no `{key}`",
                    config.manifest.display()
                ),
            )
        })?;
        match entry {
            Value::Table(entry) => (Some(entry), config.root.as_path()),
            _ => (None, config.root.as_path()),
        }
    } else {
        (Some(table), dir)
    };
    let renamed = table
        .get("package")
        .or_else(|| source.and_then(|source| source.get("package")))
        .and_then(Value::as_str);
    if let Some(package) = renamed {
        package.clone_into(&mut dep.package);
    }
    if let Some(path) = source
        .and_then(|source| source.get("path"))
        .and_then(Value::as_str)
    {
        dep.path = Some(normalize(&base.join(path)));
        dep.source = DepSource::Path;
    } else if let Some(source) = source {
        let text = |key: &str| source.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(url) = text("git") {
            dep.source = DepSource::Git(url);
        } else if let Some(name) = text("registry") {
            dep.source = DepSource::Registry(Some(name));
        } else if let Some(url) = text("registry-index") {
            dep.source = DepSource::RegistryIndex(url);
        }
    }
    Ok(dep)
}

/// A `package` field that may be `{ workspace = true }`.
fn inherited_string(
    package: &Table,
    key: &str,
    config: Option<&WorkspaceConfig>,
    manifest: &Path,
) -> Result<Option<String>, ManifestError> {
    match package.get(key) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(Value::Table(table))
            if table.get("workspace").and_then(Value::as_bool) == Some(true) =>
        {
            let value = config
                .and_then(|config| config.package.get(key))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ManifestError::invalid(
                        manifest,
                        format!("`package.{key}` inherits from `workspace.package.{key}`, which is missing"),
                    )
                })?;
            Ok(Some(value.to_owned()))
        }
        Some(_) => Err(ManifestError::invalid(
            manifest,
            format!("`package.{key}` must be a string"),
        )),
    }
}

fn build_package(
    root: &Path,
    dir: &Path,
    table: &Table,
    config: Option<&WorkspaceConfig>,
) -> Result<(Package, Vec<RawDep>), ManifestError> {
    let manifest = dir.join("Cargo.toml");
    let package = package_table(table)
        .ok_or_else(|| ManifestError::invalid(&manifest, "missing [package]"))?;
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ManifestError::invalid(&manifest, "`package.name` is missing"))?
        .to_owned();
    let version = inherited_string(package, "version", config, &manifest)?
        .unwrap_or_else(|| "0.0.0".to_owned());
    let edition = inherited_string(package, "edition", config, &manifest)?
        .unwrap_or_else(|| "2015".to_owned());
    let raw = raw_dependencies(table, dir, &manifest, config)?;
    let discovery = Discovery {
        root,
        dir,
        manifest: &manifest,
        package_name: &name,
        edition_2015: edition == "2015",
    };
    let targets = discovery.targets(table, package)?;
    let dir_rel = relative(root, dir);
    let manifest_rel = if dir_rel.is_empty() {
        "Cargo.toml".to_owned()
    } else {
        format!("{dir_rel}/Cargo.toml")
    };
    Ok((
        Package {
            name,
            version,
            edition,
            dir: dir_rel,
            manifest: manifest_rel,
            targets,
            dependencies: Vec::new(),
            external_dependencies: Vec::new(),
            external_crate_names: Vec::new(),
        },
        raw,
    ))
}

/// Target discovery for one package, after cargo's `util/toml/targets.rs`.
struct Discovery<'a> {
    root: &'a Path,
    dir: &'a Path,
    manifest: &'a Path,
    package_name: &'a str,
    edition_2015: bool,
}

/// A target section (explicit or inferred) before its path is settled.
#[derive(Clone)]
struct TargetSpec {
    name: String,
    path: Option<PathBuf>,
    table: Table,
}

impl Discovery<'_> {
    fn targets(&self, table: &Table, package: &Table) -> Result<Vec<Target>, ManifestError> {
        let auto = |key: &str| package.get(key).and_then(Value::as_bool);
        let mut targets = Vec::new();
        if let Some(lib) = self.lib(table.get("lib"), auto("autolib"))? {
            targets.push(lib);
        }
        let has_lib = !targets.is_empty();

        let mut bins_inferred = Vec::new();
        let main = self.dir.join("src/main.rs");
        if source::exists(&main) {
            bins_inferred.push((self.package_name.to_owned(), main));
        }
        bins_inferred.extend(infer_from_directory(&self.dir.join("src/bin")));
        let kinds = [
            (TargetKind::Bin, "bin", "autobins", bins_inferred),
            (
                TargetKind::Example,
                "example",
                "autoexamples",
                infer_from_directory(&self.dir.join("examples")),
            ),
            (
                TargetKind::Test,
                "test",
                "autotests",
                infer_from_directory(&self.dir.join("tests")),
            ),
            (
                TargetKind::Bench,
                "bench",
                "autobenches",
                infer_from_directory(&self.dir.join("benches")),
            ),
        ];
        for (kind, section, auto_key, inferred) in kinds {
            let explicit = self.explicit_sections(table.get(section), section)?;
            let specs = self.merge(explicit, &inferred, auto(auto_key));
            let mut names = HashSet::new();
            let mut of_kind = Vec::new();
            for spec in specs {
                if !names.insert(spec.name.clone()) {
                    return Err(ManifestError::invalid(
                        self.manifest,
                        format!("found duplicate {section} name {}", spec.name),
                    ));
                }
                let path = self.target_path(&spec, &inferred, kind, has_lib)?;
                of_kind.push(self.target(kind, spec.name.clone(), &path, &spec.table)?);
            }
            of_kind.sort_by(|a, b| a.name.cmp(&b.name));
            targets.extend(of_kind);
        }
        targets.extend(self.build_scripts(package)?);
        Ok(targets)
    }

    fn lib(
        &self,
        section: Option<&Value>,
        autolib: Option<bool>,
    ) -> Result<Option<Target>, ManifestError> {
        let inferred = Some(self.dir.join("src/lib.rs"))
            .filter(|path| source::exists(path) && autolib != Some(false));
        let table = match section {
            Some(Value::Table(table)) => table.clone(),
            Some(_) => {
                return Err(ManifestError::invalid(
                    self.manifest,
                    "`lib` must be a table",
                ));
            }
            None if inferred.is_some() => Table::new(),
            None => return Ok(None),
        };
        let name = match table.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => {
                return Err(ManifestError::invalid(
                    self.manifest,
                    "`lib.name` must be a string",
                ));
            }
            None => self.package_name.replace('-', "_"),
        };
        let legacy = self.dir.join("src").join(format!("{name}.rs"));
        let path = if let Some(path) = table.get("path").and_then(Value::as_str) {
            self.dir.join(path)
        } else if let Some(path) = inferred {
            path
        } else if self.edition_2015 && source::exists(&legacy) {
            legacy
        } else {
            return Err(ManifestError::invalid(
                self.manifest,
                format!(
                    "can't find library `{name}`, rename file to `src/lib.rs` or specify lib.path"
                ),
            ));
        };
        let proc_macro = ["proc-macro", "proc_macro"]
            .iter()
            .any(|key| table.get(*key).and_then(Value::as_bool) == Some(true))
            || ["crate-type", "crate_type"].iter().any(|key| {
                table
                    .get(*key)
                    .and_then(string_array)
                    .is_some_and(|types| types.iter().any(|t| t == "proc-macro"))
            });
        let kind = if proc_macro {
            TargetKind::ProcMacro
        } else {
            TargetKind::Lib
        };
        self.target(kind, name, &path, &table).map(Some)
    }

    fn explicit_sections(
        &self,
        value: Option<&Value>,
        section: &str,
    ) -> Result<Option<Vec<TargetSpec>>, ManifestError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let items = value.as_array().ok_or_else(|| {
            ManifestError::invalid(
                self.manifest,
                format!("`{section}` must be an array of tables"),
            )
        })?;
        let mut specs = Vec::new();
        for item in items {
            let table = item.as_table().ok_or_else(|| {
                ManifestError::invalid(
                    self.manifest,
                    format!("`{section}` must be an array of tables"),
                )
            })?;
            let name = table
                .get("name")
                .and_then(Value::as_str)
                .filter(|name| !name.trim().is_empty())
                .ok_or_else(|| {
                    ManifestError::invalid(
                        self.manifest,
                        format!("{section} target {section}.name is required"),
                    )
                })?;
            specs.push(TargetSpec {
                name: name.to_owned(),
                path: table
                    .get("path")
                    .and_then(Value::as_str)
                    .map(|path| self.dir.join(path)),
                table: table.clone(),
            });
        }
        Ok(Some(specs))
    }

    /// cargo's `toml_targets_and_inferred`.
    fn merge(
        &self,
        explicit: Option<Vec<TargetSpec>>,
        inferred: &[(String, PathBuf)],
        autodiscover: Option<bool>,
    ) -> Vec<TargetSpec> {
        let inferred_specs = inferred.iter().map(|(name, path)| TargetSpec {
            name: name.clone(),
            path: Some(path.clone()),
            table: Table::new(),
        });
        let Some(mut explicit) = explicit else {
            return if autodiscover == Some(false) {
                Vec::new()
            } else {
                inferred_specs.collect()
            };
        };
        if autodiscover.unwrap_or(!self.edition_2015) {
            let names: HashSet<String> = explicit.iter().map(|spec| spec.name.clone()).collect();
            let paths: HashSet<Option<PathBuf>> =
                explicit.iter().map(|spec| spec.path.clone()).collect();
            explicit.extend(
                inferred_specs
                    .filter(|spec| !names.contains(&spec.name) && !paths.contains(&spec.path)),
            );
        }
        explicit
    }

    fn target_path(
        &self,
        spec: &TargetSpec,
        inferred: &[(String, PathBuf)],
        kind: TargetKind,
        has_lib: bool,
    ) -> Result<PathBuf, ManifestError> {
        if let Some(path) = &spec.path {
            return Ok(path.clone());
        }
        let matching: Vec<&PathBuf> = inferred
            .iter()
            .filter(|(name, _)| *name == spec.name)
            .map(|(_, path)| path)
            .collect();
        if let [path] = matching.as_slice() {
            return Ok((*path).clone());
        }
        if self.edition_2015 {
            let src = self.dir.join("src");
            let legacy: Vec<PathBuf> = match kind {
                TargetKind::Bin => {
                    let mut candidates = Vec::new();
                    if !has_lib {
                        candidates.push(src.join(format!("{}.rs", spec.name)));
                    }
                    candidates.push(src.join("main.rs"));
                    candidates.push(src.join("bin/main.rs"));
                    candidates
                }
                TargetKind::Bench if spec.name == "bench" => vec![src.join("bench.rs")],
                _ => Vec::new(),
            };
            if let Some(path) = legacy.into_iter().find(|path| source::exists(path)) {
                return Ok(path);
            }
        }
        Err(ManifestError::invalid(
            self.manifest,
            format!(
                "can't find the path of {} target `{}`; specify its `path`",
                kind.as_str(),
                spec.name
            ),
        ))
    }

    fn target(
        &self,
        kind: TargetKind,
        name: String,
        path: &Path,
        table: &Table,
    ) -> Result<Target, ManifestError> {
        let flag =
            |key: &str, default: bool| table.get(key).and_then(Value::as_bool).unwrap_or(default);
        let required_features = match table.get("required-features") {
            None => Vec::new(),
            Some(value) => string_array(value).ok_or_else(|| {
                ManifestError::invalid(
                    self.manifest,
                    format!("`required-features` of target `{name}` must be an array of strings"),
                )
            })?,
        };
        let tested_by_default = matches!(
            kind,
            TargetKind::Lib | TargetKind::ProcMacro | TargetKind::Bin | TargetKind::Test
        );
        Ok(Target {
            kind,
            binary_id: nextest_binary_id(self.package_name, kind, &name),
            root: relative(self.root, path),
            harness: flag("harness", true),
            test: flag("test", tested_by_default),
            required_features,
            name,
        })
    }

    /// `build = false | true | "path"`, or an array of paths (several build scripts), else
    /// `build.rs` when it exists.
    fn build_scripts(&self, package: &Table) -> Result<Vec<Target>, ManifestError> {
        let build_rs = self.dir.join("build.rs");
        let paths = match package.get("build") {
            Some(Value::Boolean(false)) => Vec::new(),
            Some(Value::Boolean(true)) => vec![build_rs],
            Some(Value::String(path)) => vec![self.dir.join(path)],
            Some(value @ Value::Array(_)) => string_array(value)
                .ok_or_else(|| {
                    ManifestError::invalid(self.manifest, "`package.build` must list paths")
                })?
                .iter()
                .map(|path| self.dir.join(path))
                .collect(),
            Some(_) => {
                return Err(ManifestError::invalid(
                    self.manifest,
                    "`package.build` must be a path or a boolean",
                ));
            }
            None if source::is_file(&build_rs) => vec![build_rs],
            None => Vec::new(),
        };
        Ok(paths
            .into_iter()
            .map(|path| {
                let stem = path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Target {
                    kind: TargetKind::BuildScript,
                    name: format!("build-script-{stem}"),
                    root: relative(self.root, &path),
                    harness: false,
                    test: false,
                    required_features: Vec::new(),
                    binary_id: None,
                }
            })
            .collect())
    }
}

/// `dir/*.rs` (named by stem) and `dir/*/main.rs` (named by folder), skipping dotfiles, sorted.
fn infer_from_directory(dir: &Path) -> Vec<(String, PathBuf)> {
    let Some(entries) = source::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .into_iter()
        .filter_map(|(file_name, is_dir)| {
            if file_name.starts_with('.') {
                return None;
            }
            let path = dir.join(&file_name);
            if is_dir {
                let main = path.join("main.rs");
                source::exists(&main).then_some((file_name, main))
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let stem = path.file_stem()?.to_str()?.to_owned();
                Some((stem, path))
            } else {
                None
            }
        })
        .collect();
    found.sort();
    found
}

/// Lexical normalization: drops `.`, resolves `..` against the preceding component.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `root` with "/" separators ("" for the root itself); a path outside
/// `root` keeps its normalized absolute form.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let path = normalize(path);
    match path.strip_prefix(root) {
        Ok(rest) => rest
            .components()
            .map(|component| component.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string_lossy().replace('\\', "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_characters() {
        let text = "a = 1\nbé = ?\n";
        let offset = text.find('?').unwrap();
        assert_eq!(line_column(text, offset), (2, 6));
        assert_eq!(line_column(text, 0), (1, 1));
    }

    #[test]
    fn toml_errors_carry_line_and_column() {
        let error = parse_toml(
            "[package]\nname = \"x\"\nversion = \n",
            Path::new("Cargo.toml"),
        )
        .unwrap_err();
        match error {
            ManifestError::Toml { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column >= 10, "column {column}");
            }
            other => panic!("expected a TOML error, got {other:?}"),
        }
    }

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/x/../y/z.rs")),
            "y/z.rs"
        );
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), "");
    }

    #[test]
    fn binary_ids_follow_nextest() {
        let id = |kind, name| nextest_binary_id("my-pkg", kind, name);
        assert_eq!(id(TargetKind::Lib, "my_pkg").as_deref(), Some("my-pkg"));
        assert_eq!(id(TargetKind::ProcMacro, "m").as_deref(), Some("my-pkg"));
        assert_eq!(id(TargetKind::Bin, "b").as_deref(), Some("my-pkg::bin/b"));
        assert_eq!(id(TargetKind::Test, "t-1").as_deref(), Some("my-pkg::t-1"));
        assert_eq!(
            id(TargetKind::Bench, "x").as_deref(),
            Some("my-pkg::bench/x")
        );
        assert_eq!(
            id(TargetKind::Example, "e").as_deref(),
            Some("my-pkg::example/e")
        );
        assert_eq!(id(TargetKind::BuildScript, "build-script-build"), None);
    }
}

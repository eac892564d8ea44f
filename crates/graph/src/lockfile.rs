//! Which packages of a `Cargo.lock` changed between two versions, and who depends on them.
//!
//! A lockfile is read as TOML: each `[[package]]` entry has a name, version, source, checksum and
//! a list of dependencies (`"name"`, `"name version"` or `"name version (source)"`). Entries are
//! grouped by name (a name may be locked at several versions); a name whose group differs in any
//! field, or that appears on one side only, is changed. Checksums of the old `[metadata]` table
//! (lockfile version 1) are folded into their entries.
//!
//! [`reverse_closure`] follows dependency lists backwards by name, so when one name is locked at
//! several versions, a dependent of any one of them counts as a dependent of all (safe, rarely
//! wider). Following names also follows redirections into the workspace: a dependency that
//! `[patch]` serves from a member is locked as that member's entry, without a `source`, and a
//! `[replace]`d one keeps its registry entry, which names the member in `replace` (a changed
//! `replace` is a change).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use toml::{Table, Value};

use crate::workspace::{ManifestError, PackageId, Workspace, parse_toml};

/// One `[[package]]` entry, with its dependencies sorted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LockedPackage {
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    /// `replace = "name version"`: the package `[replace]` serves this entry from.
    replace: Option<String>,
    dependencies: Vec<String>,
}

/// Package name → its locked entries, sorted.
type Locked = BTreeMap<String, Vec<LockedPackage>>;

const LOCKFILE: &str = "Cargo.lock";

fn parse_lock(text: &str) -> Result<Locked, ManifestError> {
    let path = Path::new(LOCKFILE);
    let table: Table = parse_toml(text, path)?;
    let invalid = |message: String| ManifestError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let legacy_checksums: HashMap<&str, &str> = table
        .get("metadata")
        .and_then(Value::as_table)
        .map(|metadata| {
            metadata
                .iter()
                .filter_map(|(key, value)| Some((key.strip_prefix("checksum ")?, value.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut locked = Locked::new();
    let packages = match table.get("package") {
        None => return Ok(locked),
        Some(Value::Array(packages)) => packages,
        Some(_) => return Err(invalid("`package` must be an array of tables".to_owned())),
    };
    for (index, entry) in packages.iter().enumerate() {
        let entry = entry
            .as_table()
            .ok_or_else(|| invalid(format!("package entry {index} is not a table")))?;
        let text_field = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let name = text_field("name")
            .ok_or_else(|| invalid(format!("package entry {index} has no name")))?;
        let version = text_field("version").unwrap_or_default();
        let source = text_field("source");
        let checksum = text_field("checksum").or_else(|| {
            let key = match &source {
                Some(source) => format!("{name} {version} ({source})"),
                None => format!("{name} {version}"),
            };
            legacy_checksums
                .get(key.as_str())
                .map(|sum| (*sum).to_owned())
        });
        let mut dependencies: Vec<String> = match entry.get("dependencies") {
            None => Vec::new(),
            Some(value) => value
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|item| item.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    invalid(format!(
                        "dependencies of `{name}` must be an array of strings"
                    ))
                })?,
        };
        dependencies.sort();
        locked.entry(name).or_default().push(LockedPackage {
            version,
            source,
            checksum,
            replace: text_field("replace"),
            dependencies,
        });
    }
    for entries in locked.values_mut() {
        entries.sort();
    }
    Ok(locked)
}

/// For each package of the lockfile from outside the workspace (one with a `source`, or a path
/// package that is not a member), the members (indexes into `members`, the members' names) it
/// depends on directly or through other such packages. A member is locked without a `source`;
/// a dependency string that names a source, or a version no source-less entry has, is not it.
pub(crate) fn members_through_externals(
    lock: &str,
    members: &[String],
) -> Result<HashMap<String, Vec<usize>>, ManifestError> {
    let locked = parse_lock(lock)?;
    let member_index: HashMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    // Whether a dependency string (`name`, `name version`, `name version (source)`) is a member.
    let is_member = |dependency: &str| -> Option<usize> {
        let mut parts = dependency.splitn(3, ' ');
        let name = parts.next()?;
        let version = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let index = *member_index.get(name)?;
        locked
            .get(name)?
            .iter()
            .any(|entry| entry.source.is_none() && version.is_none_or(|v| v == entry.version))
            .then_some(index)
    };
    let mut out = HashMap::new();
    for (name, entries) in &locked {
        if member_index.contains_key(name.as_str())
            && entries.iter().all(|entry| entry.source.is_none())
        {
            continue;
        }
        let mut reached: BTreeSet<usize> = BTreeSet::new();
        let mut seen: BTreeSet<&str> = BTreeSet::from([name.as_str()]);
        // A member's own entry is not the external package of the same name.
        let external = |entry: &&LockedPackage| {
            !(member_index.contains_key(name.as_str()) && entry.source.is_none())
        };
        let mut queue: VecDeque<&LockedPackage> = entries.iter().filter(external).collect();
        while let Some(entry) = queue.pop_front() {
            for dependency in &entry.dependencies {
                if let Some(member) = is_member(dependency) {
                    reached.insert(member);
                    continue;
                }
                let dependency_name = dependency.split(' ').next().unwrap_or(dependency);
                if seen.insert(dependency_name)
                    && let Some(next) = locked.get(dependency_name)
                {
                    let member = member_index.contains_key(dependency_name);
                    queue.extend(
                        next.iter()
                            .filter(|entry| !member || entry.source.is_some()),
                    );
                }
            }
        }
        if !reached.is_empty() {
            out.insert(name.clone(), reached.into_iter().collect());
        }
    }
    Ok(out)
}

/// Names of the packages whose version, source, checksum or dependencies changed, or that were
/// added or removed, sorted. An absent side counts as an empty lockfile.
pub fn changed_lock_packages(
    old: Option<&str>,
    new: Option<&str>,
) -> Result<Vec<String>, ManifestError> {
    let old = old.map(parse_lock).transpose()?.unwrap_or_default();
    let new = new.map(parse_lock).transpose()?.unwrap_or_default();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    Ok(names
        .into_iter()
        .filter(|name| old.get(*name) != new.get(*name))
        .cloned()
        .collect())
}

/// The names in `changed` that the lockfile knows, plus every package name of the lockfile that
/// depends on one of them directly or transitively, sorted. Workspace members in this set are
/// affected by the change.
pub fn reverse_closure(lock: &str, changed: &[String]) -> Result<Vec<String>, ManifestError> {
    let locked = parse_lock(lock)?;
    let mut dependents: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (name, entries) in &locked {
        for entry in entries {
            for dependency in &entry.dependencies {
                let dependency_name = dependency.split(' ').next().unwrap_or(dependency);
                dependents
                    .entry(dependency_name)
                    .or_default()
                    .insert(name.as_str());
            }
        }
    }
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = changed
        .iter()
        .map(String::as_str)
        .filter(|name| locked.contains_key(*name))
        .collect();
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        if let Some(users) = dependents.get(name) {
            queue.extend(users.iter().copied().filter(|user| !reached.contains(user)));
        }
    }
    Ok(reached.into_iter().map(str::to_owned).collect())
}

/// The members of `workspace` that a change of `Cargo.lock` from `old` to `new` can affect: those
/// whose name is among the changed packages or their dependents, in either version of the file.
pub fn affected_members(
    workspace: &Workspace,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<Vec<PackageId>, ManifestError> {
    let changed = changed_lock_packages(old, new)?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let mut reached = BTreeSet::new();
    for lock in [old, new].into_iter().flatten() {
        reached.extend(reverse_closure(lock, &changed)?);
    }
    Ok(workspace
        .packages()
        .filter(|(_, package)| reached.contains(&package.name))
        .map(|(id, _)| id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde_json",
 "thiserror",
]

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"

[[package]]
name = "memchr"
version = "2.7.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "78ca9ab1a0babb1e7d5695e3530886289c18cf2f87ec19a8a1c6093bd0ec7d3b"

[[package]]
name = "serde_json"
version = "1.0.128"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "6ff5456707a1de34e7e37f2a6fd3d3f808c318259cbd01ab6377795054b483d8"
dependencies = [
 "itoa",
 "memchr",
]

[[package]]
name = "thiserror"
version = "1.0.64"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "d50af8abc119fb8bb6dbabcfa89656f46f84aa0ac7688088608076ad2b459a84"

[[package]]
name = "tool"
version = "0.1.0"
dependencies = [
 "memchr",
]
"#;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn identical_lockfiles_change_nothing() {
        let reformatted = OLD.replace("# It is not intended for manual editing.\n", "");
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&reformatted)).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn version_bump_changes_the_package() {
        let new = OLD
            .replace("version = \"1.0.11\"", "version = \"1.0.14\"")
            .replace(
                "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b",
                "d75a2a4b1b190afb6f5425f10f6a8f959d2ea0b9c2b1d79553551850539e4674",
            );
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&new)).unwrap(),
            names(&["itoa"])
        );
    }

    #[test]
    fn checksum_or_source_change_is_a_change() {
        let new = OLD.replace("78ca9ab1", "00000000");
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&new)).unwrap(),
            names(&["memchr"])
        );
        let new = OLD.replacen(
            "source = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"d50af8",
            "source = \"git+https://github.com/dtolnay/thiserror?rev=abc#abc\"\nchecksum = \"d50af8",
            1,
        );
        assert_ne!(new, OLD);
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&new)).unwrap(),
            names(&["thiserror"])
        );
    }

    #[test]
    fn added_removed_and_rewired_packages() {
        let new = OLD.replace(" \"thiserror\",\n", " \"ryu\",\n").replace(
            "[[package]]\nname = \"thiserror\"\nversion = \"1.0.64\"",
            "[[package]]\nname = \"ryu\"\nversion = \"1.0.18\"",
        );
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&new)).unwrap(),
            names(&["app", "ryu", "thiserror"])
        );
    }

    #[test]
    fn a_second_version_of_a_name_is_a_change() {
        let new = format!(
            "{OLD}\n[[package]]\nname = \"memchr\"\nversion = \"1.0.2\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        );
        assert_eq!(
            changed_lock_packages(Some(OLD), Some(&new)).unwrap(),
            names(&["memchr"])
        );
    }

    #[test]
    fn absent_side_means_every_package() {
        let all = names(&["app", "itoa", "memchr", "serde_json", "thiserror", "tool"]);
        assert_eq!(changed_lock_packages(None, Some(OLD)).unwrap(), all);
        assert_eq!(changed_lock_packages(Some(OLD), None).unwrap(), all);
        assert!(changed_lock_packages(None, None).unwrap().is_empty());
    }

    #[test]
    fn legacy_metadata_checksums_count() {
        let v1 = |sum: &str| {
            format!(
                "[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[metadata]\n\"checksum itoa 1.0.11 (registry+https://github.com/rust-lang/crates.io-index)\" = \"{sum}\"\n"
            )
        };
        assert_eq!(
            changed_lock_packages(Some(&v1("aaaa")), Some(&v1("bbbb"))).unwrap(),
            names(&["itoa"])
        );
        assert!(
            changed_lock_packages(Some(&v1("aaaa")), Some(&v1("aaaa")))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_lockfile_is_an_error_with_position() {
        let broken = OLD.replace(
            "[[package]]\nname = \"tool\"",
            "[[package]\nname = \"tool\"",
        );
        match changed_lock_packages(Some(OLD), Some(&broken)) {
            Err(ManifestError::Toml { line, .. }) => assert!(line > 30, "line {line}"),
            other => panic!("expected a TOML error, got {other:?}"),
        }
    }

    #[test]
    fn reverse_closure_follows_dependents_transitively() {
        assert_eq!(
            reverse_closure(OLD, &names(&["itoa"])).unwrap(),
            names(&["app", "itoa", "serde_json"])
        );
        assert_eq!(
            reverse_closure(OLD, &names(&["memchr"])).unwrap(),
            names(&["app", "memchr", "serde_json", "tool"])
        );
        assert_eq!(
            reverse_closure(OLD, &names(&["thiserror", "unknown"])).unwrap(),
            names(&["app", "thiserror"])
        );
    }

    #[test]
    fn patched_and_replaced_members_are_followed_by_name() {
        // `ext` (from crates.io) depends on `core-lib`, which `[patch]` serves from a member: the
        // lockfile lists it without a source. `app` reaches it only through `ext`.
        let lock = "[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"ext\", \"legacy 0.3.0 (registry+https://github.com/rust-lang/crates.io-index)\"]\n\n[[package]]\nname = \"core-lib\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"ext\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\ndependencies = [\"core-lib\"]\n\n[[package]]\nname = \"legacy\"\nversion = \"0.3.0\"\n\n[[package]]\nname = \"legacy\"\nversion = \"0.3.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nreplace = \"legacy 0.3.0\"\n";
        assert_eq!(
            reverse_closure(lock, &names(&["core-lib"])).unwrap(),
            names(&["app", "core-lib", "ext"])
        );
        assert_eq!(
            reverse_closure(lock, &names(&["legacy"])).unwrap(),
            names(&["app", "legacy"])
        );
        let moved = lock.replace("replace = \"legacy 0.3.0\"", "replace = \"legacy 0.3.1\"");
        assert_eq!(
            changed_lock_packages(Some(lock), Some(&moved)).unwrap(),
            names(&["legacy"])
        );
    }

    #[test]
    fn members_are_found_through_external_packages_by_source_and_version() {
        let lock = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["bar"]

[[package]]
name = "bar"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["wrap"]

[[package]]
name = "wrap"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["foo 0.2.0"]

[[package]]
name = "baz"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["foo 0.1.0"]

[[package]]
name = "foo"
version = "0.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["qux"]

[[package]]
name = "foo"
version = "0.2.0"
dependencies = ["app"]

[[package]]
name = "qux"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let members = names(&["app", "foo"]);
        let through = members_through_externals(lock, &members).unwrap();
        // `bar` reaches the member `foo` through `wrap`; `baz` and the registry `foo` reach
        // only the registry `foo 0.1.0` and `qux`, and the member's own dependency on `app`
        // is not the registry `foo`'s.
        let mut found: Vec<(&str, &[usize])> = through
            .iter()
            .map(|(name, members)| (name.as_str(), members.as_slice()))
            .collect();
        found.sort_unstable();
        assert_eq!(found, [("bar", &[1][..]), ("wrap", &[1][..])]);
    }

    #[test]
    fn reverse_closure_reads_versioned_dependency_strings() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"b 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)\"]\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n";
        assert_eq!(
            reverse_closure(lock, &names(&["b"])).unwrap(),
            names(&["a", "b"])
        );
    }
}

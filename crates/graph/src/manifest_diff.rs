//! How far a change to a `Cargo.toml` reaches.
//!
//! [`classify_manifest_change`] parses both versions and compares the TOML values (not the text)
//! table by table, so comments, whitespace and key order never count. The result says whether
//! the change is invisible to the build ([`ManifestImpact::None`]), affects the package and its
//! dependents ([`ManifestImpact::Package`]), or the whole workspace
//! ([`ManifestImpact::Everything`]).
//!
//! Package fields that cargo hands to the compiler as `CARGO_PKG_*` environment variables
//! (`version`, `authors`, `description`, `homepage`, `repository`, `license`, `license-file`,
//! `readme`, `rust-version`) can be read by code (`env!`, clap's `about`/`version`), so changing
//! them counts as a package change. Only fields no compilation sees (`keywords`, `categories`,
//! `documentation`, `publish`, `include`, `exclude`, `default-run`, `metadata`, `badges`,
//! `workspace.metadata`) are [`ManifestImpact::None`]. A key this module does not know counts as a
//! package change.

use toml::{Table, Value};

/// The reach of a manifest change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestImpact {
    /// Nothing a build sees changed: comments, formatting, or publishing metadata.
    None,
    /// Dependencies, features, targets or package settings changed: this package and its
    /// dependents are affected.
    Package { reasons: Vec<String> },
    /// Workspace-wide settings changed (`[workspace]`, `[profile]`, `[patch]`, `[replace]`,
    /// `cargo-features`), the manifest appeared, disappeared, or cannot be parsed.
    Everything { reasons: Vec<String> },
}

/// `[package]` keys that neither the compiler nor the compiled code sees.
const INERT_PACKAGE_KEYS: [&str; 8] = [
    "keywords",
    "categories",
    "documentation",
    "publish",
    "include",
    "exclude",
    "default-run",
    "metadata",
];

/// `[package]` keys whose change reaches the whole workspace.
const WORKSPACE_PACKAGE_KEYS: [&str; 2] = ["workspace", "resolver"];

/// Top-level tables whose change reaches the whole workspace.
const WORKSPACE_TABLES: [&str; 4] = ["profile", "patch", "replace", "cargo-features"];

/// Classifies the change of one manifest from `old` to `new` (`None` = file absent).
pub fn classify_manifest_change(old: Option<&str>, new: Option<&str>) -> ManifestImpact {
    let (old, new) = match (old, new) {
        (None, None) => return ManifestImpact::None,
        (None, Some(_)) => {
            return ManifestImpact::Everything {
                reasons: vec!["manifest added".to_owned()],
            };
        }
        (Some(_), None) => {
            return ManifestImpact::Everything {
                reasons: vec!["manifest removed".to_owned()],
            };
        }
        (Some(old), Some(new)) => (old, new),
    };
    let parse = |text: &str, which: &str| {
        toml::from_str::<Table>(text).map_err(|error| {
            format!(
                "{which} manifest does not parse: {}",
                error.message().trim()
            )
        })
    };
    let (old, new) = match (parse(old, "old"), parse(new, "new")) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(reason), _) | (_, Err(reason)) => {
            return ManifestImpact::Everything {
                reasons: vec![reason],
            };
        }
    };

    let mut package_reasons = Vec::new();
    let mut everything_reasons = Vec::new();
    for key in changed_keys(&old, &new) {
        match key.as_str() {
            "package" | "project" => {
                let empty = Table::new();
                let old_package = old.get(&key).and_then(Value::as_table).unwrap_or(&empty);
                let new_package = new.get(&key).and_then(Value::as_table).unwrap_or(&empty);
                for field in changed_keys(old_package, new_package) {
                    if INERT_PACKAGE_KEYS.contains(&field.as_str()) {
                        continue;
                    }
                    let reason = format!("`{key}.{field}` changed");
                    if WORKSPACE_PACKAGE_KEYS.contains(&field.as_str()) {
                        everything_reasons.push(reason);
                    } else {
                        package_reasons.push(reason);
                    }
                }
            }
            "workspace" => {
                let empty = Table::new();
                let old_ws = old.get(&key).and_then(Value::as_table).unwrap_or(&empty);
                let new_ws = new.get(&key).and_then(Value::as_table).unwrap_or(&empty);
                if old.contains_key(&key) != new.contains_key(&key) {
                    everything_reasons.push("`[workspace]` added or removed".to_owned());
                }
                for field in changed_keys(old_ws, new_ws) {
                    if field != "metadata" {
                        everything_reasons.push(format!("`workspace.{field}` changed"));
                    }
                }
            }
            "badges" => {}
            table if WORKSPACE_TABLES.contains(&table) => {
                everything_reasons.push(format!("`[{table}]` changed"));
            }
            other => package_reasons.push(format!("`[{other}]` changed")),
        }
    }
    if !everything_reasons.is_empty() {
        everything_reasons.extend(package_reasons);
        ManifestImpact::Everything {
            reasons: everything_reasons,
        }
    } else if !package_reasons.is_empty() {
        ManifestImpact::Package {
            reasons: package_reasons,
        }
    } else {
        ManifestImpact::None
    }
}

/// Keys present in either table whose values differ (or that exist on one side only), sorted.
fn changed_keys(old: &Table, new: &Table) -> Vec<String> {
    let mut keys: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|key| old.get(*key) != new.get(*key))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[package]
name = "demo"
version = "0.1.0"
edition = "2021"
description = "A demo"
keywords = ["demo"]

[dependencies]
serde = "1"

[features]
default = []

[[bin]]
name = "demo"
path = "src/main.rs"
"#;

    fn with(replace: &str, by: &str) -> String {
        assert!(BASE.contains(replace), "fixture lacks {replace:?}");
        BASE.replace(replace, by)
    }

    fn is_package(impact: &ManifestImpact, reason: &str) -> bool {
        matches!(impact, ManifestImpact::Package { reasons } if reasons.iter().any(|r| r.contains(reason)))
    }

    fn is_everything(impact: &ManifestImpact, reason: &str) -> bool {
        matches!(impact, ManifestImpact::Everything { reasons } if reasons.iter().any(|r| r.contains(reason)))
    }

    #[test]
    fn comments_whitespace_and_order_are_no_change() {
        let reformatted = format!(
            "# a comment\n{}",
            BASE.replace("serde = \"1\"", "serde   =   \"1\" # pinned")
                .replace(
                    "version = \"0.1.0\"\nedition = \"2021\"",
                    "edition = \"2021\"\nversion = \"0.1.0\""
                )
        );
        assert_ne!(reformatted, BASE);
        assert_eq!(
            classify_manifest_change(Some(BASE), Some(&reformatted)),
            ManifestImpact::None
        );
    }

    #[test]
    fn publishing_metadata_is_no_change() {
        let new = with(
            "keywords = [\"demo\"]",
            "keywords = [\"demo\", \"qa\"]\ncategories = [\"development-tools\"]\n[package.metadata.docs]\nall-features = true",
        );
        assert_eq!(
            classify_manifest_change(Some(BASE), Some(&new)),
            ManifestImpact::None
        );
        let new =
            format!("{BASE}\n[badges]\nmaintenance = {{ status = \"passively-maintained\" }}\n");
        assert_eq!(
            classify_manifest_change(Some(BASE), Some(&new)),
            ManifestImpact::None
        );
    }

    #[test]
    fn description_reaches_code_through_the_environment() {
        let new = with("A demo", "Another demo");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "package.description"
        ));
    }

    #[test]
    fn dependency_change_is_a_package_change() {
        let new = with("serde = \"1\"", "serde = \"1.0.200\"");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[dependencies]"
        ));
        let new = format!("{BASE}\n[dev-dependencies]\ntempfile = \"3\"\n");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[dev-dependencies]"
        ));
        let new = format!("{BASE}\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[target]"
        ));
    }

    #[test]
    fn feature_and_target_changes_are_package_changes() {
        let new = with("default = []", "default = [\"x\"]\nx = []");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[features]"
        ));
        let new = with("path = \"src/main.rs\"", "path = \"src/cli.rs\"");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[bin]"
        ));
        let new = format!("{BASE}\n[lib]\nproc-macro = true\n");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[lib]"
        ));
        let new = with("edition = \"2021\"", "edition = \"2024\"");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "package.edition"
        ));
    }

    #[test]
    fn profile_patch_and_replace_are_everything() {
        for (section, reason) in [
            ("[profile.dev]\nopt-level = 1\n", "[profile]"),
            (
                "[patch.crates-io]\nserde = { path = \"../serde\" }\n",
                "[patch]",
            ),
            (
                "[replace]\n\"serde:1.0.0\" = { path = \"../serde\" }\n",
                "[replace]",
            ),
        ] {
            let new = format!("{BASE}\n{section}");
            assert!(
                is_everything(&classify_manifest_change(Some(BASE), Some(&new)), reason),
                "{section}"
            );
        }
    }

    #[test]
    fn workspace_changes_of_a_root_package_are_everything() {
        let old = format!("{BASE}\n[workspace]\nmembers = [\"crates/*\"]\n");
        let new = format!("{BASE}\n[workspace]\nmembers = [\"crates/*\", \"tools/*\"]\n");
        assert!(is_everything(
            &classify_manifest_change(Some(&old), Some(&new)),
            "workspace.members"
        ));
        let new = format!(
            "{BASE}\n[workspace]\nmembers = [\"crates/*\"]\n[workspace.dependencies]\nserde = \"1\"\n"
        );
        assert!(is_everything(
            &classify_manifest_change(Some(&old), Some(&new)),
            "workspace.dependencies"
        ));
        let new = format!(
            "{BASE}\n[workspace]\nmembers = [\"crates/*\"]\n[workspace.lints.clippy]\npedantic = \"warn\"\n"
        );
        assert!(is_everything(
            &classify_manifest_change(Some(&old), Some(&new)),
            "workspace.lints"
        ));
        let new = format!(
            "{BASE}\n[workspace]\nmembers = [\"crates/*\"]\n[workspace.metadata.release]\nsign = true\n"
        );
        assert_eq!(
            classify_manifest_change(Some(&old), Some(&new)),
            ManifestImpact::None
        );
        assert!(is_everything(
            &classify_manifest_change(Some(BASE), Some(&old)),
            "[workspace]"
        ));
    }

    #[test]
    fn everything_keeps_the_package_reasons_too() {
        let new = format!(
            "{}\n[profile.release]\nlto = true\n",
            with("serde = \"1\"", "serde = \"2\"")
        );
        match classify_manifest_change(Some(BASE), Some(&new)) {
            ManifestImpact::Everything { reasons } => {
                assert!(
                    reasons.iter().any(|r| r.contains("[profile]")),
                    "{reasons:?}"
                );
                assert!(
                    reasons.iter().any(|r| r.contains("[dependencies]")),
                    "{reasons:?}"
                );
            }
            other => panic!("expected Everything, got {other:?}"),
        }
    }

    #[test]
    fn parse_failure_is_everything() {
        let broken = with("[features]", "[features");
        assert!(is_everything(
            &classify_manifest_change(Some(BASE), Some(&broken)),
            "new manifest does not parse"
        ));
        assert!(is_everything(
            &classify_manifest_change(Some(&broken), Some(BASE)),
            "old manifest does not parse"
        ));
    }

    #[test]
    fn added_or_removed_manifest_is_everything() {
        assert!(is_everything(
            &classify_manifest_change(None, Some(BASE)),
            "added"
        ));
        assert!(is_everything(
            &classify_manifest_change(Some(BASE), None),
            "removed"
        ));
        assert_eq!(classify_manifest_change(None, None), ManifestImpact::None);
    }

    #[test]
    fn unknown_keys_count_as_package_changes() {
        let new = format!("{BASE}\n[lints.rust]\nunsafe_code = \"forbid\"\n");
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "[lints]"
        ));
        let new = with(
            "keywords = [\"demo\"]",
            "keywords = [\"demo\"]\nfuture-key = 1",
        );
        assert!(is_package(
            &classify_manifest_change(Some(BASE), Some(&new)),
            "package.future-key"
        ));
    }
}

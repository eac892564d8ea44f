use hourglass_select::{ChangeContext, ManifestChange};

use crate::{Workspace, all_ids, ids, manifest, modified, run, run_with};

fn context(path: &str, old: &str, new: &str) -> ChangeContext {
    ChangeContext {
        manifests: vec![ManifestChange {
            path: path.to_owned(),
            old: Some(old.to_owned()),
            new: Some(new.to_owned()),
        }],
        lockfile: None,
    }
}

#[test]
fn a_dependency_change_selects_the_package_and_its_dependents() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let old = manifest("alpha", "");
    let new = manifest("alpha", "itoa = \"1\"\n");
    let selection = run_with(
        &graph,
        vec![modified("crates/alpha/Cargo.toml", 6, 6)],
        &context("crates/alpha/Cargo.toml", &old, &new),
    );
    let selected = ids(&selection);
    assert!(
        selected.iter().any(|id| id.starts_with("alpha ")),
        "{selected:?}"
    );
    assert!(
        selected.iter().any(|id| id.starts_with("beta")),
        "{selected:?}"
    );
    assert!(
        !selected.iter().any(|id| id.starts_with("gamma")),
        "{selected:?}"
    );
}

#[test]
fn a_comment_in_a_manifest_selects_nothing() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let old = manifest("alpha", "");
    let new = format!("# a comment\n{old}");
    let selection = run_with(
        &graph,
        vec![modified("crates/alpha/Cargo.toml", 1, 1)],
        &context("crates/alpha/Cargo.toml", &old, &new),
    );
    assert!(selection.selected.is_empty(), "{:?}", ids(&selection));
}

#[test]
fn a_profile_change_runs_everything() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let old = "[workspace]\nmembers = []\n";
    let new = "[workspace]\nmembers = []\n\n[profile.dev]\nopt-level = 3\n";
    let selection = run_with(
        &graph,
        vec![modified("Cargo.toml", 3, 5)],
        &context("Cargo.toml", old, new),
    );
    assert!(selection.run_all);
    assert_eq!(ids(&selection), all_ids(&graph));
}

#[test]
fn a_manifest_without_its_contents_runs_everything() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let selection = run(&graph, vec![modified("crates/alpha/Cargo.toml", 1, 1)]);
    assert!(selection.run_all);
    assert!(selection.run_all_reasons[0].contains("not supplied"));
}

fn lock(serde_version: &str) -> String {
    format!(
        "version = 3\n\n\
         [[package]]\nname = \"alpha\"\nversion = \"0.1.0\"\n\n\
         [[package]]\nname = \"beta\"\nversion = \"0.1.0\"\ndependencies = [\n \"alpha\",\n]\n\n\
         [[package]]\nname = \"gamma\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n]\n\n\
         [[package]]\nname = \"serde\"\nversion = \"{serde_version}\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
    )
}

#[test]
fn a_lockfile_bump_selects_the_packages_using_the_crate() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let context = ChangeContext {
        manifests: vec![],
        lockfile: Some((Some(lock("1.0.100")), Some(lock("1.0.200")))),
    };
    let selection = run_with(&graph, vec![modified("Cargo.lock", 20, 20)], &context);
    assert_eq!(ids(&selection), ["gamma tests::shouts"]);
    assert!(selection.selected[0].reasons[0].contains("`serde`"));
}

#[test]
fn a_new_lockfile_counts_its_crates_and_a_regenerated_one_selects_nothing() {
    let workspace = Workspace::new();
    let graph = workspace.graph();
    let context = ChangeContext {
        manifests: vec![],
        lockfile: Some((None, Some(lock("1.0.100")))),
    };
    // From no lockfile to one: every locked crate is new, serde included.
    let selection = run_with(&graph, vec![modified("Cargo.lock", 1, 1)], &context);
    assert_eq!(ids(&selection), ["gamma tests::shouts"]);

    let same = ChangeContext {
        manifests: vec![],
        lockfile: Some((
            Some(lock("1.0.100")),
            Some(format!("# regenerated\n{}", lock("1.0.100"))),
        )),
    };
    let selection = run_with(&graph, vec![modified("Cargo.lock", 1, 1)], &same);
    assert!(selection.selected.is_empty(), "{:?}", ids(&selection));
}

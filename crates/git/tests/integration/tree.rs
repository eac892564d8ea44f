use hourglass_git::{file_at, materialize};

use crate::Repo;

#[test]
fn file_at_reads_an_old_revision() {
    let repo = Repo::new();
    repo.write("Cargo.toml", "[package]\nname = \"a\"\n");
    let first = repo.commit_all("first");
    repo.write("Cargo.toml", "[package]\nname = \"b\"\n");
    repo.commit_all("second");
    assert_eq!(
        file_at(repo.path(), &first, "Cargo.toml")
            .unwrap()
            .as_deref(),
        Some("[package]\nname = \"a\"\n")
    );
    assert_eq!(
        file_at(repo.path(), "HEAD", "Cargo.toml")
            .unwrap()
            .as_deref(),
        Some("[package]\nname = \"b\"\n")
    );
    assert_eq!(file_at(repo.path(), "HEAD", "Cargo.lock").unwrap(), None);
}

#[test]
fn materialize_writes_the_revision_not_the_work_tree() {
    let repo = Repo::new();
    repo.write("src/lib.rs", "pub fn a() {}\n");
    repo.write("README.md", "hello\n");
    let first = repo.commit_all("first");
    repo.write("src/lib.rs", "pub fn b() {}\n");
    repo.write("src/extra.rs", "// untracked\n");
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("tree");
    materialize(repo.path(), &first, &out).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("src/lib.rs")).unwrap(),
        "pub fn a() {}\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "hello\n"
    );
    assert!(!out.join("src/extra.rs").exists());
    assert!(!out.join(".git").exists());
}

#[test]
fn an_unknown_revision_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("first");
    let error = file_at(repo.path(), "no-such-branch", "a.txt").unwrap_err();
    assert!(error.to_string().contains("no-such-branch"), "{error}");
}

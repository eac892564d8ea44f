use hourglass_git::{RevisionTree, file_at};

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

fn read(tree: &RevisionTree, path: &str) -> Option<String> {
    let mut bytes = Vec::new();
    tree.read_into(path, &mut bytes)
        .then(|| String::from_utf8(bytes).unwrap())
}

#[test]
fn a_revision_tree_reads_the_revision_not_the_work_tree() {
    let repo = Repo::new();
    repo.write("src/lib.rs", "pub fn a() {}\n");
    repo.write("README.md", "hello\n");
    let first = repo.commit_all("first");
    repo.write("src/lib.rs", "pub fn b() {}\n");
    repo.write("src/extra.rs", "// untracked\n");
    let tree = RevisionTree::open(repo.path(), &first).unwrap();
    assert_eq!(
        read(&tree, "src/lib.rs").as_deref(),
        Some("pub fn a() {}\n")
    );
    assert_eq!(read(&tree, "README.md").as_deref(), Some("hello\n"));
    assert_eq!(read(&tree, "src/extra.rs"), None);
    assert!(!tree.is_file("src/extra.rs"));
    assert!(!tree.is_dir(".git"));
    assert!(tree.is_dir("src") && tree.is_dir(""));
    assert!(tree.is_file("src/lib.rs") && !tree.is_dir("src/lib.rs"));
    let mut root = tree.read_dir("").unwrap();
    root.sort();
    assert_eq!(
        root,
        [("README.md".to_owned(), false), ("src".to_owned(), true)]
    );
    assert_eq!(tree.read_dir("README.md"), None);
}

#[test]
fn a_revision_tree_names_contents_by_blob_id() {
    let repo = Repo::new();
    repo.write("a.rs", "fn a() {}\n");
    repo.write("b.rs", "fn a() {}\n");
    repo.write("c.rs", "fn c() {}\n");
    let first = repo.commit_all("first");
    let tree = RevisionTree::open(repo.path(), &first).unwrap();
    let id = |path| tree.blob_id(path).unwrap();
    assert_eq!(id("a.rs"), id("b.rs"), "the same contents have the same id");
    assert_ne!(id("a.rs"), id("c.rs"));
    assert_eq!(tree.blob_id("missing.rs"), None);
}

#[cfg(unix)]
#[test]
fn a_revision_tree_follows_links_inside_the_tree() {
    let repo = Repo::new();
    repo.write("real/lib.rs", "pub fn real() {}\n");
    std::os::unix::fs::symlink("real", repo.path().join("alias")).unwrap();
    std::os::unix::fs::symlink("real/lib.rs", repo.path().join("shared.rs")).unwrap();
    std::os::unix::fs::symlink("../../outside", repo.path().join("escape")).unwrap();
    let first = repo.commit_all("first");
    let tree = RevisionTree::open(repo.path(), &first).unwrap();
    assert!(tree.is_dir("alias"));
    assert_eq!(
        read(&tree, "alias/lib.rs").as_deref(),
        Some("pub fn real() {}\n")
    );
    assert_eq!(
        read(&tree, "shared.rs").as_deref(),
        Some("pub fn real() {}\n")
    );
    assert!(
        tree.read_dir("")
            .unwrap()
            .contains(&("alias".to_owned(), true))
    );
    assert_eq!(
        read(&tree, "escape"),
        None,
        "a link out of the tree leads nowhere"
    );
}

#[test]
fn an_unknown_revision_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("first");
    let error = file_at(repo.path(), "no-such-branch", "a.txt").unwrap_err();
    assert!(error.to_string().contains("no-such-branch"), "{error}");
}

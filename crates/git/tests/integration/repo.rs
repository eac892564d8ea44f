use hourglass_git::{GitError, discover_root, head};

use crate::Repo;

#[test]
fn head_of_an_unborn_repository_is_none() {
    let repo = Repo::new();
    assert_eq!(head(repo.path()).unwrap(), None);
}

#[test]
fn head_names_the_commit_and_branch() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let commit = repo.commit_all("first");
    let info = head(repo.path()).unwrap().expect("a head");
    assert_eq!(info.commit, commit);
    assert_eq!(info.branch.as_deref(), Some("main"));
}

#[test]
fn a_detached_head_has_no_branch() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let commit = repo.commit_all("first");
    repo.git(&["checkout", "--quiet", "--detach", "HEAD"]);
    let info = head(repo.path()).unwrap().expect("a head");
    assert_eq!(info.commit, commit);
    assert_eq!(info.branch, None);
}

#[test]
fn the_root_is_found_from_a_subdirectory() {
    let repo = Repo::new();
    repo.write("deep/er/a.txt", "a\n");
    let root = discover_root(&repo.path().join("deep/er")).unwrap();
    assert_eq!(
        root.canonicalize().unwrap(),
        repo.path().canonicalize().unwrap()
    );
}

#[test]
fn outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A ceiling keeps discovery from walking up into an enclosing repository.
    match discover_root(dir.path()) {
        Err(GitError::NotARepository { .. }) => {}
        Ok(root) => assert!(
            !root.starts_with(dir.path()),
            "a fresh directory is not its own repository"
        ),
        Err(other) => panic!("unexpected error {other}"),
    }
}

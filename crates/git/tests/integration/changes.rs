use hourglass_git::{ChangeKind, ChangeSet, FileChange, GitError, Head, LineRange, changes};

use crate::{Repo, long_text, numbered};

fn file<'a>(changes: &'a ChangeSet, path: &str) -> &'a FileChange {
    changes
        .files
        .iter()
        .find(|change| change.paths().any(|p| p == path))
        .unwrap_or_else(|| panic!("no change for {path} in {changes:#?}"))
}

fn work_tree(repo: &Repo) -> ChangeSet {
    changes(repo.path(), "HEAD", &Head::WorkTree).expect("changes")
}

#[test]
fn a_clean_work_tree_has_no_changes() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    assert!(work_tree(&repo).is_empty());
}

#[test]
fn an_unstaged_edit_gives_its_line() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(4, "line four")]));
    let changes = work_tree(&repo);
    assert_eq!(changes.files.len(), 1);
    let change = file(&changes, "a.txt");
    assert_eq!(change.kind, ChangeKind::Modified);
    assert_eq!(change.new_lines, [LineRange::new(4, 4)]);
    assert_eq!(change.old_lines, [LineRange::new(4, 4)]);
    assert!(!change.whole_file);
}

#[test]
fn staged_and_unstaged_edits_are_both_seen() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.write("b.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(2, "staged")]));
    repo.git(&["add", "a.txt"]);
    repo.write("b.txt", &numbered(&[(9, "unstaged")]));
    let changes = work_tree(&repo);
    assert_eq!(file(&changes, "a.txt").new_lines, [LineRange::new(2, 2)]);
    assert_eq!(file(&changes, "b.txt").new_lines, [LineRange::new(9, 9)]);
}

#[test]
fn untracked_files_are_added_and_ignored_files_are_not() {
    let repo = Repo::new();
    repo.write(".gitignore", "target/\n");
    repo.commit_all("first");
    repo.write("src/new.rs", "fn x() {}\n");
    repo.write("target/debug/junk", "junk\n");
    let changes = work_tree(&repo);
    assert_eq!(changes.files.len(), 1, "{changes:#?}");
    let change = file(&changes, "src/new.rs");
    assert_eq!(change.kind, ChangeKind::Added);
    assert_eq!(change.old_path, None);
    assert!(change.whole_file);
}

#[test]
fn a_deleted_file_is_whole_and_has_no_new_path() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.write("b.txt", "keep\n");
    repo.commit_all("first");
    repo.remove("a.txt");
    let changes = work_tree(&repo);
    let change = file(&changes, "a.txt");
    assert_eq!(change.kind, ChangeKind::Deleted);
    assert_eq!(change.new_path, None);
    assert!(change.whole_file);
    assert!(change.new_lines.is_empty());
}

#[test]
fn a_committed_rename_is_detected() {
    let repo = Repo::new();
    let text = long_text();
    repo.write("src/old_name.rs", &text);
    let base = repo.commit_all("first");
    repo.git(&["mv", "src/old_name.rs", "src/new_name.rs"]);
    repo.commit_all("rename");
    let changes = changes(repo.path(), &base, &Head::Rev("HEAD".into())).unwrap();
    assert_eq!(changes.files.len(), 1, "{changes:#?}");
    let change = &changes.files[0];
    assert_eq!(change.kind, ChangeKind::Renamed);
    assert_eq!(change.old_path.as_deref(), Some("src/old_name.rs"));
    assert_eq!(change.new_path.as_deref(), Some("src/new_name.rs"));
}

#[test]
fn a_rename_with_an_edit_keeps_the_edited_line() {
    let repo = Repo::new();
    let text = long_text();
    repo.write("old.rs", &text);
    let base = repo.commit_all("first");
    repo.git(&["mv", "old.rs", "new.rs"]);
    repo.write("new.rs", &text.replace("number 12\n", "number twelve\n"));
    repo.commit_all("rename and edit");
    let changes = changes(repo.path(), &base, &Head::Rev("HEAD".into())).unwrap();
    let change = file(&changes, "new.rs");
    assert_eq!(change.kind, ChangeKind::Renamed);
    assert_eq!(change.new_lines, [LineRange::new(12, 12)]);
}

#[test]
fn a_pure_deletion_anchors_on_the_new_side() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(5, ""), (6, "")]));
    let changes = work_tree(&repo);
    let change = file(&changes, "a.txt");
    assert_eq!(change.old_lines, [LineRange::new(5, 6)]);
    assert_eq!(change.new_lines, [LineRange::new(4, 4)]);
    assert!(!change.whole_file);
}

#[test]
fn deleting_the_first_line_anchors_at_line_one() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(1, "")]));
    let change = work_tree(&repo).files.remove(0);
    assert_eq!(change.new_lines, [LineRange::new(1, 1)]);
}

#[test]
fn a_pure_addition_anchors_on_the_old_side() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(3, "line 3\nnew a\nnew b")]));
    let change = work_tree(&repo).files.remove(0);
    assert_eq!(change.new_lines, [LineRange::new(4, 5)]);
    assert_eq!(change.old_lines, [LineRange::new(3, 3)]);
}

#[test]
fn a_mode_change_is_whole_file() {
    let repo = Repo::new();
    repo.write("run.sh", "echo hi\n");
    repo.commit_all("first");
    repo.git(&["update-index", "--chmod=+x", "run.sh"]);
    let change = work_tree(&repo).files.remove(0);
    assert_eq!(change.kind, ChangeKind::Modified);
    assert!(change.whole_file);
}

#[test]
fn a_binary_file_is_whole_file() {
    let repo = Repo::new();
    std::fs::write(repo.path().join("blob.bin"), [0u8, 1, 2, 3, 0, 255]).unwrap();
    repo.commit_all("first");
    std::fs::write(repo.path().join("blob.bin"), [0u8, 9, 9, 3, 0, 255]).unwrap();
    let change = work_tree(&repo).files.remove(0);
    assert!(change.whole_file);
}

#[test]
fn the_comparison_starts_at_the_merge_base() {
    let repo = Repo::new();
    repo.write("shared.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("feature.txt", "feature\n");
    repo.commit_all("feature work");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("main-only.txt", "main moved on\n");
    repo.write("shared.txt", &numbered(&[(7, "changed on main")]));
    repo.commit_all("main work");
    repo.git(&["checkout", "--quiet", "feature"]);

    let committed = changes(repo.path(), "main", &Head::Rev("feature".into())).unwrap();
    let paths: Vec<_> = committed.files.iter().flat_map(FileChange::paths).collect();
    assert_eq!(paths, ["feature.txt"]);

    repo.write("feature.txt", "feature, edited\n");
    let worktree = changes(repo.path(), "main", &Head::WorkTree).unwrap();
    let paths: Vec<_> = worktree.files.iter().flat_map(FileChange::paths).collect();
    assert_eq!(paths, ["feature.txt"]);
}

#[test]
fn an_unborn_head_reports_every_file_as_added() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let changes = work_tree(&repo);
    assert_eq!(file(&changes, "a.txt").kind, ChangeKind::Added);
}

#[test]
fn an_unknown_base_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("first");
    assert!(matches!(
        changes(repo.path(), "nope", &Head::WorkTree),
        Err(GitError::UnknownRevision { .. })
    ));
}

#[test]
fn unrelated_histories_have_no_merge_base() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("first");
    repo.git(&["checkout", "--quiet", "--orphan", "other"]);
    repo.write("b.txt", "b\n");
    repo.commit_all("unrelated");
    assert!(matches!(
        changes(repo.path(), "main", &Head::Rev("other".into())),
        Err(GitError::NoMergeBase { .. })
    ));
}

#[test]
fn the_merge_base_is_where_the_head_branched_off() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let fork = repo.commit_all("first");
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("b.txt", "b\n");
    repo.commit_all("feature");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("c.txt", "c\n");
    repo.commit_all("main moved on");
    repo.git(&["checkout", "--quiet", "feature"]);
    assert_eq!(
        hourglass_git::merge_base_of(repo.path(), "main", &Head::WorkTree).unwrap(),
        Some(fork.clone())
    );
    assert_eq!(
        hourglass_git::merge_base_of(repo.path(), "main", &Head::Rev("feature".into())).unwrap(),
        Some(fork)
    );
}

//! `parse_patch` on real `git diff` output, checked against `changes` on
//! the same repository.

use hourglass_git::{ChangeKind, Head, LineRange, changes, parse_patch};

use crate::{Repo, long_text, numbered};

fn sorted(mut changes: hourglass_git::ChangeSet) -> hourglass_git::ChangeSet {
    changes
        .files
        .sort_by(|a, b| a.paths().next().cmp(&b.paths().next()));
    changes
}

#[test]
fn git_diff_output_reads_like_the_repository_diff() {
    let repo = Repo::new();
    let long = long_text();
    repo.write("edit.txt", &numbered(&[]));
    repo.write("gone.txt", &numbered(&[]));
    repo.write("move_me.rs", &long);
    repo.write("no_newline.txt", "one\ntwo");
    let base = repo.commit_all("first");
    repo.write(
        "edit.txt",
        &numbered(&[(2, "two"), (5, ""), (9, "nine\nnine and a half")]),
    );
    repo.remove("gone.txt");
    repo.git(&["mv", "move_me.rs", "moved.rs"]);
    repo.write("moved.rs", &long.replace("number 20\n", "number twenty\n"));
    repo.write("added.txt", "hello\n");
    repo.write("no_newline.txt", "one\nTWO");
    repo.commit_all("second");

    let text = repo.git(&["diff", "-M", &base, "HEAD"]);
    let from_patch = sorted(parse_patch(&text).unwrap());
    let from_repo = sorted(changes(repo.path(), &base, &Head::Rev("HEAD".into())).unwrap());
    assert_eq!(from_patch, from_repo, "patch:\n{text}");

    let edit = from_patch
        .files
        .iter()
        .find(|f| f.new_path.as_deref() == Some("edit.txt"))
        .unwrap();
    assert_eq!(
        edit.new_lines,
        [
            LineRange::new(2, 2),
            LineRange::new(4, 4),
            LineRange::new(8, 9)
        ]
    );
}

#[test]
fn context_lines_do_not_count_as_changed() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(6, "six")]));
    let text = repo.git(&["diff", "-U5"]);
    let change = parse_patch(&text).unwrap().files.remove(0);
    assert_eq!(change.kind, ChangeKind::Modified);
    assert_eq!(change.new_lines, [LineRange::new(6, 6)]);
}

#[test]
fn new_and_deleted_files_use_dev_null() {
    let repo = Repo::new();
    repo.write("old.txt", "old\n");
    let base = repo.commit_all("first");
    repo.remove("old.txt");
    repo.write("new.txt", "new\n");
    repo.commit_all("second");
    let text = repo.git(&["diff", "--no-renames", &base, "HEAD"]);
    let changes = sorted(parse_patch(&text).unwrap());
    assert_eq!(changes.files.len(), 2);
    assert_eq!(changes.files[0].kind, ChangeKind::Added);
    assert_eq!(changes.files[0].new_path.as_deref(), Some("new.txt"));
    assert_eq!(changes.files[1].kind, ChangeKind::Deleted);
    assert_eq!(changes.files[1].old_path.as_deref(), Some("old.txt"));
    assert!(changes.files.iter().all(|f| f.whole_file));
}

#[test]
fn a_binary_diff_is_whole_file() {
    let repo = Repo::new();
    std::fs::write(repo.path().join("b.bin"), [0u8, 1, 2]).unwrap();
    let base = repo.commit_all("first");
    std::fs::write(repo.path().join("b.bin"), [0u8, 7, 2]).unwrap();
    repo.commit_all("second");
    for args in [
        vec!["diff", &base, "HEAD"],
        vec!["diff", "--binary", &base, "HEAD"],
    ] {
        let text = repo.git(&args);
        let changes = parse_patch(&text).unwrap();
        assert_eq!(changes.files.len(), 1, "{text}");
        assert!(changes.files[0].whole_file);
        assert_eq!(changes.files[0].new_path.as_deref(), Some("b.bin"));
    }
}

#[test]
fn a_format_patch_with_a_message_is_read() {
    let repo = Repo::new();
    repo.write("a.txt", &numbered(&[]));
    repo.commit_all("first");
    repo.write("a.txt", &numbered(&[(3, "--- not a header")]));
    repo.commit_all("a message\n\nwith --- dashes in the body");
    let text = repo.git(&["format-patch", "-1", "--stdout"]);
    let change = parse_patch(&text).unwrap().files.remove(0);
    assert_eq!(change.new_path.as_deref(), Some("a.txt"));
    assert_eq!(change.new_lines, [LineRange::new(3, 3)]);
}

#[test]
fn an_empty_patch_has_no_changes() {
    assert!(parse_patch("").unwrap().is_empty());
}

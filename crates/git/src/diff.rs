//! Revisions and the working tree into a [`ChangeSet`].

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Patch, Repository};
use hourglass_model::{ChangeKind, ChangeSet, FileChange, LineRange};

use crate::{GitError, commit, open};

/// The newer side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// The working tree: staged, unstaged and untracked (not ignored) files.
    WorkTree,
    /// A committed revision.
    Rev(String),
}

/// The files and line ranges that differ between the merge base of `base` and
/// `head` and `head`, in the repository containing `repo`.
///
/// When `HEAD` is unborn (no commit yet) and `head` is the working tree,
/// every file of the working tree is reported as added.
pub fn changes(repo: &Path, base: &str, head: &Head) -> Result<ChangeSet, GitError> {
    let repository = open(repo)?;
    let mut options = diff_options();
    let mut diff = match head {
        Head::WorkTree => {
            let base_tree = match repository.head() {
                Err(error) if error.code() == git2::ErrorCode::UnbornBranch => None,
                _ => {
                    let head_commit = commit(&repository, "HEAD")?;
                    let base_commit = commit(&repository, base)?;
                    let merge_base =
                        merge_base(&repository, &base_commit, &head_commit, base, "HEAD")?;
                    Some(repository.find_commit(merge_base)?.tree()?)
                }
            };
            options
                .include_untracked(true)
                .recurse_untracked_dirs(true)
                .show_untracked_content(true);
            repository.diff_tree_to_workdir_with_index(base_tree.as_ref(), Some(&mut options))?
        }
        Head::Rev(rev) => {
            let head_commit = commit(&repository, rev)?;
            let base_commit = commit(&repository, base)?;
            let merge_base = merge_base(&repository, &base_commit, &head_commit, base, rev)?;
            let base_tree = repository.find_commit(merge_base)?.tree()?;
            repository.diff_tree_to_tree(
                Some(&base_tree),
                Some(&head_commit.tree()?),
                Some(&mut options),
            )?
        }
    };
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    diff.find_similar(Some(&mut find))?;

    let mut files = Vec::new();
    for index in 0..diff.deltas().len() {
        let Some(patch) = Patch::from_diff(&diff, index)? else {
            if let Some(change) = file_change(&diff.get_delta(index).expect("delta"), None)? {
                files.push(change);
            }
            continue;
        };
        if let Some(change) = file_change(&patch.delta(), Some(&patch))? {
            files.push(change);
        }
    }
    files.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
    Ok(ChangeSet { files })
}

/// The commit the comparison of `base` and `head` starts from: their merge
/// base (for the working tree, that of `base` and `HEAD`). `None` when
/// `HEAD` is unborn.
pub fn merge_base_of(repo: &Path, base: &str, head: &Head) -> Result<Option<String>, GitError> {
    let repository = open(repo)?;
    let head_rev = match head {
        Head::WorkTree => {
            if let Err(error) = repository.head()
                && error.code() == git2::ErrorCode::UnbornBranch
            {
                return Ok(None);
            }
            "HEAD"
        }
        Head::Rev(rev) => rev.as_str(),
    };
    let head_commit = commit(&repository, head_rev)?;
    let base_commit = commit(&repository, base)?;
    let oid = merge_base(&repository, &base_commit, &head_commit, base, head_rev)?;
    Ok(Some(oid.to_string()))
}

fn sort_key(change: &FileChange) -> &str {
    change
        .new_path
        .as_deref()
        .or(change.old_path.as_deref())
        .unwrap_or_default()
}

fn diff_options() -> DiffOptions {
    let mut options = DiffOptions::new();
    // Zero context: every hunk is exactly one run of changed lines.
    options
        .context_lines(0)
        .interhunk_lines(0)
        .include_typechange(true);
    options
}

fn merge_base(
    repository: &Repository,
    base: &git2::Commit<'_>,
    head: &git2::Commit<'_>,
    base_rev: &str,
    head_rev: &str,
) -> Result<git2::Oid, GitError> {
    repository
        .merge_base(base.id(), head.id())
        .map_err(|error| {
            if error.code() == git2::ErrorCode::NotFound {
                GitError::NoMergeBase {
                    base: base_rev.to_owned(),
                    head: head_rev.to_owned(),
                }
            } else {
                GitError::Git(error)
            }
        })
}

fn path_of(file: &git2::DiffFile<'_>) -> Option<String> {
    file.path_bytes()
        .map(|bytes| String::from_utf8_lossy(bytes).replace('\\', "/"))
}

fn file_change(
    delta: &git2::DiffDelta<'_>,
    patch: Option<&Patch<'_>>,
) -> Result<Option<FileChange>, GitError> {
    let old_path = path_of(&delta.old_file());
    let new_path = path_of(&delta.new_file());
    let (kind, old_path, new_path) = match delta.status() {
        Delta::Added | Delta::Untracked | Delta::Copied => (ChangeKind::Added, None, new_path),
        Delta::Deleted => (ChangeKind::Deleted, old_path, None),
        Delta::Renamed => (ChangeKind::Renamed, old_path, new_path),
        Delta::Modified | Delta::Typechange | Delta::Conflicted => {
            (ChangeKind::Modified, old_path, new_path)
        }
        Delta::Unmodified | Delta::Ignored | Delta::Unreadable => return Ok(None),
    };
    let binary =
        delta.flags().is_binary() || delta.old_file().is_binary() || delta.new_file().is_binary();
    let mode_changed = kind != ChangeKind::Added
        && kind != ChangeKind::Deleted
        && delta.old_file().mode() != delta.new_file().mode();
    let mut ranges = Ranges::default();
    if let Some(patch) = patch {
        for hunk_index in 0..patch.num_hunks() {
            let (hunk, _) = patch.hunk(hunk_index)?;
            ranges.push_run(
                hunk.old_start(),
                hunk.old_lines(),
                hunk.new_start(),
                hunk.new_lines(),
            );
        }
    }
    Ok(Some(build_change(
        kind,
        old_path,
        new_path,
        ranges,
        binary || mode_changed,
    )))
}

/// A [`FileChange`] from what a diff said about one file. `whole` forces
/// `whole_file` (binary content, a mode change).
pub(crate) fn build_change(
    kind: ChangeKind,
    old_path: Option<String>,
    new_path: Option<String>,
    mut ranges: Ranges,
    whole: bool,
) -> FileChange {
    match kind {
        ChangeKind::Added => {
            ranges.old.clear();
            ranges.counts.clear();
        }
        ChangeKind::Deleted => {
            ranges.new.clear();
            ranges.counts.clear();
        }
        ChangeKind::Modified | ChangeKind::Renamed => {}
    }
    let whole_file =
        whole || matches!(kind, ChangeKind::Added | ChangeKind::Deleted) || ranges.is_empty();
    FileChange {
        kind,
        old_path,
        new_path,
        old_lines: ranges.old,
        new_lines: ranges.new,
        whole_file,
        line_counts: ranges.counts,
    }
}

/// Line ranges of the runs of changed lines in a file, on both sides.
#[derive(Debug, Default)]
pub(crate) struct Ranges {
    pub old: Vec<LineRange>,
    pub new: Vec<LineRange>,
    /// `(old, new)` line counts of each run.
    pub counts: Vec<(u32, u32)>,
}

impl Ranges {
    /// Records one run of changed lines: `old_count` lines from `old_start`
    /// replaced by `new_count` lines from `new_start`. A side with no lines
    /// gets a one-line anchor at its position (the line before the run, as
    /// unified diffs number an empty side).
    pub fn push_run(&mut self, old_start: u32, old_count: u32, new_start: u32, new_count: u32) {
        self.old.push(side(old_start, old_count));
        self.new.push(side(new_start, new_count));
        self.counts.push((old_count, new_count));
    }

    pub fn is_empty(&self) -> bool {
        self.old.is_empty() && self.new.is_empty()
    }
}

fn side(start: u32, count: u32) -> LineRange {
    if count == 0 {
        let anchor = start.max(1);
        LineRange::new(anchor, anchor)
    } else {
        LineRange::new(start.max(1), start.max(1) + count - 1)
    }
}

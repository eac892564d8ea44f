//! The only git2 user: revisions and the working tree into [`ChangeSet`]s.
//!
//! # What it does
//!
//! - [`head`] and [`discover_root`]: where a repository is and what it has
//!   checked out.
//! - [`changes`]: the files and line ranges that differ between a base
//!   revision and a head (another revision, or the working tree with staged,
//!   unstaged and untracked files), as a [`ChangeSet`].
//! - [`parse_patch`]: the same from the text of a unified diff (`git diff`
//!   output, `--diff FILE`), without a repository.
//! - [`activity`](mod@activity): the history of merged changes (first-parent commits) with
//!   their size, the commits they brought in, lead time, reverts, and
//!   release tags, cached by commit id.
//! - [`file_at`] and [`RevisionTree`]: a file's contents at a revision, and a
//!   revision's whole tree read from the object store as it is asked for, so
//!   that a caller can build a test graph of a revision other than the working
//!   tree without writing the revision out.
//!
//! # How it works
//!
//! The comparison starts from the *merge base* of base and head, as
//! `git diff base...head` does: when the base branch moved on after the head
//! branched off, its later commits are not part of the change. For the
//! working tree the head commit for the merge base is `HEAD`.
//!
//! Renames are found with git's similarity detection (`find_similar`). Line
//! ranges come from the diff hunks: `new_lines` are the hunks' ranges in the
//! new file, `old_lines` in the old file. A hunk that only deletes lines has
//! no lines on the new side; it gets a one-line *anchor* at the position where
//! the lines were, so that the item enclosing the deletion counts as changed
//! (and likewise on the old side for a pure addition). Added, deleted and
//! binary files, and files whose mode alone changed, are `whole_file`.
//!
//! # Limitations
//!
//! - Submodules are reported as changed paths, never descended into.
//! - Paths that are not valid UTF-8 are converted lossily.
//! - [`parse_patch`] reads the unified format `git diff` writes (including
//!   `rename from`/`rename to`, `new file mode`, `deleted file mode`,
//!   `Binary files ... differ` and `\ No newline at end of file`); combined
//!   diffs of merges (`diff --cc`) are rejected.

use std::path::{Path, PathBuf};

use git2::Repository;
pub use hourglass_model::{ChangeKind, ChangeSet, FileChange, LineRange};

pub mod activity;
mod diff;
pub mod linecount;
pub mod numstat;
mod patch;
mod tree;

pub use activity::{
    Activity, ActivityCache, ActivityOptions, CacheStats, ChangeStats, ReleaseTag, activity,
    activity_with_progress,
};
pub use diff::{Head, changes, merge_base_of};
pub use patch::parse_patch;
pub use tree::{RevisionTree, file_at};

/// An error from git or from reading a patch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// No repository contains the path.
    #[error("{}: not inside a git repository", path.display())]
    NotARepository { path: PathBuf },
    /// The repository has no work tree (a bare repository).
    #[error("{}: the repository has no work tree", path.display())]
    Bare { path: PathBuf },
    /// A revision does not name a commit.
    #[error("unknown revision `{rev}`: {message}")]
    UnknownRevision { rev: String, message: String },
    /// The two revisions share no history.
    #[error("`{base}` and `{head}` have no common ancestor")]
    NoMergeBase { base: String, head: String },
    /// A patch could not be read.
    #[error("patch line {line}: {message}")]
    MalformedPatch { line: usize, message: String },
    /// Writing a tree to disk failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Any other failure reported by libgit2.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// What a repository has checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadInfo {
    /// The full hex id of the commit `HEAD` points to.
    pub commit: String,
    /// The short branch name, `None` for a detached `HEAD`.
    pub branch: Option<String>,
}

/// Opens the repository containing `path`.
pub(crate) fn open(path: &Path) -> Result<Repository, GitError> {
    Repository::discover(path).map_err(|error| {
        if error.code() == git2::ErrorCode::NotFound {
            GitError::NotARepository {
                path: path.to_path_buf(),
            }
        } else {
            GitError::Git(error)
        }
    })
}

/// The commit and branch checked out in the repository containing `repo`;
/// `None` when `HEAD` is unborn (a repository without commits).
pub fn head(repo: &Path) -> Result<Option<HeadInfo>, GitError> {
    let repository = open(repo)?;
    let reference = match repository.head() {
        Ok(reference) => reference,
        Err(error)
            if error.code() == git2::ErrorCode::UnbornBranch
                || error.code() == git2::ErrorCode::NotFound =>
        {
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    let commit = reference.peel_to_commit()?.id().to_string();
    let branch = if reference.is_branch() {
        reference.shorthand().ok().map(str::to_owned)
    } else {
        None
    };
    Ok(Some(HeadInfo { commit, branch }))
}

/// The paths (in git's order) with uncommitted changes, untracked files
/// included and ignored ones not; empty for a clean work tree.
pub fn dirty_paths(repo: &Path) -> Result<Vec<String>, GitError> {
    let repository = open(repo)?;
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repository.statuses(Some(&mut options))?;
    Ok(statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT)
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .collect())
}

/// The root of the work tree of the repository containing `path`.
pub fn discover_root(path: &Path) -> Result<PathBuf, GitError> {
    let repository = open(path)?;
    let workdir = repository.workdir().ok_or_else(|| GitError::Bare {
        path: path.to_path_buf(),
    })?;
    // libgit2 ends the work tree path with a separator; drop it.
    Ok(workdir.components().collect())
}

/// Resolves a revision to a commit.
pub(crate) fn commit<'r>(
    repository: &'r Repository,
    rev: &str,
) -> Result<git2::Commit<'r>, GitError> {
    repository
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(|error| GitError::UnknownRevision {
            rev: rev.to_owned(),
            message: error.message().to_owned(),
        })
}

//! Files and lines changed between two trees, counted as
//! `git diff --numstat --no-renames` counts them.
//!
//! # How it works
//!
//! The two trees are walked side by side in git's tree order; a subtree
//! whose id is the same on both sides is skipped without being read. Each
//! path that differs is one file:
//!
//! - same blob, other mode (a mode change): a file, no lines;
//! - binary (the `diff` attribute unset, e.g. by `binary`, or a named diff
//!   driver with `binary = true`, or else a NUL byte in the first 8,000
//!   bytes of either side, git's test): a file, no lines;
//! - added or deleted: every line of the blob (a last line without a
//!   newline counts);
//! - modified: the lines added and deleted as xdiff counts them; when a
//!   shortest script over the lines left between the common start and end
//!   is short enough that xdiff finds one too, they are counted without
//!   xdiff, exactly as it would (see [`crate::linecount`]); otherwise xdiff
//!   (libgit2's copy of git's Myers diff) runs over the two whole blobs, so
//!   that its heuristics see what git's see.
//!
//! A submodule (gitlink) counts as the one line `Subproject commit <id>`,
//! as git shows it; a change between a file and a symbolic link is one
//! modified file, as in git's numstat. A path that is a file on one side
//! and a directory on the other is a deletion and additions.
//!
//! Attributes are read as git reads them for `git log` (work tree
//! `.gitattributes`, then the index, `info/attributes`, `core.attributesFile`),
//! once per path for the whole history.
//!
//! Trees read for one commit are kept for the next: walking the first-parent
//! chain newest first, a commit's parent tree is the next commit's tree.
//!
//! # Limitations
//!
//! - No rename or copy detection (`git log`'s default, `diff.renames`, is
//!   on: compare with `--no-renames`).
//! - Text conversion (`textconv`) and `core.bigFileThreshold` are not
//!   applied.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::linecount;

use git2::{AttrCheckFlags, AttrValue, Blob, DiffOptions, Oid, Patch, Repository, Tree};

/// What changed between two trees.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Numstat {
    pub files: u32,
    pub added: u64,
    pub deleted: u64,
}

const MODE_TYPE: i32 = 0o170_000;
const MODE_TREE: i32 = 0o040_000;
const MODE_GITLINK: i32 = 0o160_000;
/// Git reads this many bytes of a blob to decide whether it is binary.
const FIRST_FEW_BYTES: usize = 8000;

/// One tree entry, copied out of its tree.
#[derive(Clone, Copy)]
struct Side {
    id: Oid,
    mode: i32,
}

/// A file's contents: a blob, or the text git shows for a submodule.
enum Content<'r> {
    Blob(Blob<'r>),
    Text(Vec<u8>),
}

impl Content<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Content::Blob(blob) => blob.content(),
            Content::Text(text) => text,
        }
    }
}

/// The `diff` attribute by path, shared by the differs of one history.
#[derive(Debug, Default)]
pub struct Drivers {
    /// Path → `Some(true)` binary, `Some(false)` text, `None` by content.
    paths: Mutex<HashMap<Vec<u8>, Option<bool>>>,
    /// Named diff driver → its `diff.<name>.binary`.
    named: Mutex<HashMap<String, Option<bool>>>,
}

/// Diffs trees of one repository, keeping what one diff read for the next.
pub struct TreeDiffer<'r> {
    repo: &'r Repository,
    /// The same object store without a work tree, configuration or index:
    /// libgit2 looks up a diff driver for every blob pair it diffs, by a
    /// made-up path, and that lookup reads attribute files; here it finds
    /// none, quickly. The attributes that count were read for the real path.
    blobs: &'r Repository,
    /// Blobs read for the current diff and for the previous one.
    blob_cache: HashMap<Oid, Blob<'r>>,
    previous_blobs: HashMap<Oid, Blob<'r>>,
    drivers: &'r Drivers,
    /// Trees read for the current diff.
    trees: HashMap<Oid, Tree<'r>>,
    /// Trees read for the previous one.
    previous: HashMap<Oid, Tree<'r>>,
    options: DiffOptions,
    /// The directory being walked, with a trailing `/`.
    path: Vec<u8>,
}

impl<'r> TreeDiffer<'r> {
    /// `blobs` is [`object_store_only`] of `repo`.
    pub fn new(repo: &'r Repository, blobs: &'r Repository, drivers: &'r Drivers) -> Self {
        TreeDiffer {
            repo,
            blobs,
            blob_cache: HashMap::new(),
            previous_blobs: HashMap::new(),
            drivers,
            trees: HashMap::new(),
            previous: HashMap::new(),
            options: xdiff_options(),
            path: Vec::new(),
        }
    }

    /// Files and lines changed from `old` (`None`: the empty tree) to `new`.
    pub fn diff(&mut self, old: Option<Oid>, new: Oid) -> Result<Numstat, git2::Error> {
        self.previous = std::mem::take(&mut self.trees);
        self.previous_blobs = std::mem::take(&mut self.blob_cache);
        self.path.clear();
        let mut stat = Numstat::default();
        self.trees_differ(old, Some(new), &mut stat)?;
        Ok(stat)
    }

    fn tree(&mut self, id: Oid) -> Result<Tree<'r>, git2::Error> {
        if let Some(tree) = self.trees.get(&id) {
            return Ok(tree.clone());
        }
        let tree = match self.previous.remove(&id) {
            Some(tree) => tree,
            None => self.repo.find_tree(id)?,
        };
        self.trees.insert(id, tree.clone());
        Ok(tree)
    }

    fn trees_differ(
        &mut self,
        old: Option<Oid>,
        new: Option<Oid>,
        stat: &mut Numstat,
    ) -> Result<(), git2::Error> {
        let old = old.map(|id| self.tree(id)).transpose()?;
        let new = new.map(|id| self.tree(id)).transpose()?;
        let old_len = old.as_ref().map_or(0, Tree::len);
        let new_len = new.as_ref().map_or(0, Tree::len);
        let (mut i, mut j) = (0, 0);
        while i < old_len || j < new_len {
            let a = old.as_ref().and_then(|t| t.get(i));
            let b = new.as_ref().and_then(|t| t.get(j));
            let order = match (&a, &b) {
                (Some(a), Some(b)) => tree_order(
                    a.name_bytes(),
                    a.filemode() & MODE_TYPE == MODE_TREE,
                    b.name_bytes(),
                    b.filemode() & MODE_TYPE == MODE_TREE,
                ),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, _) => std::cmp::Ordering::Greater,
            };
            let side = |e: &git2::TreeEntry<'_>| Side {
                id: e.id(),
                mode: e.filemode(),
            };
            let (name, a, b) = match order {
                std::cmp::Ordering::Less => {
                    i += 1;
                    let a = a.expect("an old entry");
                    (a.name_bytes().to_vec(), Some(side(&a)), None)
                }
                std::cmp::Ordering::Greater => {
                    j += 1;
                    let b = b.expect("a new entry");
                    (b.name_bytes().to_vec(), None, Some(side(&b)))
                }
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    let (a, b) = (a.expect("an old entry"), b.expect("a new entry"));
                    if a.id() == b.id() && a.filemode() == b.filemode() {
                        continue;
                    }
                    (a.name_bytes().to_vec(), Some(side(&a)), Some(side(&b)))
                }
            };
            let is_tree = a.or(b).is_some_and(|s| s.mode & MODE_TYPE == MODE_TREE);
            let depth = self.path.len();
            self.path.extend_from_slice(&name);
            if is_tree {
                self.path.push(b'/');
                self.trees_differ(a.map(|s| s.id), b.map(|s| s.id), stat)?;
            } else {
                self.file(a, b, stat)?;
            }
            self.path.truncate(depth);
        }
        Ok(())
    }

    /// One changed path; `self.path` is its path.
    fn file(
        &mut self,
        old: Option<Side>,
        new: Option<Side>,
        stat: &mut Numstat,
    ) -> Result<(), git2::Error> {
        stat.files += 1;
        if let (Some(a), Some(b)) = (old, new)
            && a.id == b.id
        {
            return Ok(());
        }
        let driver = self.driver()?;
        if driver == Some(true) {
            return Ok(());
        }
        let old = old.map(|s| self.content(s)).transpose()?;
        let new = new.map(|s| self.content(s)).transpose()?;
        let old_bytes = old.as_ref().map_or(&[][..], Content::bytes);
        let new_bytes = new.as_ref().map_or(&[][..], Content::bytes);
        if driver.is_none() && (is_binary(old_bytes) || is_binary(new_bytes)) {
            return Ok(());
        }
        let (added, deleted) = match linecount::counts(old_bytes, new_bytes) {
            Some(counts) => counts,
            None => self.xdiff(old.as_ref(), new.as_ref())?,
        };
        stat.added += added;
        stat.deleted += deleted;
        Ok(())
    }

    /// xdiff over the two whole files: lines added and deleted.
    fn xdiff(
        &mut self,
        old: Option<&Content<'r>>,
        new: Option<&Content<'r>>,
    ) -> Result<(u64, u64), git2::Error> {
        // From blobs, libgit2 takes their ids as they are; from buffers it
        // would hash both first.
        let patch = match (old, new) {
            (Some(Content::Blob(old)), Some(Content::Blob(new))) => {
                Patch::from_blobs(old, None, new, None, Some(&mut self.options))?
            }
            _ => Patch::from_buffers(
                old.map_or(&[][..], Content::bytes),
                None,
                new.map_or(&[][..], Content::bytes),
                None,
                Some(&mut self.options),
            )?,
        };
        let (_, added, deleted) = patch.line_stats()?;
        Ok((added as u64, deleted as u64))
    }

    fn content(&mut self, side: Side) -> Result<Content<'r>, git2::Error> {
        if side.mode & MODE_TYPE == MODE_GITLINK {
            return Ok(Content::Text(
                format!("Subproject commit {}\n", side.id).into_bytes(),
            ));
        }
        if let Some(blob) = self.blob_cache.get(&side.id) {
            return Ok(Content::Blob(blob.clone()));
        }
        let blob = match self.previous_blobs.remove(&side.id) {
            Some(blob) => blob,
            None => self.blobs.find_blob(side.id)?,
        };
        self.blob_cache.insert(side.id, blob.clone());
        Ok(Content::Blob(blob))
    }

    /// The `diff` attribute of `self.path`: `Some(true)` binary,
    /// `Some(false)` text, `None` decided by content.
    fn driver(&mut self) -> Result<Option<bool>, git2::Error> {
        if let Some(&known) = lock(&self.drivers.paths).get(&self.path) {
            return Ok(known);
        }
        let path = repo_path(&self.path);
        let value = self
            .repo
            .get_attr_bytes(&path, "diff", AttrCheckFlags::FILE_THEN_INDEX)?;
        let driver = match AttrValue::from_bytes(value) {
            AttrValue::False => Some(true),
            AttrValue::True => Some(false),
            AttrValue::String(name) => self.named_driver(name)?,
            AttrValue::Bytes(name) => self.named_driver(&String::from_utf8_lossy(name))?,
            AttrValue::Unspecified => None,
        };
        lock(&self.drivers.paths).insert(self.path.clone(), driver);
        Ok(driver)
    }

    fn named_driver(&mut self, name: &str) -> Result<Option<bool>, git2::Error> {
        if let Some(&known) = lock(&self.drivers.named).get(name) {
            return Ok(known);
        }
        let config = self.repo.config()?;
        let binary = config
            .get_bool(&format!("diff.{name}.binary"))
            .ok()
            .filter(|&b| b)
            .map(|_| true);
        lock(&self.drivers.named).insert(name.to_owned(), binary);
        Ok(binary)
    }
}

/// xdiff as the differ runs it: no context lines, every file as text (the
/// binary test is done before).
pub(crate) fn xdiff_options() -> DiffOptions {
    let mut options = DiffOptions::new();
    options.context_lines(0).interhunk_lines(0).force_text(true);
    options
}

/// A handle on the object store of `repo` alone (no work tree,
/// configuration, index or attribute files), for [`TreeDiffer::new`].
pub fn object_store_only(repo: &Repository) -> Result<Repository, git2::Error> {
    Repository::from_odb(repo.odb()?)
}

/// A poisoned lock still holds a usable cache.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(unix)]
fn repo_path(bytes: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    Path::new(std::ffi::OsStr::from_bytes(bytes)).to_path_buf()
}

#[cfg(not(unix))]
fn repo_path(bytes: &[u8]) -> std::path::PathBuf {
    std::path::PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Git's order of tree entries: by name, a tree's name as if it ended
/// with `/`.
fn tree_order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> std::cmp::Ordering {
    let len = a.len().min(b.len());
    a[..len].cmp(&b[..len]).then_with(|| {
        let next = |name: &[u8], tree: bool| match name.get(len) {
            Some(&c) => c,
            None if tree => b'/',
            None => 0,
        };
        next(a, a_tree).cmp(&next(b, b_tree))
    })
}

/// Git's test: a NUL byte in the first 8,000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(FIRST_FEW_BYTES)]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linecount::count_lines;

    #[test]
    fn lines_and_binaries_as_git_counts_them() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\nb\n"), 2);
        assert_eq!(count_lines(b"a\nb"), 2);
        assert!(is_binary(b"a\0b"));
        assert!(!is_binary(b"text\n"));
        let mut late = vec![b'a'; FIRST_FEW_BYTES];
        late.push(0);
        assert!(!is_binary(&late));
    }

    #[test]
    fn trees_sort_as_if_they_ended_with_a_slash() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        assert_eq!(tree_order(b"a", false, b"a", true), Less);
        assert_eq!(tree_order(b"a", true, b"a.b", false), Greater);
        assert_eq!(tree_order(b"a", false, b"a.b", false), Less);
        assert_eq!(tree_order(b"a", true, b"a", true), Equal);
        assert_eq!(tree_order(b"a", true, b"a0", false), Less);
    }
}

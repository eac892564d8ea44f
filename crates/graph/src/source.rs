//! Where a graph reads a workspace's files from: the file system ([`FileSystem`], the default),
//! or anything else that can answer for a tree of files, such as a revision in git.
//!
//! The graph reads manifests, lists a few directories (member globs, `src/bin`, `tests`, …),
//! asks whether target roots exist, and reads the Rust files of the module trees. A
//! [`SourceTree`] answers exactly those questions, with paths under the workspace root as the
//! graph knows it. A source that knows a stable id of a file's content without reading it (a git
//! blob id) gives it through [`SourceTree::content_id`]: the parse cache then finds a file's
//! facts without reading the file at all.

use std::cell::RefCell;
use std::fmt;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A tree of files the graph reads. Paths are absolute and lie under the workspace root given
/// to [`crate::Graph::build`].
pub trait SourceTree: fmt::Debug + Send + Sync {
    /// Appends the bytes of the file at `path` to `into`; `false` when there is no such file.
    fn read_into(&self, path: &Path, into: &mut Vec<u8>) -> bool;

    /// An id that changes whenever the file's content does, when the source knows one without
    /// reading the file (a git blob id). `None` = the cache hashes the content instead.
    fn content_id(&self, _path: &Path) -> Option<[u8; 20]> {
        None
    }

    /// Whether `path` is a file.
    fn is_file(&self, path: &Path) -> bool;

    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;

    /// The entries of the directory `path`: each name and whether it is a directory. `None`
    /// when `path` is not a directory.
    fn read_dir(&self, path: &Path) -> Option<Vec<(String, bool)>>;
}

/// The file system, as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl SourceTree for FileSystem {
    fn read_into(&self, path: &Path, into: &mut Vec<u8>) -> bool {
        fs::File::open(path)
            .and_then(|mut file| file.read_to_end(into))
            .is_ok()
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn read_dir(&self, path: &Path) -> Option<Vec<(String, bool)>> {
        let entries = fs::read_dir(path).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let name = entry.file_name().into_string().ok()?;
                    // Follows links, as `Path::is_dir` does.
                    let is_dir = entry.path().is_dir();
                    Some((name, is_dir))
                })
                .collect(),
        )
    }
}

thread_local! {
    /// The source the manifests of the workspace being loaded on this thread come from.
    static CURRENT: RefCell<Option<Arc<dyn SourceTree>>> = const { RefCell::new(None) };
}

/// Runs `f` with `source` as the tree that [`crate::workspace`]'s reads on this thread go to.
pub(crate) fn with_source<T>(source: Option<Arc<dyn SourceTree>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<dyn SourceTree>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.set(self.0.take());
        }
    }
    let _restore = Restore(CURRENT.replace(source));
    f()
}

fn current<T>(f: impl FnOnce(&dyn SourceTree) -> T) -> T {
    CURRENT.with_borrow(|source| match source {
        Some(source) => f(source.as_ref()),
        None => f(&FileSystem),
    })
}

/// The file at `path` as text, from the current source.
pub(crate) fn read_to_string(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    if !current(|source| source.read_into(path, &mut bytes)) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
    }
    String::from_utf8(bytes)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
}

/// Whether `path` is a file or a directory in the current source.
pub(crate) fn exists(path: &Path) -> bool {
    current(|source| source.is_file(path) || source.is_dir(path))
}

pub(crate) fn is_file(path: &Path) -> bool {
    current(|source| source.is_file(path))
}

pub(crate) fn is_dir(path: &Path) -> bool {
    current(|source| source.is_dir(path))
}

/// The entries of the directory `path` in the current source, sorted by name.
pub(crate) fn read_dir(path: &Path) -> Option<Vec<(String, bool)>> {
    let mut entries = current(|source| source.read_dir(path))?;
    entries.sort();
    Some(entries)
}

/// Every directory under `dir`, `dir` included, depth first in name order (as `walkdir` sorted
/// by file name gives them).
pub(crate) fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !is_dir(dir) {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let children: Vec<PathBuf> = read_dir(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
            .map(|(name, _)| dir.join(name))
            .collect();
        out.push(dir);
        stack.extend(children.into_iter().rev());
    }
    out
}

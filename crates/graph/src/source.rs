//! Where a graph reads a workspace's files from: the file system ([`FileSystem`], the default),
//! or anything else that can answer for a tree of files, such as a revision in git.
//!
//! The graph reads manifests, lists a few directories (member globs, `src/bin`, `tests`, …),
//! asks whether target roots exist, and reads the Rust files of the module trees. A
//! [`SourceTree`] answers exactly those questions, with paths under the workspace root as the
//! graph knows it. A source that knows a stable id of a file's content without reading it (a git
//! blob id) gives it through [`SourceTree::content_id`]: the parse cache then finds a file's
//! facts without reading the file at all. The file system gives an id of a file's metadata
//! (device, inode, size, modification and change times) once the file has not changed for
//! [`SETTLED`]: a later change of its content changes its change time, which the system sets and
//! no tool can set back (the same trust git puts in its index; a file changed within the last
//! moments is read, so that two changes within one tick of the file system's clock are not
//! taken for one).

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

/// How long a file must have stood unchanged before [`FileSystem`] names its content by its
/// metadata.
pub const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

impl SourceTree for FileSystem {
    fn read_into(&self, path: &Path, into: &mut Vec<u8>) -> bool {
        fs::File::open(path)
            .and_then(|mut file| file.read_to_end(into))
            .is_ok()
    }

    fn content_id(&self, path: &Path) -> Option<[u8; 20]> {
        metadata_id(path)
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

/// An id of a file's metadata, when the file has not been modified or changed for [`SETTLED`].
#[cfg(unix)]
fn metadata_id(path: &Path) -> Option<[u8; 20]> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = fs::metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let settled = i64::try_from(now.saturating_sub(SETTLED).as_secs()).ok()?;
    if metadata.mtime() >= settled || metadata.ctime() >= settled {
        return None;
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"hourglass file metadata v1");
    for value in [
        metadata.dev(),
        metadata.ino(),
        metadata.len(),
        metadata.mtime() as u64,
        metadata.mtime_nsec() as u64,
        metadata.ctime() as u64,
        metadata.ctime_nsec() as u64,
    ] {
        hasher.update(&value.to_le_bytes());
    }
    let mut id = [0; 20];
    id.copy_from_slice(&hasher.finalize().as_bytes()[..20]);
    Some(id)
}

/// Elsewhere the change time is not at hand: every file is read.
#[cfg(not(unix))]
fn metadata_id(_path: &Path) -> Option<[u8; 20]> {
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_file_is_named_by_its_metadata_once_settled_and_renamed_by_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        fs::write(&path, "fn a() {}\n").unwrap();
        assert_eq!(metadata_id(&path), None, "a fresh file is read");
        std::thread::sleep(SETTLED + std::time::Duration::from_millis(1100));
        let settled = metadata_id(&path).expect("settled");
        assert_eq!(metadata_id(&path), Some(settled));
        assert_eq!(FileSystem.content_id(&path), Some(settled));
        // Same length, new content: the change time moves, and a fresh change is read.
        fs::write(&path, "fn b() {}\n").unwrap();
        assert_eq!(metadata_id(&path), None);
        assert_eq!(metadata_id(dir.path()), None, "directories have no id");
        assert_eq!(metadata_id(&dir.path().join("missing.rs")), None);
    }
}

//! Files and whole trees of a revision.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use crate::{GitError, commit, open};

/// The contents of `path` (relative to the repository root, `/` separators)
/// at revision `rev`; `None` when the file does not exist there. Bytes that
/// are not UTF-8 are replaced.
pub fn file_at(repo: &Path, rev: &str, path: &str) -> Result<Option<String>, GitError> {
    let repository = open(repo)?;
    let tree = commit(&repository, rev)?.tree()?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(error) if error.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repository.find_blob(entry.id())?;
    Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}

/// The files of one revision, read from git's object store as they are asked for: what a test
/// graph of a revision other than the working tree reads, without writing the revision out.
///
/// Paths are relative to the repository root with `/` separators. Symbolic links inside the
/// tree are followed (eight hops at most); submodules are empty directories.
pub struct RevisionTree {
    repository: Mutex<Repository>,
    /// Every blob of the tree: its id and mode.
    files: HashMap<String, (Oid, i32)>,
    /// Every directory of the tree (`""` is the root): its entries, and whether each is a
    /// directory (a link counts as what it points at).
    dirs: HashMap<String, Vec<(String, bool)>>,
}

impl fmt::Debug for RevisionTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevisionTree")
            .field("files", &self.files.len())
            .field("dirs", &self.dirs.len())
            .finish_non_exhaustive()
    }
}

impl RevisionTree {
    /// The tree of revision `rev` of the repository containing `repo`. Reads the tree objects
    /// only; file contents are read when asked for.
    pub fn open(repo: &Path, rev: &str) -> Result<RevisionTree, GitError> {
        let repository = open(repo)?;
        let (files, dirs) = walk(&repository, rev)?;
        let mut revision = RevisionTree {
            repository: Mutex::new(repository),
            files,
            dirs,
        };
        // Links to directories are directories.
        let links: Vec<String> = revision
            .files
            .iter()
            .filter(|(_, (_, mode))| *mode == i32::from(git2::FileMode::Link))
            .map(|(path, _)| path.clone())
            .collect();
        for link in links {
            if revision
                .resolve(&link)
                .is_some_and(|target| revision.dirs.contains_key(&target))
            {
                let (parent, name) = link.rsplit_once('/').unwrap_or(("", &link));
                if let Some(entries) = revision.dirs.get_mut(parent) {
                    for entry in entries.iter_mut().filter(|(n, _)| n == name) {
                        entry.1 = true;
                    }
                }
            }
        }
        Ok(revision)
    }

    /// `path` with the links in the tree followed: the path of a file or directory of the tree.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut current = path.trim_matches('/').to_owned();
        for _ in 0..8 {
            // A link may stand anywhere along the path: resolve the first one met.
            let mut resolved = None;
            let mut prefix = String::new();
            for (index, part) in current.split('/').enumerate() {
                if index > 0 {
                    prefix.push('/');
                }
                prefix.push_str(part);
                if let Some((id, mode)) = self.files.get(&prefix)
                    && *mode == i32::from(git2::FileMode::Link)
                {
                    let target = self.blob(*id)?;
                    let target = String::from_utf8(target).ok()?;
                    let base = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
                    let rest = &current[prefix.len()..];
                    resolved = Some(normalize(&format!("{base}/{target}{rest}"))?);
                    break;
                }
            }
            match resolved {
                Some(next) => current = next,
                None => {
                    let known =
                        self.files.contains_key(&current) || self.dirs.contains_key(&current);
                    return known.then_some(current);
                }
            }
        }
        None
    }

    fn blob(&self, id: Oid) -> Option<Vec<u8>> {
        let repository = self.repository.lock().ok()?;
        let blob = repository.find_blob(id).ok()?;
        Some(blob.content().to_vec())
    }

    /// Appends the contents of the file at `path` to `into`; `false` when there is no such file.
    pub fn read_into(&self, path: &str, into: &mut Vec<u8>) -> bool {
        let Some((id, _)) = self.resolve(path).and_then(|path| self.files.get(&path)) else {
            return false;
        };
        let Ok(repository) = self.repository.lock() else {
            return false;
        };
        let Ok(blob) = repository.find_blob(*id) else {
            return false;
        };
        into.extend_from_slice(blob.content());
        true
    }

    /// The git blob id of the file at `path`: it changes whenever the contents do.
    pub fn blob_id(&self, path: &str) -> Option<[u8; 20]> {
        let (id, _) = self.files.get(&self.resolve(path)?)?;
        id.as_bytes().try_into().ok()
    }

    /// Whether `path` is a file of the tree.
    pub fn is_file(&self, path: &str) -> bool {
        self.resolve(path)
            .is_some_and(|path| self.files.contains_key(&path))
    }

    /// Whether `path` is a directory of the tree (`""` is the root).
    pub fn is_dir(&self, path: &str) -> bool {
        self.resolve(path)
            .is_some_and(|path| self.dirs.contains_key(&path))
    }

    /// The entries of the directory `path`: each name and whether it is a directory.
    pub fn read_dir(&self, path: &str) -> Option<Vec<(String, bool)>> {
        self.dirs.get(&self.resolve(path)?).cloned()
    }
}

/// Every blob (id, mode) and every directory (entries) of the tree of `rev`.
#[allow(clippy::type_complexity)]
fn walk(
    repository: &Repository,
    rev: &str,
) -> Result<
    (
        HashMap<String, (Oid, i32)>,
        HashMap<String, Vec<(String, bool)>>,
    ),
    GitError,
> {
    let tree = commit(repository, rev)?.tree()?;
    let mut files = HashMap::new();
    let mut dirs: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    dirs.insert(String::new(), Vec::new());
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
            return TreeWalkResult::Skip;
        };
        let path = format!("{parent}{name}");
        let parent = parent.strip_suffix('/').unwrap_or(parent).to_owned();
        let is_dir = match entry.kind() {
            Some(ObjectType::Blob) => {
                files.insert(path.clone(), (entry.id(), entry.filemode()));
                false
            }
            // A tree, or a submodule (a commit inside a tree): a directory.
            _ => {
                dirs.entry(path.clone()).or_default();
                true
            }
        };
        dirs.entry(parent)
            .or_default()
            .push((name.to_owned(), is_dir));
        TreeWalkResult::Ok
    })?;
    Ok((files, dirs))
}

/// `a/./b/../c` → `a/c`; `None` when it climbs out of the tree.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

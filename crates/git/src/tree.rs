//! Files and whole trees of a revision.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository, Tree};

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

/// Writes the tree of revision `rev` into `dest` (created when missing):
/// every file with its contents, executable bits kept and symbolic links
/// written as links on Unix (as files holding the target elsewhere).
/// Submodules become empty directories.
pub fn materialize(repo: &Path, rev: &str, dest: &Path) -> Result<(), GitError> {
    let repository = open(repo)?;
    let tree = commit(&repository, rev)?.tree()?;
    create_dir(dest)?;
    write_tree(&repository, &tree, dest)
}

fn create_dir(path: &Path) -> Result<(), GitError> {
    fs::create_dir_all(path).map_err(|source| GitError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_tree(repository: &Repository, tree: &Tree<'_>, dir: &Path) -> Result<(), GitError> {
    for entry in tree {
        let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            continue;
        }
        let path: PathBuf = dir.join(&name);
        match entry.kind() {
            Some(ObjectType::Tree) => {
                create_dir(&path)?;
                let subtree = repository.find_tree(entry.id())?;
                write_tree(repository, &subtree, &path)?;
            }
            Some(ObjectType::Blob) => {
                let blob = repository.find_blob(entry.id())?;
                write_blob(&path, blob.content(), entry.filemode())?;
            }
            // A submodule (a commit inside a tree).
            _ => create_dir(&path)?,
        }
    }
    Ok(())
}

fn write_blob(path: &Path, content: &[u8], mode: i32) -> Result<(), GitError> {
    let io = |source| GitError::Io {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    if mode == i32::from(git2::FileMode::Link) {
        let target = String::from_utf8_lossy(content).into_owned();
        return std::os::unix::fs::symlink(target, path).map_err(io);
    }
    fs::write(path, content).map_err(io)?;
    #[cfg(unix)]
    if mode == i32::from(git2::FileMode::BlobExecutable) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

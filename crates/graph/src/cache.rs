//! The per-file parse cache: [`FileFacts`] as JSON under `<cache_dir>/<aa>/<hash>.json`, keyed by
//! the blake3 hash of the file's content and the facts format version. Files are written to a
//! temporary name and renamed into place, so a reader never sees half a file; an unreadable or
//! stale entry is ignored and rewritten.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::facts::{self, FileFacts};

/// Bumped whenever [`FileFacts`] or its extraction changes.
const FORMAT: &str = "hourglass-graph-facts-v2";

/// A source file's facts and whether they came from the cache.
pub(crate) struct Loaded {
    pub(crate) facts: Arc<FileFacts>,
    pub(crate) cache_hit: bool,
}

/// Reads `path` and returns its facts, from the cache when possible. `None` when the file
/// cannot be read (it does not exist).
pub(crate) fn load(path: &Path, cache_dir: Option<&Path>) -> Option<Loaded> {
    let bytes = fs::read(path).ok()?;
    let source = String::from_utf8_lossy(&bytes);
    let Some(cache_dir) = cache_dir else {
        return Some(Loaded {
            facts: Arc::new(facts::extract(&source)),
            cache_hit: false,
        });
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(&bytes);
    let hash = hasher.finalize().to_hex();
    let entry = entry_path(cache_dir, hash.as_str());
    if let Ok(text) = fs::read(&entry)
        && let Ok(facts) = serde_json::from_slice::<FileFacts>(&text)
    {
        return Some(Loaded {
            facts: Arc::new(facts),
            cache_hit: true,
        });
    }
    let facts = facts::extract(&source);
    // A cache that cannot be written only costs time.
    let _ = store(&entry, &facts);
    Some(Loaded {
        facts: Arc::new(facts),
        cache_hit: false,
    })
}

fn entry_path(cache_dir: &Path, hash: &str) -> PathBuf {
    cache_dir.join(&hash[..2]).join(format!("{hash}.json"))
}

fn store(entry: &Path, facts: &FileFacts) -> std::io::Result<()> {
    let dir = entry.parent().expect("cache entries live in a directory");
    fs::create_dir_all(dir)?;
    let text = serde_json::to_vec(facts).map_err(std::io::Error::other)?;
    let mut temp = tempfile_name(entry);
    fs::write(&temp, text)?;
    if let Err(error) = fs::rename(&temp, entry) {
        let _ = fs::remove_file(&temp);
        temp.clear();
        return Err(error);
    }
    Ok(())
}

fn tempfile_name(entry: &Path) -> PathBuf {
    let unique = format!(
        "{}.{}.{:?}.tmp",
        entry.display(),
        std::process::id(),
        std::thread::current().id()
    )
    .replace(['(', ')'], "");
    PathBuf::from(unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_load_of_the_same_content_is_a_cache_hit() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() { b(); }\n").unwrap();
        let cache = dir.path().join("cache");
        let first = load(&source, Some(&cache)).unwrap();
        assert!(!first.cache_hit);
        let second = load(&source, Some(&cache)).unwrap();
        assert!(second.cache_hit);
        assert_eq!(second.facts.items.len(), first.facts.items.len());
        fs::write(&source, "fn a() { c(); }\nfn d() {}\n").unwrap();
        let third = load(&source, Some(&cache)).unwrap();
        assert!(!third.cache_hit);
        assert_eq!(third.facts.items.len(), 2);
    }

    #[test]
    fn a_corrupt_entry_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() {}\n").unwrap();
        let cache = dir.path().join("cache");
        load(&source, Some(&cache)).unwrap();
        for entry in walkdir::WalkDir::new(&cache) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                fs::write(entry.path(), "{not json").unwrap();
            }
        }
        let again = load(&source, Some(&cache)).unwrap();
        assert!(!again.cache_hit);
        assert_eq!(again.facts.items.len(), 1);
        assert!(load(&source, Some(&cache)).unwrap().cache_hit);
    }
}

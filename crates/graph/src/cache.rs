//! The per-file parse cache: [`FileFacts`] in postcard's compact binary encoding under
//! `<cache_dir>/<aa>/<hash>.bin`, keyed by the blake3 hash of the file's content and the facts
//! format version. Each entry starts with the blake3 hash of the rest, so a damaged entry is never
//! taken for facts. Files are written to a temporary name and renamed into place, so a reader
//! never sees half a file; an unreadable, damaged or stale entry is ignored and rewritten.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::facts::{self, FileFacts};

/// Bumped whenever [`FileFacts`] or its extraction changes.
const FORMAT: &str = "hourglass-graph-facts-v7";

/// A source file's facts and whether they came from the cache.
pub(crate) struct Loaded {
    pub(crate) facts: Arc<FileFacts>,
    pub(crate) cache_hit: bool,
}

/// Reads `path` and returns its facts, from the cache when possible. `None` when the file
/// cannot be read (it does not exist).
pub(crate) fn load(path: &Path, cache_dir: Option<&Path>) -> Option<Loaded> {
    // One reused buffer per thread: a fresh allocation for every file touches fresh memory,
    // which costs more than reading the file.
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        fs::File::open(path)
            .and_then(|mut file| file.read_to_end(buffer))
            .ok()?;
        let loaded = load_bytes(buffer, cache_dir);
        if buffer.capacity() > 16 << 20 {
            *buffer = Vec::new();
        }
        Some(loaded)
    })
}

fn load_bytes(bytes: &[u8], cache_dir: Option<&Path>) -> Loaded {
    let Some(cache_dir) = cache_dir else {
        return Loaded {
            facts: Arc::new(facts::extract(&String::from_utf8_lossy(bytes))),
            cache_hit: false,
        };
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(bytes);
    let hash = hasher.finalize().to_hex();
    let entry = entry_path(cache_dir, hash.as_str());
    if let Ok(stored) = fs::read(&entry)
        && let Some(facts) = decode(&stored)
    {
        return Loaded {
            facts: Arc::new(facts),
            cache_hit: true,
        };
    }
    let facts = facts::extract(&String::from_utf8_lossy(bytes));
    // A cache that cannot be written only costs time.
    let _ = store(&entry, &facts);
    Loaded {
        facts: Arc::new(facts),
        cache_hit: false,
    }
}

fn entry_path(cache_dir: &Path, hash: &str) -> PathBuf {
    cache_dir.join(&hash[..2]).join(format!("{hash}.bin"))
}

/// An entry: the 32-byte blake3 hash of the payload, then the payload.
fn encode(facts: &FileFacts) -> std::io::Result<Vec<u8>> {
    let payload = postcard::to_allocvec(facts).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(32 + payload.len());
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn decode(stored: &[u8]) -> Option<FileFacts> {
    let (checksum, payload) = stored.split_at_checked(32)?;
    if blake3::hash(payload).as_bytes() != checksum {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

fn store(entry: &Path, facts: &FileFacts) -> std::io::Result<()> {
    let dir = entry.parent().expect("cache entries live in a directory");
    fs::create_dir_all(dir)?;
    let text = encode(facts)?;
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
    fn truncated_empty_or_foreign_entries_decode_to_nothing() {
        let facts = facts::extract("fn a() { b(); }\n");
        let entry = encode(&facts).unwrap();
        assert!(decode(&entry).is_some());
        for cut in [0, 1, 31, 32, 33, entry.len() - 1] {
            assert!(decode(&entry[..cut]).is_none(), "cut at {cut}");
        }
        // A checksum that matches a payload postcard cannot read.
        let payload = b"{\"not\": \"postcard\"}";
        let mut foreign = blake3::hash(payload).as_bytes().to_vec();
        foreign.extend_from_slice(payload);
        assert!(decode(&foreign).is_none());
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
                let mut bytes = fs::read(entry.path()).unwrap();
                let last = bytes.len() - 1;
                bytes[last] ^= 0x55;
                fs::write(entry.path(), bytes).unwrap();
            }
        }
        let again = load(&source, Some(&cache)).unwrap();
        assert!(!again.cache_hit);
        assert_eq!(again.facts.items.len(), 1);
        assert!(load(&source, Some(&cache)).unwrap().cache_hit);
    }
}

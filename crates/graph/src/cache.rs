//! The parse cache: the [`Facts`] of every file of the last build in one pack,
//! `<cache_dir>/<FORMAT>.pack`, each entry keyed by the blake3 hash of the file's content and the
//! facts format version, and stored in postcard's compact binary encoding behind the blake3 hash
//! of the encoding, so a damaged entry is never taken for facts. Facts are stored packed
//! ([`crate::compact`]): loading a file's facts makes a few allocations, not hundreds.
//!
//! A build reads the pack once ([`Cache::open`]) and decodes all of it in parallel (it holds the
//! files of the last build, which a warm build needs nearly all of), looks every file up by its
//! content hash, parses
//! only the files it does not find, and writes a new pack when anything was missing or left over
//! ([`Cache::finish`]): the pack holds exactly the files of the latest build, so it does not grow
//! with history. The pack is written to a temporary name and renamed into place, so a reader
//! never sees half of one; an unreadable or damaged pack or entry only costs a parse. The pack's
//! name carries its format, so that two versions of the tool sharing a cache each keep their own
//! instead of replacing each other's.
//!
//! Pack layout: the magic line `FORMAT\n`, then entries of a 32-byte key, a little-endian `u32`
//! length and that many bytes (a 32-byte checksum and the postcard payload).
//!
//! A source that names a file's content without reading it ([`SourceTree::content_id`]: a git
//! blob id, or for the file system an id of the file's metadata once it has not changed for a
//! while) lets the cache skip reading the file: `<cache_dir>/<FORMAT>.blob-ids` (a git revision)
//! or `<FORMAT>.file-ids` (the file system) maps those ids to the content keys of the last build
//! that used them (the magic line `IDS_FORMAT\n`, then 20-byte id and 32-byte key pairs). A stale
//! or damaged map only costs reading the file.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::compact::Facts;
use crate::facts;
use crate::source::{FileSystem, SourceTree};

/// Bumped whenever [`Facts`], its extraction or the pack layout changes.
const FORMAT: &str = "hourglass-graph-facts-v14";

/// The pack's file name: `<FORMAT>.pack` (before v11, `facts.pack`).
fn pack_name() -> String {
    format!("{FORMAT}.pack")
}

/// The content-id map's file name: one for git revisions, one for the file system, so that
/// builds of either do not replace the other's.
fn ids_name(source: Option<&Arc<dyn SourceTree>>) -> String {
    match source {
        Some(_) => format!("{FORMAT}.blob-ids"),
        None => format!("{FORMAT}.file-ids"),
    }
}
const IDS_FORMAT: &str = "hourglass-graph-content-ids-v1";

type Key = [u8; 32];
type ContentId = [u8; 20];

/// A source file's facts and whether they came from the cache.
pub(crate) struct Loaded {
    pub(crate) facts: Arc<Facts>,
    pub(crate) cache_hit: bool,
}

/// The pack of the last build and what this build adds to it. Shared by the threads that load
/// files.
pub(crate) struct Cache {
    dir: Option<PathBuf>,
    /// The pack read at the start, and where each of its entries lies in it.
    pack: Vec<u8>,
    stored: HashMap<Key, std::ops::Range<usize>>,
    /// The facts of each stored entry that decodes.
    decoded: HashMap<Key, Arc<Facts>>,
    /// Keys of the stored entries this build used.
    used: Mutex<Vec<Key>>,
    /// Entries this build made (files it parsed).
    fresh: Mutex<Vec<(Key, Vec<u8>)>>,
    /// Where files are read from.
    source: Option<Arc<dyn SourceTree>>,
    /// Content ids of the last build and the keys of their contents.
    ids: HashMap<ContentId, Key>,
    /// Content ids this build met, with their keys.
    ids_used: Mutex<Vec<(ContentId, Key)>>,
}

impl Cache {
    /// Reads the pack under `dir`; `None` = no cache (every file is parsed, nothing written).
    /// Files are read from `source`, by default the file system.
    pub(crate) fn open(dir: Option<&Path>, source: Option<Arc<dyn SourceTree>>) -> Cache {
        let pack = dir
            .and_then(|dir| fs::read(dir.join(pack_name())).ok())
            .unwrap_or_default();
        let stored = read_pack(&pack);
        let decoded = {
            use rayon::prelude::*;
            stored
                .par_iter()
                .filter_map(|(key, range)| Some((*key, Arc::new(decode(&pack[range.clone()])?))))
                .collect()
        };
        let ids = match dir {
            Some(dir) => fs::read(dir.join(ids_name(source.as_ref())))
                .map(|bytes| read_ids(&bytes))
                .unwrap_or_default(),
            None => HashMap::new(),
        };
        Cache {
            dir: dir.map(Path::to_path_buf),
            pack,
            stored,
            decoded,
            used: Mutex::new(Vec::new()),
            fresh: Mutex::new(Vec::new()),
            source,
            ids,
            ids_used: Mutex::new(Vec::new()),
        }
    }

    /// Reads `path` and returns its facts, from the cache when possible. `None` when the file
    /// cannot be read (it does not exist).
    pub(crate) fn load(&self, path: &Path) -> Option<Loaded> {
        // One reused buffer per thread: a fresh allocation for every file touches fresh
        // memory, which costs more than reading the file.
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        let source: &dyn SourceTree = self.source.as_deref().unwrap_or(&FileSystem);
        let content_id = if self.dir.is_some() {
            source.content_id(path)
        } else {
            None
        };
        if let Some(id) = content_id
            && let Some(key) = self.ids.get(&id)
            && let Some(loaded) = self.stored_facts(key)
        {
            self.lock_ids().push((id, *key));
            return Some(loaded);
        }
        BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            if !source.read_into(path, buffer) {
                return None;
            }
            let (loaded, key) = self.load_bytes(buffer);
            if let (Some(id), Some(key)) = (content_id, key) {
                self.lock_ids().push((id, key));
            }
            if buffer.capacity() > 16 << 20 {
                *buffer = Vec::new();
            }
            Some(loaded)
        })
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, Vec<(ContentId, Key)>> {
        self.ids_used
            .lock()
            .expect("no thread panics holding the cache")
    }

    /// The stored facts under `key`, marked as used; `None` when missing or damaged.
    fn stored_facts(&self, key: &Key) -> Option<Loaded> {
        let facts = Arc::clone(self.decoded.get(key)?);
        self.used
            .lock()
            .expect("no thread panics holding the cache")
            .push(*key);
        Some(Loaded {
            facts,
            cache_hit: true,
        })
    }

    /// How many items (a module's own item and the file's) the stored files hold: about what a
    /// warm build of the same tree makes.
    pub(crate) fn stored_items(&self) -> usize {
        self.decoded
            .values()
            .map(|facts| facts.items.len() + 1)
            .sum()
    }

    /// The facts of a file's bytes, and the content key when there is a cache.
    fn load_bytes(&self, bytes: &[u8]) -> (Loaded, Option<Key>) {
        if self.dir.is_none() {
            let loaded = Loaded {
                facts: Arc::new(Facts::new(&facts::extract(&String::from_utf8_lossy(bytes)))),
                cache_hit: false,
            };
            return (loaded, None);
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(FORMAT.as_bytes());
        hasher.update(bytes);
        let key: Key = *hasher.finalize().as_bytes();
        if let Some(loaded) = self.stored_facts(&key) {
            return (loaded, Some(key));
        }
        let facts = Facts::new(&facts::extract(&String::from_utf8_lossy(bytes)));
        // An entry that cannot be encoded only costs a parse next time.
        let entry = encode(&facts).unwrap_or_default();
        self.fresh
            .lock()
            .expect("no thread panics holding the cache")
            .push((key, entry));
        let loaded = Loaded {
            facts: Arc::new(facts),
            cache_hit: false,
        };
        (loaded, Some(key))
    }

    /// Writes a new pack when this build parsed a file or left a stored entry unused. A pack
    /// that cannot be written only costs time.
    pub(crate) fn finish(self) {
        let Some(dir) = self.dir else { return };
        let mut ids = self
            .ids_used
            .into_inner()
            .expect("no thread panics holding the cache");
        ids.sort_unstable();
        ids.dedup();
        let same = ids.len() == self.ids.len()
            && ids.iter().all(|(id, key)| self.ids.get(id) == Some(key));
        if !same {
            let _ = write_ids(&dir, &ids_name(self.source.as_ref()), &ids);
        }
        let mut used = self
            .used
            .into_inner()
            .expect("no thread panics holding the cache");
        let fresh = self
            .fresh
            .into_inner()
            .expect("no thread panics holding the cache");
        used.sort_unstable();
        used.dedup();
        if fresh.is_empty() && used.len() == self.stored.len() {
            return;
        }
        let mut entries: HashMap<Key, Vec<u8>> = used
            .into_iter()
            .filter_map(|key| {
                let range = self.stored.get(&key)?.clone();
                Some((key, self.pack[range].to_vec()))
            })
            .collect();
        entries.extend(fresh.into_iter().filter(|(_, entry)| !entry.is_empty()));
        let _ = write_pack(&dir, &entries);
    }
}

/// Where each entry of `bytes` lies; what follows a truncated entry is left out.
fn read_pack(bytes: &[u8]) -> HashMap<Key, std::ops::Range<usize>> {
    let mut entries = HashMap::new();
    let magic = format!("{FORMAT}\n");
    if !bytes.starts_with(magic.as_bytes()) {
        return entries;
    }
    let mut at = magic.len();
    while at < bytes.len() {
        let Some((key, tail)) = bytes[at..].split_first_chunk::<32>() else {
            break;
        };
        let Some((length, _)) = tail.split_first_chunk::<4>() else {
            break;
        };
        let start = at + 36;
        let end = start + u32::from_le_bytes(*length) as usize;
        if end > bytes.len() {
            break;
        }
        entries.insert(*key, start..end);
        at = end;
    }
    entries
}

fn write_pack(dir: &Path, entries: &HashMap<Key, Vec<u8>>) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut keys: Vec<&Key> = entries.keys().collect();
    keys.sort();
    let size: usize = entries.values().map(|entry| entry.len() + 36).sum();
    let mut out = Vec::with_capacity(FORMAT.len() + 1 + size);
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(b'\n');
    for key in keys {
        let entry = &entries[key];
        let length = u32::try_from(entry.len()).map_err(std::io::Error::other)?;
        out.extend_from_slice(key);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(entry);
    }
    let name = pack_name();
    let pack = dir.join(&name);
    let temp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    fs::write(&temp, out)?;
    fs::rename(&temp, &pack).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// The content-id map: what follows a truncated pair is left out.
fn read_ids(bytes: &[u8]) -> HashMap<ContentId, Key> {
    let magic = format!("{IDS_FORMAT}\n");
    let Some(pairs) = bytes.strip_prefix(magic.as_bytes()) else {
        return HashMap::new();
    };
    pairs
        .chunks_exact(52)
        .map(|pair| {
            let (id, key) = pair.split_at(20);
            (
                id.try_into().expect("20 bytes"),
                key.try_into().expect("32 bytes"),
            )
        })
        .collect()
}

fn write_ids(dir: &Path, name: &str, ids: &[(ContentId, Key)]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut out = Vec::with_capacity(IDS_FORMAT.len() + 1 + ids.len() * 52);
    out.extend_from_slice(IDS_FORMAT.as_bytes());
    out.push(b'\n');
    for (id, key) in ids {
        out.extend_from_slice(id);
        out.extend_from_slice(key);
    }
    let path = dir.join(name);
    let temp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    fs::write(&temp, out)?;
    fs::rename(&temp, &path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// An entry: the 32-byte blake3 hash of the payload, then the payload.
fn encode(facts: &Facts) -> std::io::Result<Vec<u8>> {
    let payload = postcard::to_allocvec(facts).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(32 + payload.len());
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn decode(stored: &[u8]) -> Option<Facts> {
    let (checksum, payload) = stored.split_at_checked(32)?;
    if blake3::hash(payload).as_bytes() != checksum {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One build's worth of cache: open, load `source`, finish.
    fn load_once(source: &Path, cache: &Path) -> Loaded {
        let opened = Cache::open(Some(cache), None);
        let loaded = opened.load(source).unwrap();
        opened.finish();
        loaded
    }

    #[test]
    fn a_second_load_of_the_same_content_is_a_cache_hit() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() { b(); }\n").unwrap();
        let cache = dir.path().join("cache");
        let first = load_once(&source, &cache);
        assert!(!first.cache_hit);
        let second = load_once(&source, &cache);
        assert!(second.cache_hit);
        assert_eq!(second.facts.items.len(), first.facts.items.len());
        fs::write(&source, "fn a() { c(); }\nfn d() {}\n").unwrap();
        let third = load_once(&source, &cache);
        assert!(!third.cache_hit);
        assert_eq!(third.facts.items.len(), 2);
    }

    #[test]
    fn the_pack_keeps_only_the_files_of_the_latest_build() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let source = dir.path().join("a.rs");
        for n in 0..5 {
            fs::write(&source, format!("fn f{n}() {{}}\n")).unwrap();
            load_once(&source, &cache);
        }
        let pack = read_pack(&fs::read(cache.join(pack_name())).unwrap());
        assert_eq!(pack.len(), 1);
        assert!(load_once(&source, &cache).cache_hit);
    }

    #[cfg(unix)]
    #[test]
    fn a_settled_file_is_found_by_its_metadata_and_a_changed_one_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() { b(); }\n").unwrap();
        let cache = dir.path().join("cache");
        std::thread::sleep(crate::source::SETTLED + std::time::Duration::from_millis(1100));
        assert!(!load_once(&source, &cache).cache_hit);
        let ids = read_ids(&fs::read(cache.join(ids_name(None))).unwrap());
        assert_eq!(ids.len(), 1, "the settled file's id is kept");
        let opened = Cache::open(Some(&cache), None);
        let id = FileSystem.content_id(&source).unwrap();
        assert!(opened.stored_facts(&ids[&id]).is_some());
        opened.finish();
        assert!(load_once(&source, &cache).cache_hit);
        // Same length, another content: read, not taken for the old one.
        fs::write(&source, "fn a() { c(); }\n").unwrap();
        let changed = load_once(&source, &cache);
        assert!(!changed.cache_hit);
        assert_eq!(
            changed
                .facts
                .refs(&changed.facts.items[0])
                .collect::<Vec<_>>(),
            ["pc"]
        );
    }

    #[test]
    fn packs_of_other_formats_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        fs::create_dir_all(&cache).unwrap();
        fs::write(cache.join("facts.pack"), b"another version's").unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() {}\n").unwrap();
        load_once(&source, &cache);
        assert!(load_once(&source, &cache).cache_hit);
        assert_eq!(
            fs::read(cache.join("facts.pack")).unwrap(),
            b"another version's"
        );
    }

    #[test]
    fn truncated_empty_or_foreign_entries_decode_to_nothing() {
        let facts = Facts::new(&facts::extract("fn a() { b(); }\n"));
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
    fn a_damaged_or_truncated_pack_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.rs");
        fs::write(&source, "fn a() {}\nfn b() {}\n").unwrap();
        let cache = dir.path().join("cache");
        load_once(&source, &cache);
        let pack = cache.join(pack_name());
        let whole = fs::read(&pack).unwrap();
        let mut flipped = whole.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        for damaged in [
            flipped,
            whole[..whole.len() / 2].to_vec(),
            Vec::new(),
            b"not a pack".to_vec(),
        ] {
            fs::write(&pack, &damaged).unwrap();
            let again = load_once(&source, &cache);
            assert!(!again.cache_hit);
            assert_eq!(again.facts.items.len(), 2);
            assert!(load_once(&source, &cache).cache_hit, "rebuilt");
        }
    }
}

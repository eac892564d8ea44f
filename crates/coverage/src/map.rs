//! The coverage map: for each function key, the tests that ran it and the
//! profiled binaries that hold it, at one commit.
//!
//! A test's coverage is the union of the profiles its process wrote: the
//! test binary's own, and those of workspace binaries it started. A key is
//! *known* to a test when one of those binaries has a function of that key
//! with counters: only then does "not ran" mean something. Sets of tests
//! and of binaries are stored once each however many keys share them
//! (most functions of a core crate are run by the same tests).
//!
//! # File format
//!
//! `HGCOV1\n`, then LEB128 numbers and length-prefixed UTF-8 strings: the
//! commit; the binaries (build ids, hex); the tests (binary id, name,
//! whether it passed, the binaries it profiled); the distinct sets of tests
//! and of binaries; the keys, sorted, each with its two set indexes; then
//! `END` and the length of everything before it. A reader checks all of
//! it, so a truncated or altered file is refused, never half read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rustc_hash::FxHashMap;

const MAGIC: &[u8] = b"HGCOV1\n";
const TRAILER: &[u8] = b"END";

/// A map that does not read.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a coverage map of this version (it starts {found:?}; `hourglass coverage` writes them)"
    )]
    Magic { path: String, found: String },
    #[error("{path}: byte {offset}: {message}")]
    Corrupt {
        path: String,
        offset: usize,
        message: String,
    },
}

/// One test of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveredTest {
    pub binary_id: String,
    pub name: String,
    /// It passed in the covered run. A test that failed has no coverage to
    /// trust: it is never taken as unaffected.
    pub passed: bool,
    /// Indexes into [`CoverageMap::binaries`] of the profiles it wrote.
    pub profiles: Vec<u32>,
}

/// Per-test coverage at one commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageMap {
    pub commit: String,
    /// Build ids of the profiled binaries.
    pub binaries: Vec<String>,
    /// Sorted by binary id, then name.
    pub tests: Vec<CoveredTest>,
    test_sets: Vec<Vec<u32>>,
    binary_sets: Vec<Vec<u32>>,
    /// Key → (index into `test_sets` of the tests that ran it, index into
    /// `binary_sets` of the binaries that hold it).
    keys: BTreeMap<String, (u32, u32)>,
}

/// What the map says of one function key for one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The test ran a function of this key.
    Ran,
    /// A binary the test profiled holds such a function, and the test did
    /// not run it.
    NotRan,
    /// The map cannot tell: no such function in the test's binaries, a test
    /// the map does not have, or one that failed.
    Unknown,
}

impl CoverageMap {
    /// Index of a test, by nextest binary id and name.
    pub fn test_index(&self, binary_id: &str, name: &str) -> Option<u32> {
        self.tests
            .binary_search_by(|test| {
                (test.binary_id.as_str(), test.name.as_str()).cmp(&(binary_id, name))
            })
            .ok()
            .map(|index| index as u32)
    }

    /// Whether the map has a function of this key in any binary.
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// How many function keys the map holds.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// What the map says of `key` for the test at `test`.
    pub fn verdict(&self, key: &str, test: u32) -> Verdict {
        let Some(covered) = self.tests.get(test as usize) else {
            return Verdict::Unknown;
        };
        let Some(&(ran, held)) = self.keys.get(key) else {
            return Verdict::Unknown;
        };
        if !covered.passed {
            return Verdict::Unknown;
        }
        if self.test_sets[ran as usize].binary_search(&test).is_ok() {
            return Verdict::Ran;
        }
        let held = &self.binary_sets[held as usize];
        if covered
            .profiles
            .iter()
            .any(|binary| held.binary_search(binary).is_ok())
        {
            Verdict::NotRan
        } else {
            Verdict::Unknown
        }
    }

    /// Whether the test at `test` (`None`: one the map does not have) may
    /// have run a function of `key`: it did, or the map cannot speak for it
    /// (not in the map, or it failed). A function that no binary the test
    /// profiled holds (or no binary at all) did not run in it, since every
    /// workspace binary a test starts is profiled too.
    pub fn may_have_run(&self, key: &str, test: Option<u32>) -> bool {
        let Some(covered) = test.and_then(|test| self.tests.get(test as usize)) else {
            return true;
        };
        if !covered.passed {
            return true;
        }
        self.verdict(key, test.unwrap_or_default()) == Verdict::Ran
    }

    /// The function keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// How many tests ran a function of `key`.
    pub fn ran_count(&self, key: &str) -> usize {
        self.keys
            .get(key)
            .map_or(0, |(ran, _)| self.test_sets[*ran as usize].len())
    }

    /// Writes the map to `path` through a temporary file beside it, so that
    /// `path` is either the old map or the whole new one.
    pub fn write(&self, path: &Path) -> Result<u64, MapError> {
        let io = |source| MapError::Io {
            path: path.display().to_string(),
            source,
        };
        let bytes = self.encode();
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut temporary = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        temporary.write_all(&bytes).map_err(io)?;
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(path).map_err(|error| io(error.error))?;
        Ok(bytes.len() as u64)
    }

    /// Reads a map written by [`CoverageMap::write`].
    pub fn read(path: &Path) -> Result<Self, MapError> {
        let bytes = std::fs::read(path).map_err(|source| MapError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::decode(&bytes).map_err(|failure| match failure {
            Failure::Magic(found) => MapError::Magic {
                path: path.display().to_string(),
                found,
            },
            Failure::Corrupt(offset, message) => MapError::Corrupt {
                path: path.display().to_string(),
                offset,
                message,
            },
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        put_str(&mut out, &self.commit);
        put(&mut out, self.binaries.len() as u64);
        for binary in &self.binaries {
            put_str(&mut out, binary);
        }
        put(&mut out, self.tests.len() as u64);
        for test in &self.tests {
            put_str(&mut out, &test.binary_id);
            put_str(&mut out, &test.name);
            put(&mut out, u64::from(test.passed));
            put_set(&mut out, &test.profiles);
        }
        for sets in [&self.test_sets, &self.binary_sets] {
            put(&mut out, sets.len() as u64);
            for set in sets {
                put_set(&mut out, set);
            }
        }
        put(&mut out, self.keys.len() as u64);
        for (key, (ran, held)) in &self.keys {
            put_str(&mut out, key);
            put(&mut out, u64::from(*ran));
            put(&mut out, u64::from(*held));
        }
        close_frame(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, Failure> {
        let mut reader = Reader::framed(MAGIC, bytes)?;
        let commit = reader.string()?;
        let binaries = (0..reader.count()?)
            .map(|_| reader.string())
            .collect::<Result<Vec<_>, _>>()?;
        let test_count = reader.count()?;
        let mut tests = Vec::with_capacity(test_count);
        for _ in 0..test_count {
            let binary_id = reader.string()?;
            let name = reader.string()?;
            let passed = reader.number()? != 0;
            let profiles = reader.set(binaries.len())?;
            tests.push(CoveredTest {
                binary_id,
                name,
                passed,
                profiles,
            });
        }
        if !tests.is_sorted_by(|a, b| (&a.binary_id, &a.name) < (&b.binary_id, &b.name)) {
            return Err(Failure::Corrupt(
                reader.at,
                "the tests are not sorted".to_owned(),
            ));
        }
        let test_sets = (0..reader.count()?)
            .map(|_| reader.set(tests.len()))
            .collect::<Result<Vec<_>, _>>()?;
        let binary_sets = (0..reader.count()?)
            .map(|_| reader.set(binaries.len()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys = BTreeMap::new();
        for _ in 0..reader.count()? {
            let key = reader.string()?;
            let ran = reader.index(test_sets.len())?;
            let held = reader.index(binary_sets.len())?;
            keys.insert(key, (ran, held));
        }
        if reader.at != reader.bytes.len() {
            return Err(Failure::Corrupt(
                reader.at,
                "bytes after the last key".to_owned(),
            ));
        }
        Ok(Self {
            commit,
            binaries,
            tests,
            test_sets,
            binary_sets,
            keys,
        })
    }
}

/// Builds a [`CoverageMap`] from the profiles of a run, one test at a time.
/// Keys and binaries are given ids first ([`MapBuilder::key`],
/// [`MapBuilder::binary`]); tests then speak in ids.
#[derive(Debug, Default)]
pub struct MapBuilder {
    commit: String,
    binaries: Vec<String>,
    binary_index: FxHashMap<String, u32>,
    tests: Vec<CoveredTest>,
    test_index: FxHashMap<(String, String), usize>,
    keys: Vec<String>,
    key_index: FxHashMap<String, u32>,
    /// Per key: a bitmap of the tests that ran it.
    ran: Vec<Vec<u64>>,
    /// Per key: the binaries that hold it.
    held: Vec<Vec<u32>>,
}

impl MapBuilder {
    pub fn new(commit: &str) -> Self {
        Self {
            commit: commit.to_owned(),
            ..Self::default()
        }
    }

    /// The id of a profiled binary, by build id.
    pub fn binary(&mut self, build_id: &str) -> u32 {
        if let Some(index) = self.binary_index.get(build_id) {
            return *index;
        }
        let index = self.binaries.len() as u32;
        self.binaries.push(build_id.to_owned());
        self.binary_index.insert(build_id.to_owned(), index);
        index
    }

    /// The id of a function key.
    pub fn key(&mut self, key: &str) -> u32 {
        if let Some(index) = self.key_index.get(key) {
            return *index;
        }
        let index = self.keys.len() as u32;
        self.keys.push(key.to_owned());
        self.key_index.insert(key.to_owned(), index);
        self.ran.push(Vec::new());
        self.held.push(Vec::new());
        index
    }

    /// A binary holds a function of this key (with counters).
    pub fn holds(&mut self, binary: u32, key: u32) {
        let held = &mut self.held[key as usize];
        if !held.contains(&binary) {
            held.push(binary);
        }
    }

    /// One test, the binaries it profiled and the keys it ran. A test
    /// given twice (a retry) has the union of both runs, and passed if its
    /// last run did.
    pub fn test(
        &mut self,
        binary_id: &str,
        name: &str,
        passed: bool,
        profiles: &[u32],
        ran: impl IntoIterator<Item = u32>,
    ) {
        let id = (binary_id.to_owned(), name.to_owned());
        let index = *self.test_index.entry(id).or_insert_with(|| {
            self.tests.push(CoveredTest {
                binary_id: binary_id.to_owned(),
                name: name.to_owned(),
                passed,
                profiles: Vec::new(),
            });
            self.tests.len() - 1
        });
        let test = &mut self.tests[index];
        test.passed = passed;
        test.profiles.extend_from_slice(profiles);
        test.profiles.sort_unstable();
        test.profiles.dedup();
        let word = index / 64;
        for key in ran {
            let bits = &mut self.ran[key as usize];
            if bits.len() <= word {
                bits.resize(word + 1, 0);
            }
            bits[word] |= 1 << (index % 64);
        }
    }

    /// The map: tests sorted by id, each distinct set stored once.
    pub fn finish(self) -> CoverageMap {
        let mut order: Vec<usize> = (0..self.tests.len()).collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.tests[*a], &self.tests[*b]);
            (&a.binary_id, &a.name).cmp(&(&b.binary_id, &b.name))
        });
        let mut position = vec![0u32; order.len()];
        for (new, old) in order.iter().enumerate() {
            position[*old] = new as u32;
        }
        let tests: Vec<CoveredTest> = order.iter().map(|old| self.tests[*old].clone()).collect();
        let mut test_sets = Sets::default();
        let mut binary_sets = Sets::default();
        let mut keys = BTreeMap::new();
        for ((key, bits), mut held) in self.keys.into_iter().zip(self.ran).zip(self.held) {
            let mut ran: Vec<u32> = Vec::new();
            for (word_index, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    ran.push(position[word_index * 64 + bit]);
                }
            }
            ran.sort_unstable();
            held.sort_unstable();
            keys.insert(key, (test_sets.intern(ran), binary_sets.intern(held)));
        }
        CoverageMap {
            commit: self.commit,
            binaries: self.binaries,
            tests,
            test_sets: test_sets.sets,
            binary_sets: binary_sets.sets,
            keys,
        }
    }
}

/// Distinct sets, each stored once.
#[derive(Default)]
struct Sets {
    sets: Vec<Vec<u32>>,
    index: FxHashMap<Vec<u32>, u32>,
}

impl Sets {
    fn intern(&mut self, set: Vec<u32>) -> u32 {
        if let Some(index) = self.index.get(&set) {
            return *index;
        }
        let index = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.index.insert(set, index);
        index
    }
}

pub(crate) enum Failure {
    Magic(String),
    Corrupt(usize, String),
}

pub(crate) struct Reader<'b> {
    pub(crate) bytes: &'b [u8],
    pub(crate) at: usize,
}

/// Ends a framed text: `END` and the length of everything before it, so
/// that a reader tells a whole one from one cut short.
pub(crate) fn close_frame(out: &mut Vec<u8>) {
    let length = out.len() as u64;
    out.extend_from_slice(TRAILER);
    out.extend_from_slice(&length.to_le_bytes());
}

impl<'b> Reader<'b> {
    /// A reader of the body of a framed text: it starts with `magic` and
    /// ends as [`close_frame`] ends it.
    pub(crate) fn framed(magic: &[u8], bytes: &'b [u8]) -> Result<Self, Failure> {
        if !bytes.starts_with(magic) {
            let head = &bytes[..bytes.len().min(magic.len())];
            return Err(Failure::Magic(String::from_utf8_lossy(head).into_owned()));
        }
        let body_end = bytes
            .len()
            .checked_sub(TRAILER.len() + 8)
            .filter(|end| *end >= magic.len());
        let complete = body_end.is_some_and(|end| {
            bytes[end..end + TRAILER.len()] == *TRAILER
                && u64::from_le_bytes(bytes[end + TRAILER.len()..].try_into().unwrap_or([0; 8]))
                    == end as u64
        });
        let Some(end) = body_end.filter(|_| complete) else {
            return Err(Failure::Corrupt(
                bytes.len(),
                "the file is incomplete (no end marker): it was cut short or is still being written"
                    .to_owned(),
            ));
        };
        Ok(Reader {
            bytes: &bytes[..end],
            at: magic.len(),
        })
    }

    pub(crate) fn number(&mut self) -> Result<u64, Failure> {
        let mut value = 0u64;
        for shift in 0..10 {
            let Some(byte) = self.bytes.get(self.at) else {
                return Err(Failure::Corrupt(
                    self.at,
                    "a number runs past the end".to_owned(),
                ));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << (7 * shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Failure::Corrupt(
            self.at,
            "a number longer than 10 bytes".to_owned(),
        ))
    }

    /// A count of things that take at least a byte each.
    pub(crate) fn count(&mut self) -> Result<usize, Failure> {
        let at = self.at;
        let count = self.number()?;
        if count > (self.bytes.len() - self.at) as u64 {
            return Err(Failure::Corrupt(
                at,
                format!("a count of {count} is more than the bytes left"),
            ));
        }
        Ok(count as usize)
    }

    pub(crate) fn index(&mut self, len: usize) -> Result<u32, Failure> {
        let at = self.at;
        let index = self.number()?;
        if index >= len as u64 {
            return Err(Failure::Corrupt(
                at,
                format!("index {index} is out of range (of {len})"),
            ));
        }
        Ok(index as u32)
    }

    pub(crate) fn string(&mut self) -> Result<String, Failure> {
        let length = self.count()?;
        let at = self.at;
        let bytes = &self.bytes[at..at + length];
        self.at += length;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Failure::Corrupt(at, "a text is not UTF-8".to_owned()))
    }

    /// A sorted set of indexes below `len`, as deltas.
    pub(crate) fn set(&mut self, len: usize) -> Result<Vec<u32>, Failure> {
        let count = self.count()?;
        let mut set = Vec::with_capacity(count);
        let mut previous: Option<u64> = None;
        for _ in 0..count {
            let at = self.at;
            let delta = self.number()?;
            let value = match previous {
                None => delta,
                Some(previous) => previous
                    .checked_add(delta)
                    .filter(|_| delta > 0)
                    .ok_or_else(|| {
                        Failure::Corrupt(at, "a set is not strictly increasing".to_owned())
                    })?,
            };
            if value >= len as u64 {
                return Err(Failure::Corrupt(
                    at,
                    format!("index {value} is out of range (of {len})"),
                ));
            }
            set.push(value as u32);
            previous = Some(value);
        }
        Ok(set)
    }
}

pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, text: &str) {
    put(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

pub(crate) fn put_set(out: &mut Vec<u8>, set: &[u32]) {
    put(out, set.len() as u64);
    let mut previous = None;
    for value in set {
        put(out, u64::from(value - previous.unwrap_or(0)));
        previous = Some(*value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CoverageMap {
        let mut builder = MapBuilder::new("abc123");
        let unit = builder.binary("b1");
        let cli = builder.binary("b2");
        let [next, bump, cold, main_loop] =
            ["parse::next", "Lexer::bump", "util::cold", "main_loop"].map(|key| builder.key(key));
        for key in [next, bump, cold] {
            builder.holds(unit, key);
        }
        builder.holds(cli, main_loop);
        builder.test("tiny", "tests::z", true, &[unit], [next]);
        builder.test(
            "tiny",
            "tests::a",
            true,
            &[unit, cli],
            [next, bump, main_loop],
        );
        builder.test("tiny", "tests::broken", false, &[unit], []);
        builder.finish()
    }

    #[test]
    fn verdicts_say_ran_not_ran_or_unknown() {
        let map = sample();
        let a = map.test_index("tiny", "tests::a").unwrap();
        let z = map.test_index("tiny", "tests::z").unwrap();
        let broken = map.test_index("tiny", "tests::broken").unwrap();
        assert_eq!(map.verdict("Lexer::bump", a), Verdict::Ran);
        assert_eq!(map.verdict("Lexer::bump", z), Verdict::NotRan);
        assert_eq!(map.verdict("util::cold", a), Verdict::NotRan);
        // z did not profile the binary that holds `main_loop`.
        assert_eq!(map.verdict("main_loop", z), Verdict::Unknown);
        assert_eq!(map.verdict("main_loop", a), Verdict::Ran);
        // A key no binary holds, and a failed test.
        assert_eq!(map.verdict("nowhere", a), Verdict::Unknown);
        assert_eq!(map.verdict("util::cold", broken), Verdict::Unknown);
        assert_eq!(map.ran_count("parse::next"), 2);
    }

    #[test]
    fn a_test_may_have_run_a_key_unless_the_map_knows_it_did_not() {
        let map = sample();
        let a = map.test_index("tiny", "tests::a");
        let z = map.test_index("tiny", "tests::z");
        let broken = map.test_index("tiny", "tests::broken");
        assert!(map.may_have_run("Lexer::bump", a));
        assert!(!map.may_have_run("Lexer::bump", z));
        // Held by no binary z profiled, or by none at all: it did not run.
        assert!(!map.may_have_run("main_loop", z));
        assert!(!map.may_have_run("nowhere", a));
        // A failed test and one the map does not have may have run anything.
        assert!(map.may_have_run("nowhere", broken));
        assert!(map.may_have_run("Lexer::bump", None));
        assert_eq!(
            map.keys().collect::<Vec<_>>(),
            ["Lexer::bump", "main_loop", "parse::next", "util::cold"]
        );
    }

    #[test]
    fn a_map_reads_back_as_written_and_shares_equal_sets() {
        let map = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coverage.map");
        map.write(&path).unwrap();
        let read = CoverageMap::read(&path).unwrap();
        assert_eq!(read, map);
        // `parse::next` and `main_loop`... each distinct set of tests once.
        let mut distinct = map.test_sets.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), map.test_sets.len());
    }

    #[test]
    fn every_truncation_and_a_flipped_byte_are_refused() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(
                CoverageMap::decode(&bytes[..cut]).is_err(),
                "cut at {cut} was accepted"
            );
        }
        let mut altered = bytes.clone();
        altered[3] = b'X';
        assert!(matches!(
            CoverageMap::decode(&altered),
            Err(Failure::Magic(_))
        ));
    }

    #[test]
    fn hostile_counts_are_refused_without_allocating_them() {
        let mut bytes = MAGIC.to_vec();
        put_str(&mut bytes, "c");
        put(&mut bytes, u64::MAX >> 1); // a billion binaries
        let length = bytes.len() as u64;
        bytes.extend_from_slice(TRAILER);
        bytes.extend_from_slice(&length.to_le_bytes());
        let Err(Failure::Corrupt(at, message)) = CoverageMap::decode(&bytes) else {
            panic!("accepted");
        };
        assert_eq!(at, MAGIC.len() + 2);
        assert!(message.contains("more than the bytes left"), "{message}");
    }

    #[test]
    fn texts_that_are_not_utf8_are_refused() {
        let mut bytes = MAGIC.to_vec();
        put(&mut bytes, 2);
        bytes.extend_from_slice(&[0xff, 0xfe]);
        let length = bytes.len() as u64;
        bytes.extend_from_slice(TRAILER);
        bytes.extend_from_slice(&length.to_le_bytes());
        assert!(
            matches!(CoverageMap::decode(&bytes), Err(Failure::Corrupt(_, message)) if message.contains("UTF-8"))
        );
    }
}

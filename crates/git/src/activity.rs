//! Commit history statistics: merged changes on the default branch, their
//! size, lead time and reverts, and release tags.
//!
//! # How it works
//!
//! The first-parent chain of a revision (`HEAD` by default) lists the merged
//! changes, newest first: one entry per first-parent commit, whether a merge
//! or a squashed or fast-forwarded commit. For each one:
//!
//! - files and lines changed: the diff of its tree against its first
//!   parent's tree, equal to `git log --first-parent --numstat
//!   --no-renames` (binary files count as a file, not as lines): see
//!   [`crate::numstat`];
//! - for a merge, the commits it brought in: those reachable from the second
//!   parent and not from the first (`git rev-list P1..P2`); their distinct
//!   author e-mails; the lead time from the earliest author time among them
//!   to the merge's committer time;
//! - a revert when its message, or that of a commit it brought in, starts
//!   with `Revert "` or says `This reverts commit <sha>`.
//!
//! With `all_branches`, every non-merge commit reachable from any local or
//! remote branch is one entry instead (commits = 1, no lead time).
//!
//! The per-commit work runs in parallel (rayon) over chunks of consecutive
//! commits; a `Repository` is not `Sync`, so each chunk opens its own, and
//! [`activity_with_progress`] reports how many changes are done. Results are kept by commit id in an
//! on-disk cache (a commit never changes): see [`ActivityCache`].
//!
//! # Limitations
//!
//! - Times are committer times of the first-parent commits: a history
//!   rewritten with new dates moves its changes.
//! - A change squashed on merge has no lead time (its branch is gone).
//! - Line counts skip binary files; renames count as a delete and an add.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};

use git2::{Commit, Oid, Repository, Sort};
use rayon::prelude::*;

use crate::numstat::{Drivers, TreeDiffer, object_store_only};
use crate::{GitError, commit, open};

/// What to read.
#[derive(Debug, Clone)]
pub struct ActivityOptions {
    /// The tip of the default branch.
    pub rev: String,
    /// Every non-merge commit on every branch instead of the first-parent
    /// chain of `rev`.
    pub all_branches: bool,
    /// Stop at commits older than this (Unix seconds).
    pub since_s: Option<i64>,
    /// Stop at commits more than this many weeks older than the tip's
    /// committer time (with `all_branches`, than the newest commit's).
    pub window_weeks: Option<u32>,
    /// Release tags: a glob (`*` any run of characters, `?` one) matched
    /// against the tag name without `refs/tags/`; `None` = no releases.
    pub release_pattern: Option<String>,
    /// Where the per-commit cache lives; `None` = no cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for ActivityOptions {
    fn default() -> Self {
        ActivityOptions {
            rev: "HEAD".to_owned(),
            all_branches: false,
            since_s: None,
            window_weeks: None,
            release_pattern: Some("v*".to_owned()),
            cache_dir: None,
        }
    }
}

/// One merged change (or, with `all_branches`, one commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStats {
    /// The first-parent commit, full hex.
    pub commit: String,
    /// Its first parent, `None` for a root commit.
    pub parent: Option<String>,
    /// Committer time, Unix seconds.
    pub time_s: i64,
    /// Commits brought in (1 unless a merge).
    pub commits: u32,
    /// Distinct author e-mails of those commits.
    pub authors: Vec<String>,
    pub files: u32,
    pub lines_added: u64,
    pub lines_deleted: u64,
    /// Earliest author time of the merged branch → merge, seconds.
    pub lead_time_s: Option<i64>,
    pub is_revert: bool,
}

/// A release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    /// Tagger time for an annotated tag, else the commit's committer time.
    pub time_s: i64,
}

/// How the cache did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Changes found in the cache.
    pub hits: u64,
    /// Changes computed.
    pub misses: u64,
    /// The cache file was there but unreadable (damaged, truncated, another
    /// version) and was rebuilt.
    pub damaged: bool,
    /// Writing the cache failed (the changes were still computed).
    pub write_failed: bool,
}

/// The history read.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Newest first.
    pub changes: Vec<ChangeStats>,
    pub releases: Vec<ReleaseTag>,
    pub cache: CacheStats,
}

/// Reads the change history of the repository containing `repo`. A
/// repository without commits has no changes.
pub fn activity(repo: &Path, options: &ActivityOptions) -> Result<Activity, GitError> {
    activity_with_progress(repo, options, &|_, _| {})
}

/// [`activity`], calling `progress(done, total)` from the worker threads
/// after each change whose statistics were computed (cache misses only; not
/// called when everything was cached).
pub fn activity_with_progress(
    repo: &Path,
    options: &ActivityOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Activity, GitError> {
    let repository = open(repo)?;
    let git_dir = repository.path().to_path_buf();
    if repository.head().is_err() && options.rev == "HEAD" {
        return Ok(Activity::default());
    }
    let since = |tip_time: i64| {
        let window = options
            .window_weeks
            .map(|weeks| tip_time - i64::from(weeks) * 7 * 86_400);
        match (options.since_s, window) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    };
    let oids = if options.all_branches {
        all_branch_commits(&repository, &since)?
    } else {
        first_parents(&repository, &options.rev, &since)?
    };
    let releases = match &options.release_pattern {
        Some(pattern) => release_tags(&repository, pattern)?,
        None => Vec::new(),
    };
    drop(repository);
    // Objects are only read here: skip libgit2's re-hashing of every object
    // it inflates (git itself does not verify on read).
    git2::opts::strict_hash_verification(false);

    let mut cache = options
        .cache_dir
        .as_deref()
        .map(ActivityCache::load)
        .unwrap_or_default();
    let mut stats = CacheStats {
        damaged: cache.damaged,
        ..CacheStats::default()
    };
    let missing: Vec<Oid> = oids
        .iter()
        .filter(|oid| !cache.entries.contains_key(*oid))
        .copied()
        .collect();
    stats.hits = (oids.len() - missing.len()) as u64;
    stats.misses = missing.len() as u64;

    let done = AtomicU64::new(0);
    let drivers = Drivers::default();
    let total = stats.misses;
    // Chunks of consecutive commits, so that a worker finds a commit's
    // parent tree among the trees it read for the commit before; enough of
    // them to keep every thread busy to the end.
    let chunk = missing
        .len()
        .div_ceil(rayon::current_num_threads() * 8)
        .clamp(1, 512);
    let computed: Vec<ChangeStats> = missing
        .par_chunks(chunk)
        .map(|chunk| -> Result<Vec<ChangeStats>, GitError> {
            let repository = Repository::open(&git_dir)?;
            let blobs = object_store_only(&repository)?;
            let mut differ = TreeDiffer::new(&repository, &blobs, &drivers);
            chunk
                .iter()
                .map(|&oid| {
                    let change = change_stats(&repository, &mut differ, oid);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    change
                })
                .collect()
        })
        .collect::<Result<Vec<Vec<_>>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let changed = !computed.is_empty() || cache.damaged;
    for change in computed {
        if let Ok(oid) = Oid::from_str(&change.commit) {
            cache.entries.insert(oid, change);
        }
    }
    if changed && let Some(dir) = &options.cache_dir {
        stats.write_failed = cache.save(dir).is_err();
    }
    let changes = oids
        .iter()
        .filter_map(|oid| cache.entries.get(oid).cloned())
        .collect();
    Ok(Activity {
        changes,
        releases,
        cache: stats,
    })
}

/// The first-parent chain of `rev`, newest first.
fn first_parents(
    repository: &Repository,
    rev: &str,
    since: &dyn Fn(i64) -> Option<i64>,
) -> Result<Vec<Oid>, GitError> {
    let tip = commit(repository, rev)?;
    let since_s = since(tip.committer().when().seconds());
    let mut walk = repository.revwalk()?;
    walk.push(tip.id())?;
    walk.simplify_first_parent()?;
    let mut out = Vec::new();
    for oid in walk {
        let oid = oid?;
        if let Some(since) = since_s {
            let time = repository.find_commit(oid)?.committer().when().seconds();
            if time < since {
                break;
            }
        }
        out.push(oid);
    }
    Ok(out)
}

/// Every non-merge commit reachable from a local or remote branch, newest
/// first by committer time.
fn all_branch_commits(
    repository: &Repository,
    since: &dyn Fn(i64) -> Option<i64>,
) -> Result<Vec<Oid>, GitError> {
    let mut walk = repository.revwalk()?;
    walk.set_sorting(Sort::TIME)?;
    walk.push_glob("refs/heads/*")?;
    walk.push_glob("refs/remotes/*")?;
    let mut out = Vec::new();
    let mut since_s = None;
    for (i, oid) in walk.enumerate() {
        let commit = repository.find_commit(oid?)?;
        if i == 0 {
            since_s = since(commit.committer().when().seconds());
        }
        if since_s.is_some_and(|since| commit.committer().when().seconds() < since) {
            break;
        }
        if commit.parent_count() <= 1 {
            out.push(commit.id());
        }
    }
    Ok(out)
}

fn change_stats(
    repository: &Repository,
    differ: &mut TreeDiffer<'_>,
    oid: Oid,
) -> Result<ChangeStats, GitError> {
    let commit = repository.find_commit(oid)?;
    let parent = commit.parent(0).ok();
    let stats = differ.diff(parent.as_ref().map(Commit::tree_id), commit.tree_id())?;
    let time_s = commit.committer().when().seconds();
    let mut change = ChangeStats {
        commit: oid.to_string(),
        parent: parent.as_ref().map(|p| p.id().to_string()),
        time_s,
        commits: 1,
        authors: Vec::new(),
        files: stats.files,
        lines_added: stats.added,
        lines_deleted: stats.deleted,
        lead_time_s: None,
        is_revert: is_revert(commit.message_bytes()),
    };
    if commit.parent_count() >= 2 {
        // A new walk for every merge: one kept across merges (reset) keeps
        // the commits it parsed, and hiding a commit then marks every one of
        // its parsed ancestors, back to the start of the history.
        let mut walk = repository.revwalk()?;
        walk.push(commit.parent_id(1)?)?;
        walk.hide(commit.parent_id(0)?)?;
        let mut commits = 0u32;
        let mut earliest = i64::MAX;
        let mut authors = Vec::new();
        for merged in walk {
            let merged = repository.find_commit(merged?)?;
            commits += 1;
            earliest = earliest.min(merged.author().when().seconds());
            if let Ok(email) = merged.author().email() {
                authors.push(email.to_owned());
            }
            change.is_revert |= is_revert(merged.message_bytes());
        }
        change.commits = commits.max(1);
        if commits > 0 {
            change.lead_time_s = Some((time_s - earliest).max(0));
        }
        authors.sort();
        authors.dedup();
        change.authors = authors;
    } else if let Ok(email) = commit.author().email() {
        change.authors = vec![email.to_owned()];
    }
    Ok(change)
}

/// `Revert "..."` as a subject, or `This reverts commit <hex>` anywhere.
pub fn is_revert(message: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"This reverts commit ";
    if message.starts_with(b"Revert \"") {
        return true;
    }
    message.windows(NEEDLE.len()).enumerate().any(|(i, w)| {
        w == NEEDLE
            && message[i + NEEDLE.len()..]
                .iter()
                .take(7)
                .filter(|b| b.is_ascii_hexdigit())
                .count()
                == 7
    })
}

fn release_tags(repository: &Repository, pattern: &str) -> Result<Vec<ReleaseTag>, GitError> {
    let mut out = Vec::new();
    for reference in repository.references_glob("refs/tags/*")? {
        let reference = reference?;
        let Ok(name) = reference.shorthand() else {
            continue;
        };
        if !glob_match(pattern.as_bytes(), name.as_bytes()) {
            continue;
        }
        let object = reference.peel(git2::ObjectType::Any)?;
        let time_s = match reference.peel_to_tag() {
            Ok(tag) => tag.tagger().map(|t| t.when().seconds()),
            Err(_) => None,
        };
        let time_s = match time_s {
            Some(t) => t,
            None => match object.peel_to_commit() {
                Ok(c) => c.committer().when().seconds(),
                Err(_) => continue,
            },
        };
        out.push(ReleaseTag {
            name: name.to_owned(),
            time_s,
        });
    }
    out.sort_by(|a, b| a.time_s.cmp(&b.time_s).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// `*` matches any run of bytes, `?` one byte, everything else itself.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// The on-disk cache of [`ChangeStats`] by commit id.
///
/// One file, `activity.bin`: the magic `HGACT`, a format version (u32), the
/// entry count (u64), the entries, and a 64-bit FNV-1a checksum of
/// everything before it. It is written to a temporary file and renamed into
/// place, so a reader sees the old file or the new one. A file with another
/// version, a bad checksum, or a truncated or malformed entry is ignored
/// whole and rebuilt.
#[derive(Debug, Default)]
pub struct ActivityCache {
    entries: HashMap<Oid, ChangeStats>,
    damaged: bool,
}

const MAGIC: &[u8; 5] = b"HGACT";
const VERSION: u32 = 1;
/// The cache file's name inside the cache directory.
pub const CACHE_FILE: &str = "activity.bin";

impl ActivityCache {
    /// Reads the cache in `dir`; a missing file is an empty cache, a damaged
    /// one an empty cache marked damaged.
    pub fn load(dir: &Path) -> ActivityCache {
        let Ok(bytes) = fs::read(dir.join(CACHE_FILE)) else {
            return ActivityCache::default();
        };
        decode(&bytes).map_or_else(
            || ActivityCache {
                entries: HashMap::new(),
                damaged: true,
            },
            |entries| ActivityCache {
                entries,
                damaged: false,
            },
        )
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn save(&self, dir: &Path) -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        let bytes = encode(&self.entries);
        let temp = dir.join(format!("{CACHE_FILE}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temp, dir.join(CACHE_FILE))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn encode(entries: &HashMap<Oid, ChangeStats>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 96 + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    let mut sorted: Vec<(&Oid, &ChangeStats)> = entries.iter().collect();
    sorted.sort_by_key(|(oid, _)| **oid);
    for (oid, c) in sorted {
        out.extend_from_slice(oid.as_bytes());
        match c.parent.as_deref().and_then(|p| Oid::from_str(p).ok()) {
            Some(parent) => {
                out.push(1);
                out.extend_from_slice(parent.as_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&c.time_s.to_le_bytes());
        out.extend_from_slice(&c.commits.to_le_bytes());
        out.extend_from_slice(&c.files.to_le_bytes());
        out.extend_from_slice(&c.lines_added.to_le_bytes());
        out.extend_from_slice(&c.lines_deleted.to_le_bytes());
        out.extend_from_slice(&c.lead_time_s.unwrap_or(i64::MIN).to_le_bytes());
        out.push(u8::from(c.is_revert));
        let authors = c.authors.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&(authors as u16).to_le_bytes());
        for author in &c.authors[..authors] {
            let bytes = &author.as_bytes()[..author.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }
    fn oid(&mut self) -> Option<Oid> {
        Oid::from_bytes(self.take(20)?).ok()
    }
}

fn decode(bytes: &[u8]) -> Option<HashMap<Oid, ChangeStats>> {
    if bytes.len() < MAGIC.len() + 4 + 8 + 8 {
        return None;
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if fnv1a(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Reader { bytes: body };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != VERSION {
        return None;
    }
    let count = r.u64()?;
    // Each entry takes at least 67 bytes: a count beyond that is damage.
    if count > (body.len() / 67) as u64 {
        return None;
    }
    let mut entries = HashMap::with_capacity(count as usize);
    for _ in 0..count {
        let oid = r.oid()?;
        let parent = match r.u8()? {
            0 => None,
            1 => Some(r.oid()?.to_string()),
            _ => return None,
        };
        let time_s = r.i64()?;
        let commits = r.u32()?;
        let files = r.u32()?;
        let lines_added = r.u64()?;
        let lines_deleted = r.u64()?;
        let lead = r.i64()?;
        let is_revert = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let n = r.u16()?;
        let mut authors = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let len = r.u16()?;
            authors.push(String::from_utf8(r.take(usize::from(len))?.to_vec()).ok()?);
        }
        entries.insert(
            oid,
            ChangeStats {
                commit: oid.to_string(),
                parent,
                time_s,
                commits,
                authors,
                files,
                lines_added,
                lines_deleted,
                lead_time_s: (lead != i64::MIN).then_some(lead),
                is_revert,
            },
        );
    }
    r.bytes.is_empty().then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_messages() {
        assert!(is_revert(
            b"Revert \"add a thing\"\n\nThis reverts commit 0123456789abcdef."
        ));
        assert!(is_revert(b"fix: undo\n\nThis reverts commit deadbeef0."));
        assert!(!is_revert(b"Reverted the frobnicator"));
        assert!(!is_revert(b"This reverts commit soon"));
        assert!(!is_revert(b""));
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"v*", b"v1.2.3"));
        assert!(glob_match(b"*.*.*", b"2024.01.3"));
        assert!(glob_match(b"release-?", b"release-7"));
        assert!(!glob_match(b"v*", b"nightly"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"a*b", b"a-c"));
    }

    fn sample() -> HashMap<Oid, ChangeStats> {
        let oid = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let mut map = HashMap::new();
        map.insert(
            oid,
            ChangeStats {
                commit: oid.to_string(),
                parent: Some("89abcdef0123456789abcdef0123456789abcdef".to_owned()),
                time_s: 1_772_000_000,
                commits: 3,
                authors: vec!["a@example.com".into(), "ü@example.com".into()],
                files: 4,
                lines_added: 10,
                lines_deleted: 2,
                lead_time_s: Some(3600),
                is_revert: true,
            },
        );
        map
    }

    #[test]
    fn cache_round_trips() {
        let map = sample();
        assert_eq!(decode(&encode(&map)), Some(map));
    }

    #[test]
    fn damaged_cache_decodes_to_nothing() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x40;
            assert_eq!(decode(&flipped), None, "flipped byte {i}");
        }
        assert_eq!(decode(b"not a cache at all, but long enough"), None);
    }
}

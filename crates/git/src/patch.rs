//! Unified diffs into a [`ChangeSet`].
//!
//! Reads what `git diff` (and `diff -u`) write: `diff --git` headers with
//! their extended lines (modes, renames, copies, `index`, binary markers),
//! `---`/`+++` file lines (`/dev/null` for a missing side), `@@` hunks whose
//! line counts are checked, and `\ No newline at end of file` markers. Text
//! before the first file (a commit message from `git format-patch`) and
//! between files (a signature) is skipped.

use hourglass_model::{ChangeKind, ChangeSet};

use crate::GitError;
use crate::diff::{Ranges, build_change};

/// Reads a unified diff (`git diff` output) into a [`ChangeSet`].
///
/// A malformed hunk header, a hunk whose body is shorter than its header
/// says, or a `+++` line without its `---` line is an error naming the
/// 1-based line of the patch.
pub fn parse_patch(text: &str) -> Result<ChangeSet, GitError> {
    let mut files = Vec::new();
    let mut current: Option<FilePatch> = None;
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    // A trailing newline leaves one empty piece that is not a line.
    let count = if text.ends_with('\n') {
        lines.len() - 1
    } else {
        lines.len()
    };
    let mut index = 0;
    while index < count {
        let line = lines[index];
        let number = index + 1;
        index += 1;
        if line.starts_with("diff --cc ") || line.starts_with("diff --combined ") {
            return Err(malformed(
                number,
                "combined diffs of merges are not supported",
            ));
        }
        if let Some(rest) = line.strip_prefix("diff --git ") {
            finish(&mut files, current.take());
            let (old, new) = split_git_header(rest);
            current = Some(FilePatch::new(old, new));
            continue;
        }
        if let Some(rest) = line.strip_prefix("--- ") {
            let Some(next) = lines[..count].get(index) else {
                // A last line starting with `--- ` and no `+++` after it.
                return Err(malformed(
                    number,
                    "`---` line without a `+++` line after it",
                ));
            };
            let Some(new_rest) = next.strip_prefix("+++ ") else {
                if current.as_ref().is_some_and(|file| !file.seen_files) {
                    return Err(malformed(index + 1, "expected a `+++` line after `---`"));
                }
                // Outside a file: prose, e.g. a commit message.
                continue;
            };
            index += 1;
            let old = file_path(rest);
            let new = file_path(new_rest);
            let file = match current.as_mut() {
                Some(file) if !file.seen_files && !file.seen_hunks => file,
                _ => {
                    finish(&mut files, current.take());
                    current.insert(FilePatch::new(old.clone(), new.clone()))
                }
            };
            file.seen_files = true;
            match &old {
                None => file.added = true,
                Some(path) => file.old_path = Some(path.clone()),
            }
            match &new {
                None => file.deleted = true,
                Some(path) => file.new_path = Some(path.clone()),
            }
            continue;
        }
        if line.starts_with("+++ ") {
            return Err(malformed(
                number,
                "`+++` line without a `---` line before it",
            ));
        }
        if line.starts_with("@@") {
            let Some(file) = current.as_mut() else {
                return Err(malformed(number, "hunk before any file header"));
            };
            let header = parse_hunk_header(line).ok_or_else(|| {
                malformed(number, "malformed hunk header, expected `@@ -a,b +c,d @@`")
            })?;
            file.seen_hunks = true;
            index = read_hunk(&lines[..count], index, header, &mut file.ranges)?;
            continue;
        }
        let Some(file) = current.as_mut() else {
            continue;
        };
        if file.seen_hunks || file.skipping_binary {
            // Between files: `-- ` signatures, blank lines, binary data.
            continue;
        }
        extended_header(file, line);
    }
    finish(&mut files, current.take());
    Ok(ChangeSet { files })
}

fn malformed(line: usize, message: &str) -> GitError {
    GitError::MalformedPatch {
        line,
        message: message.to_owned(),
    }
}

/// What the patch has said about one file so far.
#[derive(Debug, Default)]
struct FilePatch {
    old_path: Option<String>,
    new_path: Option<String>,
    added: bool,
    deleted: bool,
    renamed: bool,
    binary: bool,
    mode_changed: bool,
    old_mode: Option<String>,
    seen_files: bool,
    seen_hunks: bool,
    skipping_binary: bool,
    ranges: Ranges,
}

impl FilePatch {
    fn new(old: Option<String>, new: Option<String>) -> Self {
        Self {
            old_path: old,
            new_path: new,
            ..Self::default()
        }
    }
}

fn extended_header(file: &mut FilePatch, line: &str) {
    if line.starts_with("new file mode ") {
        file.added = true;
    } else if line.starts_with("deleted file mode ") {
        file.deleted = true;
    } else if let Some(mode) = line.strip_prefix("old mode ") {
        file.old_mode = Some(mode.trim().to_owned());
    } else if let Some(mode) = line.strip_prefix("new mode ") {
        if file.old_mode.as_deref() != Some(mode.trim()) {
            file.mode_changed = true;
        }
    } else if let Some(path) = line.strip_prefix("rename from ") {
        file.renamed = true;
        file.old_path = Some(unquote(path));
    } else if let Some(path) = line.strip_prefix("rename to ") {
        file.renamed = true;
        file.new_path = Some(unquote(path));
    } else if line.strip_prefix("copy from ").is_some() {
        // A copy leaves its source untouched: the new file is an addition.
        file.added = true;
    } else if let Some(path) = line.strip_prefix("copy to ") {
        file.added = true;
        file.new_path = Some(unquote(path));
    } else if line.starts_with("Binary files ") && line.ends_with(" differ") {
        file.binary = true;
    } else if line == "GIT binary patch" {
        file.binary = true;
        file.skipping_binary = true;
    }
}

fn finish(files: &mut Vec<hourglass_model::FileChange>, file: Option<FilePatch>) {
    let Some(file) = file else { return };
    let kind = if file.added {
        ChangeKind::Added
    } else if file.deleted {
        ChangeKind::Deleted
    } else if file.renamed || (file.old_path.is_some() && file.old_path != file.new_path) {
        ChangeKind::Renamed
    } else {
        ChangeKind::Modified
    };
    let (old_path, new_path) = match kind {
        ChangeKind::Added => (None, file.new_path.or(file.old_path)),
        ChangeKind::Deleted => (file.old_path.or(file.new_path), None),
        ChangeKind::Modified => (
            file.old_path.clone().or(file.new_path.clone()),
            file.new_path.or(file.old_path),
        ),
        ChangeKind::Renamed => (file.old_path, file.new_path),
    };
    if old_path.is_none() && new_path.is_none() {
        return;
    }
    files.push(build_change(
        kind,
        old_path,
        new_path,
        file.ranges,
        file.binary || file.mode_changed,
    ));
}

#[derive(Debug, Clone, Copy)]
struct HunkHeader {
    old_start: u32,
    old_count: u32,
    new_start: u32,
    new_count: u32,
}

/// `@@ -a[,b] +c[,d] @@ section`.
fn parse_hunk_header(line: &str) -> Option<HunkHeader> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let (old_start, old_count) = parse_range(old)?;
    let (new_start, new_count) = parse_range(new)?;
    Some(HunkHeader {
        old_start,
        old_count,
        new_start,
        new_count,
    })
}

fn parse_range(text: &str) -> Option<(u32, u32)> {
    match text.split_once(',') {
        Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

/// Reads a hunk body starting at `lines[index]`; returns the index of the
/// first line after it.
fn read_hunk(
    lines: &[&str],
    mut index: usize,
    header: HunkHeader,
    ranges: &mut Ranges,
) -> Result<usize, GitError> {
    let mut old_left = header.old_count;
    let mut new_left = header.new_count;
    let mut old_line = header.old_start.max(1);
    let mut new_line = header.new_start.max(1);
    // With an empty side, a unified diff numbers it by the line before.
    if header.old_count == 0 {
        old_line = header.old_start + 1;
    }
    if header.new_count == 0 {
        new_line = header.new_start + 1;
    }
    let mut run: Option<Run> = None;
    while old_left > 0 || new_left > 0 {
        let Some(line) = lines.get(index) else {
            return Err(malformed(
                index,
                &format!("hunk ends early: {old_left} old and {new_left} new lines missing"),
            ));
        };
        index += 1;
        let marker = line.as_bytes().first().copied();
        match marker {
            // An empty line is a context line whose space was trimmed.
            Some(b' ') | None => {
                if old_left == 0 || new_left == 0 {
                    return Err(malformed(
                        index,
                        "context line beyond the hunk's line counts",
                    ));
                }
                close(&mut run, ranges);
                old_left -= 1;
                new_left -= 1;
                old_line += 1;
                new_line += 1;
            }
            Some(b'-') => {
                if old_left == 0 {
                    return Err(malformed(
                        index,
                        "more removed lines than the hunk header says",
                    ));
                }
                run.get_or_insert(Run::at(old_line, new_line)).old_count += 1;
                old_left -= 1;
                old_line += 1;
            }
            Some(b'+') => {
                if new_left == 0 {
                    return Err(malformed(
                        index,
                        "more added lines than the hunk header says",
                    ));
                }
                run.get_or_insert(Run::at(old_line, new_line)).new_count += 1;
                new_left -= 1;
                new_line += 1;
            }
            Some(b'\\') => {}
            Some(_) => {
                return Err(malformed(
                    index,
                    &format!(
                        "unexpected line inside a hunk ({old_left} old and {new_left} new lines still expected)"
                    ),
                ));
            }
        }
    }
    close(&mut run, ranges);
    // A `\ No newline at end of file` after the last line of the hunk.
    while lines.get(index).is_some_and(|line| line.starts_with('\\')) {
        index += 1;
    }
    Ok(index)
}

/// A run of removed and added lines with no context between them.
#[derive(Debug, Clone, Copy)]
struct Run {
    old_start: u32,
    old_count: u32,
    new_start: u32,
    new_count: u32,
}

impl Run {
    fn at(old_start: u32, new_start: u32) -> Self {
        Self {
            old_start,
            old_count: 0,
            new_start,
            new_count: 0,
        }
    }
}

fn close(run: &mut Option<Run>, ranges: &mut Ranges) {
    let Some(run) = run.take() else { return };
    // An empty side is numbered by the line before it, as in a hunk header.
    let old_start = if run.old_count == 0 {
        run.old_start - 1
    } else {
        run.old_start
    };
    let new_start = if run.new_count == 0 {
        run.new_start - 1
    } else {
        run.new_start
    };
    ranges.push_run(old_start, run.old_count, new_start, run.new_count);
}

/// A `---`/`+++` path: `None` for `/dev/null`; the `a/`/`b/` prefix and a
/// trailing timestamp (`diff -u`) removed.
fn file_path(text: &str) -> Option<String> {
    let text = if text.starts_with('"') {
        unquote(text)
    } else {
        text.split('\t')
            .next()
            .unwrap_or(text)
            .trim_end()
            .to_owned()
    };
    if text == "/dev/null" {
        return None;
    }
    Some(strip_prefix(&text).to_owned())
}

fn strip_prefix(path: &str) -> &str {
    path.strip_prefix("a/")
        .or_else(|| path.strip_prefix("b/"))
        .unwrap_or(path)
}

/// The two paths of `diff --git a/x b/y`.
fn split_git_header(rest: &str) -> (Option<String>, Option<String>) {
    if rest.starts_with('"') {
        let (first, len) = unquote_prefix(rest);
        let second = rest[len..].trim_start();
        let second = if second.starts_with('"') {
            unquote(second)
        } else {
            second.to_owned()
        };
        return (
            Some(strip_prefix(&first).to_owned()),
            Some(strip_prefix(&second).to_owned()),
        );
    }
    // Same path on both sides (the common case): split in the middle.
    let bytes = rest.len();
    if bytes % 2 == 1 {
        let half = bytes / 2;
        if rest.is_char_boundary(half) && rest.as_bytes()[half] == b' ' {
            let (old, new) = (&rest[..half], &rest[half + 1..]);
            if strip_prefix(old) == strip_prefix(new) {
                return (
                    Some(strip_prefix(old).to_owned()),
                    Some(strip_prefix(new).to_owned()),
                );
            }
        }
    }
    match rest.split_once(" b/") {
        Some((old, new)) => (Some(strip_prefix(old).to_owned()), Some(new.to_owned())),
        None => match rest.split_once(' ') {
            Some((old, new)) => (Some(old.to_owned()), Some(new.to_owned())),
            None => (Some(rest.to_owned()), Some(rest.to_owned())),
        },
    }
}

/// A path that git may have C-quoted (`"a/caf\303\251.rs"`).
fn unquote(text: &str) -> String {
    if text.starts_with('"') {
        unquote_prefix(text).0
    } else {
        text.to_owned()
    }
}

/// Unquotes the C-quoted string at the start of `text`; returns it and the
/// number of bytes it took (with both quotes).
fn unquote_prefix(text: &str) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\\' if i + 1 < bytes.len() => {
                i += 1;
                match bytes[i] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    digit @ b'0'..=b'7' => {
                        let mut value = u32::from(digit - b'0');
                        let mut taken = 1;
                        while taken < 3
                            && i + 1 < bytes.len()
                            && (b'0'..=b'7').contains(&bytes[i + 1])
                        {
                            i += 1;
                            taken += 1;
                            value = value * 8 + u32::from(bytes[i] - b'0');
                        }
                        out.push(value as u8);
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hourglass_model::LineRange;

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(unquote(r#""a/caf\303\251 x.rs""#), "a/café x.rs");
        let (old, new) = split_git_header(r#""a/x y.rs" "b/x y.rs""#);
        assert_eq!(old.as_deref(), Some("x y.rs"));
        assert_eq!(new.as_deref(), Some("x y.rs"));
    }

    #[test]
    fn header_with_spaces_splits_in_the_middle() {
        let (old, new) = split_git_header("a/dir b/x.rs b/dir b/x.rs");
        assert_eq!(old.as_deref(), Some("dir b/x.rs"));
        assert_eq!(new.as_deref(), Some("dir b/x.rs"));
    }

    #[test]
    fn a_plain_unified_diff_with_timestamps_is_read() {
        let text = "--- old/lib.rs\t2024-01-01 00:00:00\n+++ new/lib.rs\t2024-01-02 00:00:00\n@@ -2 +2 @@\n-a\n+b\n";
        let changes = parse_patch(text).unwrap();
        assert_eq!(changes.files.len(), 1);
        let file = &changes.files[0];
        assert_eq!(file.new_lines, [LineRange::new(2, 2)]);
    }

    #[test]
    fn a_short_hunk_is_an_error_with_its_line() {
        let text = "diff --git a/x.rs b/x.rs\n--- a/x.rs\n+++ b/x.rs\n@@ -1,3 +1,3 @@\n a\n-b\n";
        match parse_patch(text) {
            Err(GitError::MalformedPatch { line, .. }) => assert_eq!(line, 6),
            other => panic!("expected a malformed patch error, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_hunk_header_names_its_line() {
        let text = "diff --git a/x.rs b/x.rs\n--- a/x.rs\n+++ b/x.rs\n@@ nonsense @@\n";
        match parse_patch(text) {
            Err(GitError::MalformedPatch { line, .. }) => assert_eq!(line, 4),
            other => panic!("expected a malformed patch error, got {other:?}"),
        }
    }

    #[test]
    fn pure_deletion_gets_an_anchor_on_the_new_side() {
        let text = "--- a/x.rs\n+++ b/x.rs\n@@ -4,2 +3,0 @@\n-gone\n-gone too\n";
        let changes = parse_patch(text).unwrap();
        let file = &changes.files[0];
        assert_eq!(file.old_lines, [LineRange::new(4, 5)]);
        assert_eq!(file.new_lines, [LineRange::new(3, 3)]);
        assert!(!file.whole_file);
    }

    #[test]
    fn runs_inside_one_hunk_are_separate_ranges() {
        let text = "--- a/x.rs\n+++ b/x.rs\n@@ -1,7 +1,7 @@\n a\n-b\n+B\n c\n d\n e\n-f\n+F\n g\n";
        let changes = parse_patch(text).unwrap();
        let file = &changes.files[0];
        assert_eq!(file.new_lines, [LineRange::new(2, 2), LineRange::new(6, 6)]);
        assert_eq!(file.old_lines, [LineRange::new(2, 2), LineRange::new(6, 6)]);
    }
}

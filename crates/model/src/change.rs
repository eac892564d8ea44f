//! Changed files and line ranges.

use serde::{Deserialize, Serialize};

/// An inclusive range of 1-based line numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
}

impl LineRange {
    /// A range of `start..=end`; `end` is raised to `start` when below it.
    pub fn new(start: u32, end: u32) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    pub fn contains(&self, line: u32) -> bool {
        self.start <= line && line <= self.end
    }

    pub fn overlaps(&self, other: &LineRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Deleted,
    Modified,
    Renamed,
}

/// One changed file. Paths are relative to the repository root, with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub kind: ChangeKind,
    /// The path before the change; `None` when the file was added.
    pub old_path: Option<String>,
    /// The path after the change; `None` when the file was deleted.
    pub new_path: Option<String>,
    /// Lines removed or replaced, numbered in the old file. Empty for a pure
    /// addition of lines.
    pub old_lines: Vec<LineRange>,
    /// Lines added or replaced, numbered in the new file.
    pub new_lines: Vec<LineRange>,
    /// The whole file must be treated as changed (binary file, mode change,
    /// an added or deleted file, or a diff without hunks).
    pub whole_file: bool,
    /// `(old, new)` line counts of each run, parallel to `old_lines` and
    /// `new_lines`: a side with no lines (a pure insertion or deletion) has
    /// a one-line anchor in its ranges and 0 here. Empty when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_counts: Vec<(u32, u32)>,
}

impl FileChange {
    /// The paths this change touches: the old and the new one.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let renamed_from = match (&self.old_path, &self.new_path) {
            (Some(old), Some(new)) if old != new => Some(old.as_str()),
            (Some(old), None) => Some(old.as_str()),
            _ => None,
        };
        self.new_path.as_deref().into_iter().chain(renamed_from)
    }
}

/// Everything a change touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub files: Vec<FileChange>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_overlap_at_their_edges() {
        let a = LineRange::new(3, 5);
        assert!(a.overlaps(&LineRange::new(5, 9)));
        assert!(a.overlaps(&LineRange::new(1, 3)));
        assert!(!a.overlaps(&LineRange::new(6, 9)));
        assert!(a.contains(4));
        assert!(!a.contains(6));
    }

    #[test]
    fn a_rename_touches_both_paths() {
        let change = FileChange {
            kind: ChangeKind::Renamed,
            old_path: Some("a.rs".into()),
            new_path: Some("b.rs".into()),
            old_lines: vec![],
            new_lines: vec![],
            whole_file: true,
            line_counts: vec![],
        };
        assert_eq!(change.paths().collect::<Vec<_>>(), ["b.rs", "a.rs"]);
    }
}

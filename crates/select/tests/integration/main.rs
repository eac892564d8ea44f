//! hourglass-select on real workspaces written to temporary directories:
//! the graph is built from the files, the change sets name real lines.

mod coverage;
mod explain;
mod listed;
mod manifests;
mod packages;
mod properties;
mod rules;
mod selection;

use std::path::Path;

use hourglass_graph::{BuildOptions, Graph};
use hourglass_model::{ChangeKind, ChangeSet, FileChange, LineRange};
use hourglass_select::{ChangeContext, Rules, Selection, select};

pub const ALPHA_LIB: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn double(a: i32) -> i32 {
    add(a, a)
}

pub fn negate(a: i32) -> i32 {
    -a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(1, 2), 3);
    }

    #[test]
    fn negates() {
        assert_eq!(negate(1), -1);
    }
}
";

pub const BETA_LIB: &str = "\
pub fn quadruple(a: i32) -> i32 {
    alpha::double(alpha::double(a))
}

pub fn greeting() -> &'static str {
    \"hello\"
}

#[cfg(test)]
mod tests {
    #[test]
    fn quadruples() {
        assert_eq!(super::quadruple(1), 4);
    }

    #[test]
    fn greets() {
        assert_eq!(super::greeting(), \"hello\");
    }
}
";

pub const GAMMA_LIB: &str = "\
pub fn shout(text: &str) -> String {
    text.to_uppercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shouts() {
        assert_eq!(super::shout(\"a\"), \"A\");
    }
}
";

/// A workspace on disk: `alpha`; `beta` depends on `alpha` and has an
/// integration test; `gamma` depends on `serde` (never built, only named)
/// and has a build script.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let workspace = Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        workspace.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/alpha\", \"crates/beta\", \"crates/gamma\"]\nresolver = \"2\"\n",
        );
        workspace.write("crates/alpha/Cargo.toml", &manifest("alpha", ""));
        workspace.write("crates/alpha/src/lib.rs", ALPHA_LIB);
        workspace.write(
            "crates/beta/Cargo.toml",
            &manifest("beta", "alpha = { path = \"../alpha\" }\n"),
        );
        workspace.write("crates/beta/src/lib.rs", BETA_LIB);
        workspace.write(
            "crates/beta/tests/api.rs",
            "#[test]\nfn quadruple_of_two() {\n    assert_eq!(beta::quadruple(2), 8);\n}\n",
        );
        workspace.write("crates/beta/tests/data/input.txt", "some data\n");
        workspace.write(
            "crates/gamma/Cargo.toml",
            &manifest("gamma", "serde = \"1\"\n"),
        );
        workspace.write("crates/gamma/build.rs", "fn main() {}\n");
        workspace.write("crates/gamma/src/lib.rs", GAMMA_LIB);
        workspace
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create directories");
        std::fs::write(path, contents).expect("write file");
    }

    pub fn graph(&self) -> Graph {
        Graph::build(self.path(), &BuildOptions::default()).expect("the graph builds")
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

pub fn manifest(name: &str, dependencies: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependencies}"
    )
}

/// A modification of `path` at the lines `start..=end` (both sides).
pub fn modified(path: &str, start: u32, end: u32) -> FileChange {
    FileChange {
        kind: ChangeKind::Modified,
        old_path: Some(path.to_owned()),
        new_path: Some(path.to_owned()),
        old_lines: vec![LineRange::new(start, end)],
        new_lines: vec![LineRange::new(start, end)],
        whole_file: false,
        line_counts: vec![],
    }
}

pub fn whole(kind: ChangeKind, path: &str) -> FileChange {
    FileChange {
        kind,
        old_path: (kind != ChangeKind::Added).then(|| path.to_owned()),
        new_path: (kind != ChangeKind::Deleted).then(|| path.to_owned()),
        old_lines: vec![],
        new_lines: vec![],
        whole_file: true,
        line_counts: vec![],
    }
}

pub fn run(graph: &Graph, files: Vec<FileChange>) -> Selection {
    run_with(graph, files, &ChangeContext::default())
}

pub fn run_with(graph: &Graph, files: Vec<FileChange>, context: &ChangeContext) -> Selection {
    select(graph, &ChangeSet { files }, &Rules::defaults(), context)
}

/// The printed ids of the selected tests.
pub fn ids(selection: &Selection) -> Vec<String> {
    selection
        .selected
        .iter()
        .map(|t| format!("{} {}", t.binary_id, t.name).trim_end().to_owned())
        .collect()
}

pub fn all_ids(graph: &Graph) -> Vec<String> {
    let mut ids: Vec<String> = graph
        .tests()
        .iter()
        .map(|t| t.id.to_string().trim_end().to_owned())
        .collect();
    ids.sort();
    ids
}

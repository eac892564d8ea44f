//! hourglass-git against real repositories made with the git CLI in
//! temporary directories.

mod activity;
mod changes;
mod patch;
mod repo;
mod tree;

use std::path::Path;
use std::process::Command;

/// A temporary git repository with a committer identity.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Default for Repo {
    fn default() -> Self {
        Self::new()
    }
}

impl Repo {
    pub fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Test Author"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create directories");
        std::fs::write(path, contents).expect("write file");
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.dir.path().join(relative)).expect("remove file");
    }

    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("git output is UTF-8")
    }

    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}

/// Ten numbered lines, `line 1` to `line 10`, with `replace` applied.
pub fn numbered(replace: &[(usize, &str)]) -> String {
    (1..=10)
        .filter_map(|n| match replace.iter().find(|(line, _)| *line == n) {
            Some((_, "")) => None,
            Some((_, text)) => Some(format!("{text}\n")),
            None => Some(format!("line {n}\n")),
        })
        .collect()
}

/// Thirty distinct lines, long enough for rename detection.
pub fn long_text() -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for n in 1..=30 {
        writeln!(text, "a fairly long line number {n}").expect("write to a string");
    }
    text
}

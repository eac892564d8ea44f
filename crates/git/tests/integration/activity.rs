use std::process::Command;

use hourglass_git::{ActivityOptions, activity};

use crate::Repo;

/// Runs git with the author and committer dates set.
fn git_at(repo: &Repo, date: &str, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn commit_at(repo: &Repo, date: &str, message: &str) -> String {
    repo.git(&["add", "--all"]);
    git_at(repo, date, &["commit", "--quiet", "-m", message]);
    repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

fn ts(text: &str) -> i64 {
    // RFC 3339 → Unix seconds with the date command, to keep the test
    // independent of the code under test.
    let out = Command::new("date")
        .args(["-u", "-d", text, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// main: c1 (10 lines) → merge of a two-commit branch by two authors
/// (Sunday 23:30 at -02:00) → a revert; tag v1.0 on the merge.
fn history() -> (Repo, [String; 3]) {
    let repo = Repo::new();
    repo.write("a.txt", &"x\n".repeat(10));
    let c1 = commit_at(&repo, "2026-02-23T10:00:00Z", "first");
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write("b.txt", "1\n2\n3\n");
    commit_at(&repo, "2026-02-24T09:00:00Z", "feature one");
    repo.git(&["config", "user.email", "other@example.com"]);
    repo.write("a.txt", &"x\n".repeat(9));
    commit_at(&repo, "2026-02-25T09:00:00Z", "feature two");
    repo.git(&["config", "user.email", "test@example.com"]);
    repo.git(&["checkout", "--quiet", "main"]);
    git_at(
        &repo,
        "2026-03-01T23:30:00-02:00",
        &[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            "Merge feature",
            "feature",
        ],
    );
    let merge = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    repo.git(&["tag", "v1.0"]);
    repo.git(&["tag", "nightly"]);
    repo.write("b.txt", "1\n2\n");
    let revert = commit_at(
        &repo,
        "2026-03-02T12:00:00Z",
        "Revert \"feature one\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.",
    );
    (repo, [c1, merge, revert])
}

#[test]
fn first_parent_history_has_one_entry_per_merged_change() {
    let (repo, [c1, merge, revert]) = history();
    let activity = activity(repo.path(), &ActivityOptions::default()).unwrap();
    let ids: Vec<&str> = activity.changes.iter().map(|c| c.commit.as_str()).collect();
    assert_eq!(ids, [revert.as_str(), merge.as_str(), c1.as_str()]);

    let m = &activity.changes[1];
    assert_eq!(m.commits, 2);
    assert_eq!(m.authors, ["other@example.com", "test@example.com"]);
    // Against the first parent: b.txt +3, a.txt −1.
    assert_eq!((m.files, m.lines_added, m.lines_deleted), (2, 3, 1));
    // Sunday 23:30 at -02:00 is Monday 01:30 UTC.
    assert_eq!(m.time_s, ts("2026-03-02T01:30:00Z"));
    // First commit of the branch → the merge.
    assert_eq!(m.lead_time_s, Some(m.time_s - ts("2026-02-24T09:00:00Z")));
    assert!(!m.is_revert);
    assert_eq!(m.parent.as_deref(), Some(c1.as_str()));

    let r = &activity.changes[0];
    assert!(r.is_revert);
    assert_eq!((r.commits, r.lead_time_s), (1, None));
    assert_eq!((r.lines_added, r.lines_deleted), (0, 1));

    let root = &activity.changes[2];
    assert_eq!(root.parent, None);
    assert_eq!((root.files, root.lines_added), (1, 10));

    let tags: Vec<&str> = activity.releases.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tags, ["v1.0"]);
}

#[test]
fn all_branches_lists_every_non_merge_commit() {
    let (repo, _) = history();
    let options = ActivityOptions {
        all_branches: true,
        ..ActivityOptions::default()
    };
    let activity = activity(repo.path(), &options).unwrap();
    assert_eq!(activity.changes.len(), 4);
    assert!(activity.changes.iter().all(|c| c.commits == 1));
}

#[test]
fn since_stops_the_walk() {
    let (repo, [_, merge, revert]) = history();
    let options = ActivityOptions {
        since_s: Some(ts("2026-03-01T00:00:00Z")),
        ..ActivityOptions::default()
    };
    let ids: Vec<String> = activity(repo.path(), &options)
        .unwrap()
        .changes
        .into_iter()
        .map(|c| c.commit)
        .collect();
    assert_eq!(ids, [revert, merge]);
}

#[test]
fn second_run_reads_the_cache_and_a_damaged_cache_is_rebuilt() {
    let (repo, _) = history();
    let cache = tempfile::tempdir().unwrap();
    let options = ActivityOptions {
        cache_dir: Some(cache.path().join("plan")),
        ..ActivityOptions::default()
    };
    let cold = activity(repo.path(), &options).unwrap();
    assert_eq!((cold.cache.hits, cold.cache.misses), (0, 3));
    let warm = activity(repo.path(), &options).unwrap();
    assert_eq!((warm.cache.hits, warm.cache.misses), (3, 0));
    assert!(!warm.cache.damaged);
    assert_eq!(warm.changes, cold.changes);

    // Damage: flip a byte in the middle.
    let file = cache
        .path()
        .join("plan")
        .join(hourglass_git::activity::CACHE_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let damaged = activity(repo.path(), &options).unwrap();
    assert!(damaged.cache.damaged);
    assert_eq!(damaged.cache.misses, 3);
    assert_eq!(damaged.changes, cold.changes);
    // Rebuilt: the next run hits again.
    let again = activity(repo.path(), &options).unwrap();
    assert_eq!((again.cache.hits, again.cache.damaged), (3, false));

    // Truncated to nothing.
    std::fs::write(&file, b"").unwrap();
    let truncated = activity(repo.path(), &options).unwrap();
    assert!(truncated.cache.damaged);
    assert_eq!(truncated.changes, cold.changes);
}

#[test]
fn a_repository_without_commits_has_no_changes() {
    let repo = Repo::new();
    let activity = activity(repo.path(), &ActivityOptions::default()).unwrap();
    assert!(activity.changes.is_empty());
}

/// `git log --first-parent --numstat --no-renames`: per commit, newest
/// first, (commit, files, lines added, lines deleted); a binary file (`-`)
/// counts as a file without lines.
fn git_numstat(repo: &Repo) -> Vec<(String, u32, u64, u64)> {
    let log = repo.git(&[
        "log",
        "--first-parent",
        "--numstat",
        "--no-renames",
        "--format=%x01%H",
    ]);
    let mut out: Vec<(String, u32, u64, u64)> = Vec::new();
    for line in log.lines() {
        if let Some(commit) = line.strip_prefix('\u{1}') {
            out.push((commit.to_owned(), 0, 0, 0));
        } else if !line.is_empty() {
            let entry = out.last_mut().expect("a commit line first");
            let mut fields = line.splitn(3, '\t');
            let added = fields.next().unwrap();
            let deleted = fields.next().unwrap();
            entry.1 += 1;
            entry.2 += added.parse::<u64>().unwrap_or(0);
            entry.3 += deleted.parse::<u64>().unwrap_or(0);
        }
    }
    out
}

fn ours(repo: &Repo) -> Vec<(String, u32, u64, u64)> {
    activity(repo.path(), &ActivityOptions::default())
        .unwrap()
        .changes
        .into_iter()
        .map(|c| (c.commit, c.files, c.lines_added, c.lines_deleted))
        .collect()
}

/// Lines with many repeats, so that xdiff's heuristics for frequent lines
/// and its cost limit come into play.
fn repetitive(seed: u64, lines: usize) -> String {
    let mut state = seed;
    let mut text = String::new();
    for _ in 0..lines {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        match (state >> 33) % 7 {
            0 | 1 => text.push('\n'),
            2 => text.push_str("}\n"),
            3 => text.push_str("    return x;\n"),
            n => {
                use std::fmt::Write as _;
                writeln!(text, "line {} {}", n, (state >> 40) % 500).unwrap();
            }
        }
    }
    text
}

#[test]
fn files_and_lines_match_git_log_numstat() {
    let repo = Repo::new();
    repo.write("src/a.rs", &crate::long_text());
    repo.write("src/nested/deep/b.rs", "one\ntwo\nthree\n");
    repo.write("no-newline.txt", "first\nlast");
    repo.write("big.txt", &repetitive(1, 3000));
    std::fs::write(repo.path().join("image.bin"), b"\x89PNG\0\0\x01binary").unwrap();
    repo.write("script.sh", "echo hi\n");
    repo.write("data/table.dat", "looks like text\n");
    repo.write(".gitattributes", "data/** binary\n");
    repo.commit_all("root");

    // A rename, a rename with an edit, a binary change, an edit of a file
    // without a final newline, a heavily edited repetitive file.
    repo.git(&["mv", "src/a.rs", "src/renamed.rs"]);
    repo.git(&["mv", "src/nested/deep/b.rs", "src/b.rs"]);
    repo.write("src/b.rs", "one\n2\nthree\nfour\n");
    std::fs::write(repo.path().join("image.bin"), b"\x89PNG\0\0\x02binary!").unwrap();
    repo.write("no-newline.txt", "first\nlast\n");
    repo.write("big.txt", &repetitive(2, 2500));
    repo.write("data/table.dat", "looks like text\nmore\n");
    repo.commit_all("renames and edits");

    // An empty commit and a mode change.
    repo.commit_all("empty");
    repo.git(&["update-index", "--chmod=+x", "script.sh"]);
    repo.git(&["commit", "--quiet", "-m", "mode"]);

    // A branch merged with --no-ff, with its own edits, while main moved on.
    repo.git(&["checkout", "--quiet", "-b", "topic"]);
    repo.write("topic.txt", "t\n".repeat(5).as_str());
    repo.write("big.txt", &repetitive(3, 2600));
    repo.commit_all("topic one");
    repo.remove("no-newline.txt");
    repo.commit_all("topic two");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.write("src/b.rs", "zero\none\n2\nthree\nfour\n");
    repo.commit_all("main moves on");
    repo.git(&["merge", "--quiet", "--no-ff", "-m", "merge topic", "topic"]);

    // A file becomes a symbolic link, a file becomes a directory, a
    // directory goes, a submodule appears and moves.
    repo.remove("script.sh");
    std::os::unix::fs::symlink("src/b.rs", repo.path().join("script.sh")).unwrap();
    repo.remove("topic.txt");
    repo.write("topic.txt/inside.txt", "inside\n");
    std::fs::remove_dir_all(repo.path().join("src")).unwrap();
    repo.commit_all("types change");
    let gitlink = "0123456789abcdef0123456789abcdef01234567";
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{gitlink},vendor/sub"),
    ]);
    repo.git(&["commit", "--quiet", "-m", "submodule"]);
    repo.git(&[
        "update-index",
        "--cacheinfo",
        "160000,89abcdef0123456789abcdef0123456789abcdef,vendor/sub",
    ]);
    repo.git(&["commit", "--quiet", "-m", "submodule moves"]);

    let expected = git_numstat(&repo);
    assert_eq!(expected.len(), 9);
    // The cases are there: the merge brings in both topic commits' edits,
    // the empty commit changes nothing, the mode change is a file.
    assert_eq!(expected[6].1, 0, "the empty commit");
    assert_eq!(
        expected[5],
        (expected[5].0.clone(), 1, 0, 0),
        "the mode change"
    );
    assert_eq!(ours(&repo), expected);
}

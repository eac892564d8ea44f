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
